import {
  OFPCML_NO_BUFFER, OFPFC_ADD, OFPFC_DELETE, OFPFC_DELETE_STRICT, OFPFF_SEND_FLOW_REM, OFPG_ANY, OFPP_ANY,
  OFPP_CONTROLLER, OFPP_NORMAL, OFPP_TABLE, OFPTT_ALL, OFP_NO_BUFFER,
} from '../openflow/constants';
import type { Action, FlowMod, Instruction, MultipartRequest, Oxm, PacketOut } from '../openflow/types';
import {
  allFlowsOfKind, allFlowsOfService, allVadcFlows, connectionsOfService, exactCookie, makeCookie, oneConnection, vipCookie, vipTag, type CookieKind, type CookieMatch,
} from './cookies';
import { ICMPV6, IP_PROTO_ICMPV6 } from './ipv6-packets';
import { ETH_TYPE_ARP, ETH_TYPE_IPV4, ETH_TYPE_IPV6, IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP, ARP_REQUEST, TCP_FLAGS } from './packets';
import { PRIORITY, TABLE, type VadcTables } from './pipeline';
import { formatIpv6, parsePrefix, uint32ToIpv4, type IpPrefix } from '../net';

// Builders return codec messages with xid 0: the switch session assigns xids when it sends them.

export type L4Protocol = 'tcp' | 'udp';
const IP_PROTO: Record<L4Protocol, number> = { tcp: IP_PROTO_TCP, udp: IP_PROTO_UDP };
const DST_PORT_FIELD = { tcp: 'tcp_dst', udp: 'udp_dst' } as const;
const SRC_PORT_FIELD = { tcp: 'tcp_src', udp: 'udp_src' } as const;
// The port fields ./connection-reading.ts reads back. Exported as locals (not `export const`): CommonJS output would
// read them through `exports` in buildConnectionFlows, which runs per connection.
export { DST_PORT_FIELD, SRC_PORT_FIELD };

export class FlowBuildError extends Error {
  override readonly name = 'FlowBuildError';
}

interface FlowParts {
  tableId: number;
  priority: number;
  cookie: bigint;
  match: Oxm[];
  instructions: Instruction[];
  idleTimeout?: number;
  flags?: number;
}

function addFlow(parts: FlowParts): FlowMod {
  return {
    type: 'flow_mod', xid: 0, cookie: parts.cookie, cookieMask: 0n, tableId: parts.tableId, command: OFPFC_ADD,
    idleTimeout: parts.idleTimeout ?? 0, hardTimeout: 0, priority: parts.priority, bufferId: OFP_NO_BUFFER,
    outPort: OFPP_ANY, outGroup: OFPG_ANY, flags: parts.flags ?? 0, match: parts.match, instructions: parts.instructions,
  };
}

function deleteFlows(selector: CookieMatch, tableId = OFPTT_ALL): FlowMod {
  return {
    type: 'flow_mod', xid: 0, cookie: selector.cookie, cookieMask: selector.cookieMask, tableId, command: OFPFC_DELETE,
    idleTimeout: 0, hardTimeout: 0, priority: 0, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY,
    flags: 0, match: [], instructions: [],
  };
}

/** The same flow, as a delete-strict (exact match and priority) limited to vadc flows of `kind`. */
function asStrictDelete(flow: FlowMod, kind: CookieKind): FlowMod {
  const selector = allFlowsOfKind(kind);
  return { ...flow, command: OFPFC_DELETE_STRICT, cookie: selector.cookie, cookieMask: selector.cookieMask, instructions: [], flags: 0 };
}

const output = (port: number): Action => ({ type: 'output', port, maxLen: port === OFPP_CONTROLLER ? OFPCML_NO_BUFFER : 0 });
const apply = (...actions: Action[]): Instruction => ({ type: 'apply_actions', actions });
const gotoTable = (tableId: number): Instruction => ({ type: 'goto_table', tableId });

/** A VIP is an address or, for destination-keyed schedulers, a prefix a.b.c.d/len (parsed by src/net's one parser). */
export function vipMatch(vip: string, field: 'ipv4_dst' | 'arp_tpa'): { oxm: Oxm; prefixLength: number } {
  let prefix: IpPrefix;
  try {
    prefix = parsePrefix(vip);
  } catch (err) {
    throw new FlowBuildError(`bad VIP ${vip}: ${(err as Error).message}`);
  }
  if (prefix.family !== 4 || prefix.length < 1) throw new FlowBuildError(`bad VIP prefix ${vip}: an IPv4 address or prefix /1../32`);
  const oxm: Oxm = prefix.length === 32 ? { field, value: prefix.address } : { field, value: prefix.address, mask: uint32ToIpv4(prefix.mask) };
  return { oxm, prefixLength: prefix.length };
}

function parseVip(vip: string): IpPrefix {
  let prefix: IpPrefix;
  try {
    prefix = parsePrefix(vip);
  } catch (err) {
    throw new FlowBuildError(`bad VIP ${vip}: ${(err as Error).message}`);
  }
  if (prefix.length < 1) throw new FlowBuildError(`bad VIP prefix ${vip}: a prefix of length 0 would catch every address`);
  return prefix;
}

/**
 * The tag of a configured VIP (an address or prefix as written): vipTag of its canonical text. The one place it is
 * computed, for its flows' cookie (buildVipFlows) and for the sweep of VIP flows no configured VIP has (src/app/sweeps.ts).
 */
export function configuredVipTag(vip: string): number {
  return vipTag(parseVip(vip).text);
}

/** How a flow matches one IP address or prefix: its family's ethertype and the source or destination field. */
export interface AddressMatch {
  family: 4 | 6;
  ethType: Oxm;
  oxm: Oxm;
  prefixLength: number;
}

/** An IPv4 or IPv6 address or prefix as a source or destination match (a prefix with its mask). */
export function addressMatch(address: string, side: 'src' | 'dst'): AddressMatch {
  const prefix = parseVip(address);
  if (prefix.family === 4) {
    const field = side === 'src' ? 'ipv4_src' : 'ipv4_dst';
    const oxm: Oxm = prefix.length === 32 ? { field, value: prefix.address } : { field, value: prefix.address, mask: uint32ToIpv4(prefix.mask) };
    return { family: 4, ethType: { field: 'eth_type', value: ETH_TYPE_IPV4 }, oxm, prefixLength: prefix.length };
  }
  const field = side === 'src' ? 'ipv6_src' : 'ipv6_dst';
  const mask = new Uint8Array(16);
  for (let bit = 0; bit < prefix.length; bit++) mask[bit >> 3] |= 0x80 >> (bit & 7);
  const oxm: Oxm = prefix.length === 128 ? { field, value: prefix.address } : { field, value: prefix.address, mask: formatIpv6(mask) };
  return { family: 6, ethType: { field: 'eth_type', value: ETH_TYPE_IPV6 }, oxm, prefixLength: prefix.length };
}

/** A table-0 VIP flow's priority: its family's band plus the prefix length (longest prefix first). */
function vipPriority(m: AddressMatch, band: 'VIP_REFUSE' | 'SERVICE' | 'VIP_CONTROL'): number {
  return PRIORITY[m.family === 4 ? band : (`${band}6` as const)].min + m.prefixLength;
}

/**
 * The fixed pipeline: table-miss flows of the three tables and the table-0 rules sending TCP/UDP through
 * the reverse table. Adds only (OFPFC_ADD replaces an identical flow), never a wipe.
 */
export function buildPipelineFlows(t: VadcTables = TABLE): FlowMod[] {
  const cookie = makeCookie('pipeline');
  const miss = PRIORITY.MISS.min;
  return [
    addFlow({ tableId: t.CLASSIFY, priority: miss, cookie, match: [], instructions: [apply(output(OFPP_NORMAL))] }),
    ...buildReturnFlows(ETH_TYPE_IPV4, t),
    addFlow({ tableId: t.FORWARD, priority: miss, cookie, match: [], instructions: [apply(output(OFPP_CONTROLLER))] }),
    addFlow({ tableId: t.REVERSE, priority: miss, cookie, match: [], instructions: [apply(output(OFPP_NORMAL))] }),
  ];
}

/**
 * Table 0: TCP and UDP of one family through the reverse table (flows mode's replies). IPv4's are part of the fixed
 * pipeline; IPv6's come with the first IPv6 service (flows mode), so a switch with IPv4 services only gets the flows
 * it always got. Adds only: a second copy replaces the first.
 */
export function buildReturnFlows(ethType: typeof ETH_TYPE_IPV4 | typeof ETH_TYPE_IPV6, t: VadcTables = TABLE): FlowMod[] {
  return (['tcp', 'udp'] as const).map((proto) =>
    addFlow({
      tableId: t.CLASSIFY, priority: PRIORITY.RETURN.min, cookie: makeCookie('pipeline'),
      match: [{ field: 'eth_type', value: ethType }, { field: 'ip_proto', value: IP_PROTO[proto] }], instructions: [gotoTable(t.REVERSE)],
    }));
}

/**
 * Table 1 (flows mode): a TCP segment opening a connection (SYN without ACK) that no connection flow took -> the
 * controller, as the table's miss would send it. Why a flow of its own: OVS's datapath caches the way each packet
 * went (a megaflow, keyed on the fields the flows it took match) and keeps it until its revalidators catch up with
 * the next flow-mods. Reached by the miss, a SYN's cached way up covers its connection's next segments too: the
 * client's ACK and first data, sent before the revalidators had seen the connection's new forward flow, came up as
 * packet-ins (about 1.5 more per connection under load). Matching the SYN and ACK bits keeps the SYN's entry to
 * SYNs: the ACK misses it and is translated by the tables, which have the forward flow by then. IPv4's is part of the
 * fixed pipeline; IPv6's comes with the first IPv6 service, as its return flows do.
 */
export function buildNewConnectionFlow(ethType: typeof ETH_TYPE_IPV4 | typeof ETH_TYPE_IPV6, t: VadcTables = TABLE): FlowMod {
  return addFlow({
    tableId: t.FORWARD, priority: PRIORITY.NEW_CONNECTION.min, cookie: makeCookie('pipeline'),
    match: [
      { field: 'eth_type', value: ethType }, { field: 'ip_proto', value: IP_PROTO_TCP },
      { field: 'tcp_flags', value: TCP_FLAGS.SYN, mask: TCP_FLAGS.SYN | TCP_FLAGS.ACK },
    ],
    instructions: [apply(output(OFPP_CONTROLLER))],
  });
}

/**
 * Per VIP (shared by every service on it): address resolution and echo requests to the controller, other packets
 * to it refused there. IPv4: ARP requests and ICMP echo. IPv6: neighbor solicitations whose target is the VIP
 * (sent to its solicited-node multicast address, so matched on the ND target, not the destination) and ICMPv6 echo.
 */
export function buildVipFlows(vip: string, t: VadcTables = TABLE): FlowMod[] {
  const cookie = vipCookie(parseVip(vip).text);
  const toController = [apply(output(OFPP_CONTROLLER))];
  const addr = addressMatch(vip, 'dst');
  if (addr.family === 6) {
    const icmp6 = [addr.ethType, { field: 'ip_proto', value: IP_PROTO_ICMPV6 } as const];
    // OVS reads nd_target only with icmpv6 code 0 (its ND prerequisite). OpenFlow's nd_target is not maskable:
    // solicitations for a prefix VIP go to the controller by type alone.
    const solicitation: Oxm[] = [...icmp6, { field: 'icmpv6_type', value: ICMPV6.NEIGHBOR_SOLICITATION }, { field: 'icmpv6_code', value: 0 }];
    const ns: Oxm[] = addr.prefixLength === 128 ? [...solicitation, { field: 'ipv6_nd_target', value: parsePrefix(vip).address }] : solicitation;
    return [
      addFlow({ tableId: t.CLASSIFY, priority: vipPriority(addr, 'VIP_CONTROL'), cookie, instructions: toController, match: ns }),
      addFlow({
        tableId: t.CLASSIFY, priority: vipPriority(addr, 'VIP_CONTROL'), cookie, instructions: toController,
        match: [addr.ethType, addr.oxm, { field: 'ip_proto', value: IP_PROTO_ICMPV6 }, { field: 'icmpv6_type', value: ICMPV6.ECHO_REQUEST }],
      }),
      addFlow({ tableId: t.CLASSIFY, priority: vipPriority(addr, 'VIP_REFUSE'), cookie, instructions: toController, match: [addr.ethType, addr.oxm] }),
    ];
  }
  const arp = vipMatch(vip, 'arp_tpa');
  const ip = vipMatch(vip, 'ipv4_dst');
  return [
    addFlow({
      tableId: t.CLASSIFY, priority: PRIORITY.VIP_CONTROL.min + arp.prefixLength, cookie, instructions: toController,
      match: [{ field: 'eth_type', value: ETH_TYPE_ARP }, { field: 'arp_op', value: ARP_REQUEST }, arp.oxm],
    }),
    addFlow({
      tableId: t.CLASSIFY, priority: PRIORITY.VIP_CONTROL.min + ip.prefixLength, cookie, instructions: toController,
      match: [{ field: 'eth_type', value: ETH_TYPE_IPV4 }, { field: 'ip_proto', value: IP_PROTO_ICMP }, ip.oxm, { field: 'icmpv4_type', value: 8 }],
    }),
    addFlow({
      tableId: t.CLASSIFY, priority: PRIORITY.VIP_REFUSE.min + ip.prefixLength, cookie, instructions: toController,
      match: [{ field: 'eth_type', value: ETH_TYPE_IPV4 }, ip.oxm],
    }),
  ];
}

/** Removes exactly the flows buildVipFlows(vip) added, when no service uses the VIP any more. */
export function buildDeleteVipFlows(vip: string, t: VadcTables = TABLE): FlowMod[] {
  return buildVipFlows(vip, t).map((flow) => asStrictDelete(flow, 'vip'));
}

export interface ServiceFlowSpec {
  /** 1..65535, stable for the service's life (it is in every cookie of its flows). */
  serviceId: number;
  vip: string;
  protocol: L4Protocol;
  port: number;
}

/** Table 0: VIP:port/protocol -> vip-forward. */
export function buildServiceFlows(service: ServiceFlowSpec, t: VadcTables = TABLE): FlowMod[] {
  const ip = addressMatch(service.vip, 'dst');
  return [
    addFlow({
      tableId: t.CLASSIFY, priority: vipPriority(ip, 'SERVICE'), cookie: makeCookie('service', service.serviceId),
      match: [
        ip.ethType, { field: 'ip_proto', value: IP_PROTO[service.protocol] }, ip.oxm,
        { field: DST_PORT_FIELD[service.protocol], value: service.port },
      ],
      instructions: [gotoTable(t.FORWARD)],
    }),
  ];
}

/** Removes the service's flows and all its connection flows, in every table. */
export function buildDeleteService(serviceId: number): FlowMod {
  return deleteFlows(allFlowsOfService(serviceId));
}

/** Removes every vadc flow of one kind, in every table. */
export function buildDeleteFlowsOfKind(kind: CookieKind): FlowMod {
  return deleteFlows(allFlowsOfKind(kind));
}

/** Removes the flows whose cookie is exactly `cookie` (a vadc cookie), in every table: e.g. one VIP's flows by its tag. */
export function buildDeleteByCookie(cookie: bigint): FlowMod {
  return deleteFlows(exactCookie(cookie));
}

/** Removes every vadc flow and nothing else (operator reset; never done on connect). */
export function buildDeleteAllVadcFlows(): FlowMod {
  return deleteFlows(allVadcFlows());
}

export interface Endpoint {
  /** OpenFlow port number of the switch port the host is on. */
  ofport: number;
  mac: string;
  ip: string;
  /** TCP/UDP port. */
  port: number;
}

export interface ConnectionSpec {
  serviceId: number;
  /** 1..2^28-1, unique among the service's live connections. */
  connectionId: number;
  protocol: L4Protocol;
  client: Endpoint;
  /** The VIP side as the client sees it; ofport is unused. */
  vip: Omit<Endpoint, 'ofport'>;
  backend: Endpoint;
  idleTimeout: number;
  /** OVS fin_timeout in seconds (TCP only); 0 = not used. */
  finTimeout?: number;
}

/**
 * The forward and reverse NAT flow of one connection, both with the connection's cookie, the idle
 * timeout and SEND_FLOW_REM (so the connection's end is observed whichever side idles out first).
 */
export function buildConnectionFlows(conn: ConnectionSpec, t: VadcTables = TABLE): [FlowMod, FlowMod] {
  if (!(conn.idleTimeout >= 1 && conn.idleTimeout <= 0xffff)) throw new FlowBuildError(`idle timeout ${conn.idleTimeout} is outside 1..65535`);
  // Written as plain literals (no spreads, no helper closures): this runs once per new connection.
  const cookie = makeCookie('connection', conn.serviceId, conn.connectionId);
  const { protocol, client, vip, backend } = conn;
  const srcPort = SRC_PORT_FIELD[protocol];
  const dstPort = DST_PORT_FIELD[protocol];
  // An IPv6 connection (every address of one family: vadc does not translate between them) rewrites ipv6_* fields.
  const v6 = backend.ip.includes(':');
  if (client.ip.includes(':') !== v6 || vip.ip.includes(':') !== v6) {
    throw new FlowBuildError(`connection ${client.ip} -> ${vip.ip} -> ${backend.ip} mixes address families (vadc does not translate between them)`);
  }
  const forwardActions: Action[] = [
    { type: 'set_field', field: { field: 'eth_dst', value: backend.mac } },
    { type: 'set_field', field: { field: v6 ? 'ipv6_dst' : 'ipv4_dst', value: backend.ip } },
    { type: 'set_field', field: { field: dstPort, value: backend.port } },
    { type: 'output', port: backend.ofport, maxLen: 0 },
  ];
  const reverseActions: Action[] = [
    { type: 'set_field', field: { field: 'eth_src', value: vip.mac } },
    { type: 'set_field', field: { field: 'eth_dst', value: client.mac } },
    { type: 'set_field', field: { field: v6 ? 'ipv6_src' : 'ipv4_src', value: vip.ip } },
    { type: 'set_field', field: { field: srcPort, value: vip.port } },
    { type: 'output', port: client.ofport, maxLen: 0 },
  ];
  // fin_timeout on the reverse flow only: the backend's FIN or RST ends the connection, but a client sends a RST
  // in a handshake that goes on (a SYN that met the backend's TIME_WAIT of the same addresses and ports is answered
  // with an ACK of the old connection, the client resets it and retries its SYN). On the forward flow that RST cut
  // the connection's idle timeout to fin_timeout for good: held idle connections lost their flows (issue 15).
  if (conn.finTimeout && protocol === 'tcp') {
    reverseActions.unshift({ type: 'nx_fin_timeout', finIdleTimeout: conn.finTimeout, finHardTimeout: 0 });
  }
  const forward = connectionFlow(t.FORWARD, cookie, conn.idleTimeout, forwardActions,
    v6 ? fiveTuple6(protocol, client.ofport, client.ip, vip.ip, client.port, vip.port) : fiveTuple(protocol, client.ofport, client.ip, vip.ip, client.port, vip.port));
  const reverse = connectionFlow(t.REVERSE, cookie, conn.idleTimeout, reverseActions,
    v6 ? fiveTuple6(protocol, backend.ofport, backend.ip, client.ip, backend.port, client.port)
      : fiveTuple(protocol, backend.ofport, backend.ip, client.ip, backend.port, client.port));
  return [forward, reverse];
}

function fiveTuple(protocol: L4Protocol, inPort: number, src: string, dst: string, srcPort: number, dstPort: number): Oxm[] {
  return [
    { field: 'in_port', value: inPort }, { field: 'eth_type', value: ETH_TYPE_IPV4 }, { field: 'ip_proto', value: IP_PROTO[protocol] },
    { field: 'ipv4_src', value: src }, { field: 'ipv4_dst', value: dst },
    { field: SRC_PORT_FIELD[protocol], value: srcPort }, { field: DST_PORT_FIELD[protocol], value: dstPort },
  ];
}

function fiveTuple6(protocol: L4Protocol, inPort: number, src: string, dst: string, srcPort: number, dstPort: number): Oxm[] {
  return [
    { field: 'in_port', value: inPort }, { field: 'eth_type', value: ETH_TYPE_IPV6 }, { field: 'ip_proto', value: IP_PROTO[protocol] },
    { field: 'ipv6_src', value: src }, { field: 'ipv6_dst', value: dst },
    { field: SRC_PORT_FIELD[protocol], value: srcPort }, { field: DST_PORT_FIELD[protocol], value: dstPort },
  ];
}

function connectionFlow(tableId: number, cookie: bigint, idleTimeout: number, actions: Action[], match: Oxm[]): FlowMod {
  return {
    type: 'flow_mod', xid: 0, cookie, cookieMask: 0n, tableId, command: OFPFC_ADD, idleTimeout, hardTimeout: 0,
    priority: PRIORITY.CONNECTION.min, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY, flags: OFPFF_SEND_FLOW_REM,
    match, instructions: [{ type: 'apply_actions', actions }],
  };
}

/** Removes one connection's forward and reverse flow (one message: they share the cookie). */
export function buildDeleteConnection(serviceId: number, connectionId: number): FlowMod {
  return deleteFlows(oneConnection(serviceId, connectionId));
}

/** A connection as the client sees it (what the connection table keeps of it), addresses as text. */
export interface ClientSide {
  client: string;
  clientPort: number;
  vip: string;
  vipPort: number;
}

/**
 * Flows mode: removes the connection flows of one backend reached through a port it shares with others (a remote
 * backend behind the cluster uplink), where a delete by the port alone would cut them all. Each forward flow is
 * taken by its client side (non-strict, any in_port) and out_port; the reverse flows in one delete by the port
 * they enter on and the backend's address. `connections` are the backend's, from the connection table.
 */
export function buildDeleteConnectionsVia(
  serviceId: number, protocol: L4Protocol, viaOfport: number, backendIp: string, connections: readonly ClientSide[], t: VadcTables = TABLE,
): FlowMod[] {
  const v6 = backendIp.includes(':');
  const forward = buildDeleteForwardFlows(serviceId, protocol, viaOfport, connections, t);
  const reverse = buildDeleteConnectionFlows(serviceId, t.REVERSE, OFPP_ANY, [
    { field: 'in_port', value: viaOfport }, { field: 'eth_type', value: v6 ? ETH_TYPE_IPV6 : ETH_TYPE_IPV4 },
    { field: v6 ? 'ipv6_src' : 'ipv4_src', value: backendIp },
  ]);
  return [...forward, reverse];
}

/**
 * Flows mode: removes the forward flows of `connections` (each taken by its client side, non-strict, from any in_port)
 * that output to `outPort` (OFPP_ANY: wherever they go). Their removal (reason delete) closes them in vadc; the
 * reverse flows idle out.
 */
export function buildDeleteForwardFlows(serviceId: number, protocol: L4Protocol, outPort: number, connections: readonly ClientSide[], t: VadcTables = TABLE): FlowMod[] {
  return connections.map((c) => buildDeleteConnectionFlows(serviceId, t.FORWARD, outPort,
    (c.client.includes(':') ? fiveTuple6 : fiveTuple)(protocol, 0, c.client, c.vip, c.clientPort, c.vipPort).filter((m) => m.field !== 'in_port')));
}

/** Removes a service's connection flows (no other kind) in one table that match `match` (non-strict) and output to `outPort`. */
export function buildDeleteConnectionFlows(serviceId: number, tableId: number, outPort: number, match: Oxm[]): FlowMod {
  const { cookie, cookieMask } = connectionsOfService(serviceId);
  return {
    type: 'flow_mod', xid: 0, cookie, cookieMask, tableId, command: OFPFC_DELETE, idleTimeout: 0, hardTimeout: 0,
    priority: 0, bufferId: OFP_NO_BUFFER, outPort, outGroup: OFPG_ANY, flags: 0, match, instructions: [],
  };
}

/**
 * Sends a connection's first packet on after its flows: through the pipeline (OFPP_TABLE), as if it
 * arrived on `inPort`, so it takes exactly the path later packets take. The switch handles a
 * connection's messages in order, so the flow-mods sent before it are in place.
 */
export function buildResubmitPacketOut(frame: Buffer, inPort: number, mark?: ResubmitMark): PacketOut {
  const actions: Action[] = mark === undefined ? [output(OFPP_TABLE)] : [{ type: 'set_field', field: { field: 'metadata', value: mark } }, output(OFPP_TABLE)];
  return { type: 'packet_out', xid: 0, bufferId: OFP_NO_BUFFER, inPort, actions, data: frame };
}

/**
 * Metadata bits on flows mode's resubmit of a KNOWN connection's packet (bit 47 is the reply guard's). A packet-out is
 * translated by the tables as they are now, never by the datapath's cache, and OVS reports a packet's nonzero
 * metadata in its packet-in: a marked packet that comes back up says the tables hold no flow for its connection
 * (its flows are gone), where an unmarked one may have met a stale cache entry while its flows were on their way.
 * `SENT`: sent back through the tables as it came; `REINSTALLED`: sent after the connection's flows were sent again.
 * Metadata is 0 when a packet enters the pipeline (a table-0 owner before `first_table` must leave these bits alone).
 */
export const RESUBMIT_MARK = { SENT: 1n << 46n, REINSTALLED: 1n << 45n } as const;
export type ResubmitMark = (typeof RESUBMIT_MARK)[keyof typeof RESUBMIT_MARK];
/** Both marks: what a packet-in's metadata is read under. */
export const RESUBMIT_MARKS = RESUBMIT_MARK.SENT | RESUBMIT_MARK.REINSTALLED;

/**
 * Hands a packet that came up but is not vadc's back to the switch's normal L2 processing, as the table-0 miss
 * would have (an IPv6 prefix VIP brings up every neighbor solicitation, since nd_target cannot be masked).
 */
export function buildNormalPacketOut(frame: Buffer, inPort: number): PacketOut {
  return { type: 'packet_out', xid: 0, bufferId: OFP_NO_BUFFER, inPort, actions: [output(OFPP_NORMAL)], data: frame };
}

/** Sends a packet vadc made (ARP reply, echo reply, RST, ICMP error) out of one port. */
export function buildReplyPacketOut(frame: Buffer, outPort: number): PacketOut {
  return { type: 'packet_out', xid: 0, bufferId: OFP_NO_BUFFER, inPort: OFPP_CONTROLLER, actions: [output(outPort)], data: frame };
}

/** Flow-stats request for every vadc flow of a kind (e.g. 'connection', to rebuild the table after a restart). */
export function buildFlowStatsRequest(kind: CookieKind): MultipartRequest {
  const selector = allFlowsOfKind(kind);
  return {
    type: 'multipart_request', xid: 0, flags: 0,
    body: { mpType: 'flow', tableId: OFPTT_ALL, outPort: OFPP_ANY, outGroup: OFPG_ANY, cookie: selector.cookie, cookieMask: selector.cookieMask, match: [] },
  };
}
