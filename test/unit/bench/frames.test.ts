import { decode, encode, OFPFC_ADD } from '../../../src/openflow';
import type { FlowMod, PacketOut } from '../../../src/openflow';
import { buildConnectionFlows, buildResubmitPacketOut } from '../../../src/flows';
import {
  buildFrameTemplate, clientAddress, frameLength, portsPerSwitch, writeClient, type BenchProtocol,
} from '../../../src/bench/frames';
import { emptyTuple, HAS, NOT_A_CLIENT, readFlowModTuple, readFrameTuple, readPacketOutTuple } from '../../../src/bench/wire';
import { formatIpv6 } from '../../../src/net/ipv6';
import { parsePacket } from '../../../src/flows/packets';

/** One's-complement sum of 16-bit big-endian words, folded: written here independently of the code under test. */
function onesComplementSum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) + (bytes[i + 1] ?? 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

/** A header whose checksum field is right sums (checksum included) to 0xffff. */
function ipHeaderValid(frame: Buffer): boolean {
  return onesComplementSum([...frame.subarray(14, 34)]) === 0xffff;
}

function l4Valid(frame: Buffer): boolean {
  const l4 = [...frame.subarray(34)];
  const pseudo = [...frame.subarray(26, 34), 0, frame[23], l4.length >> 8, l4.length & 0xff];
  return onesComplementSum([...pseudo, ...l4]) === 0xffff;
}

function makeFrame(protocol: BenchProtocol, ip: number, port: number, seq: number): Buffer {
  const frame = buildFrameTemplate({ protocol, vipMac: '02:00:0a:00:00:64', vip: '10.0.0.100', servicePort: 80 });
  writeClient(frame, 0, protocol, { ip, port }, seq);
  return frame;
}

describe('client frames', () => {
  it.each(['tcp', 'udp'] as const)('%s frames carry correct IPv4 and transport checksums for many clients', (protocol) => {
    for (let n = 0; n < 300; n++) {
      const { ip, port } = clientAddress(3, 16, 1000, n * 7919);
      const frame = makeFrame(protocol, ip, port, n);
      expect(frame.length).toBe(frameLength(protocol));
      expect(ipHeaderValid(frame)).toBe(true);
      expect(l4Valid(frame)).toBe(true);
    }
  });

  it("builds a backend's FIN to the client (an end copy's segment) with correct checksums", () => {
    const frame = buildFrameTemplate({ protocol: 'tcp', vipMac: '02:00:0a:00:00:64', vip: '10.0.0.100', servicePort: 80, tcpFlags: 0x11, from: { ip: '10.0.0.12', port: 8081 } });
    writeClient(frame, 0, 'tcp', { ip: 0xac100005, port: 4242 }, 9, 'ipv4', 'destination');
    expect([...frame.subarray(26, 34)]).toEqual([10, 0, 0, 12, 172, 16, 0, 5]);
    expect([frame.readUInt16BE(34), frame.readUInt16BE(36), frame[47]]).toEqual([8081, 4242, 0x11]);
    expect(ipHeaderValid(frame)).toBe(true);
    expect(l4Valid(frame)).toBe(true);
  });

  it('builds a TCP SYN from the client to VIP:port with the client MAC', () => {
    const frame = makeFrame('tcp', 0xac100005, 4242, 1);
    expect(frame.subarray(0, 6).toString('hex')).toBe('02000a000064');
    expect(frame.subarray(6, 12).toString('hex')).toBe('02beac100005');
    expect(frame.readUInt16BE(12)).toBe(0x0800);
    expect([...frame.subarray(26, 34)]).toEqual([172, 16, 0, 5, 10, 0, 0, 100]);
    expect(frame[23]).toBe(6);
    expect(frame.readUInt16BE(34)).toBe(4242);
    expect(frame.readUInt16BE(36)).toBe(80);
    expect(frame[47]).toBe(0x02); // SYN only
  });

  it('detects a corrupted frame with the same independent check (the check can fail)', () => {
    const frame = makeFrame('tcp', 0xac100005, 4242, 1);
    frame[30] ^= 1;
    expect(ipHeaderValid(frame)).toBe(false);
    expect(l4Valid(frame)).toBe(false);
  });

  it('gives distinct 5-tuples within and across switches', () => {
    const switches = 4;
    const clients = 50;
    const seen = new Set<string>();
    for (let s = 0; s < switches; s++) {
      for (let n = 0; n < clients * 3; n++) {
        const { ip, port } = clientAddress(s, switches, clients, n);
        seen.add(`${ip}:${port}`);
        expect(port).toBeGreaterThanOrEqual(1024 + s * portsPerSwitch(switches));
        expect(port).toBeLessThan(1024 + (s + 1) * portsPerSwitch(switches));
      }
    }
    expect(seen.size).toBe(switches * clients * 3);
  });

  it('takes client addresses from the given base (--clients-from), 172.16.0.0 without one', () => {
    expect(clientAddress(0, 16, 100, 5).ip).toBe(0xac100005);
    expect(clientAddress(0, 16, 100, 105, 0x0a400000).ip).toBe(0x0a400005);
    expect(clientAddress(0, 1, 256, 255, 0xffffff00).ip).toBe(0xffffffff);
  });
});

describe('wire readers agree with the codec', () => {
  const conn = {
    serviceId: 7, connectionId: 9, protocol: 'tcp' as const, idleTimeout: 60,
    client: { ofport: 3, mac: '02:be:ac:10:00:05', ip: '172.16.0.5', port: 4242 },
    vip: { mac: '02:00:0a:00:00:64', ip: '10.0.0.100', port: 80 },
    backend: { ofport: 1, mac: '02:50:00:00:00:01', ip: '10.0.0.11', port: 8080 },
  };

  it('reads the forward and reverse 5-tuples and table of encoded flow-mods', () => {
    const [forward, reverse] = buildConnectionFlows(conn).map((f) => encode({ ...f, xid: 5 }));
    const tuple = emptyTuple();
    expect(readFlowModTuple(forward, tuple)).toBe(true);
    expect(tuple).toMatchObject({ srcIp: 0xac100005, srcPort: 4242, dstIp: 0x0a000064, dstPort: 80, proto: 6, tableId: 1, command: OFPFC_ADD });
    expect(tuple.present).toBe(HAS.SRC_IP | HAS.DST_IP | HAS.SRC_PORT | HAS.DST_PORT | HAS.PROTO);
    expect(readFlowModTuple(reverse, tuple)).toBe(true);
    expect(tuple).toMatchObject({ srcIp: 0x0a00000b, srcPort: 8080, dstIp: 0xac100005, dstPort: 4242, tableId: 2 });
    const decoded = decode(reverse) as FlowMod;
    expect(decoded.tableId).toBe(tuple.tableId);
  });

  it('skips masked fields and refuses a truncated match', () => {
    const masked = encode({
      ...buildConnectionFlows(conn)[0], xid: 1,
      match: [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_src', value: '172.16.0.0', mask: '255.255.0.0' }],
    });
    const tuple = emptyTuple();
    expect(readFlowModTuple(masked, tuple)).toBe(true);
    expect(tuple.present & HAS.SRC_IP).toBe(0);
    expect(readFlowModTuple(masked.subarray(0, 50), tuple)).toBe(false);
  });

  it('reads the frame of a packet-out and rejects non-IP data', () => {
    const frame = makeFrame('udp', 0xac100009, 5000, 2);
    const out: PacketOut = buildResubmitPacketOut(frame, 3);
    const tuple = emptyTuple();
    expect(readPacketOutTuple(encode({ ...out, xid: 2 }), tuple)).toBe(true);
    expect(tuple).toMatchObject({ srcIp: 0xac100009, srcPort: 5000, dstIp: 0x0a000064, dstPort: 80, proto: 17 });
    const arp = Buffer.alloc(42);
    arp.writeUInt16BE(0x0806, 12);
    expect(readFrameTuple(arp, 0, tuple)).toBe(false);
    expect(readPacketOutTuple(encode({ ...out, xid: 3, data: arp }), tuple)).toBe(false);
  });
});

describe('IPv6 client frames', () => {
  const VIP6 = 'fd00:10::100';

  /** Upper-layer checksum over the IPv6 pseudo-header (RFC 8200 8.1), written here independently. */
  function l4Valid6(frame: Buffer): boolean {
    const l4 = [...frame.subarray(54)];
    const pseudo = [...frame.subarray(22, 54), 0, 0, l4.length >> 8, l4.length & 0xff, 0, 0, 0, frame[20]];
    return onesComplementSum([...pseudo, ...l4]) === 0xffff;
  }

  function makeFrame6(protocol: BenchProtocol, ip: number, port: number, seq: number): Buffer {
    const frame = buildFrameTemplate({ protocol, family: 'ipv6', vipMac: '02:00:0a:00:00:64', vip: VIP6, servicePort: 80 });
    writeClient(frame, 0, protocol, { ip, port }, seq, 'ipv6');
    return frame;
  }

  it.each(['tcp', 'udp'] as const)('%s frames carry correct transport checksums for many clients', (protocol) => {
    for (let n = 0; n < 300; n++) {
      const { ip, port } = clientAddress(3, 16, 1000, n * 7919);
      const frame = makeFrame6(protocol, ip, port, n);
      expect(frame.length).toBe(frameLength(protocol, 'ipv6'));
      expect(frame.readUInt16BE(18)).toBe(frame.length - 54); // payload length
      expect(l4Valid6(frame)).toBe(true);
    }
  });

  it('builds a SYN from fd00:be::<client number> to the VIP, and the check catches a changed address', () => {
    const frame = makeFrame6('tcp', 0xac100005, 4242, 1);
    expect(frame.readUInt16BE(12)).toBe(0x86dd);
    expect(frame[14] >> 4).toBe(6);
    expect(frame[20]).toBe(6);
    expect(formatIpv6(frame, 22)).toBe('fd00:be::ac10:5');
    expect(formatIpv6(frame, 38)).toBe(VIP6);
    expect(frame.readUInt16BE(54)).toBe(4242);
    expect(frame.readUInt16BE(56)).toBe(80);
    expect(frame[67]).toBe(0x02);
    frame[30] ^= 1;
    expect(l4Valid6(frame)).toBe(false);
  });

  it('the vadc packet parser reads it as the same connection', () => {
    const parsed = parsePacket(makeFrame6('udp', 0xac100009, 5000, 2));
    expect(parsed.ok && parsed.packet.ipv6?.src).toBe('fd00:be::ac10:9');
    expect(parsed.ok && parsed.packet.l4).toMatchObject({ src: 5000, dst: 80 });
  });

  const conn6 = {
    serviceId: 7, connectionId: 9, protocol: 'tcp' as const, idleTimeout: 60,
    client: { ofport: 3, mac: '02:be:ac:10:00:05', ip: 'fd00:be::ac10:5', port: 4242 },
    vip: { mac: '02:00:0a:00:00:64', ip: VIP6, port: 80 },
    backend: { ofport: 1, mac: '02:50:00:00:00:01', ip: 'fd00:10::11', port: 8080 },
  };

  it('wire readers take a client by its number and any other IPv6 address as no client', () => {
    const [forward, reverse] = buildConnectionFlows(conn6).map((f) => encode({ ...f, xid: 5 }));
    const tuple = emptyTuple();
    expect(readFlowModTuple(forward, tuple)).toBe(true);
    expect(tuple).toMatchObject({ srcIp: 0xac100005, srcPort: 4242, dstIp: NOT_A_CLIENT, dstPort: 80, proto: 6, tableId: 1 });
    expect(readFlowModTuple(reverse, tuple)).toBe(true);
    expect(tuple).toMatchObject({ srcIp: NOT_A_CLIENT, srcPort: 8080, dstIp: 0xac100005, dstPort: 4242, tableId: 2 });
    // A VIP whose last 32 bits equal a client's number is still no client (the prefix decides).
    const lookalike = buildConnectionFlows({ ...conn6, vip: { ...conn6.vip, ip: 'fd00:10::ac10:5' } }).map((f) => encode({ ...f, xid: 6 }));
    expect(readFlowModTuple(lookalike[0], tuple)).toBe(true);
    expect(tuple.dstIp).toBe(NOT_A_CLIENT);
    const out = buildResubmitPacketOut(makeFrame6('tcp', 0xac100007, 4243, 3), 3);
    expect(readPacketOutTuple(encode({ ...out, xid: 2 }), tuple)).toBe(true);
    expect(tuple).toMatchObject({ srcIp: 0xac100007, srcPort: 4243, dstIp: NOT_A_CLIENT, dstPort: 80, proto: 6 });
    expect(readFrameTuple(makeFrame6('tcp', 1, 2, 3).subarray(0, 57), 0, tuple)).toBe(false);
  });
});
