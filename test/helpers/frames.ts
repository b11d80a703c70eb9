// Builds real Ethernet frames (with valid checksums) for packet-in tests.
import { ipv6TransportChecksum } from '../../src/flows/ipv6-replies';
import { internetChecksum, transportChecksum } from '../../src/flows/packets';
import { formatIpv6, parseIpv6 } from '../../src/net/ipv6';

export interface FrameSpec {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  proto: 'tcp' | 'udp' | 'icmp';
  srcPort?: number;
  dstPort?: number;
  /** TCP flags; default SYN. */
  tcpFlags?: number;
  /** TCP sequence number; default 1000. */
  tcpSeq?: number;
  payload?: Buffer;
}

const mac = (text: string) => Buffer.from(text.replace(/:/g, ''), 'hex');
const ip = (text: string) => Buffer.from(text.split('.').map(Number));

/** A TCP (flags default SYN) or UDP header and payload, checksum left 0. */
function transportSegment(proto: 'tcp' | 'udp', spec: { srcPort?: number; dstPort?: number; tcpFlags?: number; tcpSeq?: number }, payload: Buffer): Buffer {
  const header = proto === 'tcp' ? 20 : 8;
  const l4 = Buffer.alloc(header + payload.length);
  l4.writeUInt16BE(spec.srcPort ?? 40000, 0);
  l4.writeUInt16BE(spec.dstPort ?? (proto === 'tcp' ? 80 : 53), 2);
  if (proto === 'tcp') {
    l4.writeUInt32BE(spec.tcpSeq ?? 1000, 4);
    l4[12] = 5 << 4;
    l4[13] = spec.tcpFlags ?? 0x02;
    l4.writeUInt16BE(65535, 14);
  } else {
    l4.writeUInt16BE(l4.length, 4);
  }
  payload.copy(l4, header);
  return l4;
}

export function ipv4Frame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  let l4: Buffer;
  if (spec.proto === 'tcp' || spec.proto === 'udp') {
    l4 = transportSegment(spec.proto, spec, payload);
  } else {
    l4 = Buffer.alloc(8 + payload.length);
    l4[0] = 8; // echo request
    l4.writeUInt16BE(0x1234, 4);
    l4.writeUInt16BE(1, 6);
    payload.copy(l4, 8);
    l4.writeUInt16BE(internetChecksum(l4), 2);
  }
  const iph = Buffer.alloc(20);
  iph[0] = 0x45;
  iph.writeUInt16BE(20 + l4.length, 2);
  iph[8] = 64;
  iph[9] = spec.proto === 'tcp' ? 6 : spec.proto === 'udp' ? 17 : 1;
  ip(spec.srcIp).copy(iph, 12);
  ip(spec.dstIp).copy(iph, 16);
  iph.writeUInt16BE(internetChecksum(iph), 10);
  const frame = Buffer.concat([mac(spec.dstMac), mac(spec.srcMac), Buffer.from([0x08, 0x00]), iph, l4]);
  if (spec.proto !== 'icmp') {
    const at = spec.proto === 'tcp' ? 14 + 20 + 16 : 14 + 20 + 6;
    frame.writeUInt16BE(transportChecksum(frame, 14 + 12, 14 + 20, l4.length, iph[9]), at);
  }
  return frame;
}

/**
 * A TCP segment (flags default SYN, `payload` after the 20-byte header) split into IPv4 fragments (RFC 791): one frame
 * per entry of `cuts`, each the bytes [from, to) of the segment (offset from/8, MF set unless the cut ends the segment,
 * identification `id`), with a valid header checksum. The TCP checksum is over the whole segment, so the fragments
 * reassemble to a valid one; `cuts` [[0, 8]] alone is a first fragment without the whole TCP header.
 */
export function ipv4TcpFragments(spec: Omit<FrameSpec, 'proto'> & { cuts: Array<[number, number]>; id: number }): Buffer[] {
  const whole = ipv4Frame({ ...spec, proto: 'tcp' });
  const segment = whole.subarray(34);
  return spec.cuts.map(([from, to]) => {
    if (from % 8 !== 0) throw new RangeError(`a fragment starts at a multiple of 8 bytes, not ${from}`);
    const frame = Buffer.concat([whole.subarray(0, 34), segment.subarray(from, to)]);
    frame.writeUInt16BE(20 + to - from, 14 + 2);
    frame.writeUInt16BE(spec.id, 14 + 4);
    frame.writeUInt16BE((to < segment.length ? 0x2000 : 0) | (from / 8), 14 + 6);
    frame.writeUInt16BE(0, 14 + 10);
    frame.writeUInt16BE(internetChecksum(frame, 14, 34), 14 + 10);
    return frame;
  });
}

export function arpRequest(srcMac: string, srcIp: string, targetIp: string): Buffer {
  const arp = Buffer.concat([
    Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]), mac(srcMac), ip(srcIp), Buffer.alloc(6), ip(targetIp),
  ]);
  return Buffer.concat([mac('ff:ff:ff:ff:ff:ff'), mac(srcMac), Buffer.from([0x08, 0x06]), arp]);
}

export interface Frame6Spec {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  proto: 'tcp' | 'udp' | 'icmpv6-echo' | 'sctp';
  srcPort?: number;
  dstPort?: number;
  /** TCP flags; default SYN. */
  tcpFlags?: number;
  /** TCP sequence number; default 1000. */
  tcpSeq?: number;
  payload?: Buffer;
}

const IPV6_PROTO = { tcp: 6, udp: 17, 'icmpv6-echo': 58, sctp: 132 } as const;

/** An IPv6 frame with a valid upper-layer checksum (over the IPv6 pseudo-header). */
export function ipv6Frame(spec: Frame6Spec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  let l4: Buffer;
  let checksumAt: number | undefined;
  if (spec.proto === 'tcp' || spec.proto === 'udp') {
    l4 = transportSegment(spec.proto, spec, payload);
    checksumAt = spec.proto === 'tcp' ? 16 : 6;
  } else if (spec.proto === 'icmpv6-echo') {
    l4 = Buffer.alloc(8 + payload.length);
    l4[0] = 128;
    l4.writeUInt16BE(0x1234, 4);
    l4.writeUInt16BE(1, 6);
    payload.copy(l4, 8);
    checksumAt = 2;
  } else {
    l4 = Buffer.alloc(12 + payload.length);
    payload.copy(l4, 12);
  }
  return ipv6Packet(spec.srcMac, spec.dstMac, spec.srcIp, spec.dstIp, IPV6_PROTO[spec.proto], l4, checksumAt);
}

/** A neighbor solicitation for `target` (RFC 4861 section 4.3) to its solicited-node address; `src` :: is a DAD probe. */
export function neighborSolicitation(srcMac: string, src: string, target: string): Buffer {
  const t = parseIpv6(target);
  const solicitedNode = parseIpv6('ff02::1:ff00:0');
  solicitedNode.set(t.subarray(13), 13);
  const withOption = src !== '::';
  const l4 = Buffer.alloc(withOption ? 32 : 24);
  l4[0] = 135;
  Buffer.from(t).copy(l4, 8);
  if (withOption) {
    l4[24] = 1;
    l4[25] = 1;
    mac(srcMac).copy(l4, 26);
  }
  const dstMac = `33:33:ff:${[...t.subarray(13)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  return ipv6Packet(srcMac, dstMac, src, formatIpv6(solicitedNode), 58, l4, 2, 255);
}

function ipv6Packet(srcMac: string, dstMac: string, src: string, dst: string, proto: number, l4: Buffer, checksumAt?: number, hopLimit = 64): Buffer {
  const iph = Buffer.alloc(40);
  iph[0] = 0x60;
  iph.writeUInt16BE(l4.length, 4);
  iph[6] = proto;
  iph[7] = hopLimit;
  Buffer.from(parseIpv6(src)).copy(iph, 8);
  Buffer.from(parseIpv6(dst)).copy(iph, 24);
  const frame = Buffer.concat([mac(dstMac), mac(srcMac), Buffer.from([0x86, 0xdd]), iph, l4]);
  if (checksumAt !== undefined) frame.writeUInt16BE(ipv6TransportChecksum(frame, 14, 54, l4.length, proto), 54 + checksumAt);
  return frame;
}

/**
 * A TCP segment (flags default SYN, `payload` after the 20-byte header) to `dstIp`:`dstPort`, split into IPv6
 * fragments (RFC 8200 section 4.5): one frame per entry of `cuts`, each the fragmentable bytes [from, to) of the
 * segment behind a fragment header (offset from/8, M set unless the cut ends the segment, identification `id`). The TCP checksum
 * is over the whole segment, so the fragments reassemble to a valid one. `cuts` [[0, 8]] alone is a first fragment
 * without the whole TCP header.
 */
export function ipv6TcpFragments(spec: Omit<Frame6Spec, 'proto'> & { cuts: Array<[number, number]>; id: number }): Buffer[] {
  const whole = ipv6Frame({ ...spec, proto: 'tcp' });
  const segment = whole.subarray(54);
  return spec.cuts.map(([from, to]) => {
    if (from % 8 !== 0) throw new RangeError(`a fragment starts at a multiple of 8 bytes, not ${from}`);
    const fragment = Buffer.alloc(8);
    fragment[0] = 6;
    fragment.writeUInt16BE(from | (to < segment.length ? 1 : 0), 2);
    fragment.writeUInt32BE(spec.id, 4);
    const frame = Buffer.concat([whole.subarray(0, 54), fragment, segment.subarray(from, to)]);
    frame[14 + 6] = 44;
    frame.writeUInt16BE(8 + to - from, 14 + 4);
    return frame;
  });
}
