// Wraps raw OpenFlow bytes in a classic pcap file so Wireshark/tshark can dissect them (the tshark oracle).
// Each payload is the TCP payload of one Ethernet/IPv4/TCP frame (PSH|ACK); sequence numbers continue across
// frames, so the frames form one in-order stream from the switch (10.0.0.1:40000) to the controller
// (10.0.0.2:port), or the other way round with `toSwitch`. Several messages in one payload travel in one segment
// and the dissector splits them.
import { internetChecksum, transportChecksum } from '../../src/flows/packets';

export interface OfPcapOptions {
  /** The controller's TCP port (default 6653, which tshark 4.0 already maps to OpenFlow). */
  port?: number;
  /** Controller to switch instead of switch to controller (the dissector does not mind). */
  toSwitch?: boolean;
  /** The first segment's sequence number (default 1000). */
  firstSeq?: number;
  /** Capture time of every frame, seconds since the epoch (default 0: the file is the same on every run). */
  seconds?: number;
}

const SWITCH = { ip: [10, 0, 0, 1], mac: [2, 0, 0, 0, 0, 1], port: 40000 };
const CONTROLLER = { ip: [10, 0, 0, 2], mac: [2, 0, 0, 0, 0, 2] };
const LINKTYPE_ETHERNET = 1;
const HEADERS = 14 + 20 + 20;

/** The pcap file: global header (microsecond timestamps, little-endian) and one record per payload. */
export function ofPcap(payloads: readonly Uint8Array[], options: OfPcapOptions = {}): Buffer {
  const port = options.port ?? 6653;
  const [src, dst] = options.toSwitch
    ? [{ ...CONTROLLER, port }, SWITCH]
    : [SWITCH, { ...CONTROLLER, port }];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0); // magic: microseconds
  global.writeUInt16LE(2, 4); // version 2.4
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(14 + 0xffff, 16); // snaplen: Ethernet header and the largest IPv4 packet
  global.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const records = [global];
  let seq = options.firstSeq ?? 1000;
  payloads.forEach((payload, n) => {
    if (payload.length === 0) throw new RangeError(`payload ${n} is empty: a frame carries at least one byte of OpenFlow`);
    if (20 + 20 + payload.length > 0xffff) throw new RangeError(`payload ${n} is ${payload.length} bytes: too large for one IPv4 packet`);
    const frame = Buffer.alloc(HEADERS + payload.length);
    frame.set(dst.mac, 0);
    frame.set(src.mac, 6);
    frame.writeUInt16BE(0x0800, 12);
    const ip = 14;
    frame[ip] = 0x45;
    frame.writeUInt16BE(20 + 20 + payload.length, ip + 2);
    frame.writeUInt16BE(n + 1, ip + 4); // identification
    frame.writeUInt16BE(0x4000, ip + 6); // don't fragment
    frame[ip + 8] = 64;
    frame[ip + 9] = 6;
    frame.set(src.ip, ip + 12);
    frame.set(dst.ip, ip + 16);
    frame.writeUInt16BE(internetChecksum(frame, ip, ip + 20), ip + 10);
    const tcp = ip + 20;
    frame.writeUInt16BE(src.port, tcp);
    frame.writeUInt16BE(dst.port, tcp + 2);
    frame.writeUInt32BE(seq, tcp + 4);
    frame.writeUInt32BE(1, tcp + 8); // ack
    frame[tcp + 12] = 5 << 4;
    frame[tcp + 13] = 0x18; // PSH|ACK
    frame.writeUInt16BE(0xffff, tcp + 14); // window
    frame.set(payload, HEADERS);
    frame.writeUInt16BE(transportChecksum(frame, ip + 12, tcp, 20 + payload.length, 6), tcp + 16);
    seq = (seq + payload.length) >>> 0;
    const record = Buffer.alloc(16);
    record.writeUInt32LE(options.seconds ?? 0, 0);
    record.writeUInt32LE(n, 4); // microseconds: keeps the frames in order
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    records.push(record, frame);
  });
  return Buffer.concat(records);
}

/** A pcap of whole Ethernet frames as given (for tshark to dissect and check the frames vadc builds). */
export function ethernetPcap(frames: readonly Uint8Array[]): Buffer {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(0xffff, 16);
  global.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const records: Buffer[] = [global];
  frames.forEach((frame, n) => {
    const record = Buffer.alloc(16);
    record.writeUInt32LE(n, 4);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    records.push(record, Buffer.from(frame));
  });
  return Buffer.concat(records);
}
