// Builds real Ethernet frames (with valid checksums) for packet-in tests.
import { internetChecksum, transportChecksum } from '../../src/flows/packets';

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
  payload?: Buffer;
}

const mac = (text: string) => Buffer.from(text.replace(/:/g, ''), 'hex');
const ip = (text: string) => Buffer.from(text.split('.').map(Number));

export function ipv4Frame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  let l4: Buffer;
  if (spec.proto === 'tcp') {
    l4 = Buffer.alloc(20 + payload.length);
    l4.writeUInt16BE(spec.srcPort ?? 40000, 0);
    l4.writeUInt16BE(spec.dstPort ?? 80, 2);
    l4.writeUInt32BE(1000, 4);
    l4[12] = 5 << 4;
    l4[13] = spec.tcpFlags ?? 0x02;
    l4.writeUInt16BE(65535, 14);
    payload.copy(l4, 20);
  } else if (spec.proto === 'udp') {
    l4 = Buffer.alloc(8 + payload.length);
    l4.writeUInt16BE(spec.srcPort ?? 40000, 0);
    l4.writeUInt16BE(spec.dstPort ?? 53, 2);
    l4.writeUInt16BE(l4.length, 4);
    payload.copy(l4, 8);
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

export function arpRequest(srcMac: string, srcIp: string, targetIp: string): Buffer {
  const arp = Buffer.concat([
    Buffer.from([0, 1, 8, 0, 6, 4, 0, 1]), mac(srcMac), ip(srcIp), Buffer.alloc(6), ip(targetIp),
  ]);
  return Buffer.concat([mac('ff:ff:ff:ff:ff:ff'), mac(srcMac), Buffer.from([0x08, 0x06]), arp]);
}
