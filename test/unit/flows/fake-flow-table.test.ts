import { FakeFlowTable, FakeFlowTableError, translatedView } from '../../helpers/fake-flow-table';
import {
  OFPFC_ADD, OFPFC_DELETE, OFPFC_DELETE_STRICT, OFPFC_MODIFY, OFPFF_SEND_FLOW_REM, OFPG_ANY, OFPP_ANY, OFPP_IN_PORT,
  OFPRR_DELETE, OFPRR_HARD_TIMEOUT, OFPRR_IDLE_TIMEOUT, OFPTT_ALL, OFP_NO_BUFFER,
} from '../../../src/openflow/constants';
import type { Action, FlowMod, Instruction, Oxm } from '../../../src/openflow/types';

function flow(tableId: number, priority: number, match: Oxm[], instructions: Instruction[], extra: Partial<FlowMod> = {}): FlowMod {
  return {
    type: 'flow_mod', xid: 0, cookie: 0n, cookieMask: 0n, tableId, command: OFPFC_ADD, idleTimeout: 0, hardTimeout: 0, priority,
    bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY, flags: 0, match, instructions, ...extra,
  };
}
const out = (port: number): Instruction => ({ type: 'apply_actions', actions: [{ type: 'output', port, maxLen: 0 }] });
const ip = { field: 'eth_type', value: 0x0800 } as const;

describe('FakeFlowTable', () => {
  it('takes the highest-priority match, and drops on a table miss with no miss flow', () => {
    const table = new FakeFlowTable();
    table.applyAll([flow(0, 1, [], [out(1)]), flow(0, 9, [ip, { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.0.0.0' }], [out(2)])]);
    expect(table.process({ eth_type: 0x0800, ipv4_dst: '10.1.2.3' }, 7)).toEqual([{ kind: 'output', port: 2, fields: { eth_type: 0x0800, ipv4_dst: '10.1.2.3', in_port: 7 } }]);
    expect(table.process({ eth_type: 0x0800, ipv4_dst: '11.1.2.3' }, 7)[0]).toMatchObject({ kind: 'output', port: 1 });
    expect(new FakeFlowTable().process({}, 1)).toEqual([{ kind: 'drop', tableId: 0 }]);
  });

  it('applies set_field in order, snapshots each output, and resolves OFPP_IN_PORT', () => {
    const table = new FakeFlowTable();
    table.apply(flow(0, 1, [], [{ type: 'apply_actions', actions: [
      { type: 'output', port: OFPP_IN_PORT, maxLen: 0 },
      { type: 'set_field', field: { field: 'eth_dst', value: '02:00:00:00:00:01' } },
      { type: 'output', port: 3, maxLen: 0 },
    ] }]));
    expect(table.process({ eth_dst: '02:00:00:00:00:09' }, 4)).toEqual([
      { kind: 'output', port: 4, fields: { eth_dst: '02:00:00:00:00:09', in_port: 4 } },
      { kind: 'output', port: 3, fields: { eth_dst: '02:00:00:00:00:01', in_port: 4 } },
    ]);
  });

  it('replaces an identical rule on add, modifies loosely, deletes strictly or by cookie mask', () => {
    const table = new FakeFlowTable();
    table.applyAll([flow(0, 5, [ip], [out(1)], { cookie: 0x10n }), flow(0, 5, [ip], [out(2)], { cookie: 0x11n })]);
    expect(table.flows()).toHaveLength(1);
    table.apply(flow(0, 6, [ip, { field: 'ip_proto', value: 6 }], [out(3)], { cookie: 0x20n, flags: OFPFF_SEND_FLOW_REM }));
    table.apply(flow(0, 0, [ip], [out(9)], { command: OFPFC_MODIFY, cookie: 0x20n, cookieMask: 0xf0n }));
    expect(table.process({ eth_type: 0x0800, ip_proto: 6 }, 1)[0]).toMatchObject({ port: 9 });
    expect(table.process({ eth_type: 0x0800, ip_proto: 17 }, 1)[0]).toMatchObject({ port: 2 }); // cookie 0x11 not selected
    expect(table.apply(flow(0, 7, [ip], [], { command: OFPFC_DELETE_STRICT, cookieMask: 0n }))).toEqual([]);
    const removed = table.apply(flow(OFPTT_ALL, 0, [], [], { command: OFPFC_DELETE, cookie: 0x20n, cookieMask: 0xffn }));
    expect(removed).toEqual([{ flow: expect.objectContaining({ priority: 6 }), reason: OFPRR_DELETE, notify: true }]);
    expect(table.flows().map((f) => f.cookie)).toEqual([0x11n]);
  });

  it('walks goto_table and refuses to go backwards', () => {
    const table = new FakeFlowTable();
    table.applyAll([flow(0, 1, [], [{ type: 'goto_table', tableId: 3 }]), flow(3, 1, [], [out(8)])]);
    expect(table.process({}, 1)).toEqual([{ kind: 'output', port: 8, fields: { in_port: 1 } }]);
    table.apply(flow(3, 2, [], [{ type: 'goto_table', tableId: 1 }]));
    expect(() => table.process({}, 1)).toThrow(FakeFlowTableError);
  });

  it('expires by idle timeout (refreshed by traffic) and by hard timeout', () => {
    const table = new FakeFlowTable();
    table.applyAll([flow(0, 1, [], [out(1)], { idleTimeout: 10 }), flow(1, 1, [], [out(2)], { hardTimeout: 15 })], 0);
    table.process({}, 1, 8);
    expect(table.expire(14)).toEqual([]);
    expect(table.expire(15)).toEqual([expect.objectContaining({ reason: OFPRR_HARD_TIMEOUT })]);
    expect(table.expire(17)).toEqual([]);
    expect(table.expire(18)).toEqual([expect.objectContaining({ reason: OFPRR_IDLE_TIMEOUT, notify: false })]);
  });

  it("models ct(commit, nat) without table= as OVS translates it: the packet leaves translated, the translation's view stays the original", () => {
    const table = new FakeFlowTable();
    const commit: Action = {
      type: 'nx_ct', flags: 1, zoneSrc: 0, zoneOfsNbits: 9, recircTable: 255, alg: 0,
      actions: [{ type: 'nx_nat', flags: 2, rangeIpv4Min: '10.0.0.11', rangeProtoMin: 8080 }],
    };
    const syn = { eth_type: 0x0800, ip_proto: 6, ipv4_src: '10.0.0.101', tcp_src: 40000, ipv4_dst: '10.0.0.100', tcp_dst: 80 };
    const [plain] = table.executePacketOut(syn, 4, [commit, { type: 'output', port: 3, maxLen: 0 }]);
    expect(plain).toMatchObject({ kind: 'output', port: 3, fields: { ipv4_dst: '10.0.0.11', tcp_dst: 8080 }, translated: { ipv4_dst: '10.0.0.100', tcp_dst: 80 } });
    // Setting the translated fields again makes the view agree with the wire (nothing to report).
    const [again] = table.executePacketOut({ ...syn, tcp_src: 40001 }, 4, [
      commit, { type: 'set_field', field: { field: 'ipv4_dst', value: '10.0.0.11' } }, { type: 'set_field', field: { field: 'tcp_dst', value: 8080 } },
      { type: 'output', port: 3, maxLen: 0 },
    ]);
    expect(again).toMatchObject({ kind: 'output', fields: { ipv4_dst: '10.0.0.11', tcp_dst: 8080 } });
    expect(again).not.toHaveProperty('translated');
    expect(again.kind === 'output' && translatedView(again)).toMatchObject({ ipv4_dst: '10.0.0.11', tcp_dst: 8080 });
  });
});
