/**
 * Flows mode's reply guard (config `datapath.reply_guard`, SYN-ACKs per second; 0 = off; docs/pipeline.md). A
 * connection's reverse flow can be in the tables and still miss its SYN-ACK: the datapath keeps its cached megaflows
 * until its revalidators catch up with the flow-mod, and a megaflow cached before the connection
 * ("backend -> client: NORMAL") let the SYN-ACK leave untranslated; the client reset it and retried a second
 * later. The guard sends such a SYN-ACK to vadc, which sends it back through the tables marked passed (metadata bit
 * 47): by then the reverse flow is there and translates it; anything else passes the guard and goes NORMAL as before.
 *
 *   table 2  DIRECT_REPLY (900) a direct connection's exact backend-side 5-tuple       -> NORMAL (idle 10 s)
 *   table 2  HOST_REPLY (700)   eth_dst = the bridge's LOCAL MAC                      -> NORMAL (never up)
 *   table 2  REPLY_GUARD (600)  TCP SYN+ACK from backend ip:port, metadata bit 47 clear -> controller (metered)
 *
 * Bounded three ways: only SYN+ACK segments (one per handshake; data, ACKs and FINs never come up), never the
 * host's own traffic (the health checks' replies go to the LOCAL port: they must not depend on vadc being there,
 * e.g. between two daemons, when a packet-in has nowhere to go), and an OpenFlow meter of its own (above its rate
 * the switch drops the SYN-ACK and the backend retransmits it: a VIP connection's SYN-ACK is never sent
 * untranslated, and OpenFlow 1.3 has no "else NORMAL" for a meter). Builders only; pure.
 */
import { OFPCML_NO_BUFFER, OFPFC_ADD, OFPFC_DELETE_STRICT, OFPG_ANY, OFPMC_ADD, OFPMC_DELETE, OFPMF_BURST, OFPMF_PKTPS, OFPMF_STATS, OFPP_ANY, OFPP_NORMAL, OFPP_TABLE, OFP_NO_BUFFER } from '../openflow/constants';
import type { FlowMod, MeterMod, PacketOut } from '../openflow/types';
import { exactCookie, makeCookie } from './cookies';
import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, IP_PROTO_TCP, TCP_FLAGS } from './packets';
import { PRIORITY, TABLE, type VadcTables } from './pipeline';

/** The guard's meter (meter ids are per switch; the end copies have 0xadc). */
export const REPLY_GUARD_METER_ID = 0xadd;
/**
 * The metadata bit of a reply the controller sent back through the tables past the guard. Metadata is 0 when a
 * packet enters the pipeline (a table-0 owner before `first_table` must leave this bit alone).
 */
export const REPLY_GUARD_PASSED = 1n << 47n;
const SYN_ACK = TCP_FLAGS.SYN | TCP_FLAGS.ACK;

/** The meter, replaced whole (delete, then add), as the end copies' one; burst a quarter of the rate. */
export function buildReplyGuardMeter(ratePerSecond: number): MeterMod[] {
  const base = { type: 'meter_mod' as const, xid: 0, meterId: REPLY_GUARD_METER_ID };
  return [
    { ...base, command: OFPMC_DELETE, flags: 0, bands: [] },
    {
      ...base, command: OFPMC_ADD, flags: OFPMF_PKTPS | OFPMF_BURST | OFPMF_STATS,
      bands: [{ type: 'drop', rate: ratePerSecond, burstSize: Math.max(1, Math.ceil(ratePerSecond / 4)) }],
    },
  ];
}

/** The guard of one backend address and software port of a TCP service (the service's cookie: it goes with it). */
export function buildReplyGuardFlow(serviceId: number, ip: string, port: number, t: VadcTables = TABLE): FlowMod {
  const v6 = ip.includes(':');
  return {
    type: 'flow_mod', xid: 0, cookie: makeCookie('service', serviceId), cookieMask: 0n, tableId: t.REVERSE, command: OFPFC_ADD,
    idleTimeout: 0, hardTimeout: 0, priority: PRIORITY.REPLY_GUARD.min, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY, flags: 0,
    match: [
      { field: 'eth_type', value: v6 ? ETH_TYPE_IPV6 : ETH_TYPE_IPV4 }, { field: 'ip_proto', value: IP_PROTO_TCP },
      { field: v6 ? 'ipv6_src' : 'ipv4_src', value: ip }, { field: 'tcp_src', value: port },
      { field: 'tcp_flags', value: SYN_ACK, mask: SYN_ACK },
      { field: 'metadata', value: 0n, mask: REPLY_GUARD_PASSED },
    ],
    instructions: [{ type: 'apply_actions', actions: [{ type: 'nx_controller2', maxLen: OFPCML_NO_BUFFER, meterId: REPLY_GUARD_METER_ID }] }],
  };
}

/**
 * Replies to the host itself (the bridge's LOCAL port, whose MAC they are sent to) never come up: the health
 * checks go from there. `command` OFPFC_DELETE_STRICT takes back the one of a MAC the LOCAL port no longer has.
 */
export function buildHostReplyFlow(localMac: string, t: VadcTables = TABLE, command = OFPFC_ADD): FlowMod {
  const cookie = makeCookie('pipeline');
  // The delete names its cookie exactly: with no cookie mask it would also take a foreign flow of the same match.
  const selector = command === OFPFC_DELETE_STRICT ? exactCookie(cookie) : { cookie, cookieMask: 0n };
  return {
    type: 'flow_mod', xid: 0, ...selector, tableId: t.REVERSE, command,
    idleTimeout: 0, hardTimeout: 0, priority: PRIORITY.HOST_REPLY.min, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY, flags: 0,
    match: [{ field: 'eth_dst', value: localMac }],
    instructions: command === OFPFC_DELETE_STRICT ? [] : [{ type: 'apply_actions', actions: [{ type: 'output', port: OFPP_NORMAL, maxLen: 0 }] }],
  };
}

/** Seconds a direct connection's flow stays without traffic (bounds what a backend's SYN-ACKs can add: rate x this). */
export const DIRECT_REPLY_IDLE_S = 10;

/**
 * The backend-side 5-tuple of a connection whose SYN-ACK the guard sent up -> NORMAL. A direct connection (a client
 * talking to the backend's service port, not through the VIP) would otherwise leave datapath megaflows "backend:port ->
 * client: NORMAL" with the client's port wildcarded, which the segments after a later VIP connection's SYN-ACK meet
 * (the guard's tcp_flags keep only the SYN-ACK out of them): untranslated, the client resets them. Matching this exact
 * flow makes OVS cache exact entries for the direct connection instead. A VIP connection's reverse flow (same 5-tuple,
 * CONNECTION band) stays above it.
 */
export function buildDirectReplyFlow(serviceId: number, inPort: number, c: { src: string; dst: string; srcPort: number; dstPort: number }, t: VadcTables = TABLE): FlowMod {
  const v6 = c.src.includes(':');
  return {
    type: 'flow_mod', xid: 0, cookie: makeCookie('service', serviceId), cookieMask: 0n, tableId: t.REVERSE, command: OFPFC_ADD,
    idleTimeout: DIRECT_REPLY_IDLE_S, hardTimeout: 0, priority: PRIORITY.DIRECT_REPLY.min, bufferId: OFP_NO_BUFFER, outPort: OFPP_ANY, outGroup: OFPG_ANY,
    flags: 0,
    match: [
      { field: 'in_port', value: inPort }, { field: 'eth_type', value: v6 ? ETH_TYPE_IPV6 : ETH_TYPE_IPV4 }, { field: 'ip_proto', value: IP_PROTO_TCP },
      { field: v6 ? 'ipv6_src' : 'ipv4_src', value: c.src }, { field: v6 ? 'ipv6_dst' : 'ipv4_dst', value: c.dst },
      { field: 'tcp_src', value: c.srcPort }, { field: 'tcp_dst', value: c.dstPort },
    ],
    instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: OFPP_NORMAL, maxLen: 0 }] }],
  };
}

/**
 * A SYN-ACK the guard sent up, back through the tables as it arrived, marked so the guard lets it by: a connection's
 * reverse flow (in the tables by now) translates it; anything else goes NORMAL as it would have.
 */
export function buildReplyGuardPacketOut(frame: Buffer, inPort: number): PacketOut {
  return {
    type: 'packet_out', xid: 0, bufferId: OFP_NO_BUFFER, inPort,
    actions: [{ type: 'set_field', field: { field: 'metadata', value: REPLY_GUARD_PASSED } }, { type: 'output', port: OFPP_TABLE, maxLen: 0 }],
    data: frame,
  };
}
