// Does this IPv6 packet reach this backend (and the reply the client)? The IPv6 twin of behaviour.test.ts, in every
// NAT mode, through the fake flow table: placement, replies from the VIP, neighbor discovery and ping6 of the VIP,
// refusals as a host makes them (RST, ICMPv6), UDP, accounting, a restart, and dual stack: one service on an IPv4 and
// an IPv6 VIP (one scheduler state for both), and the older way, an IPv4 and an IPv6 service on the same VMs.
import { LoadBalancerApp } from '../../../src/app';
import { parsePacket, type ParsedPacket } from '../../../src/flows';
import type { OutboundMessage } from '../../../src/controller/types';
import { encode } from '../../../src/openflow/codec';
import type { OfpMessage, PacketIn, PacketOut } from '../../../src/openflow/types';
import {
  AppHarness, CLIENT6, CLIENT_MAC, CLIENT_PORT, defaultServices, delivered, expectFastPathFollows, fieldsOf, fromBackend6, fromClient, fromClient6, ipv6Services, NAT_MODES,
  VIP6, VIP6_MAC, VMS,
} from '../../helpers/app-harness';
import { ipv4Frame, ipv6Frame, ipv6TcpFragments, neighborSolicitation } from '../../helpers/frames';
import { ipv6Words, parseIpv6 } from '../../../src/net';
import { backendYaml, backendYaml6, dualStackService, expectSameAnswers, fromBackend, prefixAndHostServices6, VIP_MAC } from '../../helpers/app-harness';

const TCP_ACK = 0x10;

/**
 * An ICMPv6 message's checksum, summed here apart from src (RFC 8200 section 8.1, RFC 1071): the one's-complement sum
 * of the pseudo-header (addresses, length, next header 58) and the message, checksum included, is 0xffff.
 */
function icmpv6SumIsGood(frame: Buffer): boolean {
  const length = frame.length - 54;
  let sum = 58 + (length >>> 16) + (length & 0xffff);
  for (let i = 22; i < 54; i += 2) sum += frame.readUInt16BE(i);
  for (let i = 54; i < frame.length; i += 2) sum += (frame[i] << 8) | (i + 1 < frame.length ? frame[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

function parsed(data: Buffer): ParsedPacket {
  const r = parsePacket(data);
  if (!r.ok) throw new Error(r.reason);
  return r.packet;
}

/** A TCP frame of either family. */
function ipv6OrIpv4Frame(v6: boolean, spec: Parameters<typeof ipv4Frame>[0] & { proto: 'tcp' }): Buffer {
  return v6 ? ipv6Frame(spec) : ipv4Frame(spec);
}

/** Every message's bytes with xid 0, as the wire would carry them before the session numbers them. */
function wireBytes(msgs: ReadonlyArray<OfpMessage | OutboundMessage>): string {
  return msgs.map((m) => (m.type === 'pre_encoded' ? m.bytes : encode(m)).toString('hex')).join('');
}

function packetIn(frame: Buffer): PacketIn {
  return { type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: frame.length, reason: 0, tableId: 1, cookie: 0n, match: [{ field: 'in_port', value: CLIENT_PORT }], data: frame };
}

/** Both families on the same VMs: defaultServices (web, dns on 10.0.0.100) and ipv6Services (web6, dns6 on fd00::100). */
function dualStack(scheduler = 'rr'): string {
  return `${defaultServices(scheduler)}${ipv6Services(scheduler).replace('\nservices:\n', '\n')}`;
}

describe.each(NAT_MODES.map((m) => [m.name, m] as const))('LoadBalancerApp, %s mode, IPv6: does this packet reach this backend?', (_name, mode) => {
  it('sends a new IPv6 TCP connection to a backend, rewritten to its MAC, IPv6 address and software port', () => {
    const h = new AppHarness(mode, ipv6Services());
    const out = delivered(h.send(fromClient6(40000)).outcomes);
    expect(out.port).toBe(VMS['v-vm1'].ofport);
    expect(out.fields).toMatchObject({ eth_dst: VMS['v-vm1'].mac, ipv6_dst: 'fd00::11', tcp_dst: 8080, ipv6_src: CLIENT6, tcp_src: 40000 });
  });

  it('the reply reaches the client from the VIP, and the rest of the connection stays in the datapath', () => {
    const h = new AppHarness(mode, ipv6Services());
    h.send(fromClient6(40001));
    const reply = delivered(h.send(fromBackend6('v-vm1', 40001), VMS['v-vm1'].ofport).outcomes);
    expect(reply.port).toBe(CLIENT_PORT);
    expect(reply.fields).toMatchObject({ eth_src: VIP6_MAC, ipv6_src: VIP6, tcp_src: 80, ipv6_dst: CLIENT6, tcp_dst: 40001 });
    for (let i = 0; i < 3; i++) {
      const outcomes = h.table.process(fieldsOf(fromClient6(40001, { flags: TCP_ACK })), CLIENT_PORT, h.now / 1000);
      expect(outcomes.some((o) => o.kind === 'controller')).toBe(false);
      expect(delivered(outcomes)).toMatchObject({ port: VMS['v-vm1'].ofport, fields: { ipv6_dst: 'fd00::11', tcp_dst: 8080 } });
    }
    expect(h.packetIns).toBe(1);
  });

  it('persistence_prefix 64: clients of one /64 share a backend, another /64 gets its own (IPVS prefix length for IPv6)', () => {
    const vmOf = (h: AppHarness, clientIp: string, port: number) => delivered(h.send(fromClient6(port, { clientIp })).outcomes).fields.ipv6_dst;
    const h = new AppHarness(mode, ipv6Services('rr', '    persistence: 300\n    persistence_prefix: 64'));
    const first = vmOf(h, 'fd00:0:0:1::a', 41000);
    expect([vmOf(h, 'fd00:0:0:1::b', 41001), vmOf(h, 'fd00:0:0:1:ffff::c', 41002)]).toEqual([first, first]);
    const other = vmOf(h, 'fd00:0:0:2::a', 41003);
    expect(other).not.toBe(first);
    // Without the prefix each client is its own template: rr moves on for the second client of the /64.
    const whole = new AppHarness(mode, ipv6Services('rr', '    persistence: 300'));
    expect(vmOf(whole, 'fd00:0:0:1::a', 41000)).not.toBe(vmOf(whole, 'fd00:0:0:1::b', 41001));
  });

  it('rr gives each VM every third connection and rotates ports on a VM, as for IPv4', () => {
    const h = new AppHarness(mode, ipv6Services());
    const seen = [];
    for (let i = 0; i < 6; i++) {
      const out = delivered(h.send(fromClient6(41000 + i)).outcomes);
      seen.push(`[${out.fields.ipv6_dst}]:${out.fields.tcp_dst}`);
    }
    expect(seen).toEqual(['[fd00::11]:8080', '[fd00::12]:8080', '[fd00::13]:8080', '[fd00::11]:8081', '[fd00::12]:8080', '[fd00::13]:8080']);
  });

  it('a retransmitted first packet goes where the first one went, without a new decision', () => {
    const h = new AppHarness(mode, ipv6Services());
    const first = delivered(h.send(fromClient6(50001)).outcomes).port;
    const decisions = h.app.serviceStates()[0].decisions;
    const again = h.app.packetIn(h.sw, packetIn(fromClient6(50001)), h.now);
    h.install(again);
    expect(h.app.serviceStates()[0].decisions).toBe(decisions);
    expect(again.filter((m) => m.type === 'flow_mod')).toEqual([]);
    expect(delivered(h.table.process(fieldsOf(fromClient6(50001)), CLIENT_PORT, h.now / 1000)).port).toBe(first);
  });

  it('answers a neighbor solicitation for the VIP with its MAC, ignores a DAD probe, leaves other targets to the switch', () => {
    const h = new AppHarness(mode, ipv6Services());
    const na = h.send(neighborSolicitation(CLIENT_MAC, CLIENT6, VIP6)).replies;
    expect(na).toHaveLength(1);
    const p = parsed(na[0].data);
    expect(p.ethSrc).toBe(VIP6_MAC);
    expect(p.ethDst).toBe(CLIENT_MAC);
    expect(p.ipv6).toMatchObject({ src: VIP6, dst: CLIENT6, hopLimit: 255 });
    expect(p.icmp).toEqual({ type: 136, code: 0 });
    expect(na[0].data.subarray(14 + 40 + 8, 14 + 40 + 24)).toEqual(ipv6Frame({ srcMac: CLIENT_MAC, dstMac: CLIENT_MAC, srcIp: VIP6, dstIp: VIP6, proto: 'udp' }).subarray(22, 38));
    expect(na[0].data.subarray(14 + 40 + 26, 14 + 40 + 32).toString('hex')).toBe(VIP6_MAC.replace(/:/g, ''));
    expect(na[0].actions).toEqual([{ type: 'output', port: CLIENT_PORT, maxLen: 0 }]);
    // A DAD probe (source ::) reaches vadc and gets nothing; a solicitation for a VM is the VM's to answer.
    const dad = h.send(neighborSolicitation(CLIENT_MAC, '::', VIP6));
    expect([dad.replies, dad.outcomes]).toEqual([[], []]);
    expect(h.send(neighborSolicitation(CLIENT_MAC, CLIENT6, 'fd00::12')).outcomes.map((o) => o.kind)).toEqual(['normal']);
  });

  it('an IPv6 prefix VIP: a SYN to any address in it is placed by dh as the kernel hashes it, a host VIP inside wins, ND answers only inside', () => {
    const h = new AppHarness(mode, prefixAndHostServices6());
    // Neighbor discovery: an address in the prefix is answered with the VIP's MAC, one outside is the switch's.
    const macOf = (target: string) => {
      const na = h.send(neighborSolicitation(CLIENT_MAC, CLIENT6, target)).replies;
      expect(na).toHaveLength(1);
      expect(parsed(na[0].data).icmp).toEqual({ type: 136, code: 0 });
      return parsed(na[0].data).ethSrc;
    };
    const vipMac = macOf('fd00:9::7');
    expect(macOf('fd00:9::ffff:1')).toBe(vipMac);
    // Every solicitation comes up (nd_target cannot be masked); one for another host, and its DAD probe, go on to
    // the switch's normal processing as without the VIP, or the VMs on the bridge could not find each other.
    for (const [src, target] of [[CLIENT6, 'fd00::12'], [CLIENT6, 'fd00:8::7'], ['::', 'fd00::12']]) {
      const other = h.send(neighborSolicitation(CLIENT_MAC, src, target));
      expect([target, other.replies, other.outcomes.map((o) => o.kind)]).toEqual([target, [], ['normal']]);
    }
    expect(h.packetIns).toBe(5);
    const syn = (dst: string, clientPort: number) => delivered(h.send(ipv6Frame({
      srcMac: CLIENT_MAC, dstMac: vipMac, srcIp: CLIENT6, dstIp: dst, proto: 'tcp', srcPort: clientPort, dstPort: 80,
    })).outcomes);
    // The host VIP inside the prefix is longest-prefix first: its own service (vm3's port 8081), not dh's.
    expect(syn('fd00:9::5', 45000)).toMatchObject({ port: VMS['v-vm3'].ofport, fields: { ipv6_dst: 'fd00::13', tcp_dst: 8081, ipv6_src: CLIENT6 } });
    // dh: the kernel's bucket hash_32(addr_fold(daddr), 8), buckets dealt to the members in turn (ip_vs_dh_reassign).
    const vms = ['v-vm1', 'v-vm2', 'v-vm3'] as const;
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const dst = `fd00:9::${(0x100 + i * 37).toString(16)}:${i.toString(16)}`;
      const w = ipv6Words(parseIpv6(dst));
      const bucket = Number(((BigInt((w[0] ^ w[1] ^ w[2] ^ w[3]) >>> 0) * 0x61c88647n) & 0xffffffffn) >> 24n);
      const vm = VMS[vms[bucket % 3]];
      expect([dst, syn(dst, 45001 + i)]).toMatchObject([dst, { port: vm.ofport, fields: { ipv6_dst: vm.ip6, tcp_dst: 8080 } }]);
      seen.add(vm.ip6);
    }
    expect(seen.size).toBe(3);
    expect(h.app.serviceStates().map((s) => [s.config.name, s.decisions])).toEqual([['pfx6', 30], ['host6', 1]]);
  });

  it('answers ping6 of the VIP from the VIP', () => {
    const h = new AppHarness(mode, ipv6Services());
    const payload = Buffer.from('ping6 payload');
    const echo = h.send(ipv6Frame({ srcMac: CLIENT_MAC, dstMac: VIP6_MAC, srcIp: CLIENT6, dstIp: VIP6, proto: 'icmpv6-echo', payload })).replies;
    expect(echo).toHaveLength(1);
    const p = parsed(echo[0].data);
    expect(p.icmp).toEqual({ type: 129, code: 0 });
    expect(p.ipv6).toMatchObject({ src: VIP6, dst: CLIENT6 });
    expect(echo[0].data.subarray(echo[0].data.length - payload.length)).toEqual(payload);
  });

  it('refuses as a host would: RST for a TCP port with no service or a stray segment, ICMPv6 port unreachable for UDP, parameter problem for SCTP', () => {
    const h = new AppHarness(mode, ipv6Services());
    const rst = h.send(fromClient6(40002, { dstPort: 443 })).replies;
    expect(rst).toHaveLength(1);
    expect(parsed(rst[0].data)).toMatchObject({ ipv6: { src: VIP6, dst: CLIENT6 }, l4: { src: 443, dst: 40002 } });
    expect((parsed(rst[0].data).l4?.tcpFlags ?? 0) & 0x04).toBe(0x04);
    expect(h.send(fromClient6(40003, { flags: TCP_ACK })).replies).toHaveLength(1);
    const udp = h.send(fromClient6(40004, { proto: 'udp', dstPort: 54 })).replies;
    expect(parsed(udp[0].data).icmp).toEqual({ type: 1, code: 4 });
    const sctp = h.send(ipv6Frame({ srcMac: CLIENT_MAC, dstMac: VIP6_MAC, srcIp: CLIENT6, dstIp: VIP6, proto: 'sctp' })).replies;
    expect(parsed(sctp[0].data).icmp).toEqual({ type: 4, code: 1 });
    // The pointer names the Next Header field (offset 6 of the quoted IPv6 header).
    expect(sctp[0].data.readUInt32BE(14 + 40 + 4)).toBe(6);
    expect(h.app.connectionRecords()).toHaveLength(0);
    expect(h.events.filter((e) => e.kind === 'connection_refused').map((e) => e.message)).toEqual([
      `refused [${CLIENT6}]:40002 -> [${VIP6}]:443: no service on this port`,
      `refused [${CLIENT6}]:40003 -> [${VIP6}]:80: segment of an unknown connection`,
      `refused [${CLIENT6}]:40004 -> [${VIP6}]:54: no service on this port`,
      `refused [${CLIENT6}]:- -> [${VIP6}]:-: not TCP/UDP to a service port`,
    ]);
  });

  it('places no fragment: a fragmented SYN comes up by the VIP refuse flow (OVS looks fragments up without ports) and is refused unanswered; a tiny first fragment gets parameter problem code 3', () => {
    const h = new AppHarness(mode, ipv6Services());
    const syn = (cuts: Array<[number, number]>, srcPort: number) => ipv6TcpFragments({
      srcMac: CLIENT_MAC, dstMac: VIP6_MAC, srcIp: CLIENT6, dstIp: VIP6, srcPort, payload: Buffer.from('fragmented'), cuts, id: srcPort,
    });
    // The first fragment carries the whole TCP header, the second the rest of the data; neither takes a service flow.
    for (const fragment of syn([[0, 24], [24, 30]], 40010)) expect(h.send(fragment)).toEqual({ outcomes: [], replies: [] });
    expect(h.packetIns).toBe(2);
    // A first fragment without the whole TCP header does not parse (RFC 7112): reported, and answered as a host answers
    // it (RFC 8200 section 4.5, RFC 7112 section 5): ICMPv6 parameter problem code 3, pointer 0, from the VIP to the
    // client's port, quoting the fragment from its IPv6 header; the checksum summed here, apart from src.
    const tiny = syn([[0, 8]], 40011)[0];
    const answer = h.app.packetIn(h.sw, packetIn(tiny), h.now);
    expect(answer).toMatchObject([{ type: 'packet_out', actions: [{ type: 'output', port: CLIENT_PORT }] }]);
    const problem = (answer[0] as PacketOut).data;
    expect(parsed(problem)).toMatchObject({ ethDst: CLIENT_MAC, ethSrc: VIP6_MAC, ipv6: { src: VIP6, dst: CLIENT6, proto: 58, headerLength: 40 }, icmp: { type: 4, code: 3 } });
    expect(problem.readUInt32BE(14 + 40 + 4)).toBe(0);
    expect(problem.subarray(14 + 40 + 8).equals(tiny.subarray(14))).toBe(true);
    expect(icmpv6SumIsGood(problem)).toBe(true);
    // Not to a source that names no single node, not to a frame sent to a group MAC, not for an address that is no VIP.
    const tinyFrom = (change: Partial<Parameters<typeof ipv6TcpFragments>[0]>) => ipv6TcpFragments({
      srcMac: CLIENT_MAC, dstMac: VIP6_MAC, srcIp: CLIENT6, dstIp: VIP6, srcPort: 40013, payload: Buffer.from('fragmented'), cuts: [[0, 8]], id: 40013, ...change,
    })[0];
    const unanswered = [{ srcIp: '::' }, { srcIp: 'ff02::1' }, { dstMac: '33:33:00:00:00:01' }, { dstIp: 'fd00::999' }];
    expect(unanswered.map((change) => [change, h.app.packetIn(h.sw, packetIn(tinyFrom(change)), h.now)])).toEqual(unanswered.map((change) => [change, []]));
    const web6 = h.app.serviceStates()[0];
    expect([web6.decisions, web6.refused, h.app.connectionRecords().length]).toEqual([0, 1, 0]);
    expect(h.events.filter((e) => e.kind === 'connection_refused' || e.kind === 'bad_packet').map((e) => e.message)).toEqual([
      `refused [${CLIENT6}]:40010 -> [${VIP6}]:80: an IP fragment (OVS matches no ports in fragments: vadc places none)`,
      ...Array(5).fill('unparsable packet-in: ipv6-first-fragment-without-l4'),
    ]);
    // An atomic fragment (offset 0, M clear: RFC 6946) is a whole packet, to OVS and to vadc: placed.
    const [atomic] = syn([[0, 30]], 40012);
    expect(delivered(h.send(atomic).outcomes).fields).toMatchObject({ ipv6_dst: 'fd00::11', tcp_dst: 8080 });
  });

  it('balances an IPv6 UDP service, and the answer comes from [VIP]:53', () => {
    const h = new AppHarness(mode, ipv6Services());
    const out = delivered(h.send(fromClient6(5555, { proto: 'udp' })).outcomes);
    expect(out.fields).toMatchObject({ ipv6_dst: 'fd00::11', udp_dst: 5353 });
    expect(h.app.connectionRecords('dns6')[0].record.state).toBe('inactive');
    const reply = delivered(h.send(fromBackend6('v-vm1', 5555, { proto: 'udp', backendPort: 5353 }), VMS['v-vm1'].ofport).outcomes);
    expect(reply).toMatchObject({ port: CLIENT_PORT, fields: { ipv6_src: VIP6, udp_src: 53, eth_src: VIP6_MAC } });
  });

  it('counts IPv6 connections until the datapath says they ended, and a restarted app re-tracks the ones it kept', () => {
    const h = new AppHarness(mode, ipv6Services('lc'));
    for (let i = 0; i < 4; i++) h.send(fromClient6(46000 + i));
    const config = AppHarness.config(mode, ipv6Services('lc'));
    const restarted = new LoadBalancerApp(config.services, { datapath: config.datapath, emit: () => undefined });
    restarted.switchUp(h.sw, h.now);
    expect(restarted.restore(h.sw.dpid, h.accountingReading(), h.now).flatMap((b) => b.msgs)).toEqual([]);
    expect(restarted.connectionRecords().map((c) => c.record.backendId).sort()).toEqual(['v-vm1', 'v-vm1', 'v-vm2', 'v-vm3']);
    const total = () => ['v-vm1', 'v-vm2', 'v-vm3'].reduce((n, b) => n + h.app.connectionCount('web6', b), 0);
    expect(total()).toBe(4);
    h.endAllConnections();
    expect(total()).toBe(0);
  });

  it('packetInEncoded makes the same decisions and writes the same bytes as packetIn for IPv6, through a drain and a link down', () => {
    const objects = new AppHarness(mode, ipv6Services('wlc'));
    const wire = new AppHarness(mode, ipv6Services('wlc'));
    const frames: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      // Clients across the /64 and beyond, with zero runs and without, so the addresses take every text form.
      const clientIp = i % 4 === 3 ? `2001:db8:${i}::${(i * 977).toString(16)}` : `fd00::1:${(i + 1).toString(16)}:${((i * 7919) & 0xffff).toString(16)}`;
      const proto = i % 5 === 4 ? 'udp' : 'tcp';
      frames.push(fromClient6(30000 + i, { clientIp, proto, flags: i % 13 === 12 ? TCP_ACK : 0x02 }));
    }
    frames.push(frames[0], frames[1]); // retransmitted first packets of known connections
    let fastPath = 0;
    frames.forEach((frame, i) => {
      if (i === 20) for (const h of [objects, wire]) h.app.drain('web6', 'v-vm2');
      if (i === 30) for (const h of [objects, wire]) h.setLink(VMS['v-vm3'].ofport, false);
      const expected = objects.app.packetIn(objects.sw, packetIn(frame), 2000 + i);
      const got = wire.app.packetInEncoded(wire.sw, packetIn(frame), 2000 + i);
      expect([i, wireBytes(got)]).toEqual([i, wireBytes(expected)]);
      fastPath += got.filter((m) => m.type === 'pre_encoded').length;
    });
    // Every new TCP or UDP connection takes the mode's fast path (IPv6 as IPv4): 40 first packets, 3 of them a stray ACK.
    expect(fastPath).toBeGreaterThan(30);
    expect(wire.events).toEqual(objects.events);
    expect(wire.app.connectionRecords()).toEqual(objects.app.connectionRecords());
  });

  it('packetInEncoded follows what the bytes it keeps were made of for IPv6: a vNIC moved, a readdressed backend, a service now TCP', () => {
    expectFastPathFollows(mode, () => ipv6Services(), fromClient6, { vm2: ['fd00::12', 'fd00::22'] });
  });

  describe('dual stack: one service answering on an IPv4 and an IPv6 VIP', () => {
    /** Where a connection of either family went, as VM:port (the address checked against the VM's of that family). */
    const placed = (h: AppHarness, v6: boolean, clientPort: number): string => {
      const out = delivered(h.send(v6 ? fromClient6(clientPort) : fromClient(clientPort)).outcomes);
      const vm = (Object.keys(VMS) as Array<keyof typeof VMS>).find((name) => VMS[name].ofport === out.port)!;
      expect(v6 ? out.fields.ipv6_dst : out.fields.ipv4_dst).toBe(v6 ? VMS[vm].ip6 : VMS[vm].ip);
      return `${vm}:${out.fields.tcp_dst}`;
    };

    it('rr runs one sequence over both families: connections alternating IPv4 and IPv6 take the VMs and ports in turn', () => {
      const h = new AppHarness(mode, dualStackService());
      const seen = [0, 1, 2, 3, 4, 5].map((i) => placed(h, i % 2 === 1, 47100 + i));
      // Two services (one per family) would give each family its own rotation: vm1, vm1, vm2, vm2, ...
      expect(seen).toEqual(['v-vm1:8080', 'v-vm2:8080', 'v-vm3:8080', 'v-vm1:8081', 'v-vm2:8080', 'v-vm3:8080']);
      expect(h.app.connectionRecords('web').map((c) => c.record.ip6 !== undefined)).toEqual([false, true, false, true, false, true]);
    });

    it('persistence per family: IPv4 clients of one /24 (persistence_prefix) and IPv6 clients of one /64 (persistence_prefix6) each share a backend', () => {
      const h = new AppHarness(mode, dualStackService('rr', '    persistence: 300\n    persistence_prefix: 24\n    persistence_prefix6: 64'));
      const vm4 = (clientIp: string, port: number) => placedFrom(h, fromClient(port, { clientIp }));
      const vm6 = (clientIp: string, port: number) => placedFrom(h, fromClient6(port, { clientIp }));
      const first4 = vm4('10.0.1.1', 48000);
      const first6 = vm6('fd00:0:0:1::a', 48001);
      expect([vm4('10.0.1.200', 48002), vm6('fd00:0:0:1:ffff::b', 48003), vm4('10.0.1.7', 48004), vm6('fd00:0:0:1::c', 48005)]).toEqual([first4, first6, first4, first6]);
      // rr moved on between the families' first clients; other prefixes get templates of their own.
      expect(first6).not.toBe(first4);
      expect(vm6('fd00:0:0:2::a', 48006)).not.toBe(first6);
      // Without persistence_prefix6 each IPv6 client is its own template (the IPv4 netmask is not applied to them).
      const whole = new AppHarness(mode, dualStackService('rr', '    persistence: 300\n    persistence_prefix: 24'));
      expect(placedFrom(whole, fromClient6(48100, { clientIp: 'fd00:0:0:1::a' }))).not.toBe(placedFrom(whole, fromClient6(48101, { clientIp: 'fd00:0:0:1::b' })));
    });

    /** The VM a connection's first packet went to. */
    const placedFrom = (h: AppHarness, frame: Buffer): string => (Object.keys(VMS) as Array<keyof typeof VMS>).find((name) => VMS[name].ofport === delivered(h.send(frame).outcomes).port)!;

    it('lc counts both families\' connections on a VM: after two IPv4 connections the IPv6 one goes to the third VM', () => {
      const h = new AppHarness(mode, dualStackService('lc'));
      expect([placed(h, false, 47200), placed(h, false, 47201), placed(h, true, 47202)]).toEqual(['v-vm1:8080', 'v-vm2:8080', 'v-vm3:8080']);
      expect(placed(h, true, 47203)).toBe('v-vm1:8081');
      expect(['v-vm1', 'v-vm2', 'v-vm3'].map((vm) => h.app.connectionCount('web', vm))).toEqual([2, 1, 1]);
    });

    /** Takes every software port of `vm` out of one family's new connections (its check of that address fails), or back. */
    const familyCheck = (h: AppHarness, vm: keyof typeof VMS, family: 'ipv4' | 'ipv6', healthy: boolean) => {
      const ports = h.app.serviceStates()[0].lb.backendById(vm)!.ports;
      for (const port of ports) h.install(h.app.setPortHealth('web', vm, port, healthy, family));
    };

    it('a VM whose IPv6 check fails keeps serving the IPv4 VIP and is out of the IPv6 one only; back in it when the check passes', () => {
      const h = new AppHarness(mode, dualStackService());
      familyCheck(h, 'v-vm2', 'ipv6', false);
      // One rr sequence: the IPv4 connections take every VM in turn, the IPv6 ones skip vm2.
      expect([placed(h, false, 47400), placed(h, false, 47401), placed(h, false, 47402), placed(h, true, 47403), placed(h, true, 47404)])
        .toEqual(['v-vm1:8080', 'v-vm2:8080', 'v-vm3:8080', 'v-vm1:8081', 'v-vm3:8080']);
      expect(Array.from({ length: 9 }, (_, i) => placed(h, true, 47410 + i)).filter((p) => p.startsWith('v-vm2'))).toEqual([]);
      familyCheck(h, 'v-vm2', 'ipv6', true);
      expect(Array.from({ length: 3 }, (_, i) => placed(h, true, 47420 + i)).filter((p) => p.startsWith('v-vm2'))).toEqual(['v-vm2:8080']);
    });

    it('a VM whose IPv4 check fails keeps serving the IPv6 VIP', () => {
      const h = new AppHarness(mode, dualStackService());
      familyCheck(h, 'v-vm3', 'ipv4', false);
      const v4 = Array.from({ length: 6 }, (_, i) => placed(h, false, 47500 + i));
      const v6 = Array.from({ length: 6 }, (_, i) => placed(h, true, 47510 + i));
      expect(v4.filter((p) => p.startsWith('v-vm3'))).toEqual([]);
      expect(v6.filter((p) => p.startsWith('v-vm3'))).toEqual(['v-vm3:8080', 'v-vm3:8080']);
    });

    it('lc counts both families\' connections on a VM out of IPv6: the IPv6 connection avoids the VM an IPv4 one went to', () => {
      const h = new AppHarness(mode, dualStackService('lc'));
      familyCheck(h, 'v-vm2', 'ipv6', false);
      // vm1 holds the IPv4 connection, vm2 is out of IPv6: vm3. Then the IPv4 one goes to vm2, the only VM with none.
      expect([placed(h, false, 47600), placed(h, true, 47601), placed(h, false, 47602), placed(h, true, 47603)])
        .toEqual(['v-vm1:8080', 'v-vm3:8080', 'v-vm2:8080', 'v-vm1:8081']);
      expect(['v-vm1', 'v-vm2', 'v-vm3'].map((vm) => h.app.connectionCount('web', vm))).toEqual([2, 1, 1]);
    });

    it('one port out of IPv6 only: the VM\'s IPv6 connections take its other port, its IPv4 ones still reach that port', () => {
      const h = new AppHarness(mode, dualStackService());
      h.install(h.app.setPortHealth('web', 'v-vm1', 8080, false, 'ipv6'));
      const v6 = Array.from({ length: 6 }, (_, i) => placed(h, true, 47700 + i)).filter((p) => p.startsWith('v-vm1'));
      expect(v6).toEqual(['v-vm1:8081', 'v-vm1:8081']);
      expect(placed(h, false, 47710)).toBe('v-vm1:8080');
    });

    it('an IPv6 client\'s persistent VM that goes out of IPv6 loses that client; IPv4 clients persistent to it keep it', () => {
      const h = new AppHarness(mode, dualStackService('rr', '    persistence: 300'));
      const first4 = placedFrom(h, fromClient(48200, { clientIp: '10.0.1.1' }));
      const first6 = placedFrom(h, fromClient6(48201, { clientIp: 'fd00:0:0:1::a' }));
      expect([first4, first6]).toEqual(['v-vm1', 'v-vm2']);
      familyCheck(h, 'v-vm2', 'ipv6', false);
      familyCheck(h, 'v-vm1', 'ipv6', false);
      expect(placedFrom(h, fromClient6(48202, { clientIp: 'fd00:0:0:1::a' }))).toBe('v-vm3');
      expect(placedFrom(h, fromClient(48203, { clientIp: '10.0.1.1' }))).toBe('v-vm1');
    });

    it('each reply comes from the VIP of its family, with the service\'s one MAC; ARP and ND of both VIPs answer', () => {
      const h = new AppHarness(mode, dualStackService());
      h.send(fromClient(47300));
      h.send(fromClient6(47301));
      const reply4 = delivered(h.send(fromBackend('v-vm1', 47300), VMS['v-vm1'].ofport).outcomes);
      const reply6 = delivered(h.send(fromBackend6('v-vm2', 47301), VMS['v-vm2'].ofport).outcomes);
      expect(reply4).toMatchObject({ port: CLIENT_PORT, fields: { eth_src: VIP_MAC, ipv4_src: '10.0.0.100', tcp_src: 80, tcp_dst: 47300 } });
      expect(reply6).toMatchObject({ port: CLIENT_PORT, fields: { eth_src: VIP_MAC, ipv6_src: VIP6, tcp_src: 80, ipv6_dst: CLIENT6, tcp_dst: 47301 } });
      const na = h.send(neighborSolicitation(CLIENT_MAC, CLIENT6, VIP6)).replies;
      expect(na.map((r) => parsed(r.data).ethSrc)).toEqual([VIP_MAC]);
      expect(h.send(ipv6Frame({ srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: CLIENT6, dstIp: VIP6, proto: 'icmpv6-echo' })).replies).toHaveLength(1);
    });

    it('a restarted app re-tracks both families\' connections on the same backends, and counts them until they end', () => {
      const h = new AppHarness(mode, dualStackService('lc'));
      for (let i = 0; i < 4; i++) h.send(i % 2 === 0 ? fromClient(46100 + i) : fromClient6(46100 + i));
      const config = AppHarness.config(mode, dualStackService('lc'));
      const restarted = new LoadBalancerApp(config.services, { datapath: config.datapath, emit: () => undefined });
      restarted.switchUp(h.sw, h.now);
      expect(restarted.restore(h.sw.dpid, h.accountingReading(), h.now).flatMap((b) => b.msgs)).toEqual([]);
      expect(restarted.connectionRecords('web').map((c) => [c.record.backendId, c.record.ip6 !== undefined]).sort())
        .toEqual([['v-vm1', false], ['v-vm1', true], ['v-vm2', true], ['v-vm3', false]]);
      h.endAllConnections();
      expect(['v-vm1', 'v-vm2', 'v-vm3'].map((vm) => h.app.connectionCount('web', vm))).toEqual([0, 0, 0]);
    });

    it('prefix VIPs in both families (dh): each address of the IPv4 /30 and the IPv6 /126 reaches a VM at its address of that family, the same VM each time, '
      + 'the reply comes from the address asked; longest prefix wins per family', () => {
      const both = (vm: keyof typeof VMS, ports: number[]) => backendYaml(vm, ports, `ip6: "${VMS[vm].ip6}"`);
      const h = new AppHarness(mode, `
services:
  - name: web
    vip: 10.0.9.0/30
    vip6: "fd00:9::/126"
    port: 80
    scheduler: dh
    backends:
${both('v-vm1', [8080])}
${both('v-vm2', [8080])}
${both('v-vm3', [8080])}
  - name: host
    vip: 10.0.9.2
    vip6: "fd00:9::2"
    port: 80
    backends:
${both('v-vm3', [9002])}
  - name: wide6
    vip: "fd00:9::/64"
    port: 80
    scheduler: dh
    backends:
${backendYaml6('v-vm2', [9064])}
`);
      /** Where a SYN from the client to dst:80 went, as VM:port (the address checked against the VM's of dst's family). */
      const syn = (dst: string, clientPort: number): string => {
        const v6 = dst.includes(':');
        const frame = ipv6OrIpv4Frame(v6, { srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: v6 ? CLIENT6 : '10.0.0.101', dstIp: dst, proto: 'tcp', srcPort: clientPort, dstPort: 80 });
        const out = delivered(h.send(frame).outcomes);
        const vm = (Object.keys(VMS) as Array<keyof typeof VMS>).find((name) => VMS[name].ofport === out.port)!;
        expect([dst, v6 ? out.fields.ipv6_dst : out.fields.ipv4_dst]).toEqual([dst, v6 ? VMS[vm].ip6 : VMS[vm].ip]);
        return `${vm}:${out.fields.tcp_dst}`;
      };
      // web's own addresses (host has .2 / ::2): each reaches a VM's port 8080, and dh keeps a destination on its VM.
      const own = ['10.0.9.0', '10.0.9.1', '10.0.9.3', 'fd00:9::', 'fd00:9::1', 'fd00:9::3'];
      own.forEach((dst, i) => {
        const first = syn(dst, 49000 + i);
        expect(first).toMatch(/^v-vm[123]:8080$/);
        expect([dst, syn(dst, 49100 + i)]).toEqual([dst, first]);
      });
      // Longest prefix per family: host's addresses inside web's prefixes are host's; wide6's /64 holds web's /126, which
      // wins inside it (the lookup once ordered all of a port's services by their IPv4 VIP's length: wide6 took them).
      expect([syn('10.0.9.2', 49200), syn('fd00:9::2', 49201), syn('fd00:9::100', 49202)]).toEqual(['v-vm3:9002', 'v-vm3:9002', 'v-vm2:9064']);
      expect(h.app.serviceStates().map((s) => [s.config.name, s.decisions])).toEqual([['web', 12], ['host', 2], ['wide6', 1]]);
      // The reply comes from the address in the prefix the client asked for, in each family.
      const vm4 = syn('10.0.9.3', 49300).split(':')[0] as keyof typeof VMS;
      const vm6 = syn('fd00:9::3', 49301).split(':')[0] as keyof typeof VMS;
      expect(delivered(h.send(fromBackend(vm4, 49300), VMS[vm4].ofport).outcomes))
        .toMatchObject({ port: CLIENT_PORT, fields: { ipv4_src: '10.0.9.3', tcp_src: 80, ipv4_dst: '10.0.0.101', tcp_dst: 49300 } });
      expect(delivered(h.send(fromBackend6(vm6, 49301), VMS[vm6].ofport).outcomes))
        .toMatchObject({ port: CLIENT_PORT, fields: { ipv6_src: 'fd00:9::3', tcp_src: 80, ipv6_dst: CLIENT6, tcp_dst: 49301 } });
    });

    it('packetInEncoded writes the same bytes as packetIn for both families\' connections', () => {
      const objects = new AppHarness(mode, dualStackService('wlc'));
      const wire = new AppHarness(mode, dualStackService('wlc'));
      const frames = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? fromClient(31000 + i) : fromClient6(31000 + i)));
      const { fastPath } = expectSameAnswers(objects, wire, frames);
      expect(fastPath).toBe(12);
      expect(wire.app.connectionRecords()).toEqual(objects.app.connectionRecords());
    });
  });

  it('dual stack the old way: an IPv4 and an IPv6 service on the same VMs each reach the VM at its address of that family', () => {
    const h = new AppHarness(mode, dualStack());
    const v4 = delivered(h.send(fromClient(47000)).outcomes);
    const v6 = delivered(h.send(fromClient6(47000)).outcomes);
    expect(v4).toMatchObject({ port: VMS['v-vm1'].ofport, fields: { ipv4_dst: '10.0.0.11', tcp_dst: 8080 } });
    expect(v6).toMatchObject({ port: VMS['v-vm1'].ofport, fields: { ipv6_dst: 'fd00::11', tcp_dst: 8080 } });
    expect(h.app.connectionRecords('web')).toHaveLength(1);
    expect(h.app.connectionRecords('web6')).toHaveLength(1);
  });
});
