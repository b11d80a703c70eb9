// The flow builders' edges that pipeline.test.ts does not reach: address and VIP parsing, the bounds of a connection,
// IPv6 connection flows, the new-connection flow, the deletes of a backend behind a shared port, the packet-outs,
// and a restore from flows that are not whole (mutation testing of builders.ts, issue 18).
import { FakeFlowTable, type PacketFields } from '../../helpers/fake-flow-table';
import { encode } from '../../../src/openflow/codec';
import { OFPFC_DELETE, OFPP_CONTROLLER, OFPP_NORMAL, OFPP_TABLE } from '../../../src/openflow/constants';
import type { FlowMod, FlowStats } from '../../../src/openflow/types';
import {
  TABLE, addressMatch, buildConnectionFlows, buildDeleteConnectionsVia, buildNewConnectionFlow, buildNormalPacketOut,
  buildPipelineFlows, buildReplyPacketOut, buildResubmitPacketOut, buildReturnFlows, buildServiceFlows, buildVipFlows,
  makeCookie, readConnectionFlows, vipMatch, FlowBuildError, RESUBMIT_MARK, TCP_FLAGS, type ConnectionSpec,
} from '../../../src/flows';

const VIP = { ip: '10.0.0.100', mac: '02:00:0a:00:00:64', port: 80 };
const CLIENT = { ofport: 5, mac: '52:54:00:00:00:c1', ip: '10.0.0.51', port: 40000 };
const BACKEND = { ofport: 2, mac: '52:54:00:00:00:01', ip: '10.0.0.11', port: 8080 };
const VIP6 = { ip: '2001:db8::100', mac: VIP.mac, port: 80 };
const CLIENT6 = { ...CLIENT, ip: '2001:db8::51' };
const BACKEND6 = { ...BACKEND, ip: '2001:db8::11' };

function connection(overrides: Partial<ConnectionSpec> = {}): ConnectionSpec {
  return { serviceId: 7, connectionId: 1, protocol: 'tcp', client: CLIENT, vip: VIP, backend: BACKEND, idleTimeout: 60, ...overrides };
}

function tcp(src: { ip: string; mac: string; port: number }, dst: { ip: string; mac: string; port: number }): PacketFields {
  const v6 = src.ip.includes(':');
  return {
    eth_src: src.mac, eth_dst: dst.mac, eth_type: v6 ? 0x86dd : 0x0800, ip_proto: 6,
    [v6 ? 'ipv6_src' : 'ipv4_src']: src.ip, [v6 ? 'ipv6_dst' : 'ipv4_dst']: dst.ip, tcp_src: src.port, tcp_dst: dst.port,
  };
}

const asStats = (flow: FlowMod): FlowStats => ({
  tableId: flow.tableId, durationSec: 3, durationNsec: 0, priority: flow.priority, idleTimeout: flow.idleTimeout,
  hardTimeout: flow.hardTimeout, flags: flow.flags, cookie: flow.cookie, packetCount: 9n, byteCount: 900n, match: flow.match,
  instructions: flow.instructions,
});

describe('VIP and address matches', () => {
  it('refuses what is not an address, a /0 and (for a VIP) IPv6, naming the VIP, and accepts a /1', () => {
    for (const bad of ['not-an-ip', '10.0.0.0/0', '0.0.0.0/0', '2001:db8::1']) {
      expect(() => vipMatch(bad, 'ipv4_dst')).toThrow(FlowBuildError);
      expect(() => vipMatch(bad, 'ipv4_dst')).toThrow(new RegExp(`^bad VIP (prefix )?${bad.replace(/[./]/g, '\\$&')}: .+`));
    }
    expect(vipMatch('128.0.0.0/1', 'ipv4_dst')).toEqual({ oxm: { field: 'ipv4_dst', value: '128.0.0.0', mask: '128.0.0.0' }, prefixLength: 1 });
    try {
      vipMatch('nope', 'arp_tpa');
    } catch (err) {
      expect((err as Error).name).toBe('FlowBuildError');
    }
    expect.assertions(10);
  });

  it('matches a host exactly and a prefix by its mask', () => {
    expect(vipMatch('10.0.0.100', 'arp_tpa').oxm).toEqual({ field: 'arp_tpa', value: '10.0.0.100' });
    expect(vipMatch('10.0.0.100/32', 'ipv4_dst').oxm).toEqual({ field: 'ipv4_dst', value: '10.0.0.100' });
    expect(vipMatch('10.0.0.100/31', 'ipv4_dst').oxm).toEqual({ field: 'ipv4_dst', value: '10.0.0.100', mask: '255.255.255.254' });
  });

  it('matches the source or the destination of either family, a host without a mask', () => {
    expect(addressMatch('10.1.0.0/16', 'src')).toEqual({
      family: 4, ethType: { field: 'eth_type', value: 0x0800 }, oxm: { field: 'ipv4_src', value: '10.1.0.0', mask: '255.255.0.0' }, prefixLength: 16,
    });
    expect(addressMatch('10.1.0.1', 'dst').oxm).toEqual({ field: 'ipv4_dst', value: '10.1.0.1' });
    expect(addressMatch('2001:db8::1', 'src')).toEqual({
      family: 6, ethType: { field: 'eth_type', value: 0x86dd }, oxm: { field: 'ipv6_src', value: '2001:db8::1' }, prefixLength: 128,
    });
    expect(addressMatch('2001:db8::/33', 'dst').oxm).toEqual({ field: 'ipv6_dst', value: '2001:db8::', mask: 'ffff:ffff:8000::' });
    expect(addressMatch('8000::/1', 'dst').prefixLength).toBe(1);
    expect(() => addressMatch('::/0', 'dst')).toThrow(/^bad VIP prefix ::\/0: a prefix of length 0/);
    expect(() => addressMatch('0.0.0.0/0', 'src')).toThrow(/^bad VIP prefix 0\.0\.0\.0\/0: a prefix of length 0/);
    expect(() => addressMatch('10.0.0.300', 'dst')).toThrow(/^bad VIP 10\.0\.0\.300: /);
  });
});

describe('connection flows', () => {
  it('accepts idle timeouts 1 and 65535 and refuses 0 and 65536 by name', () => {
    expect(buildConnectionFlows(connection({ idleTimeout: 1 }))[0].idleTimeout).toBe(1);
    expect(buildConnectionFlows(connection({ idleTimeout: 65535 }))[1].idleTimeout).toBe(65535);
    expect(() => buildConnectionFlows(connection({ idleTimeout: 0 }))).toThrow('idle timeout 0 is outside 1..65535');
    expect(() => buildConnectionFlows(connection({ idleTimeout: 65536 }))).toThrow('idle timeout 65536 is outside 1..65535');
  });

  it('refuses a connection that mixes address families (the client, the VIP or the backend)', () => {
    for (const mixed of [{ client: CLIENT6 }, { vip: VIP6 }, { backend: BACKEND6 }, { client: CLIENT6, backend: BACKEND6 }]) {
      expect(() => buildConnectionFlows(connection(mixed))).toThrow(/mixes address families/);
    }
    expect(() => buildConnectionFlows(connection({ vip: VIP6 }))).toThrow(`connection ${CLIENT.ip} -> ${VIP6.ip} -> ${BACKEND.ip} mixes`);
  });

  it('an IPv6 connection reaches its backend rewritten and its reply returns from the VIP; it reads back whole', () => {
    const table = new FakeFlowTable();
    table.applyAll([...buildPipelineFlows(), ...buildReturnFlows(0x86dd), ...buildVipFlows(VIP6.ip), ...buildServiceFlows({ serviceId: 7, vip: VIP6.ip, protocol: 'tcp', port: 80 })]);
    const conn = connection({ client: CLIENT6, vip: VIP6, backend: BACKEND6 });
    expect(table.process(tcp(CLIENT6, VIP6), CLIENT6.ofport)[0].kind).toBe('controller');
    table.applyAll(buildConnectionFlows(conn));
    expect(table.process(tcp(CLIENT6, VIP6), CLIENT6.ofport)).toEqual([
      { kind: 'output', port: BACKEND6.ofport, fields: { ...tcp(CLIENT6, BACKEND6), eth_dst: BACKEND6.mac, in_port: CLIENT6.ofport } },
    ]);
    expect(table.process(tcp(BACKEND6, CLIENT6), BACKEND6.ofport)).toEqual([
      { kind: 'output', port: CLIENT6.ofport, fields: { ...tcp(VIP6, CLIENT6), in_port: BACKEND6.ofport } },
    ]);
    expect(readConnectionFlows(table.flows().map(asStats)).connections).toEqual([conn]);
  });
});

describe('the new-connection flow (table 1)', () => {
  // Alone in the forward table (numbered 0 here so a packet starts there): what it takes goes up, the rest is dropped.
  const forwardFirst = { ...TABLE, FORWARD: 0 };
  it('takes a TCP SYN without ACK of its family up to the controller, nothing else', () => {
    for (const [ethType, client, vip] of [[0x0800, CLIENT, VIP], [0x86dd, CLIENT6, VIP6]] as const) {
      const table = new FakeFlowTable();
      const flow = buildNewConnectionFlow(ethType, forwardFirst);
      expect(flow.cookie).toBe(makeCookie('pipeline'));
      table.applyAll([flow]);
      const syn = { ...tcp(client, vip), tcp_flags: TCP_FLAGS.SYN };
      expect(table.process(syn, client.ofport)).toEqual([{ kind: 'controller', tableId: 0, cookie: makeCookie('pipeline'), fields: { ...syn, in_port: client.ofport } }]);
      for (const flags of [TCP_FLAGS.SYN | TCP_FLAGS.ACK, TCP_FLAGS.ACK, TCP_FLAGS.FIN | TCP_FLAGS.ACK]) {
        expect(table.process({ ...syn, tcp_flags: flags }, client.ofport)[0].kind).toBe('drop');
      }
      expect(table.process({ ...syn, ip_proto: 17, udp_src: client.port, udp_dst: vip.port }, client.ofport)[0].kind).toBe('drop');
      const other = ethType === 0x0800 ? { ...tcp(CLIENT6, VIP6), tcp_flags: TCP_FLAGS.SYN } : { ...tcp(CLIENT, VIP), tcp_flags: TCP_FLAGS.SYN };
      expect(table.process(other, client.ofport)[0].kind).toBe('drop');
    }
  });

  it('the pipeline\'s return flows take only TCP and UDP of their family to the reverse table', () => {
    const table = new FakeFlowTable();
    // The reverse table without its miss: what reaches it is dropped, what the return flows leave is switched normally.
    table.applyAll([...buildPipelineFlows(), ...buildReturnFlows(0x86dd)].filter((f) => f.tableId !== TABLE.REVERSE));
    expect(table.process(tcp(BACKEND, CLIENT), BACKEND.ofport)[0].kind).toBe('drop');
    expect(table.process(tcp(BACKEND6, CLIENT6), BACKEND.ofport)[0].kind).toBe('drop');
    const icmp = { eth_src: BACKEND.mac, eth_dst: CLIENT.mac, eth_type: 0x0800, ip_proto: 1, ipv4_src: BACKEND.ip, ipv4_dst: CLIENT.ip };
    expect(table.process(icmp, BACKEND.ofport)[0].kind).toBe('normal');
    expect(table.process({ eth_src: BACKEND.mac, eth_dst: CLIENT.mac, eth_type: 0x0806 }, BACKEND.ofport)[0].kind).toBe('normal');
  });
});

describe('deleting the connections of a backend behind a shared port', () => {
  const UPLINK = 9;
  const REMOTE_A = { ofport: UPLINK, mac: '52:54:00:00:00:0a', ip: '10.0.1.10', port: 8080 };
  const REMOTE_B = { ofport: UPLINK, mac: '52:54:00:00:00:0b', ip: '10.0.1.11', port: 8080 };
  const REMOTE_A6 = { ...REMOTE_A, ip: '2001:db8:1::10' };
  const REMOTE_B6 = { ...REMOTE_B, ip: '2001:db8:1::11' };

  it.each([
    ['IPv4', CLIENT, VIP, REMOTE_A, REMOTE_B],
    ['IPv6', CLIENT6, VIP6, REMOTE_A6, REMOTE_B6],
  ])('%s: cuts exactly one backend\'s connections, both ways, and leaves the other\'s on the same port', (_family, client, vip, a, b) => {
    const table = new FakeFlowTable();
    table.applyAll([...buildPipelineFlows(), ...buildReturnFlows(0x86dd), ...buildVipFlows(vip.ip), ...buildServiceFlows({ serviceId: 7, vip: vip.ip, protocol: 'tcp', port: 80 })]);
    const aConns = [40000, 40001].map((port, i) => connection({ connectionId: 1 + i, client: { ...client, port }, vip, backend: a }));
    const bConn = connection({ connectionId: 3, client: { ...client, port: 40002 }, vip, backend: b });
    const other = connection({ serviceId: 8, connectionId: 1, client: { ...client, port: 40003 }, vip, backend: a });
    for (const c of [...aConns, bConn, other]) table.applyAll(buildConnectionFlows(c));
    const deletes = buildDeleteConnectionsVia(7, 'tcp', UPLINK, a.ip, aConns.map((c) => ({ client: c.client.ip, clientPort: c.client.port, vip: c.vip.ip, vipPort: c.vip.port })));
    expect(deletes).toHaveLength(3);
    // Each one a flow-mod the codec can send (OFPT_FLOW_MOD, delete).
    for (const d of deletes) expect([encode(d)[1], d.command]).toEqual([14, OFPFC_DELETE]);
    table.applyAll(deletes);
    const left = readConnectionFlows(table.flows().map(asStats));
    expect(left.orphans).toEqual([]);
    expect(left.connections.map((c) => [c.serviceId, c.connectionId])).toEqual([[7, 3], [8, 1]]);
    // What is left still forwards both ways; a cut connection's packet is new to vadc, its backend's reply is
    // switched as it is (no longer translated from the VIP).
    expect(table.process(tcp(bConn.client, vip), client.ofport)[0]).toMatchObject({ kind: 'output', port: UPLINK });
    expect(table.process(tcp(b, bConn.client), UPLINK)[0]).toMatchObject({ kind: 'output', port: client.ofport });
    expect(table.process(tcp(aConns[0].client, vip), client.ofport)[0].kind).toBe('controller');
    expect(table.process(tcp(a, aConns[1].client), UPLINK)[0].kind).toBe('normal');
  });
});

describe('packet-outs', () => {
  const frame = Buffer.from('frame');
  it('resubmits through the tables, marked in the metadata when asked', () => {
    expect(buildResubmitPacketOut(frame, 5)).toMatchObject({ inPort: 5, data: frame, actions: [{ type: 'output', port: OFPP_TABLE }] });
    expect(buildResubmitPacketOut(frame, 5, RESUBMIT_MARK.SENT).actions).toEqual([
      { type: 'set_field', field: { field: 'metadata', value: RESUBMIT_MARK.SENT } }, { type: 'output', port: OFPP_TABLE, maxLen: 0 },
    ]);
  });

  it('hands a packet back to normal switching as if it came in on its port, and sends a made packet out of one port', () => {
    expect(buildNormalPacketOut(frame, 5)).toEqual({
      type: 'packet_out', xid: 0, bufferId: 0xffffffff, inPort: 5, actions: [{ type: 'output', port: OFPP_NORMAL, maxLen: 0 }], data: frame,
    });
    expect(buildReplyPacketOut(frame, 3)).toMatchObject({ inPort: OFPP_CONTROLLER, actions: [{ type: 'output', port: 3 }], data: frame });
  });
});

describe('restoring connections from flows that are not whole', () => {
  const pair = (c = connection({ finTimeout: 5 })) => buildConnectionFlows(c).map(asStats);
  type Edit = (forward: FlowStats, reverse: FlowStats) => void;
  const dropMatch = (flow: FlowStats, field: string) => { flow.match = flow.match.filter((m) => m.field !== field); };
  const dropSet = (flow: FlowStats, field: string) => {
    flow.instructions = flow.instructions.map((i) => (i.type === 'apply_actions'
      ? { ...i, actions: i.actions.filter((a) => !(a.type === 'set_field' && a.field.field === field)) } : i));
  };
  const dropOutput = (flow: FlowStats) => {
    flow.instructions = flow.instructions.map((i) => (i.type === 'apply_actions' ? { ...i, actions: i.actions.filter((a) => a.type !== 'output') } : i));
  };
  const edits: Array<[string, Edit]> = [
    ['client port (in_port)', (f) => dropMatch(f, 'in_port')],
    ['client address', (f) => dropMatch(f, 'ipv4_src')],
    ['client TCP port', (f) => dropMatch(f, 'tcp_src')],
    ['VIP address', (f) => dropMatch(f, 'ipv4_dst')],
    ['VIP TCP port', (f) => dropMatch(f, 'tcp_dst')],
    ['client MAC', (_f, r) => dropSet(r, 'eth_dst')],
    ['VIP MAC', (_f, r) => dropSet(r, 'eth_src')],
    ['backend MAC', (f) => dropSet(f, 'eth_dst')],
    ['backend address', (f) => dropSet(f, 'ipv4_dst')],
    ['backend port', (f) => dropSet(f, 'tcp_dst')],
    ['backend switch port', (f) => dropOutput(f)],
    ['protocol (ICMP)', (f) => { f.match = f.match.map((m) => (m.field === 'ip_proto' ? { ...m, value: 1 } : m)); }],
  ];
  it.each(edits)('a pair without its %s is an orphan, not a connection', (_what, edit) => {
    const [forward, reverse] = pair();
    edit(forward, reverse);
    expect(readConnectionFlows([forward, reverse])).toEqual({ connections: [], orphans: [forward.cookie] });
  });

  it('reads the first fin_timeout, apply-actions only, and sets no finTimeout a connection did not have', () => {
    const [forward, reverse] = pair();
    const apply = reverse.instructions[0];
    if (apply.type !== 'apply_actions') throw new Error('expected apply_actions');
    reverse.instructions = [
      { type: 'goto_table', tableId: 3 },
      { ...apply, actions: [...apply.actions, { type: 'nx_fin_timeout', finIdleTimeout: 9, finHardTimeout: 0 }, { type: 'set_queue', queueId: 1 }] },
      { type: 'write_actions', actions: [{ type: 'set_field', field: { field: 'eth_dst', value: '52:54:00:00:00:ff' } }] },
    ];
    expect(readConnectionFlows([forward, reverse]).connections).toStrictEqual([connection({ finTimeout: 5 })]);
    const udp = connection({ protocol: 'udp', client: { ...CLIENT, port: 5000 } });
    expect(readConnectionFlows(pair(udp)).connections).toStrictEqual([udp]);
  });

  it('lists each orphan once, a stray beside a forward half too', () => {
    const [forward] = pair();
    const stray = { ...forward, tableId: 9 };
    expect(readConnectionFlows([forward, stray])).toEqual({ connections: [], orphans: [forward.cookie] });
  });
});
