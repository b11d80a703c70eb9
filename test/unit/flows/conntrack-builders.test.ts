// Conntrack mode's builders (src/flows/conntrack.ts) where conntrack.test.ts does not look: the leftover deletes a
// flows-mode vadc sends, a queued backend's reply flow, the reply table's flow per family, refused family mixes,
// the commit's queue and IPv6/UDP forms, and an accounting flow that does not read back whole.
import { OFPFC_DELETE_STRICT } from '../../../src/openflow/constants';
import type { Action, FlowMod, FlowStats, Oxm } from '../../../src/openflow/types';
import {
  buildCtBackendFlow, buildCtCommitPacketOut, buildCtConnectionFlow, buildCtLeftoverDeletes, buildCtReplyFlows, buildCtServiceFlows,
  buildDeleteCtBackendFlow, ctConnectionFromFlow,
} from '../../../src/flows/conntrack';
import { FlowBuildError, type ConnectionSpec } from '../../../src/flows/builders';
import { checkFlow } from '../../../src/flows/check';
import { allFlowsOfKind, makeCookie } from '../../../src/flows/cookies';
import { egressMeterId } from '../../../src/flows/egress';
import { TABLE, VADC_PIPELINE, vadcTables } from '../../../src/flows/pipeline';
import { FakeFlowTable } from '../../helpers/fake-flow-table';

const VIP_MAC = '02:00:0a:00:00:64';
const V4 = { ip: '10.0.0.11', port: 8080 };
const V6 = { ip: 'fd00::11', port: 8080 };
const replies = (backends: Array<{ ip: string; port: number; tag?: { queueId: number; metered: boolean } }>) =>
  buildCtReplyFlows({ serviceId: 7, protocol: 'tcp', zone: 9, vipMac: VIP_MAC, backends });
const ethTypes = (flows: FlowMod[]) => flows.map((f) => (f.match.find((m) => m.field === 'eth_type') as { value: number } | undefined)?.value);

function conn(over: Partial<ConnectionSpec> = {}): ConnectionSpec {
  return {
    serviceId: 7, connectionId: 3, protocol: 'tcp', idleTimeout: 60,
    client: { ofport: 4, mac: '52:54:00:00:00:c1', ip: '10.0.0.51', port: 40000 },
    vip: { mac: VIP_MAC, ip: '10.0.0.100', port: 80 },
    backend: { ofport: 2, mac: '52:54:00:00:00:01', ip: '10.0.0.11', port: 8080 },
    ...over,
  };
}

function stats(flow: FlowMod, change: Partial<FlowStats> = {}): FlowStats {
  return {
    tableId: flow.tableId, durationSec: 0, durationNsec: 0, priority: flow.priority, idleTimeout: flow.idleTimeout, hardTimeout: 0, flags: flow.flags,
    cookie: flow.cookie, packetCount: 0n, byteCount: 0n, match: flow.match, instructions: flow.instructions, ...change,
  };
}

describe('conntrack reply flows', () => {
  it('one reply-table flow per family the backends use, IPv4 when there are none', () => {
    const table3 = (flows: FlowMod[]) => flows.filter((f) => f.tableId === TABLE.CT_REPLY);
    expect(ethTypes(table3(replies([V4])))).toEqual([0x0800]);
    expect(ethTypes(table3(replies([V6])))).toEqual([0x86dd]);
    expect(ethTypes(table3(replies([V6, V4])))).toEqual([0x0800, 0x86dd]);
    expect(ethTypes(table3(replies([])))).toEqual([0x0800]);
    expect(replies([V6]).filter((f) => f.tableId === TABLE.CLASSIFY).map((f) => f.match.map((m) => m.field)))
      .toEqual([['eth_type', 'ip_proto', 'ipv6_src', 'tcp_src']]);
    for (const flow of replies([V6, V4])) expect(checkFlow(flow, VADC_PIPELINE)).toEqual([]);
  });

  it("a queued backend's reply flow carries its queue and meter itself; an unqueued one's does not", () => {
    const [tagged, plain] = replies([{ ...V4, tag: { queueId: 3, metered: true } }, { ip: '10.0.0.12', port: 8080 }]);
    expect(tagged.instructions[0]).toEqual({ type: 'meter', meterId: egressMeterId(3) });
    expect(tagged.instructions[1]).toMatchObject({ type: 'apply_actions', actions: [{ type: 'set_queue', queueId: 3 }, { type: 'nx_ct' }] });
    expect(plain.instructions).toEqual([{ type: 'apply_actions', actions: [expect.objectContaining({ type: 'nx_ct', recircTable: TABLE.CT_REPLY, zoneOfsNbits: 9 })] }]);
    expect(checkFlow(tagged, VADC_PIPELINE)).toEqual([]);
  });
});

describe('conntrack leftovers (what a flows-mode vadc deletes)', () => {
  it("takes exactly conntrack mode's table-0 reply flows of the service's backends, once per address and port", () => {
    const backends = [V4, V4, V6, { ip: '10.0.0.12', port: 8081 }];
    const deletes = buildCtLeftoverDeletes({ serviceId: 7, protocol: 'tcp', backends });
    expect(deletes).toHaveLength(3);
    const kind = allFlowsOfKind('service');
    for (const d of deletes) {
      expect(d).toMatchObject({ command: OFPFC_DELETE_STRICT, tableId: TABLE.CLASSIFY, cookie: kind.cookie, cookieMask: kind.cookieMask, instructions: [] });
      expect(checkFlow(d, VADC_PIPELINE)).toEqual([]);
    }
    const table = new FakeFlowTable();
    const other = buildCtReplyFlows({ serviceId: 8, protocol: 'udp', zone: 9, vipMac: VIP_MAC, backends: [V4] });
    table.applyAll([...replies(backends), ...other]);
    table.applyAll(deletes);
    expect(table.flows(TABLE.CLASSIFY)).toEqual(other.filter((f) => f.tableId === TABLE.CLASSIFY));
    expect(table.flows(TABLE.CT_REPLY)).toHaveLength(2 + 1);
    expect(buildCtLeftoverDeletes({ serviceId: 7, protocol: 'udp', backends: [V4] }, vadcTables(10)).map((d) => d.tableId)).toEqual([10]);
  });
});

describe('conntrack backend and service flows', () => {
  it("the backend flow's delete takes it whatever MAC and port it sent to, and nothing of another service", () => {
    const table = new FakeFlowTable();
    const mine = buildCtBackendFlow({ serviceId: 7, ip: V4.ip, mac: '52:54:00:00:00:01', ofport: 2 });
    const theirs = buildCtBackendFlow({ serviceId: 8, ip: V4.ip, mac: '52:54:00:00:00:01', ofport: 2 });
    table.applyAll([mine, theirs]);
    const del = buildDeleteCtBackendFlow({ serviceId: 7, ip: V4.ip });
    expect(del.cookie).toBe(allFlowsOfKind('backend').cookie);
    table.apply(del);
    expect(table.flows(TABLE.FORWARD)).toEqual([theirs]);
    expect(buildDeleteCtBackendFlow({ serviceId: 7, ip: V6.ip }, vadcTables(10)).match.find((m) => m.field === 'ipv6_dst')).toEqual({ field: 'ipv6_dst', value: V6.ip });
  });

  it('the service flow recirculates to the forward table of the tables it is given', () => {
    const [flow] = buildCtServiceFlows({ serviceId: 7, vip: '10.0.0.100', protocol: 'tcp', port: 80 }, 9, vadcTables(10));
    expect(flow.tableId).toBe(10);
    expect(flow.instructions).toEqual([{ type: 'apply_actions', actions: [{ type: 'nx_ct', flags: 0, zoneSrc: 0, zoneOfsNbits: 9, recircTable: 11, alg: 0, actions: [{ type: 'nx_nat', flags: 0 }] }] }]);
  });
});

describe('conntrack connection flows', () => {
  it('refuses a connection whose client or VIP is of another family than its backend', () => {
    const v6client = { ...conn().client, ip: 'fd00::51' };
    expect(() => buildCtConnectionFlow(conn({ client: v6client }))).toThrow(FlowBuildError);
    expect(() => buildCtConnectionFlow(conn({ vip: { ...conn().vip, ip: 'fd00::100' } }))).toThrow(/mixes address families/);
    expect(() => buildCtConnectionFlow(conn({ client: v6client, vip: { ...conn().vip, ip: 'fd00::100' } }))).toThrow(/10\.0\.0\.11 mixes/);
    expect(() => buildCtConnectionFlow(conn({ idleTimeout: 0 }))).toThrow('idle timeout 0 is outside 1..65535');
    expect(() => buildCtConnectionFlow(conn({ idleTimeout: 65535 }))).not.toThrow();
    expect(() => buildCtConnectionFlow(conn({ idleTimeout: 1 }))).not.toThrow();
  });

  it('reads back null when a part is missing: the input port, the output, the backend MAC, a port, the protocol', () => {
    const flow = buildCtConnectionFlow(conn());
    expect(ctConnectionFromFlow(stats(flow))).not.toBeNull();
    const without = (field: string) => stats(flow, { match: flow.match.filter((m) => m.field !== field) });
    for (const field of ['in_port', 'ipv4_src', 'ipv4_dst', 'tcp_src', 'tcp_dst', 'ct_tp_dst', 'ip_proto']) expect(ctConnectionFromFlow(without(field))).toBeNull();
    const actions = (keep: (a: Action) => boolean) => stats(flow, { instructions: [{ type: 'apply_actions', actions: (flow.instructions[0] as { actions: Action[] }).actions.filter(keep) }] });
    expect(ctConnectionFromFlow(actions((a) => a.type !== 'output'))).toBeNull();
    expect(ctConnectionFromFlow(actions((a) => a.type !== 'set_field'))).toBeNull();
    const sctp: Oxm = { field: 'ip_proto', value: 132 };
    expect(ctConnectionFromFlow(stats(flow, { match: flow.match.map((m) => (m.field === 'ip_proto' ? sctp : m)) }))).toBeNull();
  });

  it('reads the actions of apply_actions only, and a raw field not at all', () => {
    const flow = buildCtConnectionFlow(conn());
    const raw: Oxm = { field: 'raw', bytes: Buffer.from('ffff0204abcd', 'hex') };
    const withOthers = stats(flow, {
      match: [raw, ...flow.match],
      instructions: [...flow.instructions, { type: 'write_actions', actions: [{ type: 'output', port: 99, maxLen: 0 }] }],
    });
    expect(ctConnectionFromFlow(withOthers)).toMatchObject({ backend: { ofport: 2, mac: '52:54:00:00:00:01' } });
    // The output and MAC the connection has, not another action's.
    const noted = stats(flow, { instructions: [{ type: 'apply_actions', actions: [...(flow.instructions[0] as { actions: Action[] }).actions, { type: 'set_field', field: { field: 'ipv4_dst', value: '10.9.9.9' } }] }] });
    expect(ctConnectionFromFlow(noted)).toMatchObject({ backend: { ip: '10.0.0.11', mac: '52:54:00:00:00:01' } });
  });

  it('reads back an IPv6 UDP connection, and keeps a cookie that is not a connection out', () => {
    const spec = conn({
      protocol: 'udp', client: { ...conn().client, ip: 'fd00::51' }, vip: { ...conn().vip, ip: 'fd00::100' }, backend: { ...conn().backend, ip: 'fd00::11' },
    });
    const back = ctConnectionFromFlow(stats(buildCtConnectionFlow(spec)));
    expect(back).toEqual({ ...spec, client: { ...spec.client, mac: '' }, vip: { ...spec.vip, mac: '' } });
    // Without a fin_timeout action the connection has no finTimeout key at all (not one set to undefined).
    expect(Object.keys(back ?? {})).not.toContain('finTimeout');
    expect(ctConnectionFromFlow(stats(buildCtConnectionFlow(spec), { cookie: makeCookie('pipeline') }))).toBeNull();
  });
});

describe('conntrack commit packet-out', () => {
  const commit = { zone: 9, serviceId: 7, protocol: 'udp' as const, clientOfport: 4, backendIp: V6.ip, backendPort: 53, backendMac: '52:54:00:00:00:02', backendOfport: 3 };

  it('commits an IPv6 UDP connection to its backend, and sets the client vNIC\'s queue before the output', () => {
    const out = buildCtCommitPacketOut(Buffer.alloc(8), 4, { ...commit, queueId: 2 });
    expect(out.actions).toEqual([
      {
        type: 'nx_ct', flags: 1, zoneSrc: 0, zoneOfsNbits: 9, recircTable: 255, alg: 0,
        actions: [{ type: 'set_field', field: { field: 'ct_mark', value: 0x70004 } }, { type: 'nx_nat', flags: 2, rangeIpv6Min: V6.ip, rangeProtoMin: 53 }],
      },
      { type: 'set_field', field: { field: 'eth_dst', value: commit.backendMac } },
      { type: 'set_field', field: { field: 'ipv6_dst', value: V6.ip } },
      { type: 'set_field', field: { field: 'udp_dst', value: 53 } },
      { type: 'set_queue', queueId: 2 },
      { type: 'output', port: 3, maxLen: 0 },
    ]);
    expect(buildCtCommitPacketOut(Buffer.alloc(8), 4, { ...commit, queueId: 0 }).actions.map((a) => a.type)).toContain('set_queue');
    expect(buildCtCommitPacketOut(Buffer.alloc(8), 4, commit).actions.map((a) => a.type)).not.toContain('set_queue');
  });
});
