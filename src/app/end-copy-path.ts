// Connection-end copies on the packet-in path (PacketInPath.handle hands them here): a copy of a FIN or RST the switch
// forwarded itself, read once, keyed, and counted to the service that tracks its connection.
import type { OutboundMessage } from '../controller/types';
import { readTransportHeader6 } from '../flows/ipv6-packets';
import { emptyTransportHeader, parsePacket, readTransportHeader, IP_PROTO_TCP, TCP_FLAGS, type TransportHeader } from '../flows/packets';
import { clientFold6, vipFold6, type ConnKey } from '../lb/conn-key';
import { containsIpv4, containsIpv6Destination } from '../net/prefix';
import { copyIpv6Pair, formatIpv6, formatIpv6Source, ipv6Pair, parseIpv6, setIpv6Pair } from '../net/ipv6';
import { ipv4ToUint32, uint32ToIpv4 } from '../net/ipv4';
import { endCopyOwner, sharedCopyService } from './end-copy-owner';
import type { EventSink } from './events';
import { reportOutlierChanges } from './outliers';
import type { ServiceState, ServiceTable } from './services';

export class EndCopyPath {
  /** An end copy ejected or re-admitted a port since the app last brought the flows in line (app.outlierTick). */
  outliersChanged = false;
  /** An end copy brought a port's failures to where a reading would eject it (takeReadingWanted). */
  private readingWanted = false;
  // Scratch records reused by every copy (the handler runs to completion, nothing keeps them).
  private readonly header: TransportHeader = emptyTransportHeader();
  private readonly header6: TransportHeader = { ...emptyTransportHeader(), ip6: ipv6Pair() };
  private readonly key: ConnKey = { proto: 0, clientIp: 0, clientPort: 0, vip: 0, vipPort: 0 };
  /** An IPv6 copy's key: its own words, since a backend's segment names the client second and the VIP not at all. */
  private readonly key6: ConnKey = { proto: 0, clientIp: 0, clientPort: 0, vip: 0, vipPort: 0, ip6: ipv6Pair() };
  /** Where vadc's own health checks and outlier probes come from (canonical text): a backend's refusal sent there is a failed check's. */
  private checkSources: ReadonlySet<string> = new Set();

  /** `decidesInDatapath`: the NAT mode's (NatMode.decidesInDatapath). */
  constructor(private readonly services: ServiceTable, private readonly nat: { readonly decidesInDatapath: boolean }, private readonly emit: EventSink) {}

  /** The addresses vadc's own health checks and outlier probes may come from (LoadBalancerApp.setCheckSources). */
  setCheckSources(addresses: readonly string[]): void {
    this.checkSources = new Set(addresses.map((a) => (a.includes(':') ? formatIpv6(parseIpv6(a)) : uint32ToIpv4(ipv4ToUint32(a)))));
  }

  /** Whether an end copy since the last call asked for an accounting reading (LbService.outlierWantsReading); clears it. */
  takeReadingWanted(): boolean {
    const wanted = this.readingWanted;
    this.readingWanted = false;
    return wanted;
  }

  /**
   * A copy of a FIN or RST (the switch forwarded the segment itself) of `serviceId`'s (a backend address:port's shared
   * copy: 0): the connection is closing, or ended. Its header is read once, here; the shared copy's service is found
   * from the same header. The client's segment is keyed as it is; a backend's names the client as its destination and
   * the VIP is the service's single address (only single-address VIPs get backend-side copies). A dual-stack service's
   * copies are of either family: an IPv6 one is its IPv6 VIP's.
   */
  handle(serviceId: number, frame: Buffer, now: number): OutboundMessage[] {
    let h = this.header;
    if (!readTransportHeader(frame, h)) {
      h = this.header6;
      if (!readTransportHeader6(frame, h, true)) return [];
    }
    const service = serviceId > 0 ? this.services.byId(serviceId) : sharedCopyService(this.services.all, h);
    if (!service || h.proto !== IP_PROTO_TCP) return [];
    if (h.ip6 !== undefined) return service.vip6 !== undefined ? this.endCopy6(service, h, frame, now) : [];
    return service.vip.family === 4 ? this.endCopy4(service, h, frame, now) : [];
  }

  private endCopy4(service: ServiceState, h: TransportHeader, frame: Buffer, now: number): OutboundMessage[] {
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
    return this.connectionEnd(service, key, fromClient, h, frame, now);
  }

  /** endCopy4's IPv6 twin: the client's segment keyed as it is (client words, then the VIP's); a backend's as (its destination, the single VIP). */
  private endCopy6(service: ServiceState, h: TransportHeader, frame: Buffer, now: number): OutboundMessage[] {
    const packet = h.ip6!;
    const key = this.key6;
    const pair = key.ip6!;
    key.proto = h.proto;
    const vip6 = service.vip6!;
    const fromClient = h.dstPort === service.config.port && containsIpv6Destination(vip6, packet);
    if (fromClient) {
      copyIpv6Pair(pair, packet);
      key.clientPort = h.srcPort;
      key.vipPort = h.dstPort;
    } else {
      const vip = vip6.words!;
      setIpv6Pair(pair, packet.d0, packet.d1, packet.d2, packet.d3, vip[0] | 0, vip[1] | 0, vip[2] | 0, vip[3] | 0);
      key.clientPort = h.dstPort;
      key.vipPort = service.config.port;
    }
    key.clientIp = clientFold6(pair);
    key.vip = vipFold6(pair);
    return this.connectionEnd(service, key, fromClient, h, frame, now);
  }

  /**
   * A FIN or RST of `key` (the copy's header `h`) seen at `now`: the connection is closing or ended; outlier changes
   * reported. A backend's RST answering a SYN (isSynRefusal) of a connection vadc does not track, in a service the
   * datapath places (a select group: vadc learns its connections at the tracker's next reading), is a refusal of a
   * connection just placed: a failure of the backend port it came from (`h`'s source). Any other untracked RST from a
   * backend port is no verdict: the copy flow matches the port's every segment, so a client that talks to the backend
   * directly (not through the VIP) has its connection's end copied too, and its RSTs (a socket closed with data unread,
   * as iperf3's server does after each test) had ejected the port. Nor is a refusal sent to where vadc's own checks come
   * from (setCheckSources): the health checks and outlier probes connect to the backend directly, and their results
   * reach the checks (a stopped server's refused checks had ejected its port in the outlier detector, which then kept it
   * out of the group past its check's recovery).
   */
  private connectionEnd(named: ServiceState, key: ConnKey, fromClient: boolean, h: TransportHeader, frame: Buffer, now: number): OutboundMessage[] {
    const service = endCopyOwner(this.services.all, named, key, fromClient, h); // the cookie's, or (a backend's) its owner
    const reset = (h.tcpFlags & TCP_FLAGS.RST) !== 0;
    const known = service.lb.end(key, fromClient ? 'client' : 'backend', reset, now);
    if (known === null && reset && !fromClient && service.config.decisions === 'datapath' && this.nat.decidesInDatapath) this.untrackedRefusal(service, key, h, frame, now);
    // A backend's early RST may have ejected its port: reported now (the flows follow at the next input's finish).
    if (reportOutlierChanges(service, this.emit, now) > 0) this.outliersChanged = true;
    // Or, where successes are read from the datapath, it waits for a reading that would show them: asked for now.
    if (!fromClient && service.lb.outlierWantsReading) this.readingWanted = true;
    return [];
  }

  /** A backend's untracked RST (connectionEnd): a failure of its port when it refuses a SYN from anywhere but vadc's own checks. */
  private untrackedRefusal(service: ServiceState, key: ConnKey, h: TransportHeader, frame: Buffer, now: number): void {
    // Rare (a refusal): the frame is parsed in full and the addresses made text only here.
    if (!isSynRefusal(frame) || this.checkSources.has(key.ip6 ? formatIpv6Source(key.ip6) : uint32ToIpv4(key.clientIp))) return;
    const address = h.ip6 ? formatIpv6Source(h.ip6) : uint32ToIpv4(h.src);
    const srcPort = h.srcPort;
    const backend = [...service.backends.values()].find((b) => (b.config.ip === address || b.config.ip6 === address) && b.config.ports.includes(srcPort));
    if (backend) service.lb.refusedUntracked(backend.config.name, srcPort, key.ip6 === undefined ? 'ipv4' : 'ipv6', now, key);
  }
}

/**
 * A TCP RST that answers a SYN (RFC 793 reset generation, as Linux's tcp_v4_send_reset does): the SYN carried no
 * ACK, so the reset has sequence number 0 and ACK set. The RST that aborts a connection carries the sender's own
 * sequence number (0 only by a 2^-32 chance). Parsed in full: only a backend's untracked RST comes here.
 */
export function isSynRefusal(frame: Buffer): boolean {
  const parsed = parsePacket(frame);
  const l4 = parsed.ok ? parsed.packet.l4 : undefined;
  const flags = l4?.tcpFlags ?? 0;
  return (flags & TCP_FLAGS.RST) !== 0 && (flags & TCP_FLAGS.ACK) !== 0 && l4?.tcpSeq === 0;
}
