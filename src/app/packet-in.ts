// The packet-in path: classify the packet, place a new connection (scheduler + software port), and answer
// with the NAT mode's messages; answer ARP and ping for VIPs (IPv6: neighbor solicitations and ping6); refuse
// cleanly (RST / ICMP or ICMPv6 unreachable) whatever cannot be served. IPv4 TCP/UDP, nearly every packet-in, is
// read as numbers with no allocation; IPv6 goes through the full parse and then the same placement.
import type { HeldVerdict } from '../controller/packet-in-ring';
import type { OutboundMessage, SwitchInfo } from '../controller/types';
import { buildNormalPacketOut, buildReplyPacketOut, RESUBMIT_MARKS } from '../flows/builders';
import { endCopyService, serviceOfGuard } from '../flows/cookies';
import {
  buildArpReply, buildIcmpEchoReply, buildIcmpUnreachable, buildTcpReset, emptyTransportHeader, parsePacket, readTransportHeader,
  ARP_REQUEST, ETH_TYPE_ARP, ETH_TYPE_IPV4, ICMP_UNREACHABLE, IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP, TCP_FLAGS,
  type ParsedPacket, type TransportHeader,
} from '../flows/packets';
import type { Backend } from '../lb/backend';
import { clientFold6, hashConnKey, hashConnKey6, vipFold6, type ConnKey } from '../lb/conn-key';
import type { PacketKey } from '../lb/scheduler';
import { ICMPV6, IP_PROTO_ICMPV6, readTransportHeader6 } from '../flows/ipv6-packets';
import {
  buildIcmpv6EchoReply, buildIcmpv6Error, buildNeighborAdvertisement, buildTcpReset6, icmpv6ErrorAllowed,
  ICMPV6_INCOMPLETE_HEADER_CHAIN, ICMPV6_UNREACHABLE, ICMPV6_UNRECOGNIZED_NEXT_HEADER,
} from '../flows/ipv6-replies';
// The defining modules, not the '../net' barrel: each of its re-exports is a getter shared by every name (`m[k]`), a
// megamorphic keyed load per call on the packet-in path (~440 instructions per connection, callgrind).
import { formatIpv6Source, ipv6Pair, ipv6Words, parseIpv6, readIpv6Pair } from '../net/ipv6';
import { ipv4ToUint32, uint32ToIpv4 } from '../net/ipv4';
import { formatDpid } from '../openflow/dpid';
import type { OfpMessage, PacketIn } from '../openflow/types';
import { EndCopyPath } from './end-copy-path';
import type { EventSink } from './events';
import type { NatMode, NewConnection } from './nat/nat-mode';
import { choosePool } from './payload';
import type { ServiceState, ServiceTable } from './services';

export class PacketInPath {
  // Scratch records reused by every packet-in (the handler runs to completion, nothing keeps them).
  private readonly header: TransportHeader = emptyTransportHeader();
  private readonly key: ConnKey = { proto: 0, clientIp: 0, clientPort: 0, vip: 0, vipPort: 0 };
  private readonly packetKey: PacketKey = { srcIp: 0, srcPort: 0, dstIp: 0, dstPort: 0, proto: 0 };
  // The IPv6 path's own scratch records (the IPv4 ones keep their shape: no ip6 property).
  private readonly header6: TransportHeader = { ...emptyTransportHeader(), ip6: ipv6Pair() };
  private readonly key6: ConnKey = { proto: 0, clientIp: 0, clientPort: 0, vip: 0, vipPort: 0, ip6: this.header6.ip6 };
  private readonly packetKey6: PacketKey = { srcIp: 0, srcPort: 0, dstIp: 0, dstPort: 0, proto: 0, ip6: this.header6.ip6 };
  private readonly connection: NewConnection;
  /** Connection-end copies: their own path (end-copy-path.ts), with the outlier state they change. */
  readonly endCopies: EndCopyPath;

  constructor(private readonly services: ServiceTable, private readonly nat: NatMode, private readonly emit: EventSink) {
    this.endCopies = new EndCopyPath(services, nat, emit);
    this.connection = {
      service: undefined!, backend: undefined!, location: undefined!, frame: EMPTY, header: this.header, inPort: 0, softwarePort: 0, backendIp: 0,
      backendIp6: undefined,
    };
  }

  /**
   * The answer to one packet-in. `encoded` picks the NAT mode's fast path for a new connection (the same
   * bytes as the codec messages the other path returns).
   */
  handle(sw: SwitchInfo, msg: PacketIn, now: number, encoded: boolean): OutboundMessage[] {
    const copyOf = endCopyService(msg.cookie);
    if (copyOf !== 0) return this.endCopies.handle(copyOf, msg.data, now);
    const inPort = inPortOf(msg);
    // Only the reply guard sends packets up from the reverse table.
    if (msg.tableId === this.nat.tables.REVERSE) {
      const guardOf = serviceOfGuard(msg.cookie);
      const guarded = this.services.byId(guardOf);
      if (guarded) guarded.guardedReplies++;
      return this.nat.guardedReply(msg.data, inPort, guardOf);
    }
    const mark = resubmitMarkOf(msg);
    // An untagged IPv6 frame (0x86dd) skips the IPv4 reader's refusal; a tagged one takes both readers (callgrind: docs/benchmarks.md).
    if (msg.data[12] !== 0x86 && readTransportHeader(msg.data, this.header)) return this.transport(sw, msg.data, this.header, inPort, mark, now, encoded);
    if (readTransportHeader6(msg.data, this.header6)) return this.transport(sw, msg.data, this.header6, inPort, mark, now, encoded);
    const parsed = parsePacket(msg.data);
    if (!parsed.ok) {
      this.emit({ time: now, kind: 'bad_packet', level: 'warn', message: `unparsable packet-in: ${parsed.reason}`, dpid: formatDpid(sw.dpid) });
      return parsed.packet?.ipv6 ? this.incompleteHeaderChain(msg.data, parsed.packet, inPort) : [];
    }
    const pkt = parsed.packet;
    if (pkt.ipv6) return this.ipv6(sw, msg.data, pkt, inPort, mark, now, encoded);
    if (pkt.ethType === ETH_TYPE_ARP && pkt.arp) return this.answerArp(pkt, inPort);
    if (pkt.ethType !== ETH_TYPE_IPV4 || !pkt.ipv4) return [];
    if (pkt.ipv4.fragment) return this.refuseFragment(pkt, now);
    const dst = ipv4ToUint32(pkt.ipv4.dst);
    if (pkt.ipv4.proto === IP_PROTO_ICMP && pkt.icmp?.type === 8) return this.answerEcho(msg.data, pkt, dst, inPort);
    return this.refuse(msg.data, pkt, dst, inPort, undefined, 'not TCP/UDP to a service port', now);
  }

  /**
   * A TCP/UDP packet to a VIP: a new connection, a packet of a known one, or a refusal. `mark`: the resubmit mark it
   * came back with (0n: none; flows mode).
   */
  private transport(sw: SwitchInfo, frame: Buffer, h: TransportHeader, inPort: number, mark: bigint, now: number, encoded: boolean): OutboundMessage[] {
    const v6 = h.ip6 !== undefined;
    const service = v6 ? this.services.lookupPair6(h.proto, h.dstPort, h.ip6!, h.dst) : this.services.lookup(h.proto, h.dstPort, h.dst);
    if (!service) return this.refuseFrame(frame, h.dst, inPort, undefined, 'no service on this port', now);
    const key = this.keyOf(h);
    // Hashed once: a new connection's insert takes the lookup's hash. A single IPv6 VIP's words were mixed in once, at
    // the service's making (lookup6 found the packet's destination equal to them).
    const hash = v6 && service.vip6Mix !== undefined ? hashConnKey6(service.vip6Mix, key) : hashConnKey(key);
    const syn = h.proto === IP_PROTO_TCP && (h.tcpFlags & (TCP_FLAGS.SYN | TCP_FLAGS.ACK | TCP_FLAGS.RST)) === TCP_FLAGS.SYN;
    // A pure SYN on a half-closed one (one FIN's copy seen, the other's lost to the meter or ovs-vswitchd's packet-in
    // queue): the client's old socket is gone, so it ended at its FIN. A pure SYN on an ended one is a new connection
    // from a reused client port (Linux reuses a port at once when the server closed first; the tracker calls it +new).
    // While the ended one's backend takes new connections it goes there as before (a repeat); once that backend is
    // down, removed or drained, or the datapath let the old one go (Accounting.endedKeptMs: the tracker's close timeout
    // after its end), it is placed anew. Not always anew: a backend still holding the old one in TIME_WAIT answers with
    // its ACK, the client resets and sends its SYN again: each reset counted as a failure (an outlier ejection).
    let entry = service.lb.connections.lookup(key, hash);
    if (syn && entry?.closing && service.lb.end(key, 'client', true, entry.lastSeen)) entry = service.lb.connections.lookup(key, hash);
    const reusedPort = syn && entry?.ended === true;
    if (reusedPort && (!takesNewConnections(service, entry!.backend, v6) || now - entry!.lastSeen >= (this.nat.accounting.endedKeptMs ?? Infinity))) {
      service.lb.close(key, now);
    } else if (entry) {
      // Counted anew (active, from now): a reading asked for before must not close it (tracker-accounting: `created`).
      if (reusedPort) service.lb.reopen(key, now);
      service.repeats++;
      const answer = this.nat.known({ service, entry, dpid: sw.dpid, frame, header: h, inPort, resubmitted: mark });
      if (answer !== null) return answer;
      // No way through the datapath and none to give it: forgotten, and this packet dropped. The client's next one
      // is a packet of an unknown connection (a SYN placed anew, another segment refused with a RST).
      service.lb.close(key, now);
      return [];
    }
    // A TCP segment that opens nothing (e.g. after the flows idled out) gets a RST, as a host would answer it.
    if (h.proto === IP_PROTO_TCP && (h.tcpFlags & (TCP_FLAGS.SYN | TCP_FLAGS.ACK | TCP_FLAGS.RST)) !== TCP_FLAGS.SYN) {
      if (h.tcpFlags & TCP_FLAGS.RST) return [];
      return this.refuseFrame(frame, h.dst, inPort, service, 'segment of an unknown connection', now);
    }
    const pk = v6 ? this.packetKey6 : this.packetKey;
    pk.srcIp = h.src;
    pk.srcPort = h.srcPort;
    pk.dstIp = h.dst;
    pk.dstPort = h.dstPort;
    pk.proto = h.proto;
    let pool: string | undefined;
    if (service.payload) {
      // The flow's first datagram picks the pool (payload rules); a malformed one refused was reported, bounded, by choosePool.
      const chosen = choosePool(service.payload, service.config.name, frame, now, this.emit);
      if (chosen === null) return this.refuseFrame(frame, h.dst, inPort, service, null, now);
      pool = chosen;
    }
    // A TCP connection counts active from its first packet, as current kernels' IPVS counts SYN_RECV
    // (tcp_state_active_table): what a VM holds weighs 256 of its recently ended connections (lingering).
    const placement = service.lb.openUntracked(key, pk, h.proto === IP_PROTO_TCP ? 'active' : 'inactive', now, pool, hash);
    if (!placement) return this.refuseFrame(frame, h.dst, inPort, service, pool === undefined ? 'no backend available' : `no backend available in pool ${pool}`, now);
    const backend = service.backends.get(placement.backend.id);
    const location = backend?.location;
    if (!backend || !location || location.dpid !== sw.dpid) {
      service.lb.close(key, now);
      return this.refuseFrame(frame, h.dst, inPort, service, `backend ${placement.backend.id} is not reachable from switch ${formatDpid(sw.dpid)}`, now);
    }
    service.decisions++;
    backend.totalConns++;
    const c = this.connection;
    c.service = service;
    c.backend = backend;
    c.location = location;
    c.frame = frame;
    c.header = h;
    c.inPort = inPort;
    c.softwarePort = placement.softwarePort;
    c.backendIp = placement.backend.ip;
    // A dual-stack backend has both addresses: the connection goes to the one of its own family.
    c.backendIp6 = v6 ? placement.backend.ip6 : undefined;
    const out = encoded ? this.nat.connectEncoded(c) : this.nat.connect(c);
    c.frame = EMPTY;
    return out;
  }

  /** The connection key of a packet from a client (the scratch record of its family, filled in). */
  private keyOf(h: TransportHeader): ConnKey {
    const key = h.ip6 !== undefined ? this.key6 : this.key;
    key.proto = h.proto;
    key.clientIp = h.src;
    key.clientPort = h.srcPort;
    key.vip = h.dst;
    key.vipPort = h.dstPort;
    return key;
  }

  /**
   * A packet-in a standby held, at its takeover (controller HA): whether its connection is known (read back from the
   * datapath: the old master answered it; or decided since), and its sender. Each NAT mode's restore reads its own
   * datapath state (connection flows, or the tracker) into the same connection table, so this asks the table. End
   * copies and the reply guard's packets are never known: replayed, they do what they would have done.
   */
  heldVerdict(msg: PacketIn): HeldVerdict {
    if (endCopyService(msg.cookie) !== 0) return { known: false, end: true };
    if (msg.tableId === this.nat.tables.REVERSE) return { known: false };
    const h = readTransportHeader(msg.data, this.header) ? this.header : readTransportHeader6(msg.data, this.header6) ? this.header6 : undefined;
    if (!h) return { known: false };
    const client = h.ip6 !== undefined ? `[${formatIpv6Source(h.ip6)}]:${h.srcPort}` : `${uint32ToIpv4(h.src)}:${h.srcPort}`;
    const service = h.ip6 !== undefined ? this.services.lookupPair6(h.proto, h.dstPort, h.ip6, h.dst) : this.services.lookup(h.proto, h.dstPort, h.dst);
    if (!service) return { known: false, client };
    return { known: service.lb.connections.lookup(this.keyOf(h)) !== null, client };
  }

  /**
   * An IPv6 packet-in (always fully parsed): a neighbor solicitation or echo request for a VIP, a TCP/UDP packet
   * to one (placed as IPv4 is, with the addresses' words in the IPv6 scratch header), or a refusal.
   */
  private ipv6(sw: SwitchInfo, frame: Buffer, pkt: ParsedPacket, inPort: number, mark: bigint, now: number, encoded: boolean): OutboundMessage[] {
    const ipv6 = pkt.ipv6!;
    if (ipv6.fragment) return this.refuseFragment(pkt, now);
    if (ipv6.proto === IP_PROTO_ICMPV6 && pkt.icmp?.type === ICMPV6.NEIGHBOR_SOLICITATION) {
      const service = pkt.nd ? this.owner6(pkt.nd.target) : undefined;
      // An IPv6 prefix VIP brings up every solicitation on the bridge (nd_target cannot be masked): one for another
      // host (a VM, a router; its DAD probes too) goes on as the table-0 miss sends it, or that host is never found.
      if (!service) return [buildNormalPacketOut(frame, inPort)];
      // A DAD probe (source ::) asks whether anyone uses the address; vadc does not defend VIPs against it.
      if (ipv6.src === '::' || pkt.icmp.code !== 0) return [];
      return [buildReplyPacketOut(buildNeighborAdvertisement(pkt, service.config.vip_mac), inPort)];
    }
    if (ipv6.proto === IP_PROTO_ICMPV6 && pkt.icmp?.type === ICMPV6.ECHO_REQUEST) {
      const service = this.owner6(ipv6.dst);
      return service ? [buildReplyPacketOut(buildIcmpv6EchoReply(frame, pkt, service.config.vip_mac), inPort)] : [];
    }
    if ((ipv6.proto === IP_PROTO_TCP || ipv6.proto === IP_PROTO_UDP) && pkt.l4) {
      const h = this.header6;
      // The addresses' words straight from the frame (the fixed header: source at 8, destination at 24).
      const pair = readIpv6Pair(frame, pkt.l3Offset + 8, h.ip6!);
      h.proto = ipv6.proto;
      h.src = clientFold6(pair);
      h.dst = vipFold6(pair);
      h.srcPort = pkt.l4.src;
      h.dstPort = pkt.l4.dst;
      h.tcpFlags = ipv6.proto === IP_PROTO_TCP ? pkt.l4.tcpFlags ?? 0 : -1;
      return this.transport(sw, frame, h, inPort, mark, now, encoded);
    }
    return this.refuse(frame, pkt, 0, inPort, undefined, 'not TCP/UDP to a service port', now);
  }

  /**
   * An IP fragment to a VIP (either family, first or later): placed nowhere, answered with nothing. OVS, in its
   * default fragment handling (OFPC_FRAG_NORMAL), looks fragments up as if their ports were 0, so no service or
   * connection flow takes one: each comes up by the VIP's refuse flow, and a placed first fragment would come straight
   * back up after flows mode's resubmit (for ever) or leave alone for the backend after conntrack mode's commit. A
   * first fragment, which carries the ports, is reported and counted as refused by the service of its port; later
   * ones are dropped unreported (one event per datagram).
   */
  private refuseFragment(pkt: ParsedPacket, now: number): OfpMessage[] {
    const l4 = pkt.l4;
    if (!l4) return [];
    let service: ServiceState | undefined;
    let owner: ServiceState | undefined;
    let from: string;
    let to: string;
    if (pkt.ipv6) {
      const { src, dst, proto } = pkt.ipv6;
      const words = ipv6Words(parseIpv6(dst));
      service = this.services.lookup6(proto, l4.dst, words);
      owner = service ?? this.services.owner6(words);
      [from, to] = [`[${src}]`, `[${dst}]`];
    } else {
      const { src, dst, proto } = pkt.ipv4!;
      service = this.services.lookup(proto, l4.dst, ipv4ToUint32(dst));
      owner = service ?? this.services.owner(ipv4ToUint32(dst));
      [from, to] = [src, dst];
    }
    if (!owner) return [];
    if (service) service.refused++;
    this.emit({
      time: now, kind: 'connection_refused', level: 'warn', service: owner.config.name,
      message: `refused ${from}:${l4.src} -> ${to}:${l4.dst}: an IP fragment (OVS matches no ports in fragments: vadc places none)`,
    });
    return [];
  }

  /**
   * An IPv6 first fragment to a VIP without the whole header chain (RFC 7112's tiny first fragment; reported by the
   * caller): dropped and answered as a host answers it (RFC 8200 section 4.5, RFC 7112 section 5, Linux's
   * ipv6_frag_rcv): ICMPv6 parameter problem code 3, pointer 0, from the VIP, quoting it. As with every refusal, one
   * answer per packet-in, at most 62 bytes more than the packet it quotes.
   */
  private incompleteHeaderChain(frame: Buffer, pkt: ParsedPacket, inPort: number): OfpMessage[] {
    const owner = this.owner6(pkt.ipv6!.dst);
    if (!owner || !icmpv6ErrorAllowed(frame, pkt)) return [];
    const reply = buildIcmpv6Error(frame, pkt, owner.config.vip_mac, ICMPV6.PARAMETER_PROBLEM, ICMPV6_INCOMPLETE_HEADER_CHAIN, 0);
    return [buildReplyPacketOut(reply, inPort)];
  }

  private owner6(address: string): ServiceState | undefined {
    const words = ipv6Words(parseIpv6(address));
    return this.services.owner6(words);
  }

  private answerArp(pkt: ParsedPacket, inPort: number): OfpMessage[] {
    const arp = pkt.arp!;
    if (arp.op !== ARP_REQUEST) return [];
    const service = this.services.owner(ipv4ToUint32(arp.tpa));
    if (!service) return [];
    return [buildReplyPacketOut(buildArpReply(pkt, service.config.vip_mac), inPort)];
  }

  private answerEcho(frame: Buffer, pkt: ParsedPacket, dst: number, inPort: number): OfpMessage[] {
    const service = this.services.owner(dst);
    if (!service) return [];
    return [buildReplyPacketOut(buildIcmpEchoReply(frame, pkt, service.config.vip_mac), inPort)];
  }

  /**
   * A clean refusal rather than silence: TCP RST, or ICMP port/protocol unreachable for anything else (IPv6: ICMPv6
   * port unreachable, or parameter problem "unrecognized next header" for a protocol nothing serves, as a host does).
   * `dst` is the IPv4 destination as a number (unused for IPv6).
   */
  private refuse(frame: Buffer, pkt: ParsedPacket, dst: number, inPort: number, service: ServiceState | undefined, reason: string | null, now: number): OfpMessage[] {
    if (pkt.ipv6) return this.refuse6(frame, pkt, inPort, service, reason, now);
    const owner = service ?? this.services.owner(dst);
    if (!owner) return [];
    if (service) service.refused++;
    const ipv4 = pkt.ipv4!;
    if (reason !== null) this.emit({
      time: now, kind: 'connection_refused', level: 'warn', service: owner.config.name,
      message: `refused ${ipv4.src}:${pkt.l4?.src ?? '-'} -> ${ipv4.dst}:${pkt.l4?.dst ?? '-'}: ${reason}`,
    });
    const vipMac = owner.config.vip_mac;
    const reply = ipv4.proto === IP_PROTO_TCP && pkt.l4
      ? buildTcpReset(frame, pkt, vipMac)
      : buildIcmpUnreachable(frame, pkt, vipMac, ipv4.proto === IP_PROTO_UDP ? ICMP_UNREACHABLE.PORT : ICMP_UNREACHABLE.PROTOCOL);
    return [buildReplyPacketOut(reply, inPort)];
  }

  private refuse6(frame: Buffer, pkt: ParsedPacket, inPort: number, service: ServiceState | undefined, reason: string | null, now: number): OfpMessage[] {
    const ipv6 = pkt.ipv6!;
    const owner = service ?? this.owner6(ipv6.dst);
    // ICMPv6 other than echo gets nothing: never an error for an error (RFC 4443 section 2.4 e), and informational
    // messages a host does not know are dropped silently (section 2.4 b).
    if (!owner || ipv6.proto === IP_PROTO_ICMPV6) return [];
    if (service) service.refused++;
    if (reason !== null) this.emit({
      time: now, kind: 'connection_refused', level: 'warn', service: owner.config.name,
      message: `refused [${ipv6.src}]:${pkt.l4?.src ?? '-'} -> [${ipv6.dst}]:${pkt.l4?.dst ?? '-'}: ${reason}`,
    });
    const vipMac = owner.config.vip_mac;
    let reply: Buffer;
    if (ipv6.proto === IP_PROTO_TCP && pkt.l4) reply = buildTcpReset6(frame, pkt, vipMac);
    else if (ipv6.proto === IP_PROTO_UDP || ipv6.proto === IP_PROTO_TCP) {
      reply = buildIcmpv6Error(frame, pkt, vipMac, ICMPV6.DEST_UNREACHABLE, ICMPV6_UNREACHABLE.PORT);
    } else {
      reply = buildIcmpv6Error(frame, pkt, vipMac, ICMPV6.PARAMETER_PROBLEM, ICMPV6_UNRECOGNIZED_NEXT_HEADER, ipv6.protoFieldOffset);
    }
    return [buildReplyPacketOut(reply, inPort)];
  }

  /**
   * refuse() for a packet read as numbers: the full parse happens only now, on the rare refusal. `reason` null: no
   * connection_refused event (the caller reported it its own bounded way).
   */
  private refuseFrame(frame: Buffer, dst: number, inPort: number, service: ServiceState | undefined, reason: string | null, now: number): OfpMessage[] {
    const parsed = parsePacket(frame);
    return parsed.ok ? this.refuse(frame, parsed.packet, dst, inPort, service, reason, now) : [];
  }
}

const EMPTY = Buffer.alloc(0);

function inPortOf(msg: PacketIn): number {
  for (const oxm of msg.match) if (oxm.field === 'in_port') return oxm.value as number;
  return 0;
}

/** The resubmit mark a packet came back with (OVS puts nonzero metadata in the packet-in's match); 0n: none. */
function resubmitMarkOf(msg: PacketIn): bigint {
  const match = msg.match;
  // A packet that entered from a port carries in_port alone (the common case: no scan).
  if (match.length < 2) return 0n;
  for (const oxm of match) if (oxm.field === 'metadata') return (oxm.value as bigint) & RESUBMIT_MARKS;
  return 0n;
}

/** Whether `backend` is still the service's and takes new connections of the family (up, in the active tier, not drained). */
function takesNewConnections(service: ServiceState, backend: Backend, ipv6: boolean): boolean {
  return service.lb.backendById(backend.id) === backend && backend.takesNew(ipv6);
}
