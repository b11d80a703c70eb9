/**
 * Conntrack NAT mode (config `datapath.nat: conntrack`): OVS's connection tracker translates both
 * directions of a connection, so no packet of it depends on a per-connection flow being visible to the
 * datapath yet.
 *
 *   table 0   VIP:port              -> ct(zone, nat, table=1)   (established packets come back NATed)
 *   table 0   backend IP:svc port   -> ct(zone, nat, table=3)   (replies come back un-NATed)
 *   table 1   ct +new / unknown     -> controller (miss); vadc answers with a packet-out that commits the
 *                                      connection: ct(commit, zone, mark=service<<16|client port,
 *                                      nat(dst=backend:port)), then eth_dst, the backend address and port
 *                                      again (for the translation's view: buildCtCommitPacketOut) and the vNIC
 *   table 1   +dnat-rpl, mark=service, dst=backend IP       -> backend MAC, backend vNIC (per backend)
 *   table 1   the connection's accounting flow (post-NAT 5-tuple plus the original VIP:port) with its
 *             idle/FIN timeout and SEND_FLOW_REM: the same actions; it counts and ends the connection
 *   table 3   +rpl, mark=service    -> eth_src VIP MAC, output to the port in ct_mark[0..15]
 *
 * Builders only; pure.
 */
import { OFPG_ANY, OFPP_ANY, OFPP_NORMAL, OFPFC_ADD, OFPFC_DELETE_STRICT, OFPFF_SEND_FLOW_REM, OFP_NO_BUFFER } from '../openflow/constants';
import type { Action, FlowMod, FlowStats, Oxm, PacketOut } from '../openflow/types';
import { buildServiceFlows, FlowBuildError, type ConnectionSpec, type L4Protocol, type ServiceFlowSpec } from './builders';
import { allFlowsOfKind, makeCookie, parseCookie } from './cookies';
import { withEgressTag, type EgressTag } from './egress';
import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, IP_PROTO_TCP, IP_PROTO_UDP } from './packets';
import { CT_STATE, PRIORITY, TABLE, type VadcTables } from './pipeline';

/** NX_CT_F_COMMIT, NX_NAT_F_DST (OVS nicira-ext.h); 255 = NX_CT_RECIRC_NONE. */
const NX_CT_F_COMMIT = 1;
const NX_NAT_F_DST = 2;
const NX_CT_RECIRC_NONE = 255;

const IP_PROTO: Record<L4Protocol, number> = { tcp: IP_PROTO_TCP, udp: IP_PROTO_UDP };
const DST_PORT_FIELD = { tcp: 'tcp_dst', udp: 'udp_dst' } as const;
const SRC_PORT_FIELD = { tcp: 'tcp_src', udp: 'udp_src' } as const;
const SERVICE_MARK_MASK = 0xffff0000;
/** The client's OpenFlow port lives in ct_mark bits 0..15 (OVS port numbers fit; 16 bits, offset 0). */
const CLIENT_PORT_OFS_NBITS = (0 << 6) | (16 - 1);
const IPV4 = { field: 'eth_type', value: ETH_TYPE_IPV4 } as const;
const IPV6 = { field: 'eth_type', value: ETH_TYPE_IPV6 } as const;
/** An address's family by its text (config and the tables give canonical addresses; IPv6 is the one with ':'). */
const isIpv6 = (ip: string): boolean => ip.includes(':');
/** The ethertype match and address fields of one address's family. */
function family(ip: string): { ethType: Oxm; src: 'ipv4_src' | 'ipv6_src'; dst: 'ipv4_dst' | 'ipv6_dst'; ctDst: 'ct_nw_dst' | 'ct_ipv6_dst' } {
  return isIpv6(ip)
    ? { ethType: IPV6, src: 'ipv6_src', dst: 'ipv6_dst', ctDst: 'ct_ipv6_dst' }
    : { ethType: IPV4, src: 'ipv4_src', dst: 'ipv4_dst', ctDst: 'ct_nw_dst' };
}

/** ct_mark of a vadc connection: service id in the high half, the client's switch port in the low half. */
export function connectionMark(serviceId: number, clientOfport: number): number {
  if (!(clientOfport >= 1 && clientOfport <= 0xffff)) throw new FlowBuildError(`client port ${clientOfport} does not fit ct_mark's 16 bits`);
  return ((serviceId << 16) | clientOfport) >>> 0;
}

const serviceMark = (serviceId: number): Oxm => ({ field: 'ct_mark', value: (serviceId << 16) >>> 0, mask: SERVICE_MARK_MASK });
const ctState = (value: number, mask: number): Oxm => ({ field: 'ct_state', value, mask });
const ct = (zone: number, recircTable: number, flags: number, actions: Action[]): Action => ({
  type: 'nx_ct', flags, zoneSrc: 0, zoneOfsNbits: zone, recircTable, alg: 0, actions,
});
const natOnly = (zone: number, table: number): Action => ct(zone, table, 0, [{ type: 'nx_nat', flags: 0 }]);

function add(tableId: number, priority: number, cookie: bigint, match: Oxm[], actions: Action[], extra: Partial<FlowMod> = {}): FlowMod {
  return {
    type: 'flow_mod', xid: 0, cookie, cookieMask: 0n, tableId, command: OFPFC_ADD, idleTimeout: 0, hardTimeout: 0, priority,
    bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY, flags: 0, match, instructions: [{ type: 'apply_actions', actions }], ...extra,
  };
}

/** Conntrack mode's addition to the pipeline: table 3's miss (a backend's non-reply traffic switches normally). */
export function buildCtPipelineFlows(t: VadcTables = TABLE): FlowMod[] {
  return [add(t.CT_REPLY, PRIORITY.MISS.min, makeCookie('pipeline'), [], [{ type: 'output', port: OFPP_NORMAL, maxLen: 0 }])];
}

export interface CtServiceSpec {
  serviceId: number;
  protocol: L4Protocol;
  zone: number;
  vipMac: string;
  /** Every backend address and software port of the service (their replies go through conntrack); `tag`: its egress queue. */
  backends: ReadonlyArray<{ ip: string; port: number; tag?: EgressTag }>;
}

/** The table-0 service flow of conntrack mode: the VIP:port match through conntrack to table 1 (instead of goto_table). */
export function buildCtServiceFlows(service: ServiceFlowSpec, zone: number, t: VadcTables = TABLE): FlowMod[] {
  return buildServiceFlows(service, t).map((flow) => ({ ...flow, instructions: [{ type: 'apply_actions', actions: [natOnly(zone, t.FORWARD)] }] }));
}

/**
 * A service's reply path: table-0 flows sending each backend address:port's packets through conntrack,
 * and the table-3 flow restoring the VIP MAC and sending replies to the client's port. A backend shared
 * by two services gets the same table-0 flow from both (the one added last owns it).
 */
export function buildCtReplyFlows(s: CtServiceSpec, t: VadcTables = TABLE): FlowMod[] {
  const cookie = makeCookie('service', s.serviceId);
  const seen = new Set<string>();
  const flows: FlowMod[] = [];
  for (const b of s.backends) {
    const key = `${b.ip}:${b.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const f = family(b.ip);
    const flow = add(t.CLASSIFY, PRIORITY.CT_REPLY.min, cookie, [
      f.ethType, { field: 'ip_proto', value: IP_PROTO[s.protocol] }, { field: f.src, value: b.ip }, { field: SRC_PORT_FIELD[s.protocol], value: b.port },
    ], [natOnly(s.zone, t.CT_REPLY)]);
    // This flow outranks the backend's EGRESS flow, so it carries the backend's queue (and meter) itself.
    flows.push(b.tag ? { ...flow, instructions: withEgressTag(flow.instructions, b.tag) } : flow);
  }
  // One ct-reply flow per family the service's backends use (a dual-stack service has both).
  const families = [IPV4, IPV6].filter((e) => s.backends.some((b) => family(b.ip).ethType === e));
  for (const ethType of families.length ? families : [IPV4]) {
    flows.push(add(t.CT_REPLY, PRIORITY.SERVICE.min, cookie,
      [ctState(CT_STATE.TRK | CT_STATE.RPL, CT_STATE.TRK | CT_STATE.RPL), serviceMark(s.serviceId), ethType],
      [
        { type: 'set_field', field: { field: 'eth_src', value: s.vipMac } },
        { type: 'nx_output_reg', ofsNbits: CLIENT_PORT_OFS_NBITS, src: 'ct_mark', maxLen: 0 },
      ]));
  }
  return flows;
}

/**
 * What a flows-mode vadc sends so that a bridge conntrack mode left (a restart with another `datapath.nat`, or a
 * cluster group's NAT override) answers its way: DELETE_STRICT of the table-0 reply flows conntrack mode put on the
 * service's backend addresses. They outrank flows mode's RETURN flows and would send the backend's replies through
 * the tracker, where no entry translates them. (Conntrack mode's flows in its reply table are left: nothing reaches
 * that table without them.) Deleting a flow that is not there is a no-op, so flows mode sends these every time.
 */
export function buildCtLeftoverDeletes(
  s: Pick<CtServiceSpec, 'serviceId' | 'protocol' | 'backends'>, t: VadcTables = TABLE,
): FlowMod[] {
  return buildCtReplyFlows({ ...s, zone: 0, vipMac: '00:00:00:00:00:00' }, t)
    .filter((f) => f.tableId === t.CLASSIFY)
    .map((f): FlowMod => ({ ...f, command: OFPFC_DELETE_STRICT, ...allFlowsOfKind('service'), instructions: [] }));
}

export interface CtBackendSpec {
  serviceId: number;
  ip: string;
  mac: string;
  ofport: number;
}

/**
 * Table 1: packets of the service the tracker has translated to this backend (+dnat, original direction),
 * to its vNIC. Keyed on +dnat rather than +est so that a packet the tracker translated but calls invalid
 * still reaches the backend, as it would through static NAT: e.g. the client's RST to a challenge ACK from
 * a backend that still has the client's previous connection on that port in TIME_WAIT (without it the
 * backend never learns, and the retried handshake hangs).
 */
export function buildCtBackendFlow(b: CtBackendSpec, t: VadcTables = TABLE): FlowMod {
  const f = family(b.ip);
  return add(t.FORWARD, PRIORITY.BACKEND.min, makeCookie('backend', b.serviceId), [
    ctState(CT_STATE.TRK | CT_STATE.DNAT, CT_STATE.TRK | CT_STATE.DNAT | CT_STATE.RPL), serviceMark(b.serviceId), f.ethType, { field: f.dst, value: b.ip },
  ], [{ type: 'set_field', field: { field: 'eth_dst', value: b.mac } }, { type: 'output', port: b.ofport, maxLen: 0 }]);
}

/** Removes exactly the flow buildCtBackendFlow(b) added (whatever MAC/port it sent to). */
export function buildDeleteCtBackendFlow(b: Omit<CtBackendSpec, 'mac' | 'ofport'>, t: VadcTables = TABLE): FlowMod {
  const flow = buildCtBackendFlow({ ...b, mac: '00:00:00:00:00:00', ofport: 0 }, t);
  const selector = allFlowsOfKind('backend');
  return { ...flow, command: OFPFC_DELETE_STRICT, cookie: selector.cookie, cookieMask: selector.cookieMask, instructions: [] };
}

/**
 * One connection's accounting flow: matches its packets after NAT (client -> backend) and the original
 * VIP:port, forwards them exactly as the backend flow does, and carries the connection's cookie, idle and
 * FIN timeouts and SEND_FLOW_REM, so vadc sees the connection's packets and its end.
 */
export function buildCtConnectionFlow(conn: ConnectionSpec, t: VadcTables = TABLE): FlowMod {
  if (!(conn.idleTimeout >= 1 && conn.idleTimeout <= 0xffff)) throw new FlowBuildError(`idle timeout ${conn.idleTimeout} is outside 1..65535`);
  const { protocol, client, vip, backend } = conn;
  const actions: Action[] = [
    { type: 'set_field', field: { field: 'eth_dst', value: backend.mac } },
    { type: 'output', port: backend.ofport, maxLen: 0 },
  ];
  const f = family(backend.ip);
  if (isIpv6(client.ip) !== isIpv6(backend.ip) || isIpv6(vip.ip) !== isIpv6(backend.ip)) {
    throw new FlowBuildError(`connection ${client.ip} -> ${vip.ip} -> ${backend.ip} mixes address families (vadc does not translate between them)`);
  }
  if (conn.finTimeout && protocol === 'tcp') actions.unshift({ type: 'nx_fin_timeout', finIdleTimeout: conn.finTimeout, finHardTimeout: 0 });
  return add(t.FORWARD, PRIORITY.CONNECTION.min, makeCookie('connection', conn.serviceId, conn.connectionId), [
    // OVS accepts ct_nw_dst/ct_tp_dst only where the match implies a valid tracker entry: +trk-inv at least.
    ctState(CT_STATE.TRK, CT_STATE.TRK | CT_STATE.INV),
    { field: 'in_port', value: client.ofport }, f.ethType, { field: 'ip_proto', value: IP_PROTO[protocol] },
    { field: f.src, value: client.ip }, { field: f.dst, value: backend.ip },
    { field: SRC_PORT_FIELD[protocol], value: client.port }, { field: DST_PORT_FIELD[protocol], value: backend.port },
    // ct_tp_* mean something only with the original protocol matched (OVS drops them otherwise).
    { field: 'ct_nw_proto', value: IP_PROTO[protocol] }, { field: f.ctDst, value: vip.ip }, { field: 'ct_tp_dst', value: vip.port },
  ], actions, { idleTimeout: conn.idleTimeout, flags: OFPFF_SEND_FLOW_REM });
}

export interface CtCommit {
  zone: number;
  serviceId: number;
  protocol: L4Protocol;
  clientOfport: number;
  backendIp: string;
  backendPort: number;
  backendMac: string;
  backendOfport: number;
  /** The client vNIC's egress queue (set_queue before the output), when it has one. */
  queueId?: number;
}

/**
 * A new connection's packet, sent on with the conntrack commit that binds the connection to its backend
 * (mark and DNAT) and out the backend vNIC. Not through the tables: table 0 would send it through
 * conntrack uncommitted, back to the controller. Re-sending it for a known connection is harmless (the
 * tracker keeps the first binding).
 *
 * After the commit the backend's address and port are set once more. On the wire that changes nothing (the
 * tracker has just translated them), but a ct without `table=` lets "the original instance of the packet"
 * go on (ovs-actions(7)): OVS's translation still sees the VIP, and carries that view past the output into
 * whatever it reaches in the same datapath. Through a patch port (a cluster host's uplink to another bridge,
 * as in the lab, or br-int to br-ex) the next bridge's tables would match the VIP, not the backend: a remote
 * backend's host sent the first SYN through its own service flow, and every remote connection waited for the
 * client's SYN retransmit (1 s). Measured in docs/benchmarks.md.
 */
export function buildCtCommitPacketOut(frame: Buffer, inPort: number, c: CtCommit): PacketOut {
  const f = family(c.backendIp);
  return {
    type: 'packet_out', xid: 0, bufferId: OFP_NO_BUFFER, inPort, data: frame,
    actions: [
      ct(c.zone, NX_CT_RECIRC_NONE, NX_CT_F_COMMIT, [
        { type: 'set_field', field: { field: 'ct_mark', value: connectionMark(c.serviceId, c.clientOfport) } },
        isIpv6(c.backendIp)
          ? { type: 'nx_nat', flags: NX_NAT_F_DST, rangeIpv6Min: c.backendIp, rangeProtoMin: c.backendPort }
          : { type: 'nx_nat', flags: NX_NAT_F_DST, rangeIpv4Min: c.backendIp, rangeProtoMin: c.backendPort },
      ]),
      { type: 'set_field', field: { field: 'eth_dst', value: c.backendMac } },
      { type: 'set_field', field: { field: f.dst, value: c.backendIp } },
      { type: 'set_field', field: { field: DST_PORT_FIELD[c.protocol], value: c.backendPort } },
      ...(c.queueId !== undefined ? [{ type: 'set_queue' as const, queueId: c.queueId }] : []),
      { type: 'output', port: c.backendOfport, maxLen: 0 },
    ],
  };
}

/** The connection an accounting flow describes (the inverse of buildCtConnectionFlow); null when incomplete. */
export function ctConnectionFromFlow(flow: FlowStats): ConnectionSpec | null {
  const parts = parseCookie(flow.cookie);
  if (parts?.kind !== 'connection') return null;
  const m = new Map<string, unknown>();
  for (const oxm of flow.match) if (oxm.field !== 'raw') m.set(oxm.field, oxm.value);
  const proto: L4Protocol | undefined = m.get('ip_proto') === IP_PROTO_TCP ? 'tcp' : m.get('ip_proto') === IP_PROTO_UDP ? 'udp' : undefined;
  const v6 = m.get('eth_type') === ETH_TYPE_IPV6;
  const f = v6 ? family('::') : family('0.0.0.0');
  if (!proto || typeof m.get(f.ctDst) !== 'string') return null;
  let mac = '';
  let outPort = NaN;
  let fin: number | undefined;
  for (const i of flow.instructions) {
    if (i.type !== 'apply_actions') continue;
    for (const a of i.actions) {
      if (a.type === 'set_field' && a.field.field === 'eth_dst') mac = String(a.field.value);
      if (a.type === 'output') outPort = a.port;
      if (a.type === 'nx_fin_timeout') fin = a.finIdleTimeout;
    }
  }
  const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const conn: ConnectionSpec = {
    serviceId: parts.serviceId, connectionId: parts.connectionId, protocol: proto, idleTimeout: flow.idleTimeout,
    client: { ofport: num(m.get('in_port')), mac: '', ip: str(m.get(f.src)), port: num(m.get(SRC_PORT_FIELD[proto])) },
    vip: { mac: '', ip: str(m.get(f.ctDst)), port: num(m.get('ct_tp_dst')) },
    backend: { ofport: outPort, mac, ip: str(m.get(f.dst)), port: num(m.get(DST_PORT_FIELD[proto])) },
    ...(fin !== undefined ? { finTimeout: fin } : {}),
  };
  const complete = [conn.client.ofport, conn.client.port, conn.vip.port, conn.backend.ofport, conn.backend.port].every(Number.isFinite)
    && [conn.client.ip, conn.vip.ip, conn.backend.ip, conn.backend.mac].every((s) => s !== '');
  return complete ? conn : null;
}
