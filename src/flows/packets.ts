/**
 * Packet-in parsing and the packets vadc answers with (ARP reply, ICMP echo reply, TCP RST,
 * ICMP destination unreachable). Pure byte work; the parser never throws on garbage. IPv6: ipv6-packets.ts
 * (parser) and ipv6-replies.ts (neighbor advertisement, ICMPv6 echo reply and errors, RST over IPv6).
 */
import type { Ipv6Pair } from '../net/ipv6';
import { parseIpv6Packet, type Ipv6Failure, type Ipv6Header, type NeighborSolicitation } from './ipv6-packets';

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_IPV6 = 0x86dd;
const VLAN_TAG_TYPES = new Set([0x8100, 0x88a8, 0x9100]);
export const IP_PROTO_ICMP = 1;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export interface ParsedPacket {
  ethDst: string;
  ethSrc: string;
  /** Ethertype after any VLAN tags. */
  ethType: number;
  vlanIds: number[];
  arp?: { op: number; sha: string; spa: string; tha: string; tpa: string };
  ipv4?: {
    src: string; dst: string; proto: number; ttl: number; headerLength: number; totalLength: number;
    /** True for the second and later fragments, which carry no ports. */
    laterFragment: boolean;
    /** True for any fragment: more fragments follow (MF) or the offset is not 0 (OVS's FLOW_NW_FRAG_ANY). */
    fragment: boolean;
  };
  ipv6?: Ipv6Header;
  /** A neighbor solicitation's target and source link-layer address. */
  nd?: NeighborSolicitation;
  /** TCP/UDP ports (absent for later fragments or truncated L4 headers). */
  l4?: { src: number; dst: number; tcpFlags?: number; tcpSeq?: number; tcpAck?: number };
  /** ICMP (IPv4) or ICMPv6 type and code. */
  icmp?: { type: number; code: number };
  /** Offset of the IP header in the frame (for quoting it in ICMP errors). */
  l3Offset: number;
}

/**
 * `packet` on a failure: what was read, when the packet is still answered (an IPv6 first fragment without the
 * upper-layer header: ethernet, l3Offset and ipv6, no l4).
 */
export type ParseResult = { ok: true; packet: ParsedPacket } | { ok: false; reason: ParseFailure; packet?: ParsedPacket };
export type ParseFailure = 'truncated-ethernet' | 'truncated-vlan' | 'truncated-arp' | 'unsupported-arp' | 'truncated-ipv4' | 'bad-ipv4-header'
  | Ipv6Failure;

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function formatMac(buf: Buffer, offset: number): string {
  const h = HEX_BYTE;
  return `${h[buf[offset]]}:${h[buf[offset + 1]]}:${h[buf[offset + 2]]}:${h[buf[offset + 3]]}:${h[buf[offset + 4]]}:${h[buf[offset + 5]]}`;
}

export function formatIpv4(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

export function writeMac(buf: Buffer, offset: number, mac: string): void {
  const parts = mac.split(':');
  if (parts.length !== 6) throw new RangeError(`not a MAC: ${mac}`);
  for (let i = 0; i < 6; i++) buf[offset + i] = parseInt(parts[i], 16);
}

export function writeIpv4(buf: Buffer, offset: number, addr: string): void {
  const parts = addr.split('.');
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${addr}`);
  for (let i = 0; i < 4; i++) buf[offset + i] = Number(parts[i]);
}

export function parsePacket(frame: Buffer): ParseResult {
  if (frame.length < 14) return { ok: false, reason: 'truncated-ethernet' };
  let offset = 12;
  let ethType = frame.readUInt16BE(offset);
  const vlanIds: number[] = [];
  while (VLAN_TAG_TYPES.has(ethType)) {
    if (frame.length < offset + 6) return { ok: false, reason: 'truncated-vlan' };
    vlanIds.push(frame.readUInt16BE(offset + 2) & 0x0fff);
    offset += 4;
    ethType = frame.readUInt16BE(offset);
  }
  offset += 2;
  const packet: ParsedPacket = { ethDst: formatMac(frame, 0), ethSrc: formatMac(frame, 6), ethType, vlanIds, l3Offset: offset };
  if (ethType === ETH_TYPE_ARP) return parseArp(frame, offset, packet);
  if (ethType === ETH_TYPE_IPV4) return parseIpv4(frame, offset, packet);
  if (ethType === ETH_TYPE_IPV6) {
    const result = parseIpv6Packet(frame, offset);
    if (!result.ok) return result.ipv6 ? { ok: false, reason: result.reason, packet: { ...packet, ipv6: result.ipv6 } } : { ok: false, reason: result.reason };
    const { ipv6, l4, icmp, nd } = result.value;
    packet.ipv6 = ipv6;
    if (l4) packet.l4 = l4;
    if (icmp) packet.icmp = icmp;
    if (nd) packet.nd = nd;
  }
  return { ok: true, packet };
}

function parseArp(frame: Buffer, at: number, packet: ParsedPacket): ParseResult {
  if (frame.length < at + 28) return { ok: false, reason: 'truncated-arp' };
  // Only Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4) is meaningful for a VIP.
  if (frame.readUInt16BE(at) !== 1 || frame.readUInt16BE(at + 2) !== ETH_TYPE_IPV4 || frame[at + 4] !== 6 || frame[at + 5] !== 4) {
    return { ok: false, reason: 'unsupported-arp' };
  }
  packet.arp = {
    op: frame.readUInt16BE(at + 6),
    sha: formatMac(frame, at + 8),
    spa: formatIpv4(frame, at + 14),
    tha: formatMac(frame, at + 18),
    tpa: formatIpv4(frame, at + 24),
  };
  return { ok: true, packet };
}

function parseIpv4(frame: Buffer, at: number, packet: ParsedPacket): ParseResult {
  if (frame.length < at + 20) return { ok: false, reason: 'truncated-ipv4' };
  const versionIhl = frame[at];
  const headerLength = (versionIhl & 0x0f) * 4;
  const totalLength = frame.readUInt16BE(at + 2);
  if (versionIhl >> 4 !== 4 || headerLength < 20 || totalLength < headerLength) return { ok: false, reason: 'bad-ipv4-header' };
  if (frame.length < at + headerLength) return { ok: false, reason: 'truncated-ipv4' };
  const proto = frame[at + 9];
  const flagsAndOffset = frame.readUInt16BE(at + 6);
  const laterFragment = (flagsAndOffset & 0x1fff) !== 0;
  packet.ipv4 = {
    src: formatIpv4(frame, at + 12), dst: formatIpv4(frame, at + 16), proto, ttl: frame[at + 8], headerLength, totalLength, laterFragment,
    fragment: (flagsAndOffset & 0x3fff) !== 0,
  };
  if (laterFragment) return { ok: true, packet };
  const l4 = at + headerLength;
  if ((proto === IP_PROTO_TCP && frame.length >= l4 + 14) || (proto === IP_PROTO_UDP && frame.length >= l4 + 4)) {
    packet.l4 = { src: frame.readUInt16BE(l4), dst: frame.readUInt16BE(l4 + 2) };
    if (proto === IP_PROTO_TCP) {
      packet.l4.tcpSeq = frame.readUInt32BE(l4 + 4);
      packet.l4.tcpAck = frame.readUInt32BE(l4 + 8);
      packet.l4.tcpFlags = frame[l4 + 13];
    }
  } else if (proto === IP_PROTO_ICMP && frame.length >= l4 + 2) {
    packet.icmp = { type: frame[l4], code: frame[l4 + 1] };
  }
  return { ok: true, packet };
}

/**
 * The fields of an IPv4 TCP/UDP packet that the new-connection path needs, as numbers. Filled in place
 * by readTransportHeader, so the packet-in fast path allocates nothing to read a packet.
 */
export interface TransportHeader {
  proto: number;
  /** IPv4 addresses as uint32 (IPv6: folds, int32s; see ip6). */
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  /** TCP flags; -1 for UDP. */
  tcpFlags: number;
  /**
   * IPv6 packets only (never set by readTransportHeader): the source's (s0..s3) and the destination's (d0..d3) address
   * words as int32 fields (net/Ipv6Pair); src and dst then hold each address's IPVS fold (net/foldIpv6, an int32), as
   * the connection table keys them.
   */
  ip6?: Ipv6Pair;
}

export function emptyTransportHeader(): TransportHeader {
  return { proto: 0, src: 0, dst: 0, srcPort: 0, dstPort: 0, tcpFlags: -1 };
}

/**
 * True, with `out` filled, exactly when parsePacket(frame) gives an IPv4 TCP or UDP packet with its ports
 * (VLAN tags skipped, the same length and header checks) that is not a fragment; false for everything else (ARP,
 * ICMP, fragments, truncated or bad headers), which the caller hands to parsePacket.
 */
export function readTransportHeader(frame: Buffer, out: TransportHeader): boolean {
  const length = frame.length;
  if (length < 14) return false;
  let offset = 12;
  let ethType = (frame[offset] << 8) | frame[offset + 1];
  while (ethType === 0x8100 || ethType === 0x88a8 || ethType === 0x9100) {
    if (length < offset + 6) return false;
    offset += 4;
    ethType = (frame[offset] << 8) | frame[offset + 1];
  }
  if (ethType !== ETH_TYPE_IPV4) return false;
  const at = offset + 2;
  if (length < at + 20) return false;
  const versionIhl = frame[at];
  const headerLength = (versionIhl & 0x0f) * 4;
  const totalLength = (frame[at + 2] << 8) | frame[at + 3];
  if (versionIhl >> 4 !== 4 || headerLength < 20 || totalLength < headerLength || length < at + headerLength) return false;
  // Any fragment (MF set or an offset): OVS matches fragments without ports, so the full parser and a refusal take it.
  if ((((frame[at + 6] << 8) | frame[at + 7]) & 0x3fff) !== 0) return false;
  const proto = frame[at + 9];
  const l4 = at + headerLength;
  if (proto === IP_PROTO_TCP) {
    if (length < l4 + 14) return false;
    out.tcpFlags = frame[l4 + 13];
  } else if (proto === IP_PROTO_UDP) {
    if (length < l4 + 4) return false;
    out.tcpFlags = -1;
  } else {
    return false;
  }
  out.proto = proto;
  out.src = frame.readUInt32BE(at + 12);
  out.dst = frame.readUInt32BE(at + 16);
  out.srcPort = (frame[l4] << 8) | frame[l4 + 1];
  out.dstPort = (frame[l4 + 2] << 8) | frame[l4 + 3];
  return true;
}

/** The Internet checksum (RFC 1071) over buf[start, end), plus an initial partial sum. */
export function internetChecksum(buf: Buffer, start = 0, end = buf.length, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += buf.readUInt16BE(i);
  if (i < end) sum += buf[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ethernet(dst: string, src: string, ethType: number, payloadLength: number): Buffer {
  const frame = Buffer.alloc(14 + payloadLength);
  writeMac(frame, 0, dst);
  writeMac(frame, 6, src);
  frame.writeUInt16BE(ethType, 12);
  return frame;
}

/** Writes a 20-byte IPv4 header (no options, DF clear, TTL 64) with its checksum at `at`. */
function writeIpv4Header(frame: Buffer, at: number, src: string, dst: string, proto: number, payloadLength: number): void {
  frame[at] = 0x45;
  frame.writeUInt16BE(20 + payloadLength, at + 2);
  frame[at + 8] = 64;
  frame[at + 9] = proto;
  writeIpv4(frame, at + 12, src);
  writeIpv4(frame, at + 16, dst);
  frame.writeUInt16BE(internetChecksum(frame, at, at + 20), at + 10);
}

/** ARP reply "VIP is at vipMac" to the asker of `request`. */
export function buildArpReply(request: ParsedPacket, vipMac: string): Buffer {
  if (!request.arp || request.arp.op !== ARP_REQUEST) throw new TypeError('buildArpReply needs a parsed ARP request');
  const frame = ethernet(request.arp.sha, vipMac, ETH_TYPE_ARP, 28);
  frame.writeUInt16BE(1, 14);
  frame.writeUInt16BE(ETH_TYPE_IPV4, 16);
  frame[18] = 6;
  frame[19] = 4;
  frame.writeUInt16BE(ARP_REPLY, 20);
  writeMac(frame, 22, vipMac);
  writeIpv4(frame, 28, request.arp.tpa);
  writeMac(frame, 32, request.arp.sha);
  writeIpv4(frame, 38, request.arp.spa);
  return frame;
}

/** ICMP echo reply from the VIP: the request's id, sequence and data echoed back (RFC 792). */
export function buildIcmpEchoReply(requestFrame: Buffer, request: ParsedPacket, vipMac: string): Buffer {
  if (!request.ipv4 || request.icmp?.type !== 8) throw new TypeError('buildIcmpEchoReply needs a parsed ICMP echo request');
  const icmpStart = request.l3Offset + request.ipv4.headerLength;
  const icmpEnd = Math.min(requestFrame.length, request.l3Offset + request.ipv4.totalLength);
  const icmpLength = icmpEnd - icmpStart;
  const frame = ethernet(request.ethSrc, vipMac, ETH_TYPE_IPV4, 20 + icmpLength);
  writeIpv4Header(frame, 14, request.ipv4.dst, request.ipv4.src, IP_PROTO_ICMP, icmpLength);
  requestFrame.copy(frame, 34, icmpStart, icmpEnd);
  frame[34] = 0; // echo reply
  frame[35] = 0;
  frame.writeUInt16BE(0, 36);
  frame.writeUInt16BE(internetChecksum(frame, 34, 34 + icmpLength), 36);
  return frame;
}

/**
 * TCP RST refusing `request` (RFC 793 "reset generation"): if the segment had ACK, seq = its ack;
 * otherwise seq 0 and ack = its seq + its length (SYN counts as one).
 */
export function buildTcpReset(requestFrame: Buffer, request: ParsedPacket, fromMac: string): Buffer {
  if (!request.ipv4 || request.ipv4.proto !== IP_PROTO_TCP || !request.l4 || request.l4.tcpFlags === undefined) {
    throw new TypeError('buildTcpReset needs a parsed TCP segment');
  }
  const flags = request.l4.tcpFlags;
  const tcpStart = request.l3Offset + request.ipv4.headerLength;
  const dataOffset = (requestFrame[tcpStart + 12] >> 4) * 4;
  const segmentLength = request.ipv4.totalLength - request.ipv4.headerLength - dataOffset
    + (flags & TCP_FLAGS.SYN ? 1 : 0) + (flags & TCP_FLAGS.FIN ? 1 : 0);
  const frame = ethernet(request.ethSrc, fromMac, ETH_TYPE_IPV4, 40);
  writeIpv4Header(frame, 14, request.ipv4.dst, request.ipv4.src, IP_PROTO_TCP, 20);
  frame.writeUInt16BE(request.l4.dst, 34);
  frame.writeUInt16BE(request.l4.src, 36);
  const hasAck = (flags & TCP_FLAGS.ACK) !== 0;
  frame.writeUInt32BE(hasAck ? request.l4.tcpAck ?? 0 : 0, 38);
  frame.writeUInt32BE(hasAck ? 0 : ((request.l4.tcpSeq ?? 0) + segmentLength) >>> 0, 42);
  frame[46] = 5 << 4;
  frame[47] = hasAck ? TCP_FLAGS.RST : TCP_FLAGS.RST | TCP_FLAGS.ACK;
  frame.writeUInt16BE(transportChecksum(frame, 26, 34, 20, IP_PROTO_TCP), 50);
  return frame;
}

export const ICMP_UNREACHABLE = { PROTOCOL: 2, PORT: 3, ADMIN_PROHIBITED: 13 } as const;

/** ICMP destination unreachable quoting the offending IPv4 header and the first 8 payload bytes (RFC 792). */
export function buildIcmpUnreachable(requestFrame: Buffer, request: ParsedPacket, fromMac: string, code: number): Buffer {
  if (!request.ipv4) throw new TypeError('buildIcmpUnreachable needs a parsed IPv4 packet');
  const quoteStart = request.l3Offset;
  const quoteEnd = Math.min(requestFrame.length, quoteStart + request.ipv4.headerLength + 8);
  const icmpLength = 8 + (quoteEnd - quoteStart);
  const frame = ethernet(request.ethSrc, fromMac, ETH_TYPE_IPV4, 20 + icmpLength);
  writeIpv4Header(frame, 14, request.ipv4.dst, request.ipv4.src, IP_PROTO_ICMP, icmpLength);
  frame[34] = 3;
  frame[35] = code;
  requestFrame.copy(frame, 42, quoteStart, quoteEnd);
  frame.writeUInt16BE(internetChecksum(frame, 34, 34 + icmpLength), 36);
  return frame;
}

/** TCP/UDP checksum with the IPv4 pseudo-header (addresses at ipAt+12..20). */
export function transportChecksum(frame: Buffer, addressesAt: number, l4At: number, l4Length: number, proto: number): number {
  let pseudo = proto + l4Length;
  for (let i = addressesAt; i < addressesAt + 8; i += 2) pseudo += frame.readUInt16BE(i);
  return internetChecksum(frame, l4At, l4At + l4Length, pseudo);
}
