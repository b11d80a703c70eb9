// The UDP payload of a packet-in's frame (IPv4 or IPv6, VLAN tags and IPv6 extension headers skipped): what a
// service's payload rules read (src/lb/payload-rules.ts).
import { parsePacket, IP_PROTO_UDP } from './packets';

export interface UdpPayload {
  /** The payload bytes the frame carries (a view into it; fewer than `length` when the datagram was cut short). */
  payload: Buffer;
  /** The payload's length as the UDP header says; -1 when the header is cut off or its length field is below 8. */
  length: number;
}

/** null: not a UDP datagram's first (or only) fragment. Ethernet padding past the IP packet is never payload. */
export function udpPayload(frame: Buffer): UdpPayload | null {
  const parsed = parsePacket(frame);
  if (!parsed.ok) return null;
  const pkt = parsed.packet;
  const ip = pkt.ipv4 ?? pkt.ipv6;
  if (!ip || ip.proto !== IP_PROTO_UDP || ip.laterFragment) return null;
  const l4 = pkt.l3Offset + ip.headerLength;
  const ipEnd = pkt.l3Offset + (pkt.ipv4 ? pkt.ipv4.totalLength : 40 + pkt.ipv6!.payloadLength);
  if (frame.length < l4 + 8) return { payload: frame.subarray(0, 0), length: -1 };
  const udpLength = frame.readUInt16BE(l4 + 4);
  if (udpLength < 8) return { payload: frame.subarray(0, 0), length: -1 };
  const end = Math.min(frame.length, ipEnd, l4 + udpLength);
  return { payload: frame.subarray(l4 + 8, Math.max(l4 + 8, end)), length: udpLength - 8 };
}
