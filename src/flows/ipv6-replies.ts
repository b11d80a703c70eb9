/**
 * The IPv6 frames vadc answers with: a neighbor advertisement for a VIP (RFC 4861), ICMPv6 echo reply and error
 * messages (RFC 4443), and a TCP RST over IPv6. Every upper-layer checksum covers the IPv6 pseudo-header
 * (RFC 8200 section 8.1).
 */
import { parseIpv6 } from '../net/ipv6';
import { ICMPV6, IP_PROTO_ICMPV6 } from './ipv6-packets';
import { ETH_TYPE_IPV6, IP_PROTO_TCP, TCP_FLAGS, ethernet, internetChecksum, writeMac, type ParsedPacket } from './packets';

const IPV6_HEADER = 40;
/** An ICMPv6 error quotes as much of the packet as fits in the IPv6 minimum MTU (RFC 4443 section 2.4 c). */
const IPV6_MIN_MTU = 1280;
export const ICMPV6_UNREACHABLE = { ADMIN_PROHIBITED: 1, PORT: 4 } as const;
/** Parameter problem code 1: "unrecognized Next Header type encountered" (a protocol nothing serves). */
export const ICMPV6_UNRECOGNIZED_NEXT_HEADER = 1;
/** Parameter problem code 3: "IPv6 First Fragment has incomplete IPv6 Header Chain" (RFC 7112 section 5). */
export const ICMPV6_INCOMPLETE_HEADER_CHAIN = 3;

/** Writes a 40-byte IPv6 header (traffic class and flow label 0) at `at`. */
function writeIpv6Header(frame: Buffer, at: number, src: string, dst: string, nextHeader: number, payloadLength: number, hopLimit: number): void {
  frame[at] = 0x60;
  frame.writeUInt16BE(payloadLength, at + 4);
  frame[at + 6] = nextHeader;
  frame[at + 7] = hopLimit;
  frame.set(parseIpv6(src), at + 8);
  frame.set(parseIpv6(dst), at + 24);
}

/** The upper-layer checksum over the IPv6 pseudo-header (source, destination, length, next header) and l4 bytes. */
export function ipv6TransportChecksum(frame: Buffer, ipAt: number, l4At: number, l4Length: number, proto: number): number {
  let pseudo = proto + (l4Length >>> 16) + (l4Length & 0xffff);
  for (let i = ipAt + 8; i < ipAt + 40; i += 2) pseudo += (frame[i] << 8) | frame[i + 1];
  return internetChecksum(frame, l4At, l4At + l4Length, pseudo);
}

function needIpv6(request: ParsedPacket, what: string): NonNullable<ParsedPacket['ipv6']> {
  if (!request.ipv6) throw new TypeError(`${what} needs a parsed IPv6 packet`);
  return request.ipv6;
}

/** A frame from `fromMac` to the request's sender: IPv6 header from the request's destination back to its source. */
function replyFrame(request: ParsedPacket, fromMac: string, src: string, proto: number, l4Length: number, hopLimit = 64): Buffer {
  const frame = ethernet(request.ethSrc, fromMac, ETH_TYPE_IPV6, IPV6_HEADER + l4Length);
  writeIpv6Header(frame, 14, src, request.ipv6!.src, proto, l4Length, hopLimit);
  return frame;
}

/**
 * Neighbor advertisement "VIP is at vipMac" answering a solicitation (RFC 4861 section 7.2.4): solicited and
 * override set, the target link-layer address option, hop limit 255. A DAD probe (source ::) is not answered
 * here: the caller drops it (vadc does not defend a VIP against another host's duplicate address detection).
 */
export function buildNeighborAdvertisement(request: ParsedPacket, vipMac: string): Buffer {
  const ipv6 = needIpv6(request, 'buildNeighborAdvertisement');
  if (request.icmp?.type !== ICMPV6.NEIGHBOR_SOLICITATION || !request.nd) throw new TypeError('buildNeighborAdvertisement needs a parsed neighbor solicitation');
  if (ipv6.src === '::') throw new TypeError('a DAD probe (source ::) gets no advertisement');
  const frame = replyFrame({ ...request, ethSrc: request.nd.sll ?? request.ethSrc }, vipMac, request.nd.target, IP_PROTO_ICMPV6, 32, 255);
  const l4 = 14 + IPV6_HEADER;
  frame[l4] = ICMPV6.NEIGHBOR_ADVERTISEMENT;
  frame[l4 + 4] = 0x60; // S (solicited) and O (override); R clear: a VIP is not a router
  frame.set(parseIpv6(request.nd.target), l4 + 8);
  frame[l4 + 24] = 2; // target link-layer address option, 1 unit of 8 bytes
  frame[l4 + 25] = 1;
  writeMac(frame, l4 + 26, vipMac);
  frame.writeUInt16BE(ipv6TransportChecksum(frame, 14, l4, 32, IP_PROTO_ICMPV6), l4 + 2);
  return frame;
}

/** ICMPv6 echo reply from the VIP: the request's identifier, sequence and data echoed (RFC 4443 section 4.2). */
export function buildIcmpv6EchoReply(requestFrame: Buffer, request: ParsedPacket, vipMac: string): Buffer {
  const ipv6 = needIpv6(request, 'buildIcmpv6EchoReply');
  if (request.icmp?.type !== ICMPV6.ECHO_REQUEST) throw new TypeError('buildIcmpv6EchoReply needs a parsed ICMPv6 echo request');
  const start = request.l3Offset + ipv6.headerLength;
  const end = request.l3Offset + IPV6_HEADER + ipv6.payloadLength;
  const frame = replyFrame(request, vipMac, ipv6.dst, IP_PROTO_ICMPV6, end - start);
  const l4 = 14 + IPV6_HEADER;
  requestFrame.copy(frame, l4, start, end);
  frame[l4] = ICMPV6.ECHO_REPLY;
  frame[l4 + 1] = 0;
  frame.writeUInt16BE(0, l4 + 2);
  frame.writeUInt16BE(ipv6TransportChecksum(frame, 14, l4, end - start, IP_PROTO_ICMPV6), l4 + 2);
  return frame;
}

/**
 * TCP RST over IPv6 refusing `request`, the same rule as IPv4 (RFC 793 "reset generation"): with ACK, seq = its
 * ack; otherwise seq 0 and ack = its seq + its length (SYN and FIN count one each).
 */
export function buildTcpReset6(requestFrame: Buffer, request: ParsedPacket, fromMac: string): Buffer {
  const ipv6 = needIpv6(request, 'buildTcpReset6');
  if (ipv6.proto !== IP_PROTO_TCP || !request.l4 || request.l4.tcpFlags === undefined) throw new TypeError('buildTcpReset6 needs a parsed TCP segment');
  const flags = request.l4.tcpFlags;
  const tcpStart = request.l3Offset + ipv6.headerLength;
  const dataOffset = (requestFrame[tcpStart + 12] >> 4) * 4;
  const segmentLength = IPV6_HEADER + ipv6.payloadLength - ipv6.headerLength - dataOffset
    + (flags & TCP_FLAGS.SYN ? 1 : 0) + (flags & TCP_FLAGS.FIN ? 1 : 0);
  const frame = replyFrame(request, fromMac, ipv6.dst, IP_PROTO_TCP, 20);
  const l4 = 14 + IPV6_HEADER;
  frame.writeUInt16BE(request.l4.dst, l4);
  frame.writeUInt16BE(request.l4.src, l4 + 2);
  const hasAck = (flags & TCP_FLAGS.ACK) !== 0;
  frame.writeUInt32BE(hasAck ? request.l4.tcpAck ?? 0 : 0, l4 + 4);
  frame.writeUInt32BE(hasAck ? 0 : ((request.l4.tcpSeq ?? 0) + segmentLength) >>> 0, l4 + 8);
  frame[l4 + 12] = 5 << 4;
  frame[l4 + 13] = hasAck ? TCP_FLAGS.RST : TCP_FLAGS.RST | TCP_FLAGS.ACK;
  frame.writeUInt16BE(ipv6TransportChecksum(frame, 14, l4, 20, IP_PROTO_TCP), l4 + 16);
  return frame;
}

/**
 * An ICMPv6 error from the VIP (destination unreachable, parameter problem) quoting the offending packet from its
 * IPv6 header, as much as keeps the error within 1280 bytes (RFC 4443 sections 2.4, 3.1, 3.4). `pointer` is the
 * parameter problem's offset into the quoted packet (0 otherwise).
 */
export function buildIcmpv6Error(requestFrame: Buffer, request: ParsedPacket, fromMac: string, type: number, code: number, pointer = 0): Buffer {
  const ipv6 = needIpv6(request, 'buildIcmpv6Error');
  const quoteStart = request.l3Offset;
  const quoteEnd = Math.min(requestFrame.length, quoteStart + IPV6_HEADER + ipv6.payloadLength, quoteStart + IPV6_MIN_MTU - IPV6_HEADER - 8);
  const l4Length = 8 + quoteEnd - quoteStart;
  const frame = replyFrame(request, fromMac, ipv6.dst, IP_PROTO_ICMPV6, l4Length);
  const l4 = 14 + IPV6_HEADER;
  frame[l4] = type;
  frame[l4 + 1] = code;
  frame.writeUInt32BE(pointer, l4 + 4);
  requestFrame.copy(frame, l4 + 8, quoteStart, quoteEnd);
  frame.writeUInt16BE(ipv6TransportChecksum(frame, 14, l4, l4Length, IP_PROTO_ICMPV6), l4 + 2);
  return frame;
}

/**
 * Whether an ICMPv6 error may answer `request` at all (RFC 4443 section 2.4 e): not a frame sent to a link-layer group
 * address, nor a packet whose source names no single node (the unspecified address, a multicast address), so one
 * packet never makes vadc answer a crowd or nobody in particular.
 */
export function icmpv6ErrorAllowed(requestFrame: Buffer, request: ParsedPacket): boolean {
  const src = request.l3Offset + 8;
  let unspecified = true;
  for (let i = src; i < src + 16; i++) if (requestFrame[i] !== 0) unspecified = false;
  return (requestFrame[0] & 1) === 0 && requestFrame[src] !== 0xff && !unspecified;
}
