import { decode, encode, OFPET, type MultipartReply, type OfpMessage } from '../../../src/openflow';
import { answerControllerMessage, buildPorts, type EmulatedSwitchState } from '../../../src/bench/switch-replies';

function state(): EmulatedSwitchState {
  return { dpid: 0x42n, ports: buildPorts(1, ['v-vm1', 'v-vm2', 'v-cl1']), missSendLen: 128, configFlags: 0 };
}

/** Answers a message and round-trips the answer through the codec, as it goes on the wire. */
function answer(msg: OfpMessage, s = state()): OfpMessage[] {
  const action = answerControllerMessage(msg, s, encode(msg));
  return action.kind === 'reply' ? action.messages.map((m) => decode(encode(m))) : [];
}

describe('emulated switch replies', () => {
  it('answers features with its dpid and port_desc with its named ports', () => {
    expect(answer({ type: 'features_request', xid: 3 })).toEqual([expect.objectContaining({ type: 'features_reply', xid: 3, datapathId: 0x42n })]);
    const [reply] = answer({ type: 'multipart_request', xid: 4, flags: 0, body: { mpType: 'port_desc' } }) as MultipartReply[];
    expect(reply.xid).toBe(4);
    expect(reply.body.mpType === 'port_desc' && reply.body.entries.map((p) => [p.portNo, p.name])).toEqual([[1, 'v-vm1'], [2, 'v-vm2'], [3, 'v-cl1']]);
    expect(new Set(buildPorts(1, ['a', 'b']).map((p) => p.hwAddr)).size).toBe(2);
  });

  it('keeps set_config and reports it back; echoes, barriers and roles are answered with the same xid', () => {
    const s = state();
    expect(answer({ type: 'set_config', xid: 1, flags: 0, missSendLen: 0xffff }, s)).toEqual([]);
    expect(answer({ type: 'get_config_request', xid: 2 }, s)).toEqual([expect.objectContaining({ type: 'get_config_reply', xid: 2, missSendLen: 0xffff })]);
    expect(answer({ type: 'echo_request', xid: 5, data: Buffer.from('hi') })).toEqual([expect.objectContaining({ type: 'echo_reply', xid: 5, data: Buffer.from('hi') })]);
    expect(answer({ type: 'barrier_request', xid: 6 })).toEqual([expect.objectContaining({ type: 'barrier_reply', xid: 6 })]);
    expect(answer({ type: 'role_request', xid: 7, role: 2, generationId: 9n })).toEqual([expect.objectContaining({ type: 'role_reply', role: 2, generationId: 9n })]);
  });

  it('answers flow stats with no entries and port stats with zeros for the asked port', () => {
    const [flows] = answer({
      type: 'multipart_request', xid: 8, flags: 0,
      body: { mpType: 'flow', tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [] },
    }) as MultipartReply[];
    expect(flows.body).toEqual({ mpType: 'flow', entries: [] });
    const [ports] = answer({ type: 'multipart_request', xid: 9, flags: 0, body: { mpType: 'port_stats', portNo: 2 } }) as MultipartReply[];
    expect(ports.body.mpType === 'port_stats' && ports.body.entries.map((e) => [e.portNo, e.txPackets])).toEqual([[2, 0n]]);
  });

  it('refuses what a switch does not take with a BAD_REQUEST error quoting the message', () => {
    const [err] = answer({ type: 'packet_in', xid: 10, bufferId: 0xffffffff, totalLen: 0, reason: 0, tableId: 0, cookie: 0n, match: [], data: Buffer.alloc(0) });
    expect(err).toMatchObject({ type: 'error', xid: 10, errType: OFPET.BAD_REQUEST, code: 1 });
    const [mp] = answer({ type: 'multipart_request', xid: 11, flags: 0, body: { mpType: 'experimenter', experimenter: 1, expType: 2, data: Buffer.alloc(0) } });
    expect(mp).toMatchObject({ type: 'error', errType: OFPET.BAD_REQUEST, code: 2 });
  });
});
