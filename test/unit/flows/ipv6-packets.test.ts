// IPv6 packet-ins (issue 16): the extension-header walk, typed refusals, the frames vadc answers with (checksums
// checked by summing and by tshark as an independent oracle) and a fuzz of the parser (typed errors only).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ICMPV6, ICMPV6_INCOMPLETE_HEADER_CHAIN, ICMPV6_UNREACHABLE, IPV6_EXT, IPV6_MAX_EXTENSION_HEADERS, TCP_FLAGS, buildIcmpv6EchoReply, buildIcmpv6Error,
  buildNeighborAdvertisement, buildTcpReset6, icmpv6ErrorAllowed, ipv6TransportChecksum, parsePacket, type ParseFailure, type ParsedPacket,
} from '../../../src/flows';
import { parseIpv6 } from '../../../src/net';
import { ethernetPcap } from '../../helpers/pcap';

const CLIENT_MAC = '52:54:00:00:00:c1';
const VIP_MAC = '02:00:0a:00:00:64';
const CLIENT = '2001:db8:1::51';
const VIP = 'fd00::1:100';
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

interface Ext { type: number; body?: Buffer; fragmentOffset?: number; more?: boolean }

/** Ethernet + IPv6 + extension headers (each given its type; lengths filled in) + the upper-layer bytes. */
function ipv6Frame(opts: { proto: number; payload: Buffer; exts?: Ext[]; src?: string; dst?: string; vlan?: number; payloadLength?: number }): Buffer {
  const exts = opts.exts ?? [];
  const chain: Buffer[] = exts.map((ext, i) => {
    const next = i + 1 < exts.length ? exts[i + 1].type : opts.proto;
    if (ext.type === IPV6_EXT.FRAGMENT) {
      const b = Buffer.alloc(8);
      b[0] = next;
      b.writeUInt16BE(((ext.fragmentOffset ?? 0) << 3) | (ext.more === false ? 0 : 1), 2);
      b.writeUInt32BE(0x1234, 4);
      return b;
    }
    const body = ext.body ?? Buffer.alloc(6);
    const b = Buffer.alloc(2 + body.length);
    b[0] = next;
    b[1] = (b.length / 8) - 1;
    body.copy(b, 2);
    return b;
  });
  const ext = Buffer.concat(chain);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(opts.payloadLength ?? ext.length + opts.payload.length, 4);
  ip[6] = exts.length ? exts[0].type : opts.proto;
  ip[7] = 64;
  ip.set(parseIpv6(opts.src ?? CLIENT), 8);
  ip.set(parseIpv6(opts.dst ?? VIP), 24);
  const tag = opts.vlan === undefined ? Buffer.alloc(0) : Buffer.from([0x81, 0x00, 0x00, opts.vlan]);
  const frame = Buffer.concat([hex('02000a000064 5254000000c1'), tag, hex('86dd'), ip, ext, opts.payload]);
  const l3 = 14 + tag.length;
  const l4 = l3 + 40 + ext.length;
  // A valid upper-layer checksum on the request too, so tshark has nothing to say about it.
  const at = opts.proto === 6 ? 16 : opts.proto === 17 ? 6 : opts.proto === 58 ? 2 : -1;
  if (at >= 0 && opts.payload.length >= at + 2 && opts.payloadLength === undefined) {
    frame.writeUInt16BE(0, l4 + at);
    frame.writeUInt16BE(ipv6TransportChecksum(frame, l3, l4, opts.payload.length, opts.proto), l4 + at);
  }
  return frame;
}

function tcpHeader(flags: number, ack = 0): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(40000, 0);
  tcp.writeUInt16BE(80, 2);
  tcp.writeUInt32BE(1000, 4);
  tcp.writeUInt32BE(ack, 8);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  tcp.writeUInt16BE(65535, 14);
  return tcp;
}
const udp = (): Buffer => hex('1388 0035 000c 0000 deadbeef');
const echoRequest = (): Buffer => hex('8000 0000 1234 0007 6162636465');
/** A neighbor solicitation for `target` with a source link-layer option (omitted for a DAD probe). */
function solicitation(target: string, sll = true): Buffer {
  const ns = Buffer.alloc(sll ? 32 : 24);
  ns[0] = ICMPV6.NEIGHBOR_SOLICITATION;
  ns.set(parseIpv6(target), 8);
  if (sll) {
    ns[24] = 1;
    ns[25] = 1;
    hex('5254000000c1').copy(ns, 26);
  }
  return ns;
}

function parsed(frame: Buffer): ParsedPacket {
  const result = parsePacket(frame);
  if (!result.ok) throw new Error(`parse failed: ${result.reason}`);
  return result.packet;
}
const failure = (frame: Buffer): ParseFailure | 'ok' => { const r = parsePacket(frame); return r.ok ? 'ok' : r.reason; };

describe('parsePacket: IPv6', () => {
  it('reads a TCP SYN to an IPv6 VIP', () => {
    expect(parsed(ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN) }))).toMatchObject({
      ethType: 0x86dd, l3Offset: 14,
      ipv6: { src: CLIENT, dst: VIP, proto: 6, hopLimit: 64, payloadLength: 20, headerLength: 40, protoFieldOffset: 6, laterFragment: false, fragment: false },
      l4: { src: 40000, dst: 80, tcpFlags: TCP_FLAGS.SYN, tcpSeq: 1000, tcpAck: 0 },
    });
  });

  it('walks hop-by-hop, destination options, routing and a first fragment to the ports (behind a VLAN tag)', () => {
    const frame = ipv6Frame({
      proto: 17, payload: udp(), vlan: 7,
      exts: [{ type: IPV6_EXT.HOP_BY_HOP }, { type: IPV6_EXT.DEST_OPTS, body: Buffer.alloc(14) }, { type: IPV6_EXT.ROUTING }, { type: IPV6_EXT.FRAGMENT }],
    });
    const p = parsed(frame);
    expect(p.vlanIds).toEqual([7]);
    expect(p.ipv6).toMatchObject({ proto: 17, headerLength: 40 + 8 + 16 + 8 + 8, protoFieldOffset: 40 + 8 + 16 + 8, laterFragment: false, fragment: true });
    expect(p.l4).toEqual({ src: 5000, dst: 53 });
  });

  it('gives a later fragment no ports, and refuses a first fragment that lacks the upper-layer header', () => {
    const later = parsed(ipv6Frame({ proto: 17, payload: udp(), exts: [{ type: IPV6_EXT.FRAGMENT, fragmentOffset: 185 }] }));
    expect(later.ipv6).toMatchObject({ laterFragment: true, fragment: true, proto: 17 });
    expect(later.l4).toBeUndefined();
    const tiny = ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN).subarray(0, 10), exts: [{ type: IPV6_EXT.FRAGMENT }], vlan: 9 });
    expect(failure(tiny)).toBe('ipv6-first-fragment-without-l4');
    // The failure carries what was read, for the parameter problem the sender is owed (RFC 8200 section 4.5).
    const read = parsePacket(tiny);
    expect(read).toMatchObject({ packet: { ethSrc: CLIENT_MAC, vlanIds: [9], l3Offset: 18, ipv6: { src: CLIENT, dst: VIP, proto: 6, headerLength: 48, fragment: true, laterFragment: false } } });
    expect(!read.ok && read.packet?.l4).toBeUndefined();
    // An atomic fragment (offset 0, M clear: RFC 6946) is a whole packet, as OVS reads it too (no FLOW_NW_FRAG_ANY).
    const atomic = parsed(ipv6Frame({ proto: 17, payload: udp(), exts: [{ type: IPV6_EXT.FRAGMENT, more: false }] }));
    expect([atomic.ipv6?.fragment, atomic.l4]).toEqual([false, { src: 5000, dst: 53 }]);
    // Unfragmented but short: like IPv4, no ports (the packet-in path then drops it), not an error.
    expect(parsed(ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN).subarray(0, 10) })).l4).toBeUndefined();
  });

  it('reads a neighbor solicitation (target and source link-layer address) and a DAD probe (none)', () => {
    expect(parsed(ipv6Frame({ proto: 58, payload: solicitation(VIP) })).nd).toEqual({ target: VIP, sll: CLIENT_MAC });
    const dad = parsed(ipv6Frame({ proto: 58, payload: solicitation(VIP, false), src: '::', dst: 'ff02::1:ff01:100' }));
    expect(dad).toMatchObject({ ipv6: { src: '::' }, icmp: { type: 135, code: 0 }, nd: { target: VIP } });
    expect(dad.nd?.sll).toBeUndefined();
  });

  it('refuses bad chains with a typed reason', () => {
    const syn = ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN) });
    expect(failure(syn.subarray(0, 50))).toBe('truncated-ipv6');
    const badVersion = Buffer.from(syn);
    badVersion[14] = 0x40;
    expect(failure(badVersion)).toBe('bad-ipv6-header');
    // A payload length that lies (longer than the frame).
    expect(failure(ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN), payloadLength: 400 }))).toBe('truncated-ipv6');
    expect(failure(ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN), exts: [{ type: IPV6_EXT.HOP_BY_HOP }], payloadLength: 0 }))).toBe('ipv6-jumbogram');
    expect(failure(ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN), exts: [{ type: IPV6_EXT.DEST_OPTS }, { type: IPV6_EXT.HOP_BY_HOP }] })))
      .toBe('ipv6-hop-by-hop-not-first');
    const many = Array.from({ length: IPV6_MAX_EXTENSION_HEADERS + 1 }, (): Ext => ({ type: IPV6_EXT.DEST_OPTS }));
    expect(failure(ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN), exts: many }))).toBe('ipv6-too-many-extension-headers');
    expect(failure(ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN), exts: many.slice(1) }))).toBe('ok');
    // An extension header whose length runs past the payload.
    const overflow = ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN), exts: [{ type: IPV6_EXT.ROUTING }] });
    overflow[14 + 40 + 1] = 20;
    expect(failure(overflow)).toBe('ipv6-extension-header-overflows-payload');
  });
});

/**
 * Ethernet + IPv6 + extension headers given byte for byte (only each one's next-header byte filled in: lengths, AH's
 * 4-byte words and a fragment's reserved byte stay as given) + the upper-layer bytes; `trailer` follows the payload
 * (Ethernet padding), outside the payload length.
 */
function rawFrame(proto: number, headers: Array<[type: number, bytes: number[]]>, payload: Buffer, trailer: Buffer = Buffer.alloc(0)): Buffer {
  const chain = headers.map(([, bytes], i) => Buffer.from([i + 1 < headers.length ? headers[i + 1][0] : proto, ...bytes.slice(1)]));
  const ext = Buffer.concat(chain);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(ext.length + payload.length, 4);
  ip[6] = headers.length ? headers[0][0] : proto;
  ip[7] = 64;
  ip.set(parseIpv6(CLIENT), 8);
  ip.set(parseIpv6(VIP), 24);
  return Buffer.concat([hex('02000a000064 5254000000c1 86dd'), ip, ext, payload, trailer]);
}
/** A neighbor solicitation for VIP followed by the given options (type, length in 8-byte units, body). */
function solicitationWith(...options: Array<[type: number, units: number, body: number[]]>): Buffer {
  const ns = Buffer.alloc(24);
  ns[0] = ICMPV6.NEIGHBOR_SOLICITATION;
  ns.set(parseIpv6(VIP), 8);
  return Buffer.concat([ns, ...options.map(([type, units, body]) => Buffer.from([type, units, ...body]))]);
}

describe('parsePacket: IPv6 at the edges of each check', () => {
  it('reads a header-only packet (payload length 0, no next header), which is no jumbogram', () => {
    const bare = rawFrame(IPV6_EXT.NO_NEXT, [], Buffer.alloc(0));
    expect(bare.length).toBe(14 + 40);
    expect(parsed(bare).ipv6).toMatchObject({ proto: IPV6_EXT.NO_NEXT, payloadLength: 0, headerLength: 40 });
    expect(failure(bare.subarray(0, 53))).toBe('truncated-ipv6');
  });

  it('gives ports to TCP and UDP only: an SCTP packet has none', () => {
    const sctp = parsed(rawFrame(132, [], hex('9c41 0050 00000001 00000000 01000010')));
    expect(sctp.ipv6?.proto).toBe(132);
    expect([sctp.l4, sctp.icmp]).toEqual([undefined, undefined]);
  });

  it('takes an extension header ending exactly at the payload end, and refuses one cut short', () => {
    const exact = parsed(rawFrame(IPV6_EXT.NO_NEXT, [[IPV6_EXT.DEST_OPTS, [0, 0, 1, 4, 0, 0, 0, 0]]], Buffer.alloc(0)));
    expect(exact.ipv6).toMatchObject({ proto: IPV6_EXT.NO_NEXT, payloadLength: 8, headerLength: 48, protoFieldOffset: 40 });
    // One byte of a destination options header: not even its length byte is there.
    const cut = rawFrame(IPV6_EXT.NO_NEXT, [], Buffer.from([6]));
    cut[14 + 6] = IPV6_EXT.DEST_OPTS;
    expect(failure(cut)).toBe('ipv6-extension-header-overflows-payload');
    // Seven of its eight bytes.
    const seven = rawFrame(IPV6_EXT.NO_NEXT, [], Buffer.from([6, 0, 1, 4, 0, 0, 0]));
    seven[14 + 6] = IPV6_EXT.DEST_OPTS;
    expect(failure(seven)).toBe('ipv6-extension-header-overflows-payload');
  });

  it('counts AH in 4-byte words and a fragment header as 8 bytes whatever its reserved byte', () => {
    // AH (RFC 4302): payload length 4 = (4 + 2) * 4 = 24 bytes (SPI, sequence, a 12-byte ICV).
    const ah: [number, number[]] = [IPV6_EXT.AH, [0, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 9, ...Array<number>(12).fill(0xee)]];
    const behindAh = parsed(rawFrame(6, [ah], tcpHeader(TCP_FLAGS.SYN)));
    expect(behindAh.ipv6).toMatchObject({ proto: 6, headerLength: 40 + 24, protoFieldOffset: 40 });
    expect(behindAh.l4).toMatchObject({ src: 40000, dst: 80, tcpFlags: TCP_FLAGS.SYN });
    // An atomic fragment whose reserved byte (RFC 8200 section 4.5: ignored on receipt) is set.
    const reserved = parsed(rawFrame(17, [[IPV6_EXT.FRAGMENT, [0, 0xff, 0, 0, 0, 0, 0x12, 0x34]]], udp()));
    expect(reserved.ipv6).toMatchObject({ proto: 17, headerLength: 48, fragment: false, laterFragment: false });
    expect(reserved.l4).toEqual({ src: 5000, dst: 53 });
  });

  it('a fragment stays a fragment after a second, atomic fragment header; a later fragment stops the walk at its header', () => {
    const first: [number, number[]] = [IPV6_EXT.FRAGMENT, [0, 0, 0, 1, 0, 0, 0, 1]];
    const atomic: [number, number[]] = [IPV6_EXT.FRAGMENT, [0, 0, 0, 0, 0, 0, 0, 2]];
    expect(parsed(rawFrame(17, [first, atomic], udp())).ipv6).toMatchObject({ fragment: true, laterFragment: false, headerLength: 56 });
    // A later fragment (offset 185) whose next header is destination options: those bytes are fragment data.
    const later = parsed(rawFrame(IPV6_EXT.DEST_OPTS, [[IPV6_EXT.FRAGMENT, [0, 0, 0x05, 0xc8, 0, 0, 0, 3]]],
      Buffer.concat([Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]), tcpHeader(TCP_FLAGS.SYN)])));
    expect(later.ipv6).toMatchObject({ proto: IPV6_EXT.DEST_OPTS, headerLength: 48, protoFieldOffset: 40, laterFragment: true, fragment: true });
    expect(later.l4).toBeUndefined();
  });

  it('reads a TCP header that ends right after its flags', () => {
    expect(parsed(rawFrame(6, [], tcpHeader(TCP_FLAGS.SYN | TCP_FLAGS.ACK).subarray(0, 14))).l4)
      .toMatchObject({ src: 40000, dst: 80, tcpFlags: TCP_FLAGS.SYN | TCP_FLAGS.ACK });
    expect(parsed(rawFrame(6, [], tcpHeader(TCP_FLAGS.SYN).subarray(0, 13))).l4).toBeUndefined();
  });

  it('reads a target only from a solicitation of 24 bytes or more, and none from an echo request', () => {
    const short = parsed(rawFrame(58, [], solicitationWith().subarray(0, 20)));
    expect([short.icmp, short.nd]).toEqual([{ type: ICMPV6.NEIGHBOR_SOLICITATION, code: 0 }, undefined]);
    expect(parsed(rawFrame(58, [], solicitationWith())).nd).toEqual({ target: VIP });
    // An echo request as long as a solicitation (its data where a target would be).
    const echo = parsed(rawFrame(58, [], Buffer.concat([echoRequest(), Buffer.alloc(24, 0x61)])));
    expect([echo.icmp, echo.nd]).toEqual([{ type: ICMPV6.ECHO_REQUEST, code: 0 }, undefined]);
  });

  it("walks a solicitation's options: other options around the source link-layer one, a zero-length one, one running past the end", () => {
    const nonce: [number, number, number[]] = [14, 1, [0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf]];
    const sll: [number, number, number[]] = [1, 1, [0x02, 0x11, 0x22, 0x33, 0x44, 0x55]];
    expect(parsed(rawFrame(58, [], solicitationWith(nonce, sll, nonce))).nd).toEqual({ target: VIP, sll: '02:11:22:33:44:55' });
    expect(parsed(rawFrame(58, [], solicitationWith(nonce))).nd).toEqual({ target: VIP });
    // RFC 4861 section 4.6: a zero-length option makes the rest unreadable (the walk stops, it does not spin).
    expect(parsed(rawFrame(58, [], solicitationWith([14, 0, [0, 0, 0, 0, 0, 0]], sll))).nd).toEqual({ target: VIP });
    // An option saying 16 bytes with 8 left (the frame's padding after the payload is not the packet's).
    const long: [number, number, number[]] = [1, 2, [0x02, 0x11, 0x22, 0x33, 0x44, 0x55]];
    expect(parsed(rawFrame(58, [], solicitationWith(long), Buffer.alloc(8, 0x77))).nd).toEqual({ target: VIP });
  });
});

describe('IPv6 reply frames', () => {
  const sumsToZero = (frame: Buffer, proto: number): number => ipv6TransportChecksum(frame, 14, 54, frame.length - 54, proto);

  it('advertises the VIP to a solicitation: solicited+override, target link-layer option, hop limit 255', () => {
    const ns = ipv6Frame({ proto: 58, payload: solicitation(VIP), dst: 'ff02::1:ff01:100' });
    const na = buildNeighborAdvertisement(parsed(ns), VIP_MAC);
    const p = parsed(na);
    expect(p).toMatchObject({ ethDst: CLIENT_MAC, ethSrc: VIP_MAC, ipv6: { src: VIP, dst: CLIENT, proto: 58, hopLimit: 255 }, icmp: { type: 136, code: 0 } });
    expect(na.subarray(54 + 4).toString('hex')).toBe(`60000000${Buffer.from(parseIpv6(VIP)).toString('hex')}0201${VIP_MAC.replace(/:/g, '')}`);
    expect(sumsToZero(na, 58)).toBe(0);
    expect(() => buildNeighborAdvertisement(parsed(ipv6Frame({ proto: 58, payload: solicitation(VIP, false), src: '::' })), VIP_MAC)).toThrow(/DAD/);
  });

  it('answers an echo request with its identifier, sequence and data', () => {
    const req = ipv6Frame({ proto: 58, payload: echoRequest(), exts: [{ type: IPV6_EXT.DEST_OPTS }] });
    const reply = buildIcmpv6EchoReply(req, parsed(req), VIP_MAC);
    expect(parsed(reply)).toMatchObject({ ipv6: { src: VIP, dst: CLIENT, proto: 58, headerLength: 40 }, icmp: { type: 129, code: 0 } });
    expect(reply.subarray(58).toString('hex')).toBe(`12340007${Buffer.from('abcde').toString('hex')}`);
    expect(sumsToZero(reply, 58)).toBe(0);
  });

  it('refuses a SYN (after extension headers) with RST+ACK, and a data segment with a bare RST', () => {
    const syn = ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN), exts: [{ type: IPV6_EXT.HOP_BY_HOP }] });
    const rst = buildTcpReset6(syn, parsed(syn), VIP_MAC);
    expect(parsed(rst)).toMatchObject({ ipv6: { src: VIP, dst: CLIENT, proto: 6 }, l4: { src: 80, dst: 40000, tcpSeq: 0, tcpAck: 1001, tcpFlags: TCP_FLAGS.RST | TCP_FLAGS.ACK } });
    expect(sumsToZero(rst, 6)).toBe(0);
    const data = ipv6Frame({ proto: 6, payload: Buffer.concat([tcpHeader(TCP_FLAGS.ACK | TCP_FLAGS.PSH, 777), Buffer.from('hello')]) });
    expect(parsed(buildTcpReset6(data, parsed(data), VIP_MAC)).l4).toMatchObject({ tcpSeq: 777, tcpAck: 0, tcpFlags: TCP_FLAGS.RST });
  });

  it('sends port unreachable quoting the datagram, and keeps a large quote within 1280 bytes', () => {
    const datagram = ipv6Frame({ proto: 17, payload: udp() });
    const err = buildIcmpv6Error(datagram, parsed(datagram), VIP_MAC, ICMPV6.DEST_UNREACHABLE, ICMPV6_UNREACHABLE.PORT);
    expect(parsed(err)).toMatchObject({ ipv6: { src: VIP, dst: CLIENT, proto: 58 }, icmp: { type: 1, code: 4 } });
    expect(err.subarray(62).equals(datagram.subarray(14))).toBe(true);
    expect(sumsToZero(err, 58)).toBe(0);
    const big = ipv6Frame({ proto: 17, payload: Buffer.concat([udp(), Buffer.alloc(3000, 7)]) });
    expect(buildIcmpv6Error(big, parsed(big), VIP_MAC, ICMPV6.DEST_UNREACHABLE, ICMPV6_UNREACHABLE.PORT).length - 14).toBe(1280);
  });

  it('answers a first fragment without its TCP header with parameter problem code 3, pointer 0, quoting it', () => {
    const tiny = ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN).subarray(0, 10), exts: [{ type: IPV6_EXT.FRAGMENT }] });
    const read = parsePacket(tiny);
    if (read.ok || !read.packet) throw new Error('expected a failure with the packet read');
    const err = buildIcmpv6Error(tiny, read.packet, VIP_MAC, ICMPV6.PARAMETER_PROBLEM, ICMPV6_INCOMPLETE_HEADER_CHAIN, 0);
    expect(parsed(err)).toMatchObject({ ethDst: CLIENT_MAC, ipv6: { src: VIP, dst: CLIENT, proto: 58 }, icmp: { type: 4, code: 3 } });
    expect(err.readUInt32BE(54 + 4)).toBe(0);
    expect(err.subarray(62).equals(tiny.subarray(14))).toBe(true);
    expect(sumsToZero(err, 58)).toBe(0);
  });

  it('lets an ICMPv6 error answer only a unicast frame from a source that names one node (RFC 4443 section 2.4 e)', () => {
    const from = (src: string, vlan?: number) => {
      const frame = ipv6Frame({ proto: 17, payload: udp(), src, vlan });
      return icmpv6ErrorAllowed(frame, parsed(frame));
    };
    expect([from(CLIENT), from(CLIENT, 5), from('::'), from('::', 5), from('ff02::1'), from('ff05::1:3', 5), from('::1'), from('fe80::1')])
      .toEqual([true, true, false, false, false, false, true, true]);
    const group = ipv6Frame({ proto: 17, payload: udp() });
    group[0] = 0x33;
    expect(icmpv6ErrorAllowed(group, parsed(group))).toBe(false);
  });

  it('rejects builder input of the wrong kind with a typed error', () => {
    const syn = ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN) });
    expect(() => buildNeighborAdvertisement(parsed(syn), VIP_MAC)).toThrow(TypeError);
    expect(() => buildIcmpv6EchoReply(syn, parsed(syn), VIP_MAC)).toThrow(TypeError);
    const datagram = ipv6Frame({ proto: 17, payload: udp() });
    expect(() => buildTcpReset6(datagram, parsed(datagram), VIP_MAC)).toThrow(TypeError);
  });

  it('names what each builder needs when it refuses, and answers a solicitation at its source link-layer address', () => {
    const syn = ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN) });
    const datagram = ipv6Frame({ proto: 17, payload: udp() });
    const notIpv6 = { ...parsed(syn), ipv6: undefined };
    expect(() => buildNeighborAdvertisement(notIpv6, VIP_MAC)).toThrow(new TypeError('buildNeighborAdvertisement needs a parsed IPv6 packet'));
    expect(() => buildIcmpv6EchoReply(syn, notIpv6, VIP_MAC)).toThrow(new TypeError('buildIcmpv6EchoReply needs a parsed IPv6 packet'));
    expect(() => buildTcpReset6(syn, notIpv6, VIP_MAC)).toThrow(new TypeError('buildTcpReset6 needs a parsed IPv6 packet'));
    expect(() => buildIcmpv6Error(syn, notIpv6, VIP_MAC, 1, 4)).toThrow(new TypeError('buildIcmpv6Error needs a parsed IPv6 packet'));
    const needsSolicitation = new TypeError('buildNeighborAdvertisement needs a parsed neighbor solicitation');
    expect(() => buildNeighborAdvertisement(parsed(syn), VIP_MAC)).toThrow(needsSolicitation);
    const ns = ipv6Frame({ proto: 58, payload: solicitation(VIP), dst: 'ff02::1:ff01:100' });
    expect(() => buildNeighborAdvertisement({ ...parsed(ns), nd: undefined }, VIP_MAC)).toThrow(needsSolicitation);
    expect(() => buildIcmpv6EchoReply(syn, parsed(syn), VIP_MAC)).toThrow(new TypeError('buildIcmpv6EchoReply needs a parsed ICMPv6 echo request'));
    const needsTcp = new TypeError('buildTcpReset6 needs a parsed TCP segment');
    expect(() => buildTcpReset6(datagram, parsed(datagram), VIP_MAC)).toThrow(needsTcp);
    expect(() => buildTcpReset6(syn, { ...parsed(syn), l4: undefined }, VIP_MAC)).toThrow(needsTcp);
    expect(() => buildTcpReset6(syn, { ...parsed(syn), l4: { src: 40000, dst: 80 } }, VIP_MAC)).toThrow(needsTcp);
    // A solicitation whose Ethernet source is not its source link-layer option: the advertisement goes to the option's.
    const viaRouter = Buffer.from(ns);
    Buffer.from('020000000099', 'hex').copy(viaRouter, 6);
    expect(parsed(buildNeighborAdvertisement(parsed(viaRouter), VIP_MAC)).ethDst).toBe(CLIENT_MAC);
  });

  it('answers a FIN without ACK with RST+ACK acknowledging the FIN', () => {
    const fin = ipv6Frame({ proto: 6, payload: Buffer.concat([tcpHeader(TCP_FLAGS.FIN), Buffer.from('bye')]) });
    expect(parsed(buildTcpReset6(fin, parsed(fin), VIP_MAC)).l4).toMatchObject({ tcpSeq: 0, tcpAck: 1000 + 3 + 1, tcpFlags: TCP_FLAGS.RST | TCP_FLAGS.ACK });
  });

  it('tshark finds every checksum good and nothing malformed (an independent oracle)', () => {
    try { execFileSync('tshark', ['--version'], { stdio: 'ignore' }); } catch {
      throw new Error("the tshark oracle needs 'tshark' on PATH (Debian: apt-get install tshark)");
    }
    const ns = ipv6Frame({ proto: 58, payload: solicitation(VIP), dst: 'ff02::1:ff01:100' });
    const echo = ipv6Frame({ proto: 58, payload: echoRequest() });
    const syn = ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN), exts: [{ type: IPV6_EXT.HOP_BY_HOP }] });
    const datagram = ipv6Frame({ proto: 17, payload: udp() });
    const tiny = ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN).subarray(0, 10), exts: [{ type: IPV6_EXT.FRAGMENT }] });
    const tinyRead = parsePacket(tiny);
    if (tinyRead.ok || !tinyRead.packet) throw new Error('expected a failure with the packet read');
    const frames = [
      buildNeighborAdvertisement(parsed(ns), VIP_MAC), buildIcmpv6EchoReply(echo, parsed(echo), VIP_MAC),
      buildTcpReset6(syn, parsed(syn), VIP_MAC), buildIcmpv6Error(datagram, parsed(datagram), VIP_MAC, ICMPV6.DEST_UNREACHABLE, ICMPV6_UNREACHABLE.PORT),
      buildIcmpv6Error(datagram, parsed(datagram), VIP_MAC, ICMPV6.PARAMETER_PROBLEM, 1, parsed(datagram).ipv6!.protoFieldOffset),
      buildIcmpv6Error(tiny, tinyRead.packet, VIP_MAC, ICMPV6.PARAMETER_PROBLEM, ICMPV6_INCOMPLETE_HEADER_CHAIN, 0),
    ];
    // One frame with a broken checksum proves the oracle looks.
    const broken = Buffer.from(frames[1]);
    broken[broken.length - 1] ^= 0xff;
    frames.push(broken);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-ipv6-frames-'));
    try {
      const pcap = path.join(dir, 'frames.pcap');
      fs.writeFileSync(pcap, ethernetPcap(frames));
      const out = execFileSync('tshark', [
        '-r', pcap, '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'occurrence=f',
        '-e', 'icmpv6.type', '-e', 'icmpv6.checksum.status', '-e', 'tcp.checksum.status', '-e', 'tcp.flags.reset', '-e', '_ws.malformed',
        '-e', 'icmpv6.nd.na.target_address', '-e', 'icmpv6.opt.linkaddr', '-e', 'icmpv6.code', '-e', 'icmpv6.pointer',
      ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      // Checksum status 1 is good, 0 bad (epan/proto.h PROTO_CHECKSUM_E_GOOD, _BAD).
      expect(out.replace(/\n$/, '').split('\n').map((l) => l.split('\t'))).toEqual([
        ['136', '1', '', '', '', VIP, VIP_MAC, '0', ''],
        ['129', '1', '', '', '', '', '', '0', ''],
        ['', '', '1', '1', '', '', '', '', ''],
        ['1', '1', '', '', '', '', '', '4', ''],
        ['4', '1', '', '', '', '', '', '1', '6'],
        ['4', '1', '', '', '', '', '', '3', '0'],
        ['129', '0', '', '', '', '', '', '0', ''],
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('IPv6 parser fuzz', () => {
  const REASONS = new Set<string>(['ok', 'truncated-ethernet', 'truncated-vlan', 'truncated-ipv6', 'bad-ipv6-header', 'ipv6-jumbogram',
    'ipv6-hop-by-hop-not-first', 'ipv6-too-many-extension-headers', 'ipv6-extension-header-overflows-payload', 'ipv6-first-fragment-without-l4']);
  const iterations = Number(process.env.VADC_FUZZ_ITERATIONS ?? 20000);

  it(`gives a typed result for ${iterations} random and mutated frames (extension chains, lengths that lie)`, () => {
    let seed = 0x6a09e667;
    const random = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
    const EXT_TYPES = [IPV6_EXT.HOP_BY_HOP, IPV6_EXT.ROUTING, IPV6_EXT.FRAGMENT, IPV6_EXT.DEST_OPTS, IPV6_EXT.AH, IPV6_EXT.NO_NEXT, 6, 17, 58];
    const seeds = [
      ipv6Frame({ proto: 6, payload: tcpHeader(TCP_FLAGS.SYN), exts: [{ type: IPV6_EXT.HOP_BY_HOP }, { type: IPV6_EXT.ROUTING }, { type: IPV6_EXT.FRAGMENT }] }),
      ipv6Frame({ proto: 58, payload: solicitation(VIP) }),
      ipv6Frame({ proto: 17, payload: udp(), exts: [{ type: IPV6_EXT.DEST_OPTS, body: Buffer.alloc(14) }] }),
    ];
    const seen = new Set<string>();
    for (let i = 0; i < iterations; i++) {
      let frame: Buffer;
      if (i % 4 === 0) {
        frame = Buffer.from(Array.from({ length: random(160) }, () => random(256)));
        if (frame.length >= 14) frame.writeUInt16BE(0x86dd, 12);
        if (frame.length >= 15) frame[14] = 0x60 | (frame[14] & 0x0f);
      } else {
        frame = Buffer.from(seeds[i % seeds.length]);
        for (let k = random(6) + 1; k > 0; k--) {
          const at = 14 + random(Math.max(1, frame.length - 14));
          // Next-header bytes, length bytes and the payload length are where chains go wrong.
          frame[at] = random(3) === 0 ? EXT_TYPES[random(EXT_TYPES.length)] : random(256);
        }
        if (random(5) === 0) frame.writeUInt16BE(random(0x10000), 18);
        if (random(5) === 0) frame = frame.subarray(0, random(frame.length + 1));
      }
      const result = parsePacket(frame);
      const reason = result.ok ? 'ok' : result.reason;
      if (!REASONS.has(reason)) throw new Error(`untyped outcome ${reason} for ${frame.toString('hex')}`);
      if (result.ok && result.packet.ipv6) {
        const { ipv6 } = result.packet;
        expect(14 + ipv6.headerLength).toBeLessThanOrEqual(frame.length);
      }
      seen.add(reason);
    }
    expect([...seen]).toEqual(expect.arrayContaining(['ok', 'truncated-ipv6', 'ipv6-extension-header-overflows-payload']));
  });
});
