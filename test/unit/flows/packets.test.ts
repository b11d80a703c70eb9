import {
  buildArpReply, buildIcmpEchoReply, buildIcmpUnreachable, buildReplyPacketOut, buildTcpReset, internetChecksum, parsePacket,
  transportChecksum, ICMP_UNREACHABLE, TCP_FLAGS, type ParsedPacket,
} from '../../../src/flows';
import { ipv4Frame as ipv4FrameOf, ipv4TcpFragments } from '../../helpers/frames';

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
