import { readTransportHeader6 } from '../../../src/flows/ipv6-packets';
import { emptyTransportHeader, parsePacket, readTransportHeader, type TransportHeader } from '../../../src/flows/packets';
import { ipv4ToUint32 } from '../../../src/net';
import { ipv6Frame } from '../../helpers/frames';
import { formatIpv6Source, formatIpv6Destination, ipv6Pair } from '../../../src/net/ipv6';
import { clientFold6, vipFold6 } from '../../../src/lb/conn-key';

/** What readTransportHeader must report for a frame, derived from the general parser (fragments: the refusal's, not its). */
function expectedFromParser(frame: Buffer): TransportHeader | null {
  const r = parsePacket(frame);
  if (!r.ok || !r.packet.ipv4 || !r.packet.l4 || r.packet.ipv4.fragment) return null;
  const { ipv4, l4 } = r.packet;
  if (ipv4.proto !== 6 && ipv4.proto !== 17) return null;
  return {
    proto: ipv4.proto, src: ipv4ToUint32(ipv4.src), dst: ipv4ToUint32(ipv4.dst), srcPort: l4.src, dstPort: l4.dst,
    tcpFlags: ipv4.proto === 6 ? l4.tcpFlags ?? -1 : -1,
  };
}

function frame(opts: { proto: number; l4Length: number; vlanTags?: number; ihl?: number; fragment?: number; ethType?: number }): Buffer {
  const tags = Buffer.alloc(4 * (opts.vlanTags ?? 0));
  for (let i = 0; i < (opts.vlanTags ?? 0); i++) tags.writeUInt16BE(i % 2 ? 0x88a8 : 0x8100, i * 4);
  const ihl = opts.ihl ?? 5;
  const ip = Buffer.alloc(ihl * 4 + opts.l4Length);
  ip[0] = 0x40 | ihl;
  ip.writeUInt16BE(ip.length, 2);
  ip.writeUInt16BE(opts.fragment ?? 0, 6);
  ip[9] = opts.proto;
  ip.writeUInt32BE(0xc0a80133, 12);
  ip.writeUInt32BE(0x0a000064, 16);
  const l4 = ihl * 4;
  if (opts.l4Length >= 4) {
    ip.writeUInt16BE(40001, l4);
    ip.writeUInt16BE(80, l4 + 2);
  }
  if (opts.l4Length >= 14) ip[l4 + 13] = 0x12;
  const type = Buffer.alloc(2);
  type.writeUInt16BE(opts.ethType ?? 0x0800);
  return Buffer.concat([Buffer.from('02000a0000645254000000c1', 'hex'), tags, type, ip]);
}

describe('readTransportHeader agrees with parsePacket', () => {
  const bases = [
    frame({ proto: 6, l4Length: 20 }), frame({ proto: 17, l4Length: 8 }), frame({ proto: 6, l4Length: 20, vlanTags: 2 }),
    frame({ proto: 6, l4Length: 20, ihl: 7 }), frame({ proto: 6, l4Length: 20, fragment: 0x2000 }), frame({ proto: 6, l4Length: 20, fragment: 3 }),
    frame({ proto: 1, l4Length: 8 }), frame({ proto: 47, l4Length: 8 }), frame({ proto: 17, l4Length: 8, ethType: 0x86dd }),
    frame({ proto: 6, l4Length: 13 }), frame({ proto: 17, l4Length: 3 }),
  ];

  it('on every prefix of TCP, UDP, VLAN, options, fragment, ICMP, other and truncated frames', () => {
    let accepted = 0;
    for (const base of bases) {
      for (let n = 0; n <= base.length; n++) {
        const f = base.subarray(0, n);
        const out = emptyTransportHeader();
        const expected = expectedFromParser(f);
        expect([n, readTransportHeader(f, out)]).toEqual([n, expected !== null]);
        if (expected) {
          expect(out).toEqual(expected);
          accepted++;
        }
      }
    }
    expect(accepted).toBeGreaterThan(10);
  });

  it('on randomly corrupted header bytes', () => {
    let s = 12345;
    const next = () => (s = (s * 1103515245 + 12345) >>> 0);
    for (let i = 0; i < 5000; i++) {
      const f = Buffer.from(bases[next() % bases.length]);
      for (let k = 0; k < 2; k++) f[12 + (next() % Math.min(30, f.length - 12))] = next() & 0xff;
      const out = emptyTransportHeader();
      const expected = expectedFromParser(f);
      expect(readTransportHeader(f, out)).toBe(expected !== null);
      if (expected) expect(out).toEqual(expected);
    }
  });
});

describe('readTransportHeader6 agrees with parsePacket (extension headers walked, fragments left to the full parser)', () => {
  // Built inside the tests (ipv6Frame computes checksums with src/flows): a broken checksum fails a test, not the
  // file's loading, and Stryker sees which test reached it.
  function frames6(): { cases: Buffer[]; extensionCases: Buffer[]; vlan: Buffer } {
    const cases = [
      ipv6Frame({ srcMac: '52:54:00:00:00:c1', dstMac: '02:06:00:00:01:00', srcIp: '2001:db8::51', dstIp: 'fd00::100', proto: 'tcp', srcPort: 40001, tcpFlags: 0x12 }),
      ipv6Frame({ srcMac: '52:54:00:00:00:c1', dstMac: '02:06:00:00:01:00', srcIp: '1:2:3:4:5:6:7:8', dstIp: 'fd00::100', proto: 'udp', srcPort: 5353, dstPort: 53 }),
      ipv6Frame({ srcMac: '52:54:00:00:00:c1', dstMac: '02:06:00:00:01:00', srcIp: '2001:db8::51', dstIp: 'fd00::100', proto: 'icmpv6-echo' }),
      ipv6Frame({ srcMac: '52:54:00:00:00:c1', dstMac: '02:06:00:00:01:00', srcIp: '2001:db8::51', dstIp: 'fd00::100', proto: 'sctp' }),
    ];
    /** The TCP segment of cases[0] behind the given extension headers (each 8 bytes here; next header filled in). */
    function behind(...headers: Array<[type: number, bytes: number[]]>): Buffer {
      const chain = headers.map(([, bytes], i) => Buffer.from([i + 1 < headers.length ? headers[i + 1][0] : 6, ...bytes]));
      const f = Buffer.concat([cases[0].subarray(0, 54), ...chain, cases[0].subarray(54)]);
      f[14 + 6] = headers[0][0];
      f.writeUInt16BE(f.length - 54, 14 + 4);
      return f;
    }
    const padN = [0, 1, 4, 0, 0, 0, 0];
    // Destination options alone; hop-by-hop, routing (no segments left), AH and an atomic fragment (offset 0, M clear),
    // both taken; a first and a later fragment, and hop-by-hop not first, left to the full parser.
    const withExtension = behind([60, padN]);
    const chain = behind([0, padN], [43, [0, 0, 0, 0, 0, 0, 0]], [51, [0, 0, 0, 0, 0, 0, 0]], [44, [0, 0, 0, 0, 0, 0, 7]], [60, padN]);
    const firstFragment = behind([44, [0, 0, 1, 0, 0, 0, 7]]);
    const laterFragment = behind([44, [0, 0, 0x18, 0, 0, 0, 7]]);
    const hopByHopSecond = behind([60, padN], [0, padN]);
    const extensionCases = [withExtension, chain, firstFragment, laterFragment, hopByHopSecond];
    const vlan = Buffer.concat([cases[0].subarray(0, 12), Buffer.from([0x81, 0, 0, 7]), cases[0].subarray(12)]);
    return { cases, extensionCases, vlan };
  }

  function check(f: Buffer): boolean {
    const out: TransportHeader = { ...emptyTransportHeader(), ip6: ipv6Pair() };
    const got = readTransportHeader6(f, out);
    const r = parsePacket(f);
    const plain = r.ok && r.packet.ipv6 !== undefined && !r.packet.ipv6.fragment && r.packet.l4 !== undefined
      && (r.packet.ipv6.proto === 6 || r.packet.ipv6.proto === 17);
    expect(got).toBe(plain);
    if (got && r.ok) {
      const { ipv6, l4 } = r.packet;
      expect([formatIpv6Source(out.ip6!), formatIpv6Destination(out.ip6!), out.proto, out.srcPort, out.dstPort, out.tcpFlags])
        .toEqual([ipv6!.src, ipv6!.dst, ipv6!.proto, l4!.src, l4!.dst, ipv6!.proto === 6 ? l4!.tcpFlags : -1]);
      expect([out.src, out.dst]).toEqual([clientFold6(out.ip6!), vipFold6(out.ip6!)]);
    }
    return got;
  }

  it('on every prefix of TCP, UDP, ICMPv6, SCTP, VLAN-tagged, extension-header and fragment frames', () => {
    const { cases, extensionCases, vlan } = frames6();
    let accepted = 0;
    for (const base of [...cases, ...extensionCases, vlan]) for (let n = 0; n <= base.length; n++) if (check(base.subarray(0, n))) accepted++;
    // Only whole frames: the payload length names the end (TCP, UDP, the two extension chains, VLAN-tagged TCP).
    expect(accepted).toBe(5);
    expect(extensionCases.map((f) => check(f))).toEqual([true, true, false, false, false]);
    expect(extensionCases.map((f) => parsePacket(f).ok)).toEqual([true, true, true, true, false]);
  });

  it('reads the addresses at the frame\'s own place in its memory: packet-ins cut from larger chunks at every offset, chunks alternating', () => {
    const { cases, vlan } = frames6();
    for (let offset = 0; offset < 9; offset++) {
      // Two chunks of their own memory (allocUnsafe may also cut them from the shared pool), other bytes around.
      for (const [i, f] of [cases[0], cases[1], vlan].entries()) {
        const chunk = Buffer.allocUnsafe(offset + f.length + 7).fill(0xa5 + i);
        f.copy(chunk, offset);
        expect([offset, i, check(chunk.subarray(offset, offset + f.length))]).toEqual([offset, i, true]);
      }
    }
  });

  it("truncated: reads a connection-end copy's first bytes (whole headers, the payload cut), still no less than the headers", () => {
    const long = ipv6Frame({ srcMac: '52:54:00:00:00:c1', dstMac: '02:06:00:00:01:00', srcIp: '2001:db8::51', dstIp: 'fd00::100', proto: 'tcp', srcPort: 40001, tcpFlags: 0x11, payload: Buffer.alloc(300) });
    const out: TransportHeader = { ...emptyTransportHeader(), ip6: ipv6Pair() };
    const copy = long.subarray(0, 128);
    expect(readTransportHeader6(copy, out)).toBe(false);
    expect(readTransportHeader6(copy, out, true)).toBe(true);
    expect([formatIpv6Source(out.ip6!), out.srcPort, out.dstPort, out.tcpFlags]).toEqual(['2001:db8::51', 40001, 80, 0x11]);
    // The TCP header's flags must be there: 14 + 40 + 14 bytes at least.
    expect(readTransportHeader6(long.subarray(0, 14 + 40 + 13), out, true)).toBe(false);
    expect(readTransportHeader6(long.subarray(0, 14 + 40 + 14), out, true)).toBe(true);
    // A client's FIN behind destination options (a socket's sticky IPV6_DSTOPTS), cut short the same way.
    const withOptions = Buffer.concat([long.subarray(0, 54), Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]), long.subarray(54)]);
    withOptions[14 + 6] = 60;
    withOptions.writeUInt16BE(withOptions.length - 54, 14 + 4);
    expect(readTransportHeader6(withOptions.subarray(0, 128), out, true)).toBe(true);
    expect([out.srcPort, out.dstPort, out.tcpFlags]).toEqual([40001, 80, 0x11]);
    expect(readTransportHeader6(withOptions.subarray(0, 14 + 40 + 8 + 13), out, true)).toBe(false);
  });

  /** The TCP SYN (or UDP datagram) of frames6's first cases behind extension headers given byte for byte (next headers filled in). */
  function behindRaw(proto: 'tcp' | 'udp', headers: Array<[type: number, bytes: number[]]>, srcMac = '52:54:00:00:00:c1'): Buffer {
    const base = ipv6Frame({ srcMac, dstMac: '02:06:00:00:01:00', srcIp: '2001:db8::51', dstIp: 'fd00::100', proto, srcPort: 40001, tcpFlags: 0x12, payload: Buffer.alloc(16, 0x5a) });
    const l4Proto = proto === 'tcp' ? 6 : 17;
    const chain = headers.map(([, bytes], i) => Buffer.from([i + 1 < headers.length ? headers[i + 1][0] : l4Proto, ...bytes.slice(1)]));
    const f = Buffer.concat([base.subarray(0, 54), ...chain, base.subarray(54)]);
    if (headers.length) f[14 + 6] = headers[0][0];
    f.writeUInt16BE(f.length - 54, 14 + 4);
    return f;
  }

  it('walks a 16-byte destination options header, a 24-byte AH (4-byte words) and an atomic fragment with its reserved byte set', () => {
    const dest16: [number, number[]] = [60, [0, 1, 1, 12, ...Array<number>(12).fill(0)]];
    const ah24: [number, number[]] = [51, [0, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 9, ...Array<number>(12).fill(0xee)]];
    const atomic: [number, number[]] = [44, [0, 0xff, 0, 0, 0, 0, 0x12, 0x34]];
    expect(check(behindRaw('tcp', [dest16, ah24, atomic]))).toBe(true);
    expect(check(behindRaw('tcp', [atomic, ah24]))).toBe(true);
    expect(check(behindRaw('udp', [ah24, dest16]))).toBe(true);
    const out: TransportHeader = { ...emptyTransportHeader(), ip6: ipv6Pair() };
    expect(readTransportHeader6(behindRaw('tcp', [dest16, ah24, atomic]), out)).toBe(true);
    expect([out.proto, out.srcPort, out.dstPort, out.tcpFlags]).toEqual([6, 40001, 80, 0x12]);
  });

  it('takes as many extension headers as the full parser does, and not one more', () => {
    const dest: [number, number[]] = [60, [0, 0, 1, 4, 0, 0, 0, 0]];
    const eight = behindRaw('tcp', Array.from({ length: 8 }, () => dest));
    const nine = behindRaw('tcp', Array.from({ length: 9 }, () => dest));
    expect([check(eight), check(nine)]).toEqual([true, false]);
    expect(parsePacket(nine)).toEqual({ ok: false, reason: 'ipv6-too-many-extension-headers' });
  });

  it('skips 802.1ad and 0x9100 tags (QinQ) as the full parser does', () => {
    const tcp = behindRaw('tcp', []);
    for (const outer of [0x88a8, 0x9100, 0x8100]) {
      const tagged = Buffer.concat([tcp.subarray(0, 12), Buffer.from([outer >> 8, outer & 0xff, 0, 5, 0x81, 0x00, 0, 7]), tcp.subarray(12)]);
      expect([outer, check(tagged)]).toEqual([outer, true]);
    }
  });

  it('reads the protocol from the IPv6 header, whatever the source MAC holds', () => {
    // The source MAC's third byte is 6 (TCP) and sits 6 bytes before the IPv6 header: a UDP datagram stays UDP.
    const udp = behindRaw('udp', [], '52:54:06:00:00:c1');
    const out: TransportHeader = { ...emptyTransportHeader(), ip6: ipv6Pair() };
    expect(check(udp)).toBe(true);
    expect(readTransportHeader6(udp, out)).toBe(true);
    expect([out.proto, out.srcPort, out.dstPort, out.tcpFlags]).toEqual([17, 40001, 53, -1]);
  });

  it("UDP: the header's ports must be there (a copy cut inside them is refused), and TCP flags left by an earlier read are cleared", () => {
    const udp = behindRaw('udp', []);
    const out: TransportHeader = { ...emptyTransportHeader(), ip6: ipv6Pair() };
    expect(readTransportHeader6(udp.subarray(0, 14 + 40 + 3), out, true)).toBe(false);
    expect(readTransportHeader6(udp.subarray(0, 14 + 40 + 4), out, true)).toBe(true);
    expect(readTransportHeader6(behindRaw('tcp', []), out)).toBe(true);
    expect(out.tcpFlags).toBe(0x12);
    expect(readTransportHeader6(udp, out)).toBe(true);
    expect([out.proto, out.srcPort, out.dstPort, out.tcpFlags]).toEqual([17, 40001, 53, -1]);
    // A payload length of 3 (the frame's bytes after it are padding): no ports, as the full parser says.
    const short = Buffer.from(udp);
    short.writeUInt16BE(3, 14 + 4);
    expect(check(short)).toBe(false);
  });

  it('on randomly corrupted header bytes', () => {
    const { cases, extensionCases } = frames6();
    let s = 777;
    const next = () => (s = (s * 1103515245 + 12345) >>> 0);
    const pool = [...cases, ...extensionCases];
    for (let i = 0; i < 5000; i++) {
      const f = Buffer.from(pool[next() % pool.length]);
      for (let k = 0; k < 2; k++) f[12 + (next() % Math.min(f.length - 12, 100))] = next() & 0xff;
      check(f);
    }
  });
});
