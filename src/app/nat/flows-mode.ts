// Flows mode (`datapath.nat: flows`, the mode that works with a remote switch): each connection gets a
// forward and a reverse NAT flow, and its first packet is resubmitted through them.
import type { OutboundMessage } from '../../controller/types';
import {
  buildConnectionFlows, buildDeleteConnectionsVia, buildDeleteForwardFlows, buildNewConnectionFlow, buildResubmitPacketOut, buildReturnFlows, buildServiceFlows, RESUBMIT_MARK,
  type ConnectionSpec, type Endpoint,
} from '../../flows/builders';
import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, formatMac, type TransportHeader } from '../../flows/packets';
import { OFPP_ANY } from '../../openflow/constants';
import type { FlowMod, OfpMessage, OfpPort } from '../../openflow/types';
import type { ServiceConfig } from '../../config';
import { ipv6Pair } from '../../net/ipv6';
import { connAddresses } from '../../lb/conn-key';
import type { ConnRecord } from '../../lb/conn-slots';
import type { EgressTag } from '../../flows/egress';
import type { VadcTables } from '../../flows/pipeline';
import { buildBackendReturnBase } from '../../flows/end-copies';
import { buildCtLeftoverDeletes } from '../../flows/conntrack';
import { encodedAt, keepEncodedAt } from '../location';
import { membersOf, takeConnectionId, vipsOf, type ServiceState } from '../services';
import { addressesOf, backendAddress, connectionBackendIp, deleteBackendConnectionFlows, headerAddresses } from './common';
import type { EndCopies } from './end-copies';
import { NO_REPLY_GUARD, type ReplyGuard } from './reply-guard';
import { strayGroupDeletes } from './datapath-decisions';
import { FLOW_PAIR_SHAPE, FlowAccounting } from './flow-accounting';
import { FLOW_PAIR_FLOW_MODS, FLOW_PAIR_MESSAGES, FlowPairWireEncoder, FlowPairWireEncoder6, type FlowPairService, type FlowPairValues, type FlowPairValues6 } from './flow-pair-wire';
import type { DatapathStatus, KnownConnection, NatMode, NewConnection } from './nat-mode';

export class FlowsNat implements NatMode {
  readonly status: DatapathStatus;
  /** Datapath decisions commit connections to the tracker: flows mode has none, so the controller decides. */
  readonly decidesInDatapath = false;
  readonly accounting: FlowAccounting;
  /** Each service's encoder, made for the config object it was built from (idle/fin timeouts, VIP MAC). */
  private readonly encoders = new Map<number, { config: ServiceConfig; encoder: FlowPairWireEncoder }>();
  private readonly encoders6 = new Map<number, { config: ServiceConfig; encoder: FlowPairWireEncoder6 }>();
  // One values record reused by every new connection (the fast path runs to completion; nothing keeps it).
  private readonly values: FlowPairValues = {
    connectionId: 0, clientOfport: 0, clientIp: 0, clientPort: 0, clientMacOffset: 6, vipIp: 0,
    backendOfport: 0, backendIp: 0, backendPort: 0, backendMac: Buffer.alloc(6),
  };
  private readonly values6: FlowPairValues6 = {
    connectionId: 0, clientOfport: 0, clientPort: 0, clientMacOffset: 6, ip6: ipv6Pair(),
    backendOfport: 0, backendIp6: Buffer.alloc(16), backendPort: 0, backendMac: Buffer.alloc(6),
  };

  /**
   * `replyGuard`: a backend's SYN-ACK that a stale datapath cache entry kept from its connection's reverse flow comes
   * to vadc instead of leaving untranslated (src/flows/reply-guard.ts); NO_REPLY_GUARD when off.
   */
  constructor(reason: string, private readonly endCopies: EndCopies, readonly tables: VadcTables, private readonly replyGuard: ReplyGuard = NO_REPLY_GUARD) {
    this.status = { nat: 'flows', reason };
    this.accounting = new FlowAccounting(FLOW_PAIR_SHAPE, tables);
  }

  pipelineFlows(): OfpMessage[] {
    return [...this.endCopies.meter(), ...this.replyGuard.meter(), buildNewConnectionFlow(ETH_TYPE_IPV4, this.tables)];
  }

  hostFlows(dpid: bigint, ports: ReadonlyMap<number, OfpPort>): FlowMod[] {
    return this.replyGuard.hostFlows(dpid, ports);
  }

  serviceFlows(s: ServiceState, tagOf?: (vnic: string) => EgressTag | undefined): FlowMod[] {
    const flows = vipsOf(s.config).flatMap((vip) => buildServiceFlows({ serviceId: s.id, vip, protocol: s.l4, port: s.config.port }, this.tables));
    const addresses = uniqueAddresses(s);
    // A backend's FIN/RST copies outrank its vNIC's EGRESS flow: they carry its tag themselves.
    const backendBases = () => addresses.map(({ ip, port, vnic }) => buildBackendReturnBase(s.id, ip, port, this.tables, tagOf?.(vnic)));
    // An IPv6 service's replies need the IPv6 return flows (pipeline flows, not the service's: they stay when it goes).
    const returns = s.vip6 !== undefined ? [...buildReturnFlows(ETH_TYPE_IPV6, this.tables), buildNewConnectionFlow(ETH_TYPE_IPV6, this.tables)] : [];
    const guards = this.replyGuard.flows(s.id, s.l4, () => addresses);
    // First, a bridge conntrack mode left (a restart with another NAT mode) loses the reply flows that outrank RETURN.
    const leftovers = buildCtLeftoverDeletes({ serviceId: s.id, protocol: s.l4, backends: addresses }, this.tables);
    const datapath = { decides: false, showsEndsSoon: this.accounting.showsEndsSoon(s), readsSuccesses: this.accounting.readsSuccesses };
    return [...leftovers, ...returns, ...flows, ...guards, ...this.endCopies.flows(s, flows, backendBases, datapath)];
  }

  guardedReply(frame: Buffer, inPort: number, serviceId: number): OfpMessage[] {
    return this.replyGuard.passOn(frame, inPort, serviceId);
  }

  setClientQueues(): void {
    // The resubmitted packet-out passes the queued vNIC's tagged table-0 entry like every later packet.
  }

  syncBackendFlows(): void {
    // Every connection carries its backend in its own flows: nothing per backend.
  }

  /** Flows mode makes no groups: every one of vadc's on the switch is a conntrack-mode run's (a restart in another mode). */
  strayGroups(_dpid: bigint, groupIds: readonly number[]): OfpMessage[] {
    return strayGroupDeletes(groupIds);
  }

  forgetSwitch(dpid: bigint): void {
    this.replyGuard.forgetSwitch(dpid);
  }

  forgetService(serviceId: number): FlowMod[] {
    return this.endCopies.forgetService(serviceId);
  }

  connect(c: NewConnection): OfpMessage[] {
    const { service, location, frame } = c;
    const spec = pairSpec(service, frame, c.header, c.inPort, { ofport: location.ofport, mac: location.mac, ip: connectionBackendIp(c), port: c.softwarePort });
    const [forward, reverse] = buildConnectionFlows(spec, this.tables);
    return [forward, reverse, buildResubmitPacketOut(frame, c.inPort)];
  }

  connectEncoded(c: NewConnection): OutboundMessage[] {
    const { service, location, frame } = c;
    const config = service.config;
    // Two branches in one method, not an IPv6 method of its own: a call less per IPv6 connection (conntrack mode's too).
    let bytes: Buffer;
    if (c.backendIp6 !== undefined && c.header.ip6 !== undefined) {
      const backendIp6 = c.backendIp6;
      let made = this.encoders6.get(service.id);
      if (made?.config !== config) {
        made = { config, encoder: new FlowPairWireEncoder6({ ...flowPairService(service), vip: singleVip6(service) }, this.tables) };
        this.encoders6.set(service.id, made);
      }
      const v = this.values6;
      v.connectionId = takeConnectionId(service);
      v.clientOfport = c.inPort;
      v.clientPort = c.header.srcPort;
      // The packet-in path's one scratch pair: stored again only if it is another (a pointer store is a write-barrier call while the collector marks).
      const ip6 = c.header.ip6;
      if (v.ip6 !== ip6) v.ip6 = ip6;
      let pair = encodedAt(location, made.encoder, backendIp6, c.softwarePort);
      if (pair === undefined) {
        pair = made.encoder.pair(backendIp6, c.softwarePort, location.macBytes, location.ofport);
        keepEncodedAt(location, { maker: made.encoder, ip: backendIp6, port: c.softwarePort, bytes: pair });
      }
      bytes = made.encoder.encodeWith(pair, v, frame);
    } else {
      const h = c.header;
      let made = this.encoders.get(service.id);
      if (made?.config !== config) {
        made = { config, encoder: new FlowPairWireEncoder({ ...flowPairService(service), vip: singleVip4(service) }, this.tables) };
        this.encoders.set(service.id, made);
      }
      const v = this.values;
      v.connectionId = takeConnectionId(service);
      v.clientOfport = c.inPort;
      v.clientIp = h.src;
      v.clientPort = h.srcPort;
      v.vipIp = h.dst;
      let pair = encodedAt(location, made.encoder, c.backendIp, c.softwarePort);
      if (pair === undefined) {
        pair = made.encoder.pair(c.backendIp, c.softwarePort, location.macBytes, location.ofport);
        keepEncodedAt(location, { maker: made.encoder, ip: c.backendIp, port: c.softwarePort, bytes: pair });
      }
      bytes = made.encoder.encodeWith(pair, v, frame);
    }
    return [{ type: 'pre_encoded', bytes, messages: FLOW_PAIR_MESSAGES, flowMods: FLOW_PAIR_FLOW_MODS }];
  }

  /**
   * The connection's flows are usually on their way or in place (a stale datapath cache entry sent the packet up):
   * the packet goes back through the tables, marked. If it comes back up marked, the tables have no flow for it:
   * its flows are gone (deleted, or the restore re-tracked a connection that had just ended); sent through the
   * tables unmarked again it would come back for ever (a packet-in loop at the controller's round trip). So the
   * connection's flows are sent again from its entry (a fresh connection id: the old cookie may still be deleted)
   * and the packet follows them; if that comes back too, or the connection cannot have flows here, it is forgotten
   * (null). Each packet costs at most three packet-ins; a stale cache entry still costs none of the flow-mods.
   */
  known(c: KnownConnection): OfpMessage[] | null {
    if (c.resubmitted === 0n) return [buildResubmitPacketOut(c.frame, c.inPort, RESUBMIT_MARK.SENT)];
    if (c.resubmitted !== RESUBMIT_MARK.SENT || c.entry.ended) return null;
    const { service, entry } = c;
    const location = service.backends.get(entry.backend.id)?.location;
    if (!location || location.dpid !== c.dpid) return null;
    const backend = { ofport: location.ofport, mac: location.mac, ip: backendAddress(entry.backend, c.header.ip6 !== undefined), port: entry.softwarePort };
    const flows = buildConnectionFlows(pairSpec(service, c.frame, c.header, c.inPort, backend), this.tables);
    service.flowsResent++;
    return [...flows, buildResubmitPacketOut(c.frame, c.inPort, RESUBMIT_MARK.REINSTALLED)];
  }

  dropBackendFlows(serviceId: number, ofport: number): FlowMod[] {
    return deleteBackendConnectionFlows(serviceId, ofport, true, this.tables);
  }

  /** Each connection's forward flow by its client side, the backend's reverse flows by its address. */
  forgetEnded(service: ServiceState, records: readonly ConnRecord[]): FlowMod[] {
    return buildDeleteForwardFlows(service.id, service.l4, OFPP_ANY, records.map(clientSide), this.tables);
  }

  dropConnectionsVia(service: ServiceState, records: readonly ConnRecord[], backendIp: string, viaOfport: number): FlowMod[] {
    if (records.length === 0) return [];
    return buildDeleteConnectionsVia(service.id, service.l4, viaOfport, backendIp, records.map(clientSide), this.tables);
  }
}

const clientSide = (r: ConnRecord) => ({ ...connAddresses(r), clientPort: r.clientPort, vipPort: r.vipPort });

/** A connection's flow pair as codec input: the client's packet (`frame`, `h`, `inPort`) to `backend`, a fresh connection id. */
function pairSpec(service: ServiceState, frame: Buffer, h: Readonly<TransportHeader>, inPort: number, backend: Endpoint): ConnectionSpec {
  const addresses = headerAddresses(h);
  return {
    serviceId: service.id, connectionId: takeConnectionId(service), protocol: service.l4,
    idleTimeout: service.config.idle_timeout, finTimeout: service.config.fin_timeout,
    client: { ofport: inPort, mac: formatMac(frame, 6), ip: addresses.client, port: h.srcPort },
    vip: { mac: service.config.vip_mac, ip: addresses.vip, port: h.dstPort },
    backend,
  };
}

/** The service's IPv4 VIP as a uint32 when it is one address (a prefix VIP's connections each name their own). */
function singleVip4(service: ServiceState): number | undefined {
  return service.vip.family === 4 && service.vip.length === 32 ? service.vip.base : undefined;
}

/** The service's IPv6 VIP's 16 bytes when it is one address. */
function singleVip6(service: ServiceState): Uint8Array | undefined {
  const vip6 = service.vip6;
  return vip6 !== undefined && vip6.length === 128 ? vip6.bytes : undefined;
}

/** What a service fixes for all its connections' flows. */
function flowPairService(service: ServiceState): FlowPairService {
  const config = service.config;
  return { serviceId: service.id, protocol: service.l4, idleTimeout: config.idle_timeout, finTimeout: config.fin_timeout, vipMac: config.vip_mac, vipPort: config.port };
}

/** Every backend address and software port of the service, once each. */
function uniqueAddresses(s: ServiceState): { ip: string; port: number; vnic: string }[] {
  const seen = new Map<string, { ip: string; port: number; vnic: string }>();
  for (const b of membersOf(s.config)) for (const ip of addressesOf(b)) for (const port of b.ports) seen.set(`${ip}:${port}`, { ip, port, vnic: b.vnic });
  return [...seen.values()];
}
