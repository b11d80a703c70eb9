// The packet-in payloads: Ethernet/IPv4 or IPv6 TCP SYN or UDP frames from emulated clients to the VIP, and the
// TCP FINs of a connection's end (the client's to the VIP, a backend's to the client: what the datapath's end-copy
// flows copy to the controller), with correct checksums. One template per kind, patched in place per packet (no
// per-packet allocation).
import { parseIpv6 } from '../net/ipv6';
import { ipv6TransportChecksum } from '../flows/ipv6-replies';
import {
  ETH_TYPE_IPV4, ETH_TYPE_IPV6, IP_PROTO_TCP, IP_PROTO_UDP, TCP_FLAGS, internetChecksum, transportChecksum, writeIpv4, writeMac,
} from '../flows/packets';

export type BenchProtocol = 'tcp' | 'udp';
/** The clients' (and so the VIP's and backends') address family. */
export type BenchFamily = 'ipv4' | 'ipv6';

export const ETH_HEADER_LEN = 14;
export const IPV4_HEADER_LEN = 20;
export const IPV6_HEADER_LEN = 40;
const TCP_HEADER_LEN = 20;
const UDP_HEADER_LEN = 8;
/** A few bytes of UDP payload so the datagram is not empty. */
const UDP_PAYLOAD = Buffer.from('vadc-bench', 'ascii');
const IP_AT = ETH_HEADER_LEN;
const L4_AT = ETH_HEADER_LEN + IPV4_HEADER_LEN;
const L4_AT6 = ETH_HEADER_LEN + IPV6_HEADER_LEN;
/** Byte offsets inside an IPv4 frame of the fields patched per packet. */
export const FRAME_OFFSETS = {
  ethSrc: 6, ipId: IP_AT + 4, ipChecksum: IP_AT + 10, ipSrc: IP_AT + 12, ipDst: IP_AT + 16, l4Src: L4_AT, l4Dst: L4_AT + 2,
  tcpSeq: L4_AT + 4, tcpChecksum: L4_AT + 16, udpChecksum: L4_AT + 6,
} as const;
/** The same in an IPv6 frame; the client's number is the source address's last 32 bits (ipSrcLow). */
export const FRAME_OFFSETS6 = {
  ethSrc: 6, ipSrc: IP_AT + 8, ipSrcLow: IP_AT + 20, ipDst: IP_AT + 24, l4Src: L4_AT6, l4Dst: L4_AT6 + 2,
  tcpSeq: L4_AT6 + 4, tcpChecksum: L4_AT6 + 16, udpChecksum: L4_AT6 + 6,
} as const;

/**
 * IPv6 clients are CLIENT_PREFIX6::/96 followed by the same 32-bit number an IPv4 client has (172.16.0.0/12 as
 * a number): fd00:be::ac10:5 is IPv4's 172.16.0.5. The generator knows a client by that number in both families.
 */
export const CLIENT_PREFIX6 = Buffer.from(parseIpv6('fd00:be::').subarray(0, 12));

export interface ClientFrameSpec {
  protocol: BenchProtocol;
  /** Default ipv4. */
  family?: BenchFamily;
  vipMac: string;
  /** An address of the family. */
  vip: string;
  servicePort: number;
  /** TCP flags (default SYN: a new connection). */
  tcpFlags?: number;
  /**
   * A backend's segment to the client (its end-copy flow's packet): this address and port are the source and the
   * client the destination (`writeClient` with side 'destination'); the VIP appears nowhere.
   */
  from?: { ip: string; port: number };
}

/** Where `writeClient` puts the client: the source of its own segments, the destination of a backend's. */
export type ClientSide = 'source' | 'destination';

export interface ClientAddress {
  /** The client's number: its IPv4 address as an unsigned 32-bit number, or its IPv6 address's last 32 bits. */
  ip: number;
  port: number;
}

function l4At(family: BenchFamily): number {
  return family === 'ipv6' ? L4_AT6 : L4_AT;
}

export function frameLength(protocol: BenchProtocol, family: BenchFamily = 'ipv4'): number {
  return l4At(family) + (protocol === 'tcp' ? TCP_HEADER_LEN : UDP_HEADER_LEN + UDP_PAYLOAD.length);
}

/** A frame with everything but the client's address filled in; `writeClient` completes it. */
export function buildFrameTemplate(spec: ClientFrameSpec): Buffer {
  const family = spec.family ?? 'ipv4';
  const frame = Buffer.alloc(frameLength(spec.protocol, family));
  const l4 = l4At(family);
  const proto = spec.protocol === 'tcp' ? IP_PROTO_TCP : IP_PROTO_UDP;
  writeMac(frame, 0, spec.vipMac);
  const from = spec.from;
  if (family === 'ipv6') {
    frame.writeUInt16BE(ETH_TYPE_IPV6, 12);
    frame[IP_AT] = 0x60;
    frame.writeUInt16BE(frame.length - L4_AT6, IP_AT + 4);
    frame[IP_AT + 6] = proto;
    frame[IP_AT + 7] = 64;
    if (from) {
      frame.set(parseIpv6(from.ip), FRAME_OFFSETS6.ipSrc);
      CLIENT_PREFIX6.copy(frame, FRAME_OFFSETS6.ipDst);
    } else {
      CLIENT_PREFIX6.copy(frame, FRAME_OFFSETS6.ipSrc);
      frame.set(parseIpv6(spec.vip), FRAME_OFFSETS6.ipDst);
    }
  } else {
    frame.writeUInt16BE(ETH_TYPE_IPV4, 12);
    frame[IP_AT] = 0x45;
    frame.writeUInt16BE(frame.length - ETH_HEADER_LEN, IP_AT + 2);
    frame.writeUInt16BE(0x4000, IP_AT + 6); // don't fragment, as Linux sends a SYN
    frame[IP_AT + 8] = 64;
    frame[IP_AT + 9] = proto;
    if (from) writeIpv4(frame, FRAME_OFFSETS.ipSrc, from.ip);
    else writeIpv4(frame, FRAME_OFFSETS.ipDst, spec.vip);
  }
  if (from) frame.writeUInt16BE(from.port, l4);
  else frame.writeUInt16BE(spec.servicePort, l4 + 2);
  if (spec.protocol === 'tcp') {
    frame[l4 + 12] = (TCP_HEADER_LEN / 4) << 4;
    frame[l4 + 13] = spec.tcpFlags ?? TCP_FLAGS.SYN;
    frame.writeUInt16BE(64240, l4 + 14);
  } else {
    frame.writeUInt16BE(UDP_HEADER_LEN + UDP_PAYLOAD.length, l4 + 4);
    UDP_PAYLOAD.copy(frame, l4 + UDP_HEADER_LEN);
  }
  return frame;
}

/**
 * Writes the client's address and port into a template copy at `at` and recomputes the checksums (IPv4 header,
 * TCP/UDP). The client's own segments (side 'source') also get its MAC (02:be:<number>) as the Ethernet source; a
 * backend's (side 'destination', a template built with `from`) name the client as destination. `sequence` varies
 * the IP id and TCP sequence number so frames look like distinct segments.
 */
export function writeClient(
  buf: Buffer, at: number, protocol: BenchProtocol, client: ClientAddress, sequence: number, family: BenchFamily = 'ipv4', side: ClientSide = 'source',
): void {
  const toClient = side === 'destination';
  if (!toClient) {
    buf[at + 6] = 0x02;
    buf[at + 7] = 0xbe;
    buf.writeUInt32BE(client.ip >>> 0, at + 8);
  }
  const l4 = at + l4At(family);
  if (family === 'ipv6') {
    buf.writeUInt32BE(client.ip >>> 0, at + (toClient ? FRAME_OFFSETS6.ipDst + 12 : FRAME_OFFSETS6.ipSrcLow));
  } else {
    buf.writeUInt16BE(sequence & 0xffff, at + FRAME_OFFSETS.ipId);
    buf.writeUInt32BE(client.ip >>> 0, at + (toClient ? FRAME_OFFSETS.ipDst : FRAME_OFFSETS.ipSrc));
    buf.writeUInt16BE(0, at + FRAME_OFFSETS.ipChecksum);
    buf.writeUInt16BE(internetChecksum(buf, at + IP_AT, at + L4_AT), at + FRAME_OFFSETS.ipChecksum);
  }
  buf.writeUInt16BE(client.port, toClient ? l4 + 2 : l4);
  const l4Length = frameLength(protocol, family) - l4At(family);
  const proto = protocol === 'tcp' ? IP_PROTO_TCP : IP_PROTO_UDP;
  const checksumAt = protocol === 'tcp' ? l4 + 16 : l4 + 6;
  if (protocol === 'tcp') buf.writeUInt32BE(Math.imul(sequence, 2654435761) >>> 0, l4 + 4);
  buf.writeUInt16BE(0, checksumAt);
  const sum = family === 'ipv6'
    ? ipv6TransportChecksum(buf, at + IP_AT, l4, l4Length, proto)
    : transportChecksum(buf, at + IP_AT + 12, l4, l4Length, proto);
  // RFC 768 / RFC 8200 8.1: a computed UDP checksum of 0 is sent as all ones (0 means "no checksum").
  buf.writeUInt16BE(sum === 0 && protocol === 'udp' ? 0xffff : sum, checksumAt);
}

export const CLIENT_BASE_IP = 0xac100000; // 172.16.0.0
/** Client addresses come from 172.16.0.0/12. */
export const MAX_CLIENTS = 0x100000;
const FIRST_CLIENT_PORT = 1024;
const CLIENT_PORT_COUNT = 65536 - FIRST_CLIENT_PORT;

/** How many source ports each switch owns (switches get disjoint port ranges). */
export function portsPerSwitch(switches: number): number {
  return Math.floor(CLIENT_PORT_COUNT / switches);
}

/**
 * The client address of the n-th packet of a switch: `clients` addresses from `base` (default 172.16.0.0, as a
 * number), and a source port from the switch's own range, moving on once every address has been used. 5-tuples are
 * thus distinct across switches, and within a switch for clients * portsPerSwitch packets.
 */
export function clientAddress(switchIndex: number, switches: number, clients: number, n: number, base = CLIENT_BASE_IP): ClientAddress {
  const ports = portsPerSwitch(switches);
  const ip = (base + (n % clients)) >>> 0;
  const port = FIRST_CLIENT_PORT + switchIndex * ports + (Math.floor(n / clients) % ports);
  return { ip, port };
}
