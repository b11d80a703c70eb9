import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeFlowTable, fieldsOfPacket, type PacketFields } from '../../helpers/fake-flow-table';
import { OFPFC_DELETE, OFPFF_SEND_FLOW_REM, OFPP_CONTROLLER, OFPP_TABLE, OFPTT_ALL } from '../../../src/openflow/constants';
import type { FlowMod, FlowStats } from '../../../src/openflow/types';
import {
  VADC_PIPELINE, buildConnectionFlows, buildDeleteAllVadcFlows, buildDeleteConnection, buildDeleteService, buildDeleteVipFlows,
  buildFlowStatsRequest, buildPipelineFlows, buildResubmitPacketOut, buildServiceFlows, buildVipFlows, checkFlow, makeCookie, sharedEndCopyCookie,
  readConnectionFlows, FlowBuildError, buildArpReply, parsePacket, PRIORITY, COOKIE_KINDS, COOKIE_MAGIC, type ConnectionSpec,
  buildNewConnectionFlow, ETH_TYPE_IPV4, ETH_TYPE_IPV6,
} from '../../../src/flows';
import { buildBackendEndCopies, buildBackendReturnBase, buildClientEndCopies } from '../../../src/flows/end-copies';

const VIP = { ip: '10.0.0.100', mac: '02:00:0a:00:00:64', port: 80 };
const CLIENT = { ofport: 5, mac: '52:54:00:00:00:c1', ip: '10.0.0.51', port: 40000 };
const BACKEND = { ofport: 2, mac: '52:54:00:00:00:01', ip: '10.0.0.11', port: 8080 };

function connection(overrides: Partial<ConnectionSpec> = {}): ConnectionSpec {
  return { serviceId: 7, connectionId: 1, protocol: 'tcp', client: CLIENT, vip: VIP, backend: BACKEND, idleTimeout: 60, ...overrides };
}

function tcp(src: { ip: string; mac: string; port: number }, dst: { ip: string; mac: string; port: number }): PacketFields {
  return { eth_src: src.mac, eth_dst: dst.mac, eth_type: 0x0800, ip_proto: 6, ipv4_src: src.ip, ipv4_dst: dst.ip, tcp_src: src.port, tcp_dst: dst.port };
}

/** A switch with the pipeline, the VIP and one service installed, every flow checked against the pipeline. */
function switchWithService(): FakeFlowTable {
  const table = new FakeFlowTable();
  install(table, [...buildPipelineFlows(), ...buildVipFlows(VIP.ip), ...buildServiceFlows({ serviceId: 7, vip: VIP.ip, protocol: 'tcp', port: 80 })]);
  return table;
}

function install(table: FakeFlowTable, flows: FlowMod[], now = 0): void {
  for (const flow of flows) expect(checkFlow(flow, VADC_PIPELINE)).toEqual([]);
  table.applyAll(flows, now);
}

describe('the vadc pipeline, run on a simulated switch', () => {
  it('switches traffic that is not for a VIP normally (ARP, TCP, UDP, other ethertypes)', () => {
    const table = switchWithService();
    const other = { ip: '10.0.0.12', mac: '52:54:00:00:00:02', port: 22 };
    expect(table.process(tcp(CLIENT, other), CLIENT.ofport).map((o) => o.kind)).toEqual(['normal']);
    expect(table.process({ ...tcp(CLIENT, other), ip_proto: 17, udp_src: 1, udp_dst: 53 }, CLIENT.ofport).map((o) => o.kind)).toEqual(['normal']);
    expect(table.process({ eth_type: 0x0806, arp_op: 1, arp_tpa: '10.0.0.12' }, CLIENT.ofport).map((o) => o.kind)).toEqual(['normal']);
    expect(table.process({ eth_type: 0x86dd }, CLIENT.ofport).map((o) => o.kind)).toEqual(['normal']);
  });

  it('sends ARP requests and ICMP echo for the VIP, and the first packet of a connection, to the controller', () => {
    const table = switchWithService();
    expect(table.process({ eth_type: 0x0806, arp_op: 1, arp_tpa: VIP.ip }, CLIENT.ofport)).toEqual([expect.objectContaining({ kind: 'controller', tableId: 0 })]);
    expect(table.process({ eth_type: 0x0800, ip_proto: 1, ipv4_dst: VIP.ip, icmpv4_type: 8 }, CLIENT.ofport)).toEqual([expect.objectContaining({ kind: 'controller', tableId: 0 })]);
    expect(table.process(tcp(CLIENT, VIP), CLIENT.ofport)).toEqual([expect.objectContaining({ kind: 'controller', tableId: 1 })]);
    // A port the VIP does not serve reaches the controller from table 0 (to be refused), not the forward table.
    expect(table.process(tcp(CLIENT, { ...VIP, port: 443 }), CLIENT.ofport)).toEqual([expect.objectContaining({ kind: 'controller', tableId: 0 })]);
  });

  it('after the connection flows, the packet reaches the backend rewritten and the reply returns from the VIP', () => {
    const table = switchWithService();
    install(table, buildConnectionFlows(connection()));
    expect(table.process(tcp(CLIENT, VIP), CLIENT.ofport)).toEqual([
      { kind: 'output', port: BACKEND.ofport, fields: { ...tcp(CLIENT, BACKEND), eth_dst: BACKEND.mac, in_port: CLIENT.ofport } },
    ]);
    const reply = table.process(tcp(BACKEND, CLIENT), BACKEND.ofport);
    expect(reply).toEqual([{ kind: 'output', port: CLIENT.ofport, fields: { ...tcp(VIP, CLIENT), in_port: BACKEND.ofport } }]);
    // Another client's packet is still new to vadc; the backend talking to anyone else is switched normally.
    expect(table.process(tcp({ ...CLIENT, port: 40001 }, VIP), CLIENT.ofport)[0].kind).toBe('controller');
    expect(table.process(tcp(BACKEND, { ...CLIENT, port: 40001 }), BACKEND.ofport)[0].kind).toBe('normal');
  });

  it('answers a real ARP request frame: it reaches the controller, and the reply goes back out of its port', () => {
    const table = switchWithService();
    const request = Buffer.from('ffffffffffff5254000000c1080600010800060400015254000000c10a0000330000000000000a000064', 'hex');
    const parsedRequest = parsePacket(request);
    if (!parsedRequest.ok) throw new Error(parsedRequest.reason);
    expect(table.process(fieldsOfPacket(parsedRequest.packet), CLIENT.ofport)).toEqual([expect.objectContaining({ kind: 'controller', tableId: 0 })]);
    const reply = parsePacket(buildArpReply(parsedRequest.packet, VIP.mac));
    expect(reply.ok && fieldsOfPacket(reply.packet)).toMatchObject({ eth_dst: CLIENT.mac, arp_op: 2, arp_spa: VIP.ip, arp_sha: VIP.mac });
  });

  it('handles UDP services the same way', () => {
    const table = new FakeFlowTable();
    install(table, [...buildPipelineFlows(), ...buildServiceFlows({ serviceId: 3, vip: VIP.ip, protocol: 'udp', port: 53 })]);
    install(table, buildConnectionFlows(connection({ serviceId: 3, protocol: 'udp', vip: { ...VIP, port: 53 }, backend: { ...BACKEND, port: 5353 } })));
    const udp = (s: typeof CLIENT | typeof VIP, d: typeof CLIENT | typeof VIP, sp: number, dp: number): PacketFields =>
      ({ eth_src: s.mac, eth_dst: d.mac, eth_type: 0x0800, ip_proto: 17, ipv4_src: s.ip, ipv4_dst: d.ip, udp_src: sp, udp_dst: dp });
    const [forward] = table.process(udp(CLIENT, VIP, CLIENT.port, 53), CLIENT.ofport);
    expect(forward).toMatchObject({ kind: 'output', port: BACKEND.ofport, fields: { ipv4_dst: BACKEND.ip, udp_dst: 5353, eth_dst: BACKEND.mac } });
    const [back] = table.process(udp(BACKEND, CLIENT, 5353, CLIENT.port), BACKEND.ofport);
    expect(back).toMatchObject({ kind: 'output', port: CLIENT.ofport, fields: { ipv4_src: VIP.ip, udp_src: 53, eth_src: VIP.mac } });
  });

  it('matches a VIP prefix, longest prefix first', () => {
    const table = new FakeFlowTable();
    install(table, [
      ...buildPipelineFlows(), ...buildVipFlows('10.2.0.0/16'), ...buildVipFlows('10.2.3.0/24'),
      ...buildServiceFlows({ serviceId: 1, vip: '10.2.0.0/16', protocol: 'tcp', port: 80 }),
      ...buildServiceFlows({ serviceId: 2, vip: '10.2.3.0/24', protocol: 'tcp', port: 80 }),
    ]);
    const to = (ip: string) => table.process(tcp(CLIENT, { ...VIP, ip }), CLIENT.ofport);
    expect(to('10.2.9.9')).toEqual([expect.objectContaining({ kind: 'controller', tableId: 1 })]);
    expect(table.flows(0).find((f) => f.cookie === makeCookie('service', 2))?.priority).toBeGreaterThan(
      table.flows(0).find((f) => f.cookie === makeCookie('service', 1))?.priority ?? Infinity,
    );
    expect(to('10.3.0.1')[0].kind).toBe('normal');
  });

  it('ends connections by idle timeout with a flow-removed for each flow', () => {
    const table = switchWithService();
    install(table, buildConnectionFlows(connection()), 100);
    table.process(tcp(CLIENT, VIP), CLIENT.ofport, 130);
    expect(table.expire(159)).toEqual([]);
    // The reverse flow has been idle since 100, the forward one since 130.
    expect(table.expire(160)).toEqual([expect.objectContaining({ notify: true, flow: expect.objectContaining({ tableId: 2 }) })]);
    const removed = table.expire(190);
    expect(removed).toEqual([expect.objectContaining({ notify: true, flow: expect.objectContaining({ tableId: 1 }) })]);
    expect(table.process(tcp(CLIENT, VIP), CLIENT.ofport, 191)[0].kind).toBe('controller');
  });

  it('deletes one connection, one service or all vadc flows, never flows it does not own', () => {
    const table = switchWithService();
    const foreign: FlowMod = { ...buildPipelineFlows()[0], cookie: 0x1234n, priority: 5, match: [{ field: 'eth_type', value: 0x88cc }] };
    table.apply(foreign);
    install(table, [...buildConnectionFlows(connection()), ...buildConnectionFlows(connection({ connectionId: 2, client: { ...CLIENT, port: 40001 } }))]);
    install(table, buildServiceFlows({ serviceId: 8, vip: VIP.ip, protocol: 'tcp', port: 8443 }));

    install(table, [buildDeleteConnection(7, 1)]);
    expect(table.process(tcp(CLIENT, VIP), CLIENT.ofport)[0].kind).toBe('controller');
    expect(table.process(tcp({ ...CLIENT, port: 40001 }, VIP), CLIENT.ofport)[0].kind).toBe('output');

    install(table, [buildDeleteService(7)]);
    expect(table.process(tcp({ ...CLIENT, port: 40001 }, VIP), CLIENT.ofport)).toEqual([expect.objectContaining({ kind: 'controller', tableId: 0 })]);
    expect(table.process(tcp(CLIENT, { ...VIP, port: 8443 }), CLIENT.ofport)).toEqual([expect.objectContaining({ kind: 'controller', tableId: 1 })]);

    install(table, buildDeleteVipFlows(VIP.ip));
    expect(table.process({ eth_type: 0x0806, arp_op: 1, arp_tpa: VIP.ip }, CLIENT.ofport)[0].kind).toBe('normal');

    install(table, [buildDeleteAllVadcFlows()]);
    expect(table.flows()).toEqual([foreign]);
  });

  it('re-sends the first packet through the pipeline without buffering', () => {
    const out = buildResubmitPacketOut(Buffer.from('frame'), CLIENT.ofport);
    expect(out).toMatchObject({ inPort: CLIENT.ofport, bufferId: 0xffffffff, actions: [{ type: 'output', port: OFPP_TABLE }] });
  });

  it('asks for no-buffer packet-ins so the controller always gets the whole packet', () => {
    const toController = [...buildPipelineFlows(), ...buildVipFlows(VIP.ip)]
      .flatMap((f) => f.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : [])))
      .filter((a) => a.type === 'output' && a.port === OFPP_CONTROLLER);
    expect(toController.length).toBe(4);
    for (const action of toController) expect(action).toMatchObject({ maxLen: 0xffff });
  });

  it('adds the fin_timeout action to the reverse flow of TCP connections only, and rejects a bad idle timeout', () => {
    const [forward, reverse] = buildConnectionFlows(connection({ finTimeout: 5 }));
    expect(forward.flags & OFPFF_SEND_FLOW_REM).toBe(OFPFF_SEND_FLOW_REM);
    const actionsOf = (flow: FlowMod) => flow.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : []));
    expect(actionsOf(reverse)[0]).toEqual({ type: 'nx_fin_timeout', finIdleTimeout: 5, finHardTimeout: 0 });
    // A client's RST in a handshake that goes on must not shorten the connection's life (issue 15).
    expect(actionsOf(forward).some((a) => a.type === 'nx_fin_timeout')).toBe(false);
    const [udpForward, udpReverse] = buildConnectionFlows(connection({ protocol: 'udp', finTimeout: 5 }));
    expect(JSON.stringify([udpForward.instructions, udpReverse.instructions], (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain('fin_timeout');
    expect(() => buildConnectionFlows(connection({ idleTimeout: 0 }))).toThrow(FlowBuildError);
  });
});

describe('rebuilding connections from the switch after a restart', () => {
  const asStats = (flow: FlowMod): FlowStats => ({
    tableId: flow.tableId, durationSec: 3, durationNsec: 0, priority: flow.priority, idleTimeout: flow.idleTimeout,
    hardTimeout: flow.hardTimeout, flags: flow.flags, cookie: flow.cookie, packetCount: 9n, byteCount: 900n, match: flow.match,
    instructions: flow.instructions,
  });

  it('reads back every connection it installed, and reports half pairs as orphans', () => {
    const first = connection({ finTimeout: 5 });
    const second = connection({ serviceId: 9, connectionId: 77, protocol: 'udp', client: { ...CLIENT, port: 5000 } });
    const third = connection({ connectionId: 3 });
    const stats = [...buildConnectionFlows(first), ...buildConnectionFlows(second), buildConnectionFlows(third)[0], ...buildPipelineFlows()].map(asStats);
    const { connections, orphans } = readConnectionFlows(stats);
    expect(connections).toEqual([first, second]);
    expect(orphans).toEqual([makeCookie('connection', 7, 3)]);
  });

  it('reports a reverse half alone, and a connection cookie in another table without its pair, as orphans', () => {
    const whole = connection();
    const [, reverseOnly] = buildConnectionFlows(connection({ connectionId: 4 })).map(asStats);
    const [wholeForward] = buildConnectionFlows(whole).map(asStats);
    const stray = { ...wholeForward, tableId: 9, cookie: makeCookie('connection', 7, 5) };
    const strayBesidePair = { ...wholeForward, tableId: 9 };
    const stats = [reverseOnly, stray, ...buildConnectionFlows(whole).map(asStats), strayBesidePair];
    const { connections, orphans } = readConnectionFlows(stats);
    expect(connections).toEqual([whole]);
    expect(orphans.sort()).toEqual([makeCookie('connection', 7, 4), makeCookie('connection', 7, 5)].sort());
  });

  it('leaves a foreign flow pair alone when its cookie differs from vadc\'s magic only in the low byte', () => {
    const ours = buildConnectionFlows(connection()).map(asStats);
    const foreignCookie = (ours[0].cookie & ~(0xffn << 48n)) | (0x01n << 48n); // 0xad01...: someone else's
    const foreign = ours.map((f) => ({ ...f, cookie: foreignCookie }));
    expect(readConnectionFlows(foreign)).toEqual({ connections: [], orphans: [] });
    expect(readConnectionFlows([...foreign, ...ours]).connections).toEqual([connection()]);
  });

  it('asks for connection flows by cookie in every table', () => {
    const request = buildFlowStatsRequest('connection');
    expect(request.body).toMatchObject({ mpType: 'flow', tableId: OFPTT_ALL });
    const body = request.body as { cookie: bigint; cookieMask: bigint };
    expect(makeCookie('connection', 5, 5) & body.cookieMask).toBe(body.cookie);
    expect(makeCookie('service', 5) & body.cookieMask).not.toBe(body.cookie);
  });
});

describe('checkFlow', () => {
  const [forward] = buildConnectionFlows(connection());

  it('accepts every flow the builders make', () => {
    const all = [
      ...buildPipelineFlows(), ...buildVipFlows(VIP.ip), ...buildVipFlows('10.8.0.0/13'), ...buildDeleteVipFlows(VIP.ip),
      ...buildServiceFlows({ serviceId: 65535, vip: VIP.ip, protocol: 'udp', port: 1 }), ...buildConnectionFlows(connection({ finTimeout: 1 })),
      buildDeleteConnection(1, 1), buildDeleteService(1), buildDeleteAllVadcFlows(),
    ];
    for (const flow of all) expect(checkFlow(flow, VADC_PIPELINE)).toEqual([]);
  });

  it('accepts the SYN flows, IPv6 connections and the end copies: each table allows the fields, set-fields, actions and cookie kinds they use', () => {
    const v6 = connection({
      client: { ofport: 3, mac: '52:54:00:00:00:c1', ip: '2001:db8:1::51', port: 40000 },
      vip: { ip: 'fd00::1:100', mac: VIP.mac, port: 80 }, backend: { ofport: 5, mac: '52:54:00:00:00:b1', ip: 'fd00:2::7', port: 8080 },
    });
    const [service] = buildServiceFlows({ serviceId: 7, vip: VIP.ip, protocol: 'tcp', port: 80 });
    const all = [
      buildNewConnectionFlow(ETH_TYPE_IPV4), buildNewConnectionFlow(ETH_TYPE_IPV6), ...buildConnectionFlows(v6),
      ...buildClientEndCopies(service, 7), ...buildBackendEndCopies(buildBackendReturnBase(7, BACKEND.ip, BACKEND.port)),
    ];
    // What each one needs of its table, so that a table without it would refuse the flow.
    const actionsOf = (flow: FlowMod) => flow.instructions.flatMap((i) => (i.type === 'apply_actions' ? i.actions : []));
    const setFieldsOf = (flow: FlowMod) => actionsOf(flow).flatMap((a) => (a.type === 'set_field' ? [a.field.field] : []));
    expect(all[0].match.map((m) => m.field)).toContain('tcp_flags');
    expect([setFieldsOf(all[2]), setFieldsOf(all[3])]).toEqual([expect.arrayContaining(['ipv6_dst']), expect.arrayContaining(['ipv6_src'])]);
    expect(all.slice(4).map((f) => [f.tableId, f.match.some((m) => m.field === 'tcp_flags'), actionsOf(f).some((a) => a.type === 'nx_controller2'), f.cookie]))
      .toEqual([...Array(2).fill([0, true, true, makeCookie('end', 7)]), ...Array(2).fill([0, true, true, sharedEndCopyCookie(BACKEND.ip, BACKEND.port)])]);
    for (const flow of all) expect(checkFlow(flow, VADC_PIPELINE)).toEqual([]);
  });

  it.each<[string, Partial<FlowMod>, string]>([
    ['an undeclared table', { tableId: 9 }, 'table 9 is not in the pipeline'],
    ['a field not allowed in the table', { match: [...forward.match, { field: 'vlan_vid', value: 1 }] }, 'match field vlan_vid is not allowed in table vip-forward'],
    ['a missing prerequisite', { match: forward.match.filter((m) => m.field !== 'ip_proto') }, 'match field tcp_src needs ip_proto = 0x6'],
    ['a priority outside the bands', { priority: 700 }, "priority 700 is in none of table vip-forward's bands (MISS, NEW_CONNECTION, DECISION, BACKEND, CONNECTION)"],
    ['a foreign cookie', { cookie: 0x42n }, 'cookie 0x42 is not in the vadc scheme'],
    ['a cookie kind from another table', { cookie: makeCookie('service', 1) }, 'cookie kind service does not belong in table vip-forward'],
    ['a goto to an undeclared next table', { instructions: [{ type: 'goto_table', tableId: 2 }] }, 'goto_table 2 is not a next table of vip-forward'],
    ['a set-field not allowed', { instructions: [{ type: 'apply_actions', actions: [{ type: 'set_field', field: { field: 'ipv4_src', value: '1.1.1.1' } }] }] }, 'set_field ipv4_src is not allowed in table vip-forward'],
    ['an action not allowed', { instructions: [{ type: 'apply_actions', actions: [{ type: 'nx_note', note: Buffer.alloc(6) }] }] }, 'action nx_note is not allowed in table vip-forward'],
    ['a delete that could hit foreign flows', { command: OFPFC_DELETE, cookie: 0n, cookieMask: 0n }, 'delete/modify must pin the vadc cookie magic (it could touch flows vadc does not own)'],
  ])('rejects %s', (_what, change, problem) => {
    expect(checkFlow({ ...forward, ...change }, VADC_PIPELINE)).toContain(problem);
  });
});

describe('docs/pipeline.md', () => {
  it('names every table, band and cookie kind the pipeline declares', () => {
    const doc = readFileSync(join(__dirname, '../../../docs/pipeline.md'), 'utf8');
    for (const table of VADC_PIPELINE) expect(doc).toContain(`| ${table.id} | \`${table.name}\` |`);
    for (const band of Object.keys(PRIORITY)) expect(doc).toContain(`| \`${band}\` |`);
    for (const [kind, code] of Object.entries(COOKIE_KINDS)) expect(doc).toContain(`${code} ${kind}`);
    expect(doc).toContain(`\`0x${COOKIE_MAGIC.toString(16)}\``);
  });
});
