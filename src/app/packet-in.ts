// The packet-in path: classify the packet, place a new connection (scheduler + software port), and answer
// with the NAT mode's messages; answer ARP and ping for VIPs; refuse cleanly (RST / ICMP unreachable)
// whatever cannot be served. IPv4 TCP/UDP, nearly every packet-in, is read as numbers with no allocation.
import type { OutboundMessage, SwitchInfo } from '../controller/types';
import { buildReplyPacketOut } from '../flows/builders';
import { endCopyService } from '../flows/cookies';
import {
  buildArpReply, buildIcmpEchoReply, buildIcmpUnreachable, buildTcpReset, emptyTransportHeader, parsePacket, readTransportHeader,
  ARP_REQUEST, ETH_TYPE_ARP, ETH_TYPE_IPV4, ICMP_UNREACHABLE, IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP, TCP_FLAGS,
  type ParsedPacket, type TransportHeader,
} from '../flows/packets';
import type { ConnKey } from '../lb/conn-table';
import type { PacketKey } from '../lb/scheduler';
import { containsIpv4 } from '../net';
import { ipv4ToUint32 } from '../net/ipv4';
import { formatDpid } from '../openflow/dpid';
import type { OfpMessage, PacketIn } from '../openflow/types';
import type { EventSink } from './events';
import type { NatMode, NewConnection } from './nat/nat-mode';
import { reportOutlierChanges } from './outliers';
import type { ServiceState, ServiceTable } from './services';

export class PacketInPath {
  /** An end copy ejected or re-admitted a port since the app last brought the flows in line (app.outlierTick). */
  outliersChanged = false;
  // Scratch records reused by every packet-in (the handler runs to completion, nothing keeps them).
  private readonly header: TransportHeader = emptyTransportHeader();
  private readonly key: ConnKey = { proto: 0, clientIp: 0, clientPort: 0, vip: 0, vipPort: 0 };
  private readonly packetKey: PacketKey = { srcIp: 0, srcPort: 0, dstIp: 0, dstPort: 0, proto: 0 };
  private readonly connection: NewConnection;

  constructor(private readonly services: ServiceTable, private readonly nat: NatMode, private readonly emit: EventSink) {
    this.connection = {
      service: undefined!, backend: undefined!, location: undefined!, frame: EMPTY, header: this.header, inPort: 0, softwarePort: 0, backendIp: 0,
    };
  }

  /**
   * The answer to one packet-in. `encoded` picks the NAT mode's fast path for a new connection (the same
   * bytes as the codec messages the other path returns).
   */
  handle(sw: SwitchInfo, msg: PacketIn, now: number, encoded: boolean): OutboundMessage[] {
    const copyOf = endCopyService(msg.cookie);
    if (copyOf !== 0) return this.endCopy(copyOf, msg.data, now);
    const inPort = inPortOf(msg);
    if (readTransportHeader(msg.data, this.header)) return this.transport(sw, msg.data, this.header, inPort, now, encoded);
    const parsed = parsePacket(msg.data);
    if (!parsed.ok) {
      this.emit({ time: now, kind: 'bad_packet', level: 'warn', message: `unparsable packet-in: ${parsed.reason}`, dpid: formatDpid(sw.dpid) });
      return [];
    }
    const pkt = parsed.packet;
    if (pkt.ethType === ETH_TYPE_ARP && pkt.arp) return this.answerArp(pkt, inPort);
    if (pkt.ethType !== ETH_TYPE_IPV4 || !pkt.ipv4) return [];
    const dst = ipv4ToUint32(pkt.ipv4.dst);
    if (pkt.ipv4.proto === IP_PROTO_ICMP && pkt.icmp?.type === 8) return this.answerEcho(msg.data, pkt, dst, inPort);
    return this.refuse(msg.data, pkt, dst, inPort, undefined, 'not TCP/UDP to a service port', now);
  }

  /** A TCP/UDP packet to a VIP: a new connection, a packet of a known one, or a refusal. */
  private transport(sw: SwitchInfo, frame: Buffer, h: TransportHeader, inPort: number, now: number, encoded: boolean): OutboundMessage[] {
    const service = this.services.lookup(h.proto, h.dstPort, h.dst);
    if (!service) return this.refuseFrame(frame, h.dst, inPort, undefined, 'no service on this port', now);
    const key = this.key;
    key.proto = h.proto;
    key.clientIp = h.src;
    key.clientPort = h.srcPort;
    key.vip = h.dst;
    key.vipPort = h.dstPort;
    const entry = service.lb.connections.lookup(key);
    if (entry) return this.nat.known({ service, entry, dpid: sw.dpid, frame, inPort });
    // A TCP segment that opens nothing (e.g. after the flows idled out) gets a RST, as a host would answer it.
    if (h.proto === IP_PROTO_TCP && (h.tcpFlags & (TCP_FLAGS.SYN | TCP_FLAGS.ACK | TCP_FLAGS.RST)) !== TCP_FLAGS.SYN) {
      if (h.tcpFlags & TCP_FLAGS.RST) return [];
      return this.refuseFrame(frame, h.dst, inPort, service, 'segment of an unknown connection', now);
    }
    const pk = this.packetKey;
    pk.srcIp = h.src;
    pk.srcPort = h.srcPort;
    pk.dstIp = h.dst;
    pk.dstPort = h.dstPort;
    pk.proto = h.proto;
    const placement = service.lb.open(pk, 'inactive', now);
    if (!placement) return this.refuseFrame(frame, h.dst, inPort, service, 'no backend available', now);
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
    c.inPort = inPort;
    c.softwarePort = placement.softwarePort;
    c.backendIp = placement.backend.ip;
    const out = encoded ? this.nat.connectEncoded(c) : this.nat.connect(c);
    c.frame = EMPTY;
    return out;
  }

  /**
   * A copy of a FIN or RST (the switch forwarded the segment itself): the connection is closing, or ended.
   * The client's segment is keyed as it is; a backend's names the client as its destination and the VIP is
   * the service's single address (only single-address VIPs get backend-side copies).
   */
  private endCopy(serviceId: number, frame: Buffer, now: number): OutboundMessage[] {
    const service = this.services.byId(serviceId);
    const h = this.header;
    if (!service || !readTransportHeader(frame, h) || h.proto !== IP_PROTO_TCP) return [];
    service.endCopies++;
    const key = this.key;
    key.proto = h.proto;
    const fromClient = h.dstPort === service.config.port && containsIpv4(service.vip, h.dst);
    if (fromClient) {
      key.clientIp = h.src;
      key.clientPort = h.srcPort;
      key.vip = h.dst;
      key.vipPort = h.dstPort;
    } else {
      key.clientIp = h.dst;
      key.clientPort = h.dstPort;
      key.vip = service.vip.base;
      key.vipPort = service.config.port;
    }
    service.lb.end(key, fromClient ? 'client' : 'backend', (h.tcpFlags & TCP_FLAGS.RST) !== 0, now);
    // A backend's early RST may have ejected its port: reported now (the flows follow at the next input's finish).
    if (reportOutlierChanges(service, this.emit, now) > 0) this.outliersChanged = true;
    return [];
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

  /** A clean refusal rather than silence: TCP RST, or ICMP port/protocol unreachable for anything else. */
  private refuse(frame: Buffer, pkt: ParsedPacket, dst: number, inPort: number, service: ServiceState | undefined, reason: string, now: number): OfpMessage[] {
    const owner = service ?? this.services.owner(dst);
    if (!owner) return [];
    if (service) service.refused++;
    const ipv4 = pkt.ipv4!;
    this.emit({
      time: now, kind: 'connection_refused', level: 'warn', service: owner.config.name,
      message: `refused ${ipv4.src}:${pkt.l4?.src ?? '-'} -> ${ipv4.dst}:${pkt.l4?.dst ?? '-'}: ${reason}`,
    });
    const vipMac = owner.config.vip_mac;
    const reply = ipv4.proto === IP_PROTO_TCP && pkt.l4
      ? buildTcpReset(frame, pkt, vipMac)
      : buildIcmpUnreachable(frame, pkt, vipMac, ipv4.proto === IP_PROTO_UDP ? ICMP_UNREACHABLE.PORT : ICMP_UNREACHABLE.PROTOCOL);
    return [buildReplyPacketOut(reply, inPort)];
  }

  /** refuse() for a packet read as numbers: the full parse happens only now, on the rare refusal. */
  private refuseFrame(frame: Buffer, dst: number, inPort: number, service: ServiceState | undefined, reason: string, now: number): OfpMessage[] {
    const parsed = parsePacket(frame);
    return parsed.ok ? this.refuse(frame, parsed.packet, dst, inPort, service, reason, now) : [];
  }
}

const EMPTY = Buffer.alloc(0);

function inPortOf(msg: PacketIn): number {
  for (const oxm of msg.match) if (oxm.field === 'in_port') return oxm.value as number;
  return 0;
}
