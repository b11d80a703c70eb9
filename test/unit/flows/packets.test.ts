import {
  buildArpReply, buildIcmpEchoReply, buildIcmpUnreachable, buildReplyPacketOut, buildTcpReset, emptyTransportHeader, ethernet, formatIpv4,
  formatMac, internetChecksum, parsePacket, readTransportHeader, transportChecksum, writeIpv4, writeMac, ICMP_UNREACHABLE, TCP_FLAGS,
  type ParsedPacket,
} from '../../../src/flows';
import { ipv4Frame as ipv4FrameOf, ipv4TcpFragments, ipv6Frame } from '../../helpers/frames';

const CLIENT_MAC = '52:54:00:00:00:c1';
const VIP_MAC = '02:00:0a:00:00:64';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** Ethernet + optional VLAN tag + IPv4 (with `options` bytes) + payload, built by hand for the parser. */
function ipv4Frame(opts: { proto: number; payload: Buffer; options?: Buffer; vlan?: number; fragOffset?: number }): Buffer {
  const options = opts.options ?? Buffer.alloc(0);
  const eth = hex('02000a000064 5254000000c1');
  const tag = opts.vlan === undefined ? Buffer.alloc(0) : Buffer.from([0x81, 0x00, 0x00, opts.vlan]);
  const ip = Buffer.alloc(20 + options.length);
  ip[0] = 0x40 | ((20 + options.length) / 4);
  ip.writeUInt16BE(ip.length + opts.payload.length, 2);
  ip.writeUInt16BE(opts.fragOffset ?? 0, 6);
  ip[8] = 64;
  ip[9] = opts.proto;
  Buffer.from([10, 0, 0, 51, 10, 0, 0, 100]).copy(ip, 12);
  options.copy(ip, 20);
  ip.writeUInt16BE(internetChecksum(ip), 10);
  return Buffer.concat([eth, tag, hex('0800'), ip, opts.payload]);
}

/** TCP header: ports 40000 -> 80, seq 1000, ack 0, flags, no options. */
function tcpHeader(flags: number, ack = 0): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(40000, 0);
  tcp.writeUInt16BE(80, 2);
  tcp.writeUInt32BE(1000, 4);
  tcp.writeUInt32BE(ack, 8);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  return tcp;
}

function parsed(frame: Buffer): ParsedPacket {
  const result = parsePacket(frame);
  if (!result.ok) throw new Error(`parse failed: ${result.reason}`);
  return result.packet;
}

/** A TCP SYN from the client to the VIP. */
function synFrame(): Buffer {
  return ipv4Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN) });
}

const arpRequest = hex('ffffffffffff 5254000000c1 0806 0001 0800 06 04 0001 5254000000c1 0a000033 000000000000 0a000064');

describe('parsePacket', () => {
  it('parses a TCP SYN to the VIP', () => {
    const packet = parsed(ipv4Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN) }));
    expect(packet).toMatchObject({
      ethDst: VIP_MAC, ethSrc: CLIENT_MAC, ethType: 0x0800, vlanIds: [], l3Offset: 14,
      ipv4: { src: '10.0.0.51', dst: '10.0.0.100', proto: 6, ttl: 64, headerLength: 20, laterFragment: false, fragment: false },
      l4: { src: 40000, dst: 80, tcpFlags: TCP_FLAGS.SYN, tcpSeq: 1000 },
    });
  });

  it('skips VLAN tags and IPv4 options to reach the ports', () => {
    const packet = parsed(ipv4Frame({ proto: 17, payload: hex('1388 0035 0008 0000'), options: hex('01010100'), vlan: 42 }));
    expect(packet.vlanIds).toEqual([42]);
    expect(packet.ipv4?.headerLength).toBe(24);
    expect(packet.l4).toEqual({ src: 5000, dst: 53 });
  });

  it('gives later fragments no ports', () => {
    const packet = parsed(ipv4Frame({ proto: 17, payload: hex('1388 0035 0008 0000'), fragOffset: 185 }));
    expect(packet.ipv4?.laterFragment).toBe(true);
    expect(packet.ipv4?.fragment).toBe(true);
    expect(packet.l4).toBeUndefined();
    // A first fragment (MF set, offset 0) has its ports, and is a fragment all the same.
    const first = parsed(ipv4Frame({ proto: 17, payload: hex('1388 0035 0008 0000'), fragOffset: 0x2000 }));
    expect([first.ipv4?.laterFragment, first.ipv4?.fragment, first.l4]).toEqual([false, true, { src: 5000, dst: 53 }]);
  });

  it('reads the IPv4 fragments of the test helper as OVS and the e2e need them: first with ports, later without, tiny first without', () => {
    const spec = { srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: '10.0.0.101', dstIp: '10.0.0.100', srcPort: 41601, dstPort: 80, payload: Buffer.from('fragmented') };
    const [first, later] = ipv4TcpFragments({ ...spec, cuts: [[0, 24], [24, 30]], id: 0x1601 });
    const [tiny] = ipv4TcpFragments({ ...spec, cuts: [[0, 8]], id: 0x1602 });
    const read = (f: Buffer) => {
      const p = parsed(f);
      return [p.ipv4?.fragment, p.ipv4?.laterFragment, p.l4?.src, f.readUInt16BE(18), f.readUInt16BE(20), internetChecksum(f, 14, 34)];
    };
    expect(read(first)).toEqual([true, false, 41601, 0x1601, 0x2000, 0]);
    expect(read(later)).toEqual([true, true, undefined, 0x1601, 3, 0]);
    expect(read(tiny)).toEqual([true, false, undefined, 0x1602, 0x2000, 0]);
    // Reassembled, they are the whole segment (its TCP checksum valid).
    const whole = ipv4FrameOf({ ...spec, proto: 'tcp' });
    expect(Buffer.concat([first.subarray(34), later.subarray(34)])).toEqual(whole.subarray(34));
    expect(() => ipv4TcpFragments({ ...spec, cuts: [[4, 8]], id: 1 })).toThrow(RangeError);
  });

  it('parses ARP requests', () => {
    expect(parsed(arpRequest).arp).toEqual({ op: 1, sha: CLIENT_MAC, spa: '10.0.0.51', tha: '00:00:00:00:00:00', tpa: '10.0.0.100' });
  });

  it('returns a typed reason for truncated or malformed packets', () => {
    const syn = ipv4Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN) });
    expect(parsePacket(Buffer.alloc(10))).toEqual({ ok: false, reason: 'truncated-ethernet' });
    expect(parsePacket(hex('ffffffffffff 000000000001 8100 00'))).toEqual({ ok: false, reason: 'truncated-vlan' });
    expect(parsePacket(arpRequest.subarray(0, 30))).toEqual({ ok: false, reason: 'truncated-arp' });
    expect(parsePacket(syn.subarray(0, 30))).toEqual({ ok: false, reason: 'truncated-ipv4' });
    const badVersion = Buffer.from(syn);
    badVersion[14] = 0x65;
    expect(parsePacket(badVersion)).toEqual({ ok: false, reason: 'bad-ipv4-header' });
  });

  it('never throws on garbage', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const outcomes = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const frame = Buffer.from(Array.from({ length: random() % 80 }, random));
      // Bias towards the interesting ethertypes so the deeper parsers get garbage too.
      if (frame.length >= 14 && i % 3 === 0) frame.writeUInt16BE(i % 2 ? 0x0800 : 0x0806, 12);
      const result = parsePacket(frame);
      outcomes.add(result.ok ? 'ok' : result.reason);
    }
    expect([...outcomes].sort()).toEqual(expect.arrayContaining(['ok', 'truncated-ethernet', 'bad-ipv4-header', 'truncated-arp']));
  });
});

describe('checksums', () => {
  it('matches a known IPv4 header checksum', () => {
    expect(internetChecksum(hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7'))).toBe(0xb861);
  });

  it('handles odd lengths (the last byte is the high half of a word)', () => {
    expect(internetChecksum(hex('01'))).toBe(0xfeff);
  });
});

/** A valid checksummed region sums to 0 (RFC 1071). */
function assertIpv4Valid(frame: Buffer): void {
  expect(internetChecksum(frame, 14, 34)).toBe(0);
}

describe('reply builders', () => {
  it('answers an ARP request for the VIP with the VIP MAC', () => {
    const reply = parsed(buildArpReply(parsed(arpRequest), VIP_MAC));
    expect(reply).toMatchObject({ ethDst: CLIENT_MAC, ethSrc: VIP_MAC, ethType: 0x0806 });
    expect(reply.arp).toEqual({ op: 2, sha: VIP_MAC, spa: '10.0.0.100', tha: CLIENT_MAC, tpa: '10.0.0.51' });
  });

  it('answers an ICMP echo with the same id, sequence and data, from the VIP, with valid checksums', () => {
    const echo = Buffer.from(hex('0800 0000 1234 0007 6162636465'));
    echo.writeUInt16BE(internetChecksum(echo), 2);
    const request = ipv4Frame({ proto: 1, payload: echo });
    const replyFrame = buildIcmpEchoReply(request, parsed(request), VIP_MAC);
    const reply = parsed(replyFrame);
    expect(reply).toMatchObject({ ethDst: CLIENT_MAC, ethSrc: VIP_MAC, ipv4: { src: '10.0.0.100', dst: '10.0.0.51', proto: 1 }, icmp: { type: 0, code: 0 } });
    expect(replyFrame.subarray(38).toString('hex')).toBe('12340007' + Buffer.from('abcde').toString('hex'));
    assertIpv4Valid(replyFrame);
    expect(internetChecksum(replyFrame, 34)).toBe(0);
  });

  it('refuses a SYN with RST+ACK acknowledging it (seq 0, ack = seq + 1)', () => {
    const syn = ipv4Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN) });
    const rstFrame = buildTcpReset(syn, parsed(syn), VIP_MAC);
    const rst = parsed(rstFrame);
    expect(rst).toMatchObject({
      ethDst: CLIENT_MAC, ipv4: { src: '10.0.0.100', dst: '10.0.0.51', proto: 6 },
      l4: { src: 80, dst: 40000, tcpSeq: 0, tcpAck: 1001, tcpFlags: TCP_FLAGS.RST | TCP_FLAGS.ACK },
    });
    assertIpv4Valid(rstFrame);
    expect(transportChecksum(rstFrame, 26, 34, 20, 6)).toBe(0);
  });

  it('refuses a segment carrying ACK with a bare RST whose seq is its ack', () => {
    const data = Buffer.concat([tcpHeader(TCP_FLAGS.ACK | TCP_FLAGS.PSH, 777), Buffer.from('hello')]);
    const frame = ipv4Frame({ proto: 6, payload: data });
    expect(parsed(buildTcpReset(frame, parsed(frame), VIP_MAC)).l4).toMatchObject({ tcpSeq: 777, tcpAck: 0, tcpFlags: TCP_FLAGS.RST });
  });

  it('sends ICMP port unreachable quoting the IPv4 header and 8 bytes of the datagram', () => {
    const datagram = ipv4Frame({ proto: 17, payload: hex('1388 0035 000c 0000 deadbeef') });
    const icmpFrame = buildIcmpUnreachable(datagram, parsed(datagram), VIP_MAC, ICMP_UNREACHABLE.PORT);
    const icmp = parsed(icmpFrame);
    expect(icmp).toMatchObject({ ipv4: { src: '10.0.0.100', dst: '10.0.0.51', proto: 1 }, icmp: { type: 3, code: 3 } });
    expect(icmpFrame.subarray(42).equals(datagram.subarray(14, 14 + 28))).toBe(true);
    assertIpv4Valid(icmpFrame);
    expect(internetChecksum(icmpFrame, 34)).toBe(0);
  });

  it('rejects builder input of the wrong kind with a typed error', () => {
    const syn = ipv4Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN) });
    expect(() => buildArpReply(parsed(syn), VIP_MAC)).toThrow(TypeError);
    expect(() => buildIcmpEchoReply(syn, parsed(syn), VIP_MAC)).toThrow(TypeError);
    expect(() => buildTcpReset(arpRequest, parsed(arpRequest), VIP_MAC)).toThrow(TypeError);
  });

  it('wraps a reply in an unbuffered packet-out from the controller', () => {
    expect(buildReplyPacketOut(Buffer.from('x'), 5)).toMatchObject({ bufferId: 0xffffffff, inPort: 0xfffffffd, actions: [{ type: 'output', port: 5 }] });
  });
});

// The edges of each length and header check, one at a time (issue 18: the mutants of packets.ts that survived).
describe('parsePacket at the edges of its checks', () => {
  const reason = (frame: Buffer): string => { const r = parsePacket(frame); return r.ok ? 'ok' : r.reason; };

  it('takes 14 bytes as an Ethernet header and 13 as truncated', () => {
    const eth = hex('02000a000064 5254000000c1 1234');
    expect(parsed(eth)).toEqual({ ethDst: VIP_MAC, ethSrc: CLIENT_MAC, ethType: 0x1234, vlanIds: [], l3Offset: 14 });
    expect(reason(eth.subarray(0, 13))).toBe('truncated-ethernet');
  });

  it('skips stacked 802.1ad, 802.1Q and 0x9100 tags, masks the priority bits off the VLAN id, and needs each tag whole', () => {
    const frame = hex('02000a000064 5254000000c1 88a8 e00a 8100 2fff 9100 0003 1234');
    expect(parsed(frame)).toMatchObject({ ethType: 0x1234, vlanIds: [10, 0xfff, 3], l3Offset: 26 });
    expect(reason(frame.subarray(0, 26))).toBe('ok'); // the last tag and the ethertype
    expect(reason(frame.subarray(0, 25))).toBe('truncated-vlan');
    expect(reason(frame.subarray(0, 17))).toBe('truncated-vlan');
  });

  it('needs a whole 28-byte Ethernet/IPv4 ARP body: every other hardware type, protocol type or length is unsupported', () => {
    expect(reason(arpRequest.subarray(0, 42))).toBe('ok');
    expect(reason(arpRequest.subarray(0, 41))).toBe('truncated-arp');
    const variant = (at: number, value: number) => { const f = Buffer.from(arpRequest); f[at] = value; return reason(f); };
    expect(variant(15, 6)).toBe('unsupported-arp'); // htype 6 (IEEE 802)
    expect(variant(14, 1)).toBe('unsupported-arp'); // htype 0x0101
    expect(variant(16, 0x86)).toBe('unsupported-arp'); // ptype 0x8600
    expect(variant(18, 8)).toBe('unsupported-arp'); // hlen 8
    expect(variant(19, 16)).toBe('unsupported-arp'); // plen 16
  });

  it('reads every field of an ARP reply, with distinct addresses', () => {
    const reply = hex('ffffffffffff 5254000000c1 0806 0001 0800 06 04 0002 0a0b0c0d0e0f c0a80102 f1f2f3f4f5f6 ac100304');
    expect(parsed(reply).arp).toEqual({ op: 2, sha: '0a:0b:0c:0d:0e:0f', spa: '192.168.1.2', tha: 'f1:f2:f3:f4:f5:f6', tpa: '172.16.3.4' });
  });

  it('refuses an IPv4 header shorter than 20 bytes, a total length below the header and a frame shorter than the header', () => {
    expect(reason(synFrame().subarray(0, 34))).not.toBe('truncated-ipv4'); // 20 bytes of header are enough to look at
    expect(reason(synFrame().subarray(0, 33))).toBe('truncated-ipv4');
    const withIhl = (ihl: number) => { const f = synFrame(); f[14] = 0x40 | ihl; return f; };
    expect(reason(withIhl(4))).toBe('bad-ipv4-header');
    expect(reason(withIhl(5))).toBe('ok');
    const withTotal = (total: number) => { const f = synFrame(); f.writeUInt16BE(total, 16); return f; };
    expect(reason(withTotal(19))).toBe('bad-ipv4-header');
    expect(reason(withTotal(20))).toBe('ok');
    const options = ipv4Frame({ proto: 17, payload: hex('1388 0035 0008 0000'), options: hex('01010101 01010100') }); // 28-byte header
    expect(reason(options.subarray(0, 14 + 28))).toBe('ok');
    expect(reason(options.subarray(0, 14 + 27))).toBe('truncated-ipv4');
    expect(parsed(options).ipv4).toMatchObject({ headerLength: 28, totalLength: 36 });
  });

  it('takes TCP ports and flags from 14 bytes of segment, UDP ports from 4, ICMP type and code from 2', () => {
    const tcp = synFrame();
    expect(parsed(tcp.subarray(0, 34 + 14)).l4).toEqual({ src: 40000, dst: 80, tcpSeq: 1000, tcpAck: 0, tcpFlags: TCP_FLAGS.SYN });
    expect(parsed(tcp.subarray(0, 34 + 13)).l4).toBeUndefined();
    const udp = ipv4Frame({ proto: 17, payload: hex('1388 0035 0008 0000') });
    expect(parsed(udp.subarray(0, 34 + 4)).l4).toEqual({ src: 5000, dst: 53 });
    expect(parsed(udp.subarray(0, 34 + 3)).l4).toBeUndefined();
    const icmp = ipv4Frame({ proto: 1, payload: hex('0b01 0000') }); // time exceeded, code 1
    expect(parsed(icmp.subarray(0, 34 + 2))).toMatchObject({ icmp: { type: 11, code: 1 } });
    expect(parsed(icmp.subarray(0, 34 + 1)).icmp).toBeUndefined();
    // Other protocols get neither, whatever their bytes; an ICMP packet gets no ports.
    const gre = parsed(ipv4Frame({ proto: 47, payload: hex('1388 0035 0008 0000 0000 0000 0000 0000') }));
    expect([gre.l4, gre.icmp]).toEqual([undefined, undefined]);
    expect(parsed(icmp).l4).toBeUndefined();
    // TCP's acknowledgement number, read from its own 4 bytes.
    expect(parsed(ipv4Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.ACK, 0x01020304) })).l4).toMatchObject({ tcpSeq: 1000, tcpAck: 0x01020304 });
  });

  it('reads the TTL, the total length and the flags: DF alone is no fragment, MF or any offset bit is', () => {
    const frame = ipv4Frame({ proto: 17, payload: hex('1388 0035 0008 0000') });
    frame[22] = 3;
    expect(parsed(frame).ipv4).toMatchObject({ ttl: 3, totalLength: 28 });
    const flags = (value: number) => { const f = Buffer.from(frame); f.writeUInt16BE(value, 20); const p = parsed(f); return [p.ipv4?.fragment, p.ipv4?.laterFragment, p.l4 !== undefined]; };
    expect(flags(0x4000)).toEqual([false, false, true]);
    expect(flags(0x2000)).toEqual([true, false, true]);
    expect(flags(0x1000)).toEqual([true, true, false]);
    expect(flags(0x0001)).toEqual([true, true, false]);
    expect(flags(0x8000)).toEqual([false, false, true]); // the reserved bit is neither
  });
});

describe('address text', () => {
  it('formats and writes MAC and IPv4 addresses at an offset', () => {
    const buf = Buffer.from('00a1b2c3d4e5f6ff', 'hex');
    expect(formatMac(buf, 1)).toBe('a1:b2:c3:d4:e5:f6');
    expect(formatIpv4(buf, 3)).toBe('195.212.229.246');
    // Written into 0xff bytes, the address after the MAC first: a write past either end shows.
    const out = Buffer.alloc(13, 0xff);
    writeIpv4(out, 7, '192.0.2.255');
    writeMac(out, 1, '0a:1b:2c:3d:4e:5f');
    expect(out.toString('hex')).toBe('ff' + '0a1b2c3d4e5f' + 'c00002ff' + 'ffff');
  });

  it('refuses a MAC without six parts and an IPv4 address without four, naming it', () => {
    const out = Buffer.alloc(8);
    expect(() => writeMac(out, 0, '0a:1b:2c:3d:4e')).toThrow(new RangeError('not a MAC: 0a:1b:2c:3d:4e'));
    expect(() => writeMac(out, 0, '0a:1b:2c:3d:4e:5f:60')).toThrow(RangeError);
    expect(() => writeIpv4(out, 0, '10.0.0')).toThrow(new RangeError('not an IPv4 address: 10.0.0'));
    expect(() => writeIpv4(out, 0, '10.0.0.1.2')).toThrow(RangeError);
  });

  it('builds an Ethernet header in front of a zeroed payload', () => {
    expect(ethernet('02:00:00:00:00:01', '52:54:00:00:00:02', 0x86dd, 3).toString('hex')).toBe('020000000001525400000002' + '86dd' + '000000');
  });
});

describe('checksums over ranges', () => {
  it('sums buf[start, end) with an initial partial sum, folding every carry', () => {
    const buf = hex('ffff ffff 0001 ab');
    expect(internetChecksum(buf, 2, 6)).toBe(~(0xffff + 0x0001 - 0xffff) & 0xffff); // 0xffff + 0x0001 = 0x10000 -> 0x0001
    expect(internetChecksum(buf, 0, 4)).toBe(0x0000); // 0x1fffe folds to 0xffff
    expect(internetChecksum(buf, 4, 7)).toBe(~(0x0001 + 0xab00) & 0xffff); // odd end: the last byte high
    expect(internetChecksum(buf, 4, 6, 0x1234)).toBe(~(0x1235) & 0xffff);
    expect(internetChecksum(buf, 0, 0)).toBe(0xffff);
    // A sum that needs two folds: 0xffff * 0x10001 = 0xffffffff -> 0x1fffe -> 0xffff.
    expect(internetChecksum(Buffer.alloc(0), 0, 0, 0xffffffff)).toBe(0);
  });

  it('adds the pseudo-header of the addresses, the protocol and the length', () => {
    const frame = hex('c0a8 0001 0a00 0064 1388 0035');
    expect(transportChecksum(frame, 0, 8, 4, 17)).toBe(~((0xc0a8 + 0x0001 + 0x0a00 + 0x0064 + 17 + 4 + 0x1388 + 0x0035) % 0xffff) & 0xffff);
    expect(transportChecksum(frame, 0, 8, 4, 6)).not.toBe(transportChecksum(frame, 0, 8, 4, 17));
  });
});

describe('reply builders at their edges', () => {
  it("an echo reply covers the IPv4 total length, not the frame's Ethernet padding", () => {
    const echo = hex('0800 0000 1234 0007 61');
    echo.writeUInt16BE(internetChecksum(echo), 2);
    const padded = Buffer.concat([ipv4Frame({ proto: 1, payload: echo }), Buffer.alloc(17, 0xee)]);
    const reply = buildIcmpEchoReply(padded, parsed(padded), VIP_MAC);
    expect(reply.length).toBe(14 + 20 + 9);
    expect(reply.readUInt16BE(16)).toBe(29);
    expect(reply.subarray(34).toString('hex')).toBe('0000' + reply.subarray(36, 38).toString('hex') + '1234000761');
    expect(internetChecksum(reply, 34)).toBe(0);
    // A frame cut short of its total length: the reply echoes what arrived.
    const cut = ipv4Frame({ proto: 1, payload: echo }).subarray(0, 14 + 20 + 8);
    expect(buildIcmpEchoReply(cut, parsed(cut), VIP_MAC).length).toBe(14 + 20 + 8);
    expect(() => buildIcmpEchoReply(padded, { ...parsed(padded), icmp: { type: 0, code: 0 } }, VIP_MAC)).toThrow(TypeError);
  });

  it('writes the IPv4 header of a reply: version, length, TTL 64, protocol, addresses, no fragment bits', () => {
    const frame = synFrame();
    const rst = buildTcpReset(frame, parsed(frame), VIP_MAC);
    expect(rst.subarray(14, 34).toString('hex').replace(/^(.{20})..../, '$1xxxx')).toBe('45000028000000004006xxxx0a0000640a000033');
    expect(rst.subarray(0, 14).toString('hex')).toBe('5254000000c1' + '02000a000064' + '0800');
  });

  it("a RST for a SYN+FIN with data acknowledges the data and both flags; one for data with TCP options skips the options", () => {
    const synFin = ipv4Frame({ proto: 6, payload: Buffer.concat([tcpHeader(TCP_FLAGS.SYN | TCP_FLAGS.FIN), Buffer.from('abc')]) });
    expect(parsed(buildTcpReset(synFin, parsed(synFin), VIP_MAC)).l4).toMatchObject({ tcpSeq: 0, tcpAck: 1000 + 3 + 2 });
    const withOptions = Buffer.concat([tcpHeader(TCP_FLAGS.PSH), hex('0101 0101'), Buffer.from('hello')]);
    withOptions[12] = 6 << 4; // 24-byte header
    const frame = ipv4Frame({ proto: 6, payload: withOptions });
    const rst = buildTcpReset(frame, parsed(frame), VIP_MAC);
    expect(parsed(rst).l4).toMatchObject({ tcpSeq: 0, tcpAck: 1005, tcpFlags: TCP_FLAGS.RST | TCP_FLAGS.ACK });
    expect(rst[46]).toBe(0x50);
    expect(transportChecksum(rst, 26, 34, 20, 6)).toBe(0);
    // The acknowledgement wraps at 2^32.
    const high = ipv4Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN) });
    high.writeUInt32BE(0xffffffff, 34 + 4);
    expect(parsed(buildTcpReset(high, parsed(high), VIP_MAC)).l4?.tcpAck).toBe(0);
  });

  it('refuses to reset anything but a parsed TCP segment with its flags, and each builder names what it needs', () => {
    const needs = (what: string) => new TypeError(what);
    const udp = ipv4Frame({ proto: 17, payload: hex('1388 0035 0008 0000') });
    const tcpNeeded = needs('buildTcpReset needs a parsed TCP segment');
    expect(() => buildTcpReset(udp, parsed(udp), VIP_MAC)).toThrow(tcpNeeded);
    const frame = synFrame();
    const p = parsed(frame);
    expect(() => buildTcpReset(frame, { ...p, l4: undefined }, VIP_MAC)).toThrow(tcpNeeded);
    expect(() => buildTcpReset(frame, { ...p, l4: { src: 1, dst: 2 } }, VIP_MAC)).toThrow(tcpNeeded);
    expect(() => buildTcpReset(frame, { ...p, ipv4: undefined }, VIP_MAC)).toThrow(tcpNeeded);
    expect(() => buildTcpReset(frame, { ...p, ipv4: { ...p.ipv4!, proto: 17 } }, VIP_MAC)).toThrow(tcpNeeded); // ports and flags, not TCP
    expect(() => buildTcpReset(arpRequest, parsed(arpRequest), VIP_MAC)).toThrow(tcpNeeded);
    expect(() => buildIcmpUnreachable(arpRequest, parsed(arpRequest), VIP_MAC, 3)).toThrow(needs('buildIcmpUnreachable needs a parsed IPv4 packet'));
    const arpNeeded = needs('buildArpReply needs a parsed ARP request');
    expect(() => buildArpReply({ ...parsed(arpRequest), arp: { ...parsed(arpRequest).arp!, op: 2 } }, VIP_MAC)).toThrow(arpNeeded);
    expect(() => buildArpReply(p, VIP_MAC)).toThrow(arpNeeded);
    const echoNeeded = needs('buildIcmpEchoReply needs a parsed ICMP echo request');
    expect(() => buildIcmpEchoReply(frame, p, VIP_MAC)).toThrow(echoNeeded); // no ICMP at all
    expect(() => buildIcmpEchoReply(frame, { ...p, icmp: { type: 0, code: 0 } }, VIP_MAC)).toThrow(echoNeeded);
    expect(() => buildIcmpEchoReply(frame, { ...p, ipv4: undefined, icmp: { type: 8, code: 0 } }, VIP_MAC)).toThrow(echoNeeded);
  });

  it('an unreachable quotes the header with its options and 8 bytes, or what arrived of them, with the code given', () => {
    const datagram = ipv4Frame({ proto: 17, payload: hex('1388 0035 000c 0000 deadbeef'), options: hex('01010100') });
    const icmp = buildIcmpUnreachable(datagram, parsed(datagram), VIP_MAC, ICMP_UNREACHABLE.ADMIN_PROHIBITED);
    expect(icmp.length).toBe(14 + 20 + 8 + 24 + 8);
    expect(icmp.subarray(34, 36).toString('hex')).toBe('030d');
    expect(icmp.subarray(36 + 2, 42).toString('hex')).toBe('00000000');
    expect(icmp.subarray(42).equals(datagram.subarray(14, 14 + 32))).toBe(true);
    expect(internetChecksum(icmp, 34)).toBe(0);
    const short = datagram.subarray(0, 14 + 24 + 5);
    const quoted = buildIcmpUnreachable(short, parsed(short), VIP_MAC, ICMP_UNREACHABLE.PROTOCOL);
    expect(quoted.length).toBe(14 + 20 + 8 + 29);
    expect(quoted.readUInt16BE(16)).toBe(20 + 8 + 29);
    expect(quoted.subarray(42).equals(short.subarray(14))).toBe(true);
  });
});

describe('parsePacket and readTransportHeader: what is set and what is left out', () => {
  it('sets only the IPv6 parts a packet has: ports for TCP, type and code for ICMPv6, no neighbor solicitation for either', () => {
    const spec = { srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: '2001:db8::51', dstIp: 'fd00::100' };
    const tcp = parsed(ipv6Frame({ ...spec, proto: 'tcp', srcPort: 40001 }));
    expect(Object.keys(tcp).sort()).toEqual(['ethDst', 'ethSrc', 'ethType', 'ipv6', 'l3Offset', 'l4', 'vlanIds']);
    const echo = parsed(ipv6Frame({ ...spec, proto: 'icmpv6-echo' }));
    expect(Object.keys(echo).sort()).toEqual(['ethDst', 'ethSrc', 'ethType', 'icmp', 'ipv6', 'l3Offset', 'vlanIds']);
  });

  it('starts a transport header empty: no protocol, addresses or ports, and no TCP flags (-1)', () => {
    expect(emptyTransportHeader()).toEqual({ proto: 0, src: 0, dst: 0, srcPort: 0, dstPort: 0, tcpFlags: -1 });
  });

  it('readTransportHeader skips a 0x9100 tag and refuses a total length below the header, as parsePacket does', () => {
    const tagged = (inner: Buffer) => Buffer.concat([inner.subarray(0, 12), hex('9100 0005'), inner.subarray(12)]);
    const out = emptyTransportHeader();
    expect(readTransportHeader(tagged(synFrame()), out)).toBe(true);
    expect(out).toEqual({ proto: 6, src: 0x0a000033, dst: 0x0a000064, srcPort: 40000, dstPort: 80, tcpFlags: TCP_FLAGS.SYN });
    const withTotal = (total: number) => { const f = synFrame(); f.writeUInt16BE(total, 16); return f; };
    expect([readTransportHeader(withTotal(19), emptyTransportHeader()), parsePacket(withTotal(19)).ok]).toEqual([false, false]);
    expect([readTransportHeader(withTotal(20), emptyTransportHeader()), parsePacket(withTotal(20)).ok]).toEqual([true, true]);
  });
});
