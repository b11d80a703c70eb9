// Allocation-free reads of the few fields the generator needs from the controller's hot-path messages
// (flow_mod match 5-tuple, packet_out frame 5-tuple), straight from the wire bytes. Anything else the
// controller sends goes through the codec's full decode.
import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, IP_PROTO_TCP, IP_PROTO_UDP } from '../flows/packets';
import { CLIENT_PREFIX6 } from './frames';

/**
 * A 5-tuple seen in a controller message; ports are 0 and proto is 0 when absent. Addresses are numbers: an
 * IPv4 address as an unsigned 32-bit number; an IPv6 address in the clients' prefix (CLIENT_PREFIX6) as its last
 * 32 bits (the client's number, as in IPv4), any other IPv6 address as NOT_A_CLIENT.
 */
export interface ObservedTuple {
  proto: number;
  srcIp: number;
  dstIp: number;
  srcPort: number;
  dstPort: number;
  /** flow_mod only: table_id and command; -1 for packet_out. */
  tableId: number;
  command: number;
  /** Which of srcIp/dstIp/ports were present (flow_mod matches may leave some out). */
  present: number;
}

export const HAS = { SRC_IP: 1, DST_IP: 2, SRC_PORT: 4, DST_PORT: 8, PROTO: 16 } as const;
/** An IPv6 address outside the clients' prefix (a VIP, a backend): no client has this number. */
export const NOT_A_CLIENT = -1;
const ALL = HAS.SRC_IP | HAS.DST_IP | HAS.SRC_PORT | HAS.DST_PORT | HAS.PROTO;

export function emptyTuple(): ObservedTuple {
  return { proto: 0, srcIp: 0, dstIp: 0, srcPort: 0, dstPort: 0, tableId: -1, command: -1, present: 0 };
}

function reset(out: ObservedTuple): void {
  out.proto = 0; out.srcIp = 0; out.dstIp = 0; out.srcPort = 0; out.dstPort = 0; out.tableId = -1; out.command = -1; out.present = 0;
}

const OFPXMC_OPENFLOW_BASIC = 0x8000;
const OXM = { IP_PROTO: 10, IPV4_SRC: 11, IPV4_DST: 12, TCP_SRC: 13, TCP_DST: 14, UDP_SRC: 15, UDP_DST: 16, IPV6_SRC: 26, IPV6_DST: 27 } as const;
const FLOW_MOD_TABLE_AT = 24;
const FLOW_MOD_COMMAND_AT = 25;
const FLOW_MOD_MATCH_AT = 48;
const OFPMT_OXM = 1;

/**
 * Reads table, command and the exact-match 5-tuple fields of a flow_mod message (`msg` is the whole
 * message, header included). Returns false when the message is too short or its match is not OXM.
 * Masked fields are skipped: a connection's flows match exactly.
 */
export function readFlowModTuple(msg: Buffer, out: ObservedTuple): boolean {
  reset(out);
  if (msg.length < FLOW_MOD_MATCH_AT + 4) return false;
  out.tableId = msg[FLOW_MOD_TABLE_AT];
  out.command = msg[FLOW_MOD_COMMAND_AT];
  if (msg.readUInt16BE(FLOW_MOD_MATCH_AT) !== OFPMT_OXM) return false;
  const end = FLOW_MOD_MATCH_AT + msg.readUInt16BE(FLOW_MOD_MATCH_AT + 2);
  if (end > msg.length) return false;
  let p = FLOW_MOD_MATCH_AT + 4;
  while (p + 4 <= end) {
    const oxmClass = msg.readUInt16BE(p);
    const fieldAndMask = msg[p + 2];
    const length = msg[p + 3];
    const value = p + 4;
    if (value + length > end) return false;
    if (oxmClass === OFPXMC_OPENFLOW_BASIC && (fieldAndMask & 1) === 0) readOxm(msg, fieldAndMask >> 1, value, length, out);
    p = value + length;
  }
  return true;
}

function readOxm(msg: Buffer, field: number, at: number, length: number, out: ObservedTuple): void {
  switch (field) {
    case OXM.IP_PROTO:
      if (length === 1) { out.proto = msg[at]; out.present |= HAS.PROTO; }
      break;
    case OXM.IPV4_SRC:
      if (length === 4) { out.srcIp = msg.readUInt32BE(at); out.present |= HAS.SRC_IP; }
      break;
    case OXM.IPV4_DST:
      if (length === 4) { out.dstIp = msg.readUInt32BE(at); out.present |= HAS.DST_IP; }
      break;
    case OXM.IPV6_SRC:
      if (length === 16) { out.srcIp = ipv6Number(msg, at); out.present |= HAS.SRC_IP; }
      break;
    case OXM.IPV6_DST:
      if (length === 16) { out.dstIp = ipv6Number(msg, at); out.present |= HAS.DST_IP; }
      break;
    case OXM.TCP_SRC:
    case OXM.UDP_SRC:
      if (length === 2) { out.srcPort = msg.readUInt16BE(at); out.present |= HAS.SRC_PORT; }
      break;
    case OXM.TCP_DST:
    case OXM.UDP_DST:
      if (length === 2) { out.dstPort = msg.readUInt16BE(at); out.present |= HAS.DST_PORT; }
      break;
    default:
      break;
  }
}

/** A client's number for an IPv6 address at `at` (its last 32 bits), NOT_A_CLIENT outside the clients' prefix. */
function ipv6Number(buf: Buffer, at: number): number {
  return buf.compare(CLIENT_PREFIX6, 0, 12, at, at + 12) === 0 ? buf.readUInt32BE(at + 12) : NOT_A_CLIENT;
}

const PACKET_OUT_ACTIONS_LEN_AT = 16;
const PACKET_OUT_ACTIONS_AT = 24;

/** Reads the 5-tuple of the IPv4 or IPv6 TCP/UDP frame a packet_out carries. False when there is none. */
export function readPacketOutTuple(msg: Buffer, out: ObservedTuple): boolean {
  reset(out);
  if (msg.length < PACKET_OUT_ACTIONS_AT) return false;
  const dataAt = PACKET_OUT_ACTIONS_AT + msg.readUInt16BE(PACKET_OUT_ACTIONS_LEN_AT);
  return readFrameTuple(msg, dataAt, out);
}

/**
 * Reads the 5-tuple of an untagged Ethernet frame starting at `at`: IPv4 or IPv6 (no extension headers: the
 * generator sends none), TCP or UDP.
 */
export function readFrameTuple(buf: Buffer, at: number, out: ObservedTuple): boolean {
  if (buf.length < at + 14) return false;
  const ethType = buf.readUInt16BE(at + 12);
  const ip = at + 14;
  let proto: number;
  let l4: number;
  if (ethType === ETH_TYPE_IPV4) {
    if (buf.length < ip + 20) return false;
    const headerLength = (buf[ip] & 0x0f) * 4;
    proto = buf[ip + 9];
    if (buf[ip] >> 4 !== 4 || headerLength < 20) return false;
    l4 = ip + headerLength;
  } else if (ethType === ETH_TYPE_IPV6) {
    if (buf.length < ip + 40 || buf[ip] >> 4 !== 6) return false;
    proto = buf[ip + 6];
    l4 = ip + 40;
  } else {
    return false;
  }
  if ((proto !== IP_PROTO_TCP && proto !== IP_PROTO_UDP) || buf.length < l4 + 4) return false;
  out.proto = proto;
  if (ethType === ETH_TYPE_IPV4) {
    out.srcIp = buf.readUInt32BE(ip + 12);
    out.dstIp = buf.readUInt32BE(ip + 16);
  } else {
    out.srcIp = ipv6Number(buf, ip + 8);
    out.dstIp = ipv6Number(buf, ip + 24);
  }
  out.srcPort = buf.readUInt16BE(l4);
  out.dstPort = buf.readUInt16BE(l4 + 2);
  out.present = ALL;
  return true;
}
