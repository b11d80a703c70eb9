/**
 * IPv6 packet-in parsing (RFC 8200): the fixed header, then the extension headers walked one by one, bounded
 * and checked against the payload length, to the upper-layer header. Never throws: garbage gives a typed reason.
 */
import { formatIpv6, setIpv6Pair } from '../net/ipv6';
import type { TransportHeader } from './packets';

const ETH_TYPE_IPV6 = 0x86dd;
const IP_PROTO_TCP = 6;
const IP_PROTO_UDP = 17;

export const IP_PROTO_ICMPV6 = 58;
/** Extension headers (RFC 8200 section 4; AH, RFC 4302, is walked too: its length counts 4-byte words). */
export const IPV6_EXT = { HOP_BY_HOP: 0, ROUTING: 43, FRAGMENT: 44, AH: 51, DEST_OPTS: 60, NO_NEXT: 59 } as const;
/** More extension headers than this is an attack or garbage (Linux's and OVS's walks stop in the same range). */
export const IPV6_MAX_EXTENSION_HEADERS = 8;
export const ICMPV6 = {
  DEST_UNREACHABLE: 1, PARAMETER_PROBLEM: 4, ECHO_REQUEST: 128, ECHO_REPLY: 129,
  NEIGHBOR_SOLICITATION: 135, NEIGHBOR_ADVERTISEMENT: 136,
} as const;

export interface Ipv6Header {
  src: string;
  dst: string;
  /** The upper-layer protocol after the extension headers (or the header where the walk stopped). */
  proto: number;
  hopLimit: number;
  /** The fixed header's payload length (bytes after the 40-byte header). */
  payloadLength: number;
  /** Bytes from the start of the IPv6 header to the upper-layer header: 40 plus the extension headers. */
  headerLength: number;
  /** Offset, from the start of the IPv6 header, of the Next Header byte that names `proto` (ICMPv6 parameter problem). */
  protoFieldOffset: number;
  /** True for the second and later fragments, which carry no upper-layer header. */
  laterFragment: boolean;
  /**
   * True for any fragment, first or later: a fragment header whose offset and flags word is not 0, as OVS's
   * FLOW_NW_FRAG_ANY (lib/flow.c); an atomic fragment (offset 0, M clear; RFC 6946) is a whole packet to both.
   */
  fragment: boolean;
}

export interface NeighborSolicitation {
  target: string;
  /** The source link-layer address option, absent in DAD probes (whose source is ::). */
  sll?: string;
}

export type Ipv6Failure =
  | 'truncated-ipv6' | 'bad-ipv6-header' | 'ipv6-jumbogram' | 'ipv6-hop-by-hop-not-first'
  | 'ipv6-too-many-extension-headers' | 'ipv6-extension-header-overflows-payload' | 'ipv6-first-fragment-without-l4';

export interface Ipv6Parse {
  ipv6: Ipv6Header;
  l4?: { src: number; dst: number; tcpFlags?: number; tcpSeq?: number; tcpAck?: number };
  icmp?: { type: number; code: number };
  nd?: NeighborSolicitation;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const mac = (b: Buffer, p: number): string => `${HEX[b[p]]}:${HEX[b[p + 1]]}:${HEX[b[p + 2]]}:${HEX[b[p + 3]]}:${HEX[b[p + 4]]}:${HEX[b[p + 5]]}`;

/** The smallest upper-layer header vadc reads: TCP through its flags, UDP's ports, ICMPv6's type and code. */
function l4Needed(proto: number): number {
  if (proto === 6) return 14;
  if (proto === 17) return 4;
  if (proto === IP_PROTO_ICMPV6) return 4;
  return 0;
}

/**
 * A parse that failed. `ipv6`: the header as read, when the packet still deserves an answer: a first fragment without
 * the upper-layer header, which a host answers with ICMPv6 parameter problem code 3 (RFC 8200 section 4.5, RFC 7112).
 */
export type Ipv6ParseFailure = { ok: false; reason: Ipv6Failure; ipv6?: Ipv6Header };

/** Parses the IPv6 packet at `at` (after Ethernet and VLAN tags). */
export function parseIpv6Packet(frame: Buffer, at: number): { ok: true; value: Ipv6Parse } | Ipv6ParseFailure {
  if (frame.length < at + 40) return { ok: false, reason: 'truncated-ipv6' };
  if (frame[at] >> 4 !== 6) return { ok: false, reason: 'bad-ipv6-header' };
  const payloadLength = frame.readUInt16BE(at + 4);
  let next = frame[at + 6];
  // A zero payload length with a hop-by-hop header is a jumbogram (RFC 2675): not on an Ethernet vadc serves.
  if (payloadLength === 0 && next === IPV6_EXT.HOP_BY_HOP) return { ok: false, reason: 'ipv6-jumbogram' };
  const end = at + 40 + payloadLength;
  if (end > frame.length) return { ok: false, reason: 'truncated-ipv6' };
  let p = at + 40;
  let nextField = at + 6;
  let fragment: { offset: number; any: boolean } | undefined;
  for (let count = 0; ; count++) {
    const isExtension = next === IPV6_EXT.HOP_BY_HOP || next === IPV6_EXT.ROUTING || next === IPV6_EXT.FRAGMENT
      || next === IPV6_EXT.DEST_OPTS || next === IPV6_EXT.AH;
    if (!isExtension) break;
    if (count >= IPV6_MAX_EXTENSION_HEADERS) return { ok: false, reason: 'ipv6-too-many-extension-headers' };
    if (next === IPV6_EXT.HOP_BY_HOP && count > 0) return { ok: false, reason: 'ipv6-hop-by-hop-not-first' };
    if (p + 8 > end) return { ok: false, reason: 'ipv6-extension-header-overflows-payload' };
    const length = next === IPV6_EXT.FRAGMENT ? 8 : next === IPV6_EXT.AH ? (frame[p + 1] + 2) * 4 : (frame[p + 1] + 1) * 8;
    if (p + length > end) return { ok: false, reason: 'ipv6-extension-header-overflows-payload' };
    if (next === IPV6_EXT.FRAGMENT) {
      const offsetAndFlags = frame.readUInt16BE(p + 2);
      fragment = { offset: offsetAndFlags >> 3, any: (fragment?.any ?? false) || offsetAndFlags !== 0 };
    }
    nextField = p;
    next = frame[p];
    p += length;
    if (fragment && fragment.offset !== 0) break;
  }
  const ipv6: Ipv6Header = {
    src: formatIpv6(frame, at + 8), dst: formatIpv6(frame, at + 24), proto: next, hopLimit: frame[at + 7], payloadLength,
    headerLength: p - at, protoFieldOffset: nextField - at, laterFragment: fragment !== undefined && fragment.offset !== 0,
    fragment: fragment?.any ?? false,
  };
  const value: Ipv6Parse = { ipv6 };
  if (ipv6.laterFragment) return { ok: true, value };
  const needed = l4Needed(next);
  if (needed === 0) return { ok: true, value };
  if (p + needed > end) {
    // RFC 8200 section 4.5 / RFC 7112: a first fragment carries the whole header chain, the upper-layer header
    // included; one that does not cannot be classified and is refused, not guessed at (its header goes with the
    // failure, for the parameter problem the sender is owed).
    return fragment ? { ok: false, reason: 'ipv6-first-fragment-without-l4', ipv6 } : { ok: true, value };
  }
  if (next === IP_PROTO_ICMPV6) {
    value.icmp = { type: frame[p], code: frame[p + 1] };
    if (value.icmp.type === ICMPV6.NEIGHBOR_SOLICITATION && p + 24 <= end) value.nd = readSolicitation(frame, p, end);
    return { ok: true, value };
  }
  value.l4 = { src: frame.readUInt16BE(p), dst: frame.readUInt16BE(p + 2) };
  if (next === 6) {
    value.l4.tcpSeq = frame.readUInt32BE(p + 4);
    value.l4.tcpAck = frame.readUInt32BE(p + 8);
    value.l4.tcpFlags = frame[p + 13];
  }
  return { ok: true, value };
}

/** A neighbor solicitation's target and source link-layer option (RFC 4861 section 4.3), options walked bounded. */
function readSolicitation(frame: Buffer, p: number, end: number): NeighborSolicitation {
  const nd: NeighborSolicitation = { target: formatIpv6(frame, p + 8) };
  for (let o = p + 24; o + 2 <= end;) {
    const length = frame[o + 1] * 8;
    if (length === 0 || o + length > end) break; // RFC 4861: a zero-length option makes the rest unreadable
    if (frame[o] === 1 && length >= 8) nd.sll = mac(frame, o + 2);
    o += length;
  }
  return nd;
}

/**
 * The packet-in fast path for IPv6: true, with `out` filled (proto, ports, TCP flags, the addresses' eight words in
 * out.ip6's int32 fields and their IPVS folds in src/dst), exactly when parsePacket(frame) gives an IPv6 TCP or UDP packet with its
 * ports that is not a fragment (extension headers walked as it walks them); false for everything else, which the
 * caller hands to the full parser (fragments, ICMPv6, truncated or bad headers). Reads numbers; allocates nothing.
 * `out.ip6` must be set (net/Ipv6Pair).
 * `truncated`: the frame may end before the payload length says (a connection-end copy carries the first 128 bytes
 * of a segment); the headers must still be whole, as IPv4's reader asks of a copy.
 */
export function readTransportHeader6(frame: Buffer, out: TransportHeader, truncated = false): boolean {
  const pair = out.ip6;
  const length = frame.length;
  if (pair === undefined || length < 14) return false;
  let offset = 12;
  let ethType = (frame[offset] << 8) | frame[offset + 1];
  while (ethType === 0x8100 || ethType === 0x88a8 || ethType === 0x9100) {
    if (length < offset + 6) return false;
    offset += 4;
    ethType = (frame[offset] << 8) | frame[offset + 1];
  }
  if (ethType !== ETH_TYPE_IPV6) return false;
  const at = offset + 2;
  if (length < at + 40 || frame[at] >> 4 !== 6) return false;
  let end = at + 40 + ((frame[at + 4] << 8) | frame[at + 5]);
  if (end > length) {
    if (!truncated) return false;
    end = length;
  }
  let proto = frame[at + 6];
  let l4 = at + 40;
  if (proto !== IP_PROTO_TCP && proto !== IP_PROTO_UDP) {
    // Off the plain packets' path: extension headers (a client's destination options, say) walked to the ports.
    const walked = afterExtensionHeaders(frame, at, end);
    if (walked < 0) return false;
    l4 = walked >>> 8;
    proto = walked & 0xff;
  }
  if (proto === IP_PROTO_TCP) {
    if (l4 + 14 > end) return false;
    out.tcpFlags = frame[l4 + 13];
  } else if (proto === IP_PROTO_UDP) {
    if (l4 + 4 > end) return false;
    out.tcpFlags = -1;
  } else {
    return false;
  }
  // The eight address words written out, not two ipv6Words loops: on every IPv6 packet-in, and V8 kept the loops
  // (a check of the frame's map and the words' bounds per word, ~40 instructions a word). Byte loads, not a DataView
  // over the frame's memory: its `frame.buffer` is a call into V8's C++ per packet-in (~110 instructions, more than the view
  // saves: callgrind, 2026-12-06). Each fold (IPVS's addr_fold,
  // as foldIpv6) from the pair just read. Int32 fields, not a Uint32Array: every later reader loads them plainly.
  const p = at + 8;
  const s0 = be32(frame, p);
  const s1 = be32(frame, p + 4);
  const s2 = be32(frame, p + 8);
  const s3 = be32(frame, p + 12);
  const d0 = be32(frame, p + 16);
  const d1 = be32(frame, p + 20);
  const d2 = be32(frame, p + 24);
  const d3 = be32(frame, p + 28);
  setIpv6Pair(pair, s0, s1, s2, s3, d0, d1, d2, d3);
  out.proto = proto;
  out.src = s0 ^ s1 ^ s2 ^ s3;
  out.dst = d0 ^ d1 ^ d2 ^ d3;
  out.srcPort = (frame[l4] << 8) | frame[l4 + 1];
  out.dstPort = (frame[l4 + 2] << 8) | frame[l4 + 3];
  return true;
}

/** The big-endian 32 bits at `p` as an int32 (the caller checked the bounds). */
function be32(b: Buffer, p: number): number {
  return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}

/**
 * Where the upper-layer header of the IPv6 packet at `at` (ending at `end`) starts behind its extension headers, with
 * its protocol, as (offset << 8) | protocol; -1 where parseIpv6Packet fails on the chain (the same checks, in the same
 * order) or for a fragment (first or later: the full parser's, and the refusal's).
 */
function afterExtensionHeaders(frame: Buffer, at: number, end: number): number {
  let next = frame[at + 6];
  let p = at + 40;
  for (let count = 0; ; count++) {
    if (next !== IPV6_EXT.HOP_BY_HOP && next !== IPV6_EXT.ROUTING && next !== IPV6_EXT.FRAGMENT && next !== IPV6_EXT.DEST_OPTS
      && next !== IPV6_EXT.AH) return (p << 8) | next;
    if (count >= IPV6_MAX_EXTENSION_HEADERS || (next === IPV6_EXT.HOP_BY_HOP && count > 0) || p + 8 > end) return -1;
    const length = next === IPV6_EXT.FRAGMENT ? 8 : next === IPV6_EXT.AH ? (frame[p + 1] + 2) * 4 : (frame[p + 1] + 1) * 8;
    if (p + length > end) return -1;
    if (next === IPV6_EXT.FRAGMENT && ((frame[p + 2] << 8) | frame[p + 3]) !== 0) return -1;
    next = frame[p];
    p += length;
  }
}
