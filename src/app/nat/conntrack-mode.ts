// Conntrack mode (`datapath.nat: conntrack`): OVS's connection tracker translates both directions. A new
// connection costs one packet-out that commits it; static flows do the rest (docs/pipeline.md).
import type { OutboundMessage } from '../../controller/types';
import { buildDeleteConnectionFlows, type ConnectionSpec } from '../../flows/builders';
import {
  buildCtBackendFlow, buildCtCommitPacketOut, buildCtConnectionFlow, buildCtPipelineFlows, buildCtReplyFlows, buildCtServiceFlows,
  buildDeleteCtBackendFlow,
} from '../../flows/conntrack';
import type { EgressTag } from '../../flows/egress';
import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, formatMac } from '../../flows/packets';
import type { ConnRecord } from '../../lb/conn-slots';
import type { FlowMod, OfpMessage } from '../../openflow/types';
import type { VadcTables } from '../../flows/pipeline';
import { encodedAt, keepEncodedAt } from '../location';
import type { Outbox } from '../outbox';
import { connectionsCut, membersOf, takeConnectionId, vipsOf, type ServiceState } from '../services';
import { addressesOf, backendAddress, connectionBackendIp, deleteBackendConnectionFlows, headerAddresses } from './common';
import { CtCommitWireEncoder, CtCommitWireEncoder6 } from './ct-commit-wire';
import { DatapathDecisions } from './datapath-decisions';
import type { EndCopies } from './end-copies';
import { CT_ACCOUNTING_FLOW_SHAPE, FlowAccounting } from './flow-accounting';
import type { Accounting, DatapathStatus, KnownConnection, NatMode, NewConnection } from './nat-mode';
import { TrackerAccounting } from './tracker-accounting';

/** Conntrack mode's accounting axis: how connections are counted, and what (if anything) each one gets for it. */
export interface CtCounting {
  readonly name: 'conntrack' | 'flows';
  readonly accounting: Accounting;
  /** Flows a new connection gets so it can be counted (none when the tracker's listing counts it). */
  connectionFlows(c: NewConnection): FlowMod[];
}

/** `accounting: conntrack` (the default): the tracker's listing; no per-connection flow at all. */
export function trackerCounting(zone: number, ends?: { fromCopies: boolean; keptMs: number }): CtCounting {
  return { name: 'conntrack', accounting: new TrackerAccounting(zone, undefined, ends), connectionFlows: () => NO_FLOWS };
}

const NO_FLOWS: FlowMod[] = [];

/** `accounting: flows`: one accounting flow per connection (idle/FIN timeout, flow_removed, packet counts). */
export function flowCounting(t: VadcTables): CtCounting {
  return { name: 'flows', accounting: new FlowAccounting(CT_ACCOUNTING_FLOW_SHAPE, t), connectionFlows: (c) => [buildCtConnectionFlow(connectionSpec(c), t)] };
}

/** Where a backend flow sends a service's translated packets (what was installed). */
interface BackendFlow {
  dpid: bigint;
  serviceId: number;
  ip: string;
  mac: string;
  ofport: number;
}

export class ConntrackNat implements NatMode {
  readonly status: DatapathStatus;
  readonly accounting: Accounting;
  /** The backend flow installed for each "serviceId/backend". */
  private readonly backendFlows = new Map<string, BackendFlow>();
  private readonly encoders = new Map<number, CtCommitWireEncoder>();
  private readonly encoders6 = new Map<number, CtCommitWireEncoder6>();
  private readonly decisions: DatapathDecisions;
  readonly decidesInDatapath = true;
  private queueAt: (dpid: bigint, ofport: number) => number | undefined = () => undefined;

  constructor(private readonly zone: number, private readonly counting: CtCounting, reason: string, private readonly endCopies: EndCopies, readonly tables: VadcTables) {
    this.decisions = new DatapathDecisions(zone, tables);
    this.status = { nat: 'conntrack', ctZone: zone, accounting: counting.name, reason };
    this.accounting = counting.accounting;
  }

  setClientQueues(queueAt: (dpid: bigint, ofport: number) => number | undefined): void {
    this.queueAt = queueAt;
  }

  /** The tracker translates replies: conntrack mode has no reply guard, so nothing comes up from one. */
  guardedReply(): OfpMessage[] {
    return [];
  }

  /** No reply guard, so no exemption for the host. */
  hostFlows(): FlowMod[] {
    return [];
  }

  pipelineFlows(): OfpMessage[] {
    return [...this.endCopies.meter(), ...buildCtPipelineFlows(this.tables)];
  }

  serviceFlows(s: ServiceState, tagOf?: (vnic: string) => EgressTag | undefined): FlowMod[] {
    const service = vipsOf(s.config).flatMap((vip) => buildCtServiceFlows({ serviceId: s.id, vip, protocol: s.l4, port: s.config.port }, this.zone, this.tables));
    const reply = buildCtReplyFlows({
      serviceId: s.id, protocol: s.l4, zone: this.zone, vipMac: s.config.vip_mac,
      backends: membersOf(s.config).flatMap((b) => {
        const tag = tagOf?.(b.vnic);
        return addressesOf(b).flatMap((ip) => b.ports.map((port) => ({ ip, port, ...(tag ? { tag } : {}) })));
      }),
    }, this.tables);
    // A service the datapath decides gets RST copies only: its connections' ends are read from the tracker at the
    // statistics poll (endCopySides).
    const datapath = {
      decides: s.config.decisions === 'datapath', showsEndsSoon: this.accounting.showsEndsSoon(s), readsSuccesses: this.accounting.readsSuccesses,
    };
    return [...service, ...reply, ...this.endCopies.flows(s, service, () => reply.filter((f) => f.tableId === this.tables.CLASSIFY), datapath)];
  }

  /**
   * One table-1 flow per located backend of each service whose connections are not cut (connectionsCut) takes the service's packets the
   * tracker translated to that backend to its vNIC. Adds, moves and removes them as backends appear, move,
   * fail and come back. A backend taken out of the configuration keeps its flow while it still carries
   * connections (as their flows do in flows mode), until the last one ends.
   */
  syncBackendFlows(services: readonly ServiceState[], switches: ReadonlySet<bigint>, out: Outbox): void {
    const wanted = new Map<string, BackendFlow>();
    for (const service of services) {
      for (const state of service.backends.values()) {
        const loc = state.location;
        if (!loc || connectionsCut(service, state) || !switches.has(loc.dpid)) continue;
        // A dual-stack backend has one flow per address; the first keeps the key single-family services had.
        for (const [i, ip] of addressesOf(state.config).entries()) {
          wanted.set(`${service.id}/${state.config.name}${i === 0 ? '' : '\u0000ip6'}`, { dpid: loc.dpid, serviceId: service.id, ip, mac: loc.mac, ofport: loc.ofport });
        }
      }
    }
    for (const [key, have] of this.backendFlows) {
      const want = wanted.get(key);
      if (want && want.dpid === have.dpid && want.ip === have.ip && want.mac === have.mac && want.ofport === have.ofport) continue;
      if (!want && switches.has(have.dpid) && this.retiredWithConnections(services, have.serviceId, key.slice(key.indexOf('/') + 1).split('\u0000')[0])) continue;
      if (switches.has(have.dpid)) out.to(have.dpid, [buildDeleteCtBackendFlow(have, this.tables)]);
      this.backendFlows.delete(key);
    }
    for (const [key, want] of wanted) {
      if (this.backendFlows.has(key)) continue;
      out.to(want.dpid, [buildCtBackendFlow(want, this.tables)]);
      this.backendFlows.set(key, want);
    }
    // After the backend flows: a group's bucket sends its connection to one of them.
    this.decisions.sync(services, switches, out);
  }

  /** A backend no longer in its (still configured) service that still has tracked connections. */
  private retiredWithConnections(services: readonly ServiceState[], serviceId: number, name: string): boolean {
    const service = services.find((s) => s.id === serviceId);
    if (!service || service.backends.has(name)) return false;
    return service.lb.connections.export().some((r) => r.backendId === name);
  }

  strayGroups(dpid: bigint, groupIds: readonly number[]): OfpMessage[] {
    return this.decisions.strayGroups(dpid, groupIds);
  }

  forgetSwitch(dpid: bigint): void {
    for (const [key, flow] of this.backendFlows) if (flow.dpid === dpid) this.backendFlows.delete(key);
    this.decisions.forgetSwitch(dpid);
  }

  forgetService(serviceId: number): FlowMod[] {
    for (const [key, flow] of this.backendFlows) if (flow.serviceId === serviceId) this.backendFlows.delete(key);
    this.decisions.forgetService(serviceId);
    return this.endCopies.forgetService(serviceId);
  }

  connect(c: NewConnection): OfpMessage[] {
    // The packet-out does not pass table 0: a queued client's first packet gets its queue here. (Its meter it passed
    // on the way up, in the tagged entry that sent it through the tracker to table 1's miss.)
    const queueId = this.queueAt(c.location.dpid, c.inPort);
    const commit = buildCtCommitPacketOut(c.frame, c.inPort, {
      zone: this.zone, serviceId: c.service.id, protocol: c.service.l4, clientOfport: c.inPort, backendIp: connectionBackendIp(c), backendPort: c.softwarePort,
      backendMac: c.location.mac, backendOfport: c.location.ofport, ...(queueId !== undefined ? { queueId } : {}),
    });
    return [...this.counting.connectionFlows(c), commit];
  }

  connectEncoded(c: NewConnection): OutboundMessage[] {
    // A queued client's commit carries set_queue: the codec path (the pre-encoded layouts have none).
    if (this.queueAt(c.location.dpid, c.inPort) !== undefined) return this.connect(c);
    const { service, location } = c;
    // Two branches, not one generic helper for both encoders: the helper counted 235 instructions more per IPv6
    // connection (callgrind, docs/benchmarks.md).
    let bytes: Buffer;
    if (c.backendIp6 !== undefined) {
      let encoder = this.encoders6.get(service.id);
      if (encoder?.protocol !== service.l4) {
        encoder = new CtCommitWireEncoder6(this.zone, service.id, service.l4);
        this.encoders6.set(service.id, encoder);
      }
      let head = encodedAt(location, encoder, c.backendIp6, c.softwarePort);
      if (head === undefined) {
        head = encoder.head(c.backendIp6, c.softwarePort, location.macBytes, location.ofport);
        keepEncodedAt(location, { maker: encoder, ip: c.backendIp6, port: c.softwarePort, bytes: head });
      }
      bytes = encoder.commit(head, c.inPort, c.frame);
    } else {
      let encoder = this.encoders.get(service.id);
      if (encoder?.protocol !== service.l4) {
        encoder = new CtCommitWireEncoder(this.zone, service.id, service.l4);
        this.encoders.set(service.id, encoder);
      }
      let head = encodedAt(location, encoder, c.backendIp, c.softwarePort);
      if (head === undefined) {
        head = encoder.head(c.backendIp, c.softwarePort, location.macBytes, location.ofport);
        keepEncodedAt(location, { maker: encoder, ip: c.backendIp, port: c.softwarePort, bytes: head });
      }
      bytes = encoder.commit(head, c.inPort, c.frame);
    }
    const commit: OutboundMessage = { type: 'pre_encoded', bytes, messages: 1, flowMods: 0 };
    const flows = this.counting.connectionFlows(c);
    return flows.length ? [...flows, commit] : [commit];
  }

  /**
   * A packet of a known connection at the controller: the client's first packet again before vadc's commit
   * of it reached the tracker (a quick retransmit), or one that arrived before its backend flow. The same
   * commit again: the tracker keeps the first binding, so it goes where that went.
   */
  known(c: KnownConnection): OfpMessage[] {
    const { service, entry } = c;
    // Where the backend is, or, for one taken out of the configuration, where its retained flow sends to.
    const location = service.backends.get(entry.backend.id)?.location ?? this.backendFlows.get(`${service.id}/${entry.backend.id}`);
    if (!location || location.dpid !== c.dpid) return [];
    const queueId = this.queueAt(c.dpid, c.inPort);
    return [buildCtCommitPacketOut(c.frame, c.inPort, {
      zone: this.zone, serviceId: service.id, protocol: service.l4, clientOfport: c.inPort, backendIp: backendAddress(entry.backend, c.header.ip6 !== undefined), backendPort: entry.softwarePort,
      backendMac: location.mac, backendOfport: location.ofport, ...(queueId !== undefined ? { queueId } : {}),
    })];
  }

  /**
   * Only the accounting flows (if any): the backend flow goes with the health verdict (syncBackendFlows), so
   * the clients' next packets reach vadc, which answers them with a RST.
   */
  dropBackendFlows(serviceId: number, ofport: number): FlowMod[] {
    return deleteBackendConnectionFlows(serviceId, ofport, false, this.tables);
  }

  /** None: the tracker calls a pure SYN on a connection whose sides have both closed new, and it comes up. */
  forgetEnded(): FlowMod[] {
    return [];
  }

  /**
   * Only the accounting flows (if any), which match after NAT, so by the backend's address: the backend flow goes
   * with its host's verdict (syncBackendFlows), so the clients' next packets reach vadc, which answers with a RST.
   */
  dropConnectionsVia(service: ServiceState, _records: readonly ConnRecord[], backendIp: string, viaOfport: number): FlowMod[] {
    const v6 = backendIp.includes(':');
    return [buildDeleteConnectionFlows(service.id, this.tables.FORWARD, viaOfport, [
      { field: 'eth_type', value: v6 ? ETH_TYPE_IPV6 : ETH_TYPE_IPV4 }, { field: v6 ? 'ipv6_dst' : 'ipv4_dst', value: backendIp },
    ])];
  }
}

/** The connection as the accounting flow describes it. */
function connectionSpec(c: NewConnection): ConnectionSpec {
  const { service, location, frame, header: h } = c;
  const addresses = headerAddresses(h);
  return {
    serviceId: service.id, connectionId: takeConnectionId(service), protocol: service.l4,
    idleTimeout: service.config.idle_timeout, finTimeout: service.config.fin_timeout,
    client: { ofport: c.inPort, mac: formatMac(frame, 6), ip: addresses.client, port: h.srcPort },
    vip: { mac: service.config.vip_mac, ip: addresses.vip, port: h.dstPort },
    backend: { ofport: location.ofport, mac: location.mac, ip: connectionBackendIp(c), port: c.softwarePort },
  };
}
