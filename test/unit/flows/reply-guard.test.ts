// Flows mode's reply guard (src/flows/reply-guard.ts) on the simulated switch: which backend segments go up to vadc
// (a service port's SYN-ACK, IPv4 and IPv6), which pass (other flags, ports and addresses, replies to the host,
// the controller's own resend marked passed, a direct connection's 5-tuple), and the meter that bounds it.
import {
  OFPCML_NO_BUFFER, OFPFC_ADD, OFPFC_DELETE_STRICT, OFPMC_ADD, OFPMC_DELETE, OFPMF_BURST, OFPMF_PKTPS, OFPMF_STATS, OFPP_TABLE,
} from '../../../src/openflow/constants';
import { decode, encode, type FlowMod } from '../../../src/openflow';
import {
  VADC_PIPELINE, buildConnectionFlows, buildDeleteService, buildPipelineFlows, buildReturnFlows, buildServiceFlows, buildVipFlows, checkFlow, makeCookie,
  vadcTables,
} from '../../../src/flows';
import {
  DIRECT_REPLY_IDLE_S, REPLY_GUARD_METER_ID, REPLY_GUARD_PASSED, buildDirectReplyFlow, buildHostReplyFlow, buildReplyGuardFlow, buildReplyGuardMeter,
  buildReplyGuardPacketOut,
} from '../../../src/flows/reply-guard';
import { FakeFlowTable, type PacketFields } from '../../helpers/fake-flow-table';

const VIP = { ip: '10.0.0.100', mac: '02:00:0a:00:00:64', port: 80 };
const CLIENT = { ofport: 5, mac: '52:54:00:00:00:c1', ip: '10.0.0.51', port: 40000 };
const BACKEND = { ofport: 2, mac: '52:54:00:00:00:01', ip: '10.0.0.11', port: 8080 };
const BACKEND6 = { ofport: 3, mac: '52:54:00:00:00:02', ip: 'fd00::11', port: 8080 };
const CLIENT6 = { ofport: 6, mac: '52:54:00:00:00:c2', ip: 'fd00::51', port: 40001 };
const LOCAL_MAC = '02:aa:bb:cc:dd:ee';
const SYN = 0x02;
const ACK = 0x10;

function segment(from: { ip: string; mac: string; port: number }, to: { ip: string; mac: string; port: number }, flags: number): PacketFields {
  const v6 = from.ip.includes(':');
  return {
    eth_src: from.mac, eth_dst: to.mac, eth_type: v6 ? 0x86dd : 0x0800, ip_proto: 6,
    [v6 ? 'ipv6_src' : 'ipv4_src']: from.ip, [v6 ? 'ipv6_dst' : 'ipv4_dst']: to.ip, tcp_src: from.port, tcp_dst: to.port, tcp_flags: flags,
  };
}

function guarded(): { table: FakeFlowTable; flows: FlowMod[] } {
  const flows = [
    ...buildPipelineFlows(), ...buildReturnFlows(0x86dd), ...buildVipFlows(VIP.ip), ...buildServiceFlows({ serviceId: 7, vip: VIP.ip, protocol: 'tcp', port: VIP.port }),
    buildReplyGuardFlow(7, BACKEND.ip, BACKEND.port), buildReplyGuardFlow(7, BACKEND6.ip, BACKEND6.port), buildHostReplyFlow(LOCAL_MAC),
  ];
  const table = new FakeFlowTable();
  table.applyAll(flows);
  return { table, flows };
}

const kinds = (outcomes: Array<{ kind: string }>) => outcomes.map((o) => o.kind);

describe('reply guard on the simulated switch', () => {
  it('every flow it adds or deletes fits the pipeline, and survives the codec byte for byte', () => {
    const flows = [
      ...guarded().flows.slice(-3),
      // The host flow's delete pins vadc's cookie (with no mask it could take a foreign flow of the same match).
      buildHostReplyFlow(LOCAL_MAC, vadcTables(0), OFPFC_DELETE_STRICT),
      buildDirectReplyFlow(7, BACKEND.ofport, { src: BACKEND.ip, dst: CLIENT.ip, srcPort: BACKEND.port, dstPort: CLIENT.port }),
      buildDirectReplyFlow(7, BACKEND6.ofport, { src: BACKEND6.ip, dst: CLIENT6.ip, srcPort: BACKEND6.port, dstPort: CLIENT6.port }),
    ];
    for (const flow of flows) {
      expect(checkFlow(flow, VADC_PIPELINE)).toEqual([]);
      const bytes = encode(flow);
      expect(encode(decode(bytes)).equals(bytes)).toBe(true);
    }
  });

  it("sends a service port's SYN-ACK up, metered, with the service's cookie (IPv4 and IPv6)", () => {
    const { table } = guarded();
    for (const [backend, client] of [[BACKEND, CLIENT], [BACKEND6, CLIENT6]] as const) {
      const out = table.process(segment(backend, client, SYN | ACK), backend.ofport);
      expect(out).toEqual([expect.objectContaining({ kind: 'controller', tableId: 2, cookie: makeCookie('service', 7) })]);
    }
    const [flow] = guarded().flows.slice(-3);
    expect(flow.instructions).toEqual([{ type: 'apply_actions', actions: [{ type: 'nx_controller2', maxLen: OFPCML_NO_BUFFER, meterId: REPLY_GUARD_METER_ID }] }]);
  });

  it('lets by any other segment, another port or address, and every reply to the host', () => {
    const { table } = guarded();
    for (const flags of [SYN, ACK, ACK | 0x01, SYN | ACK | 0x08]) {
      expect(kinds(table.process(segment(BACKEND, CLIENT, flags), BACKEND.ofport))).toEqual(flags === (SYN | ACK | 0x08) ? ['controller'] : ['normal']);
    }
    expect(kinds(table.process(segment({ ...BACKEND, port: 8081 }, CLIENT, SYN | ACK), BACKEND.ofport))).toEqual(['normal']);
    expect(kinds(table.process(segment({ ...BACKEND, ip: '10.0.0.12' }, CLIENT, SYN | ACK), BACKEND.ofport))).toEqual(['normal']);
    expect(kinds(table.process(segment({ ...BACKEND6, ip: 'fd00::12' }, CLIENT6, SYN | ACK), BACKEND6.ofport))).toEqual(['normal']);
    expect(kinds(table.process(segment(BACKEND, { ...CLIENT, mac: LOCAL_MAC }, SYN | ACK), BACKEND.ofport))).toEqual(['normal']);
  });

  it("the controller's resend passes the guard: NORMAL without a connection, translated by the connection's reverse flow", () => {
    const { table } = guarded();
    const synAck = segment(BACKEND, CLIENT, SYN | ACK);
    const out = buildReplyGuardPacketOut(Buffer.from('frame'), BACKEND.ofport);
    expect(out).toMatchObject({ inPort: BACKEND.ofport, data: Buffer.from('frame') });
    expect(out.actions.at(-1)).toEqual({ type: 'output', port: OFPP_TABLE, maxLen: 0 });
    expect(kinds(table.executePacketOut(synAck, BACKEND.ofport, out.actions))).toEqual(['normal']);
    table.applyAll(buildConnectionFlows({ serviceId: 7, connectionId: 1, protocol: 'tcp', client: CLIENT, vip: VIP, backend: BACKEND, idleTimeout: 60 }));
    expect(table.executePacketOut(synAck, BACKEND.ofport, out.actions)).toEqual([
      expect.objectContaining({ kind: 'output', port: CLIENT.ofport, fields: expect.objectContaining({ ipv4_src: VIP.ip, tcp_src: VIP.port }) }),
    ]);
    expect(out.actions[0]).toEqual({ type: 'set_field', field: { field: 'metadata', value: REPLY_GUARD_PASSED } });
  });

  it("a direct connection's exact 5-tuple goes NORMAL for 10 idle seconds; a VIP connection's reverse flow stays above it", () => {
    const { table } = guarded();
    const direct = buildDirectReplyFlow(7, BACKEND.ofport, { src: BACKEND.ip, dst: CLIENT.ip, srcPort: BACKEND.port, dstPort: CLIENT.port });
    expect(direct).toMatchObject({ idleTimeout: DIRECT_REPLY_IDLE_S, tableId: 2, command: OFPFC_ADD });
    table.apply(direct);
    expect(kinds(table.process(segment(BACKEND, CLIENT, SYN | ACK), BACKEND.ofport))).toEqual(['normal']);
    // Another client port of the same client is not the direct connection: guarded.
    expect(kinds(table.process(segment(BACKEND, { ...CLIENT, port: CLIENT.port + 1 }, SYN | ACK), BACKEND.ofport))).toEqual(['controller']);
    // From another vNIC: not the direct connection either.
    expect(kinds(table.process(segment(BACKEND, CLIENT, SYN | ACK), BACKEND.ofport + 1))).toEqual(['controller']);
    table.applyAll(buildConnectionFlows({ serviceId: 7, connectionId: 1, protocol: 'tcp', client: CLIENT, vip: VIP, backend: BACKEND, idleTimeout: 60 }));
    expect(table.process(segment(BACKEND, CLIENT, SYN | ACK), BACKEND.ofport)).toEqual([expect.objectContaining({ kind: 'output', port: CLIENT.ofport })]);

    const direct6 = buildDirectReplyFlow(7, BACKEND6.ofport, { src: BACKEND6.ip, dst: CLIENT6.ip, srcPort: BACKEND6.port, dstPort: CLIENT6.port });
    table.apply(direct6);
    expect(kinds(table.process(segment(BACKEND6, CLIENT6, SYN | ACK), BACKEND6.ofport))).toEqual(['normal']);
    expect(kinds(table.process(segment(BACKEND6, { ...CLIENT6, ip: 'fd00::52' }, SYN | ACK), BACKEND6.ofport))).toEqual(['controller']);
  });

  it('the guard and direct flows go with their service; the host flow is taken back by its MAC', () => {
    const { table } = guarded();
    table.apply(buildDirectReplyFlow(7, BACKEND.ofport, { src: BACKEND.ip, dst: CLIENT.ip, srcPort: BACKEND.port, dstPort: CLIENT.port }));
    table.apply(buildDeleteService(7));
    expect(table.flows(2).filter((f) => f.priority === 600 || f.priority === 900)).toEqual([]);
    expect(table.flows(2).filter((f) => f.priority === 700)).toHaveLength(1);
    const del = buildHostReplyFlow(LOCAL_MAC, vadcTables(0), OFPFC_DELETE_STRICT);
    expect(del.instructions).toEqual([]);
    table.apply(del);
    expect(table.flows(2).filter((f) => f.priority === 700)).toEqual([]);
  });

  it("the host flow's delete leaves a foreign flow of the same match and priority alone", () => {
    const { table } = guarded();
    // Someone else's flow in vadc's place (an ADD of the same match and priority replaces vadc's).
    table.apply({ ...buildHostReplyFlow(LOCAL_MAC), cookie: 0x1234n });
    table.apply(buildHostReplyFlow(LOCAL_MAC, vadcTables(0), OFPFC_DELETE_STRICT));
    expect(table.flows(2).filter((f) => f.priority === 700).map((f) => f.cookie)).toEqual([0x1234n]);
  });

  it('moves with the first table', () => {
    const t = vadcTables(10);
    expect(buildReplyGuardFlow(7, BACKEND.ip, BACKEND.port, t).tableId).toBe(12);
    expect(buildHostReplyFlow(LOCAL_MAC, t).tableId).toBe(12);
    expect(buildDirectReplyFlow(7, 1, { src: BACKEND.ip, dst: CLIENT.ip, srcPort: 1, dstPort: 2 }, t).tableId).toBe(12);
  });
});

describe('reply guard meter', () => {
  it('is replaced whole: a delete, then an add counting packets with a burst of a quarter second (at least 1)', () => {
    const [del, add] = buildReplyGuardMeter(100);
    expect(del).toEqual({ type: 'meter_mod', xid: 0, meterId: REPLY_GUARD_METER_ID, command: OFPMC_DELETE, flags: 0, bands: [] });
    expect(add).toEqual({
      type: 'meter_mod', xid: 0, meterId: REPLY_GUARD_METER_ID, command: OFPMC_ADD, flags: OFPMF_PKTPS | OFPMF_BURST | OFPMF_STATS,
      bands: [{ type: 'drop', rate: 100, burstSize: 25 }],
    });
    expect(buildReplyGuardMeter(5)[1].bands).toEqual([{ type: 'drop', rate: 5, burstSize: 2 }]);
    expect(buildReplyGuardMeter(1)[1].bands).toEqual([{ type: 'drop', rate: 1, burstSize: 1 }]);
  });
});
