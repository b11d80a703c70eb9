// The packet-in payloads: Ethernet/IPv4/TCP SYN or UDP frames from emulated clients to the VIP, with
// correct checksums. One template per switch, patched in place per packet (no per-packet allocation).
import { ETH_TYPE_IPV4, IP_PROTO_TCP, IP_PROTO_UDP, TCP_FLAGS, internetChecksum, transportChecksum, writeIpv4, writeMac } from '../flows/packets';

export type BenchProtocol = 'tcp' | 'udp';

export const ETH_HEADER_LEN = 14;
export const IPV4_HEADER_LEN = 20;
const TCP_HEADER_LEN = 20;
const UDP_HEADER_LEN = 8;
/** A few bytes of UDP payload so the datagram is not empty. */
const UDP_PAYLOAD = Buffer.from('vadc-bench', 'ascii');
const IP_AT = ETH_HEADER_LEN;
const L4_AT = ETH_HEADER_LEN + IPV4_HEADER_LEN;
/** Byte offsets inside the frame of the fields patched per packet. */
export const FRAME_OFFSETS = {
  ethSrc: 6, ipId: IP_AT + 4, ipChecksum: IP_AT + 10, ipSrc: IP_AT + 12, ipDst: IP_AT + 16, l4Src: L4_AT, l4Dst: L4_AT + 2,
  tcpSeq: L4_AT + 4, tcpChecksum: L4_AT + 16, udpChecksum: L4_AT + 6,
} as const;

export interface ClientFrameSpec {
  protocol: BenchProtocol;
  vipMac: string;
  vip: string;
  servicePort: number;
}

export interface ClientAddress {
  /** Client IPv4 address as an unsigned 32-bit number. */
  ip: number;
  port: number;
}

export function frameLength(protocol: BenchProtocol): number {
  return L4_AT + (protocol === 'tcp' ? TCP_HEADER_LEN : UDP_HEADER_LEN + UDP_PAYLOAD.length);
}

/** A frame with everything but the client's address filled in; `writeClient` completes it. */
export function buildFrameTemplate(spec: ClientFrameSpec): Buffer {
  const frame = Buffer.alloc(frameLength(spec.protocol));
  writeMac(frame, 0, spec.vipMac);
  frame.writeUInt16BE(ETH_TYPE_IPV4, 12);
  frame[IP_AT] = 0x45;
  frame.writeUInt16BE(frame.length - ETH_HEADER_LEN, IP_AT + 2);
  frame.writeUInt16BE(0x4000, IP_AT + 6); // don't fragment, as Linux sends a SYN
  frame[IP_AT + 8] = 64;
  frame[IP_AT + 9] = spec.protocol === 'tcp' ? IP_PROTO_TCP : IP_PROTO_UDP;
  writeIpv4(frame, FRAME_OFFSETS.ipDst, spec.vip);
  frame.writeUInt16BE(spec.servicePort, FRAME_OFFSETS.l4Dst);
  if (spec.protocol === 'tcp') {
    frame[L4_AT + 12] = (TCP_HEADER_LEN / 4) << 4;
    frame[L4_AT + 13] = TCP_FLAGS.SYN;
    frame.writeUInt16BE(64240, L4_AT + 14);
  } else {
    frame.writeUInt16BE(UDP_HEADER_LEN + UDP_PAYLOAD.length, L4_AT + 4);
    UDP_PAYLOAD.copy(frame, L4_AT + UDP_HEADER_LEN);
  }
  return frame;
}

/**
 * Writes the client's MAC (02:be:<ip>), IP and port into a template copy at `at` and recomputes the IPv4
 * and TCP/UDP checksums. `sequence` varies the IP id and TCP ISN so frames look like distinct SYNs.
 */
export function writeClient(buf: Buffer, at: number, protocol: BenchProtocol, client: ClientAddress, sequence: number): void {
  buf[at + 6] = 0x02;
  buf[at + 7] = 0xbe;
  buf.writeUInt32BE(client.ip >>> 0, at + 8);
  buf.writeUInt16BE(sequence & 0xffff, at + FRAME_OFFSETS.ipId);
  buf.writeUInt32BE(client.ip >>> 0, at + FRAME_OFFSETS.ipSrc);
  buf.writeUInt16BE(client.port, at + FRAME_OFFSETS.l4Src);
  buf.writeUInt16BE(0, at + FRAME_OFFSETS.ipChecksum);
  buf.writeUInt16BE(internetChecksum(buf, at + IP_AT, at + L4_AT), at + FRAME_OFFSETS.ipChecksum);
  const l4Length = frameLength(protocol) - L4_AT;
  if (protocol === 'tcp') {
    buf.writeUInt32BE(Math.imul(sequence, 2654435761) >>> 0, at + FRAME_OFFSETS.tcpSeq);
    buf.writeUInt16BE(0, at + FRAME_OFFSETS.tcpChecksum);
    buf.writeUInt16BE(transportChecksum(buf, at + IP_AT + 12, at + L4_AT, l4Length, IP_PROTO_TCP), at + FRAME_OFFSETS.tcpChecksum);
  } else {
    buf.writeUInt16BE(0, at + FRAME_OFFSETS.udpChecksum);
    // RFC 768: a computed 0 is sent as all ones (0 means "no checksum").
    const sum = transportChecksum(buf, at + IP_AT + 12, at + L4_AT, l4Length, IP_PROTO_UDP);
    buf.writeUInt16BE(sum === 0 ? 0xffff : sum, at + FRAME_OFFSETS.udpChecksum);
  }
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
 * The client address of the n-th packet of a switch: `clients` addresses from 172.16.0.0/12, and a source
 * port from the switch's own range, moving on once every address has been used. 5-tuples are thus
 * distinct across switches, and within a switch for clients * portsPerSwitch packets.
 */
export function clientAddress(switchIndex: number, switches: number, clients: number, n: number): ClientAddress {
  const ports = portsPerSwitch(switches);
  const ip = (CLIENT_BASE_IP + (n % clients)) >>> 0;
  const port = FIRST_CLIENT_PORT + switchIndex * ports + (Math.floor(n / clients) % ports);
  return { ip, port };
}
