import type { DatapathConfig, ServiceConfig } from '../../config';
import {
  buildConnectionFlows, buildDeleteConnection, buildDeleteService, buildDeleteVipFlows, buildPipelineFlows, buildReplyPacketOut,
  buildResubmitPacketOut, buildServiceFlows, buildVipFlows, readConnectionFlows, type ConnectionSpec, type L4Protocol,
} from '../../flows/builders';
import { ConnectionWireEncoder, CONNECTION_WIRE_FLOW_MODS, CONNECTION_WIRE_MESSAGES, macBytes, type ConnectionWireValues } from '../../flows/connection-wire';
import {
  buildCtBackendFlow, buildCtCommitPacketOut, buildCtPipelineFlows, CtCommitWireEncoder, buildCtConnectionFlow, buildCtReplyFlows, buildCtServiceFlows, buildDeleteCtBackendFlow,
  ctConnectionFromFlow,
} from '../../flows/conntrack';
import { isClosing, isEstablished, type ConntrackEntry } from '../../flows/conntrack-dump';
import { connectionsOfService, MAX_CONNECTION_ID, parseCookie } from '../../flows/cookies';
import {
  buildArpReply, buildIcmpEchoReply, buildIcmpUnreachable, buildTcpReset, emptyTransportHeader, formatMac, parsePacket, readTransportHeader,
  ARP_REQUEST, ETH_TYPE_ARP, ETH_TYPE_IPV4, ICMP_UNREACHABLE, IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP, TCP_FLAGS,
  type ParsedPacket, type TransportHeader,
} from '../../flows/packets';
import { TABLE } from '../../flows/pipeline';
import type { ConnKey, ConnRecord } from '../../lb/conn-table';
import { ipv4ToUint32, uint32ToIpv4 } from '../../lb/ip';
import type { PacketKey } from '../../lb/scheduler';
import { LbService } from '../../lb/service';
import { FeedbackScheduler, type LoadSample } from '../../lb/schedulers/feedback';
import {
  OFPFC_DELETE, OFPG_ANY, OFPPC_PORT_DOWN, OFPPS_LINK_DOWN, OFPP_ANY, OFPRR_DELETE, OFP_NO_BUFFER,
} from '../../openflow/constants';
import type { FlowMod, FlowRemoved, FlowStats, OfpMessage, OfpPort, Oxm, PacketIn, PortStatus } from '../../openflow/types';
import { formatDpid } from '../errors';
import type { ControllerApp, OutboundMessage, PreEncodedMessages, SwitchInfo } from '../types';
import { serviceIds } from './service-ids';

/** What the daemon learns about a vNIC from OVSDB (the VnicResolver), keyed by the backend's vnic selector. */
export interface VnicInfo {
  /** OVS interface name, i.e. the OpenFlow port name. */
  name: string;
  /** The VM's MAC (external_ids:attached-mac), when known. */
  mac?: string;
  /** False when OVSDB says link_state or admin_state is down. */
  up: boolean;
}

/** Where a backend vNIC is right now, as the datapath sees it. */
export interface BackendLocation {
  dpid: bigint;
  ofport: number;
  mac: string;
  linkUp: boolean;
}

/** Something the app did or saw that operators should know about (the daemon turns these into VadcEvents). */
export interface AppEvent {
  kind: 'backend_located' | 'backend_lost' | 'connection_refused' | 'connections_restored' | 'bad_packet';
  level: 'info' | 'warn' | 'error';
  message: string;
  service?: string;
  backend?: string;
  dpid?: bigint;
  data?: Record<string, unknown>;
}

interface BackendState {
  config: ServiceConfig['backends'][number];
  /** The service's sorry backend: serves only when routing says so (nothing else is healthy). */
  sorry: boolean;
  /** Health verdict from the health module; undefined = no active check configured (passive only). */
  healthy: boolean | undefined;
  /** In the tier that currently takes new connections. */
  inActiveTier: boolean;
  /** Operator drain: weight forced to 0 until enabled again. */
  draining: boolean;
  location?: BackendLocation;
  /** location.mac as bytes, for the connection encoder (kept with the MAC it was made from). */
  locationMac?: { mac: string; bytes: Buffer };
  /** config.ip as a number, kept with the text it was parsed from. */
  backendIp?: { text: string; value: number };
  totalConns: number;
  /** Packets/bytes of this backend's live connection flows (last flow-stats poll) and of finished ones. */
  packets: number;
  bytes: number;
  closedPackets: number;
  closedBytes: number;
}

/** Conntrack mode: where a backend flow sends a service's translated packets (what was installed). */
interface BackendFlow {
  dpid: bigint;
  serviceId: number;
  ip: string;
  mac: string;
  ofport: number;
}

interface ServiceState {
  id: number;
  config: ServiceConfig;
  lb: LbService;
  proto: number;
  l4: L4Protocol;
  backends: Map<string, BackendState>;
  nextConnectionId: number;
  decisions: number;
  refused: number;
  /** The VIP (address or prefix) as numbers: an address is in it when (addr & vipMask) === vipBase. */
  vipBase: number;
  vipMask: number;
  /** Connection flow encoder, made for the config object it was built from (idle/fin timeouts, VIP MAC). */
  wire?: { config: ServiceConfig; encoder: ConnectionWireEncoder };
  /** Conntrack mode: the commit packet-out encoder (service id and zone are all it depends on). */
  ctWire?: CtCommitWireEncoder;
}

const EMPTY = Buffer.alloc(0);
const PROTO_NUMBER: Record<L4Protocol, number> = { tcp: IP_PROTO_TCP, udp: IP_PROTO_UDP };

function isPortUp(port: OfpPort): boolean {
  return (port.state & OFPPS_LINK_DOWN) === 0 && (port.config & OFPPC_PORT_DOWN) === 0;
}

/** A VIP text ('a.b.c.d' or 'a.b.c.d/len') as base and mask numbers, parsed once per service. */
function vipRange(vip: string): { vipBase: number; vipMask: number } {
  const slash = vip.indexOf('/');
  if (slash < 0) return { vipBase: ipv4ToUint32(vip), vipMask: 0xffffffff };
  const len = Number(vip.slice(slash + 1));
  const vipMask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { vipBase: (ipv4ToUint32(vip.slice(0, slash)) & vipMask) >>> 0, vipMask };
}

function inVip(service: ServiceState, addr: number): boolean {
  return ((addr & service.vipMask) >>> 0) === service.vipBase;
}

/**
 * vadc's load-balancing application. Pure, Faucet-style: every handler takes `now` and returns the
 * OpenFlow messages to send; the controller runtime does the I/O. It owns the services' scheduling
 * state and connection tables, and decides for each new connection which backend vNIC and software
 * port it goes to.
 */
export class LoadBalancerApp implements ControllerApp {
  private services: ServiceState[] = [];
  /** Services by protocol and port (proto << 16 | port), in configuration order: the packet-in's lookup. */
  private servicesByPort = new Map<number, ServiceState[]>();
  private readonly switches = new Map<bigint, SwitchInfo>();
  private readonly vnics = new Map<string, VnicInfo>();
  private readonly pendingEvents: AppEvent[] = [];
  // Scratch records reused by every packet-in (the handler runs to completion, nothing keeps them).
  private readonly header: TransportHeader = emptyTransportHeader();
  private readonly key: ConnKey = { proto: 0, clientIp: 0, clientPort: 0, vip: 0, vipPort: 0 };
  private readonly packetKey: PacketKey = { srcIp: 0, srcPort: 0, dstIp: 0, dstPort: 0, proto: 0 };
  private readonly wireValues: ConnectionWireValues = {
    connectionId: 0, clientOfport: 0, clientIp: 0, clientPort: 0, clientMacSource: Buffer.alloc(0), clientMacOffset: 6, vipIp: 0,
    backendOfport: 0, backendIp: 0, backendPort: 0, backendMac: Buffer.alloc(6),
  };
  /** Restrict to one datapath (config `dpid`); undefined = every switch that connects. */
  private readonly onlyDpid: bigint | undefined;
  /** Conntrack NAT mode (config datapath.nat = conntrack): the zone; undefined = per-connection NAT flows. */
  private readonly ctZone: number | undefined;
  /** Conntrack mode: connections counted from the tracker's listing, or from one accounting flow each. */
  private readonly ctAccounting: 'conntrack' | 'flows' | undefined;
  /** Conntrack mode: the backend flow installed for each "serviceId/backend". */
  private readonly backendFlows = new Map<string, BackendFlow>();
  /** Flow changes for one switch that arose outside a handler's reply (drainSwitchMessages). */
  private readonly pendingSwitchMessages = new Map<bigint, OfpMessage[]>();

  constructor(services: readonly ServiceConfig[], opts: { dpid?: string; datapath?: DatapathConfig } = {}) {
    this.onlyDpid = opts.dpid ? BigInt(opts.dpid.startsWith('0x') ? opts.dpid : `0x${opts.dpid}`) : undefined;
    this.ctZone = opts.datapath?.nat === 'conntrack' ? opts.datapath.ct_zone : undefined;
    this.ctAccounting = opts.datapath?.nat === 'conntrack' ? opts.datapath.accounting : undefined;
    this.setServices(services, 0);
  }

  /** Per-switch flow changes made by inputs that return nothing (vNIC, health): the daemon sends them. */
  drainSwitchMessages(): Array<{ dpid: bigint; msgs: OfpMessage[] }> {
    if (this.pendingSwitchMessages.size === 0) return [];
    const out = [...this.pendingSwitchMessages].map(([dpid, msgs]) => ({ dpid, msgs }));
    this.pendingSwitchMessages.clear();
    return out;
  }

  // ------------------------------------------------------------------ configuration

  /**
   * Replace the service list. Services kept by name keep their connection tables and counters; their
   * backends are reconciled (added, removed, re-weighted) without touching established connections.
   * Returns the flow changes for every connected switch.
   */
  setServices(configs: readonly ServiceConfig[], _now: number): OfpMessage[] {
    const ids = serviceIds(configs.map((s) => s.name));
    const old = new Map(this.services.map((s) => [s.config.name, s]));
    const next: ServiceState[] = [];
    for (const config of configs) {
      const prev = old.get(config.name);
      if (prev && this.sameShape(prev.config, config)) {
        this.reconcileBackends(prev, config);
        prev.config = config;
        next.push(prev);
        old.delete(config.name);
      } else {
        next.push(this.makeService(ids.get(config.name)!, config));
      }
    }
    const removed = [...old.values()];
    const oldVips = new Set(this.services.map((s) => s.config.vip));
    this.services = next;
    this.servicesByPort = new Map();
    for (const service of next) {
      const slot = (service.proto << 16) | service.config.port;
      const list = this.servicesByPort.get(slot);
      if (list) list.push(service);
      else this.servicesByPort.set(slot, [service]);
    }
    this.relocateAll();
    const msgs: OfpMessage[] = [];
    for (const gone of removed) {
      msgs.push(buildDeleteService(gone.id));
      // The delete took its backend flows too; a replacement under the same id re-adds its own.
      for (const [key, flow] of this.backendFlows) if (flow.serviceId === gone.id) this.backendFlows.delete(key);
    }
    const newVips = new Set(next.map((s) => s.config.vip));
    for (const vip of oldVips) if (!newVips.has(vip)) msgs.push(...buildDeleteVipFlows(vip));
    for (const vip of newVips) msgs.push(...buildVipFlows(vip));
    for (const s of next) msgs.push(...this.serviceFlows(s));
    this.syncBackendFlows();
    return msgs;
  }

  /** A service's fixed flows: its table-0 match, and in conntrack mode its reply path. */
  private serviceFlows(s: ServiceState): FlowMod[] {
    const spec = { serviceId: s.id, vip: s.config.vip, protocol: s.l4, port: s.config.port };
    if (this.ctZone === undefined) return buildServiceFlows(spec);
    return [
      ...buildCtServiceFlows(spec, this.ctZone),
      ...buildCtReplyFlows({
        serviceId: s.id, protocol: s.l4, zone: this.ctZone, vipMac: s.config.vip_mac,
        backends: membersOf(s.config).flatMap((b) => b.ports.map((port) => ({ ip: b.ip, port }))),
      }),
    ];
  }

  /**
   * Conntrack mode: one table-1 flow per located, not-failed backend of each service takes the service's
   * packets the tracker translated to that backend to its vNIC. Adds, moves and removes them as backends
   * appear, move, fail and come back; the changes wait in pendingSwitchMessages.
   */
  private syncBackendFlows(): void {
    if (this.ctZone === undefined) return;
    const wanted = new Map<string, BackendFlow>();
    for (const service of this.services) {
      for (const state of service.backends.values()) {
        const loc = state.location;
        if (!loc || state.healthy === false || !this.switches.has(loc.dpid)) continue;
        wanted.set(`${service.id}/${state.config.name}`, { dpid: loc.dpid, serviceId: service.id, ip: state.config.ip, mac: loc.mac, ofport: loc.ofport });
      }
    }
    let withConns: Map<number, Set<string>> | undefined;
    for (const [key, have] of this.backendFlows) {
      const want = wanted.get(key);
      if (want && want.dpid === have.dpid && want.ip === have.ip && want.mac === have.mac && want.ofport === have.ofport) continue;
      if (!want && this.switches.has(have.dpid)) {
        // A backend taken out of the configuration keeps carrying its established connections (as their
        // flows do in flows mode) until the last one ends.
        const service = this.services.find((x) => x.id === have.serviceId);
        const name = key.slice(key.indexOf('/') + 1);
        if (service && !service.backends.has(name)) {
          withConns ??= this.backendsWithConnections();
          if (withConns.get(service.id)?.has(name)) continue;
        }
      }
      if (this.switches.has(have.dpid)) this.queueSwitchMessage(have.dpid, buildDeleteCtBackendFlow(have));
      this.backendFlows.delete(key);
    }
    for (const [key, want] of wanted) {
      if (this.backendFlows.has(key)) continue;
      this.queueSwitchMessage(want.dpid, buildCtBackendFlow(want));
      this.backendFlows.set(key, want);
    }
  }

  /** Backend ids holding at least one tracked connection, per service id. */
  private backendsWithConnections(): Map<number, Set<string>> {
    const out = new Map<number, Set<string>>();
    for (const service of this.services) {
      const ids = new Set<string>();
      for (const record of service.lb.connections.export()) ids.add(record.backendId);
      out.set(service.id, ids);
    }
    return out;
  }

  private queueSwitchMessage(dpid: bigint, msg: OfpMessage): void {
    const list = this.pendingSwitchMessages.get(dpid);
    if (list) list.push(msg);
    else this.pendingSwitchMessages.set(dpid, [msg]);
  }

  /** Pending messages for one switch, taken out of the queue (a handler returns them with its own). */
  private takeSwitchMessages(dpid: bigint): OfpMessage[] {
    const msgs = this.pendingSwitchMessages.get(dpid) ?? [];
    this.pendingSwitchMessages.delete(dpid);
    return msgs;
  }

  /** Services whose VIP, port or protocol changed are replaced; scheduler changes too (new state). */
  private sameShape(a: ServiceConfig, b: ServiceConfig): boolean {
    return a.vip === b.vip && a.port === b.port && a.protocol === b.protocol && a.scheduler === b.scheduler
      && JSON.stringify(a.scheduler_flags) === JSON.stringify(b.scheduler_flags) && a.mh_table_size === b.mh_table_size
      && a.persistence === b.persistence;
  }

  private makeService(id: number, config: ServiceConfig): ServiceState {
    const flags = new Set(config.scheduler_flags);
    const lb = new LbService(
      membersOf(config).map((b) => ({
        id: b.name, ip: b.ip, ports: b.ports, weight: b.weight, upperThreshold: b.u_threshold, lowerThreshold: b.l_threshold,
      })),
      {
        scheduler: config.scheduler,
        schedulerOptions: {
          sh: { hashPort: flags.has('sh-port'), fallback: flags.has('sh-fallback') },
          mh: { tableSize: config.mh_table_size, hashPort: flags.has('mh-port'), fallback: flags.has('mh-fallback') },
          feedback: { staleAfterMs: config.feedback_interval * 1000 * 2.5 },
        },
        persistence: config.persistence > 0 ? { timeoutMs: config.persistence * 1000 } : undefined,
      },
    );
    const service: ServiceState = {
      id, config, lb, proto: PROTO_NUMBER[config.protocol], l4: config.protocol, backends: new Map(),
      nextConnectionId: 1, decisions: 0, refused: 0, ...vipRange(config.vip),
    };
    for (const b of config.backends) service.backends.set(b.name, this.newBackendState(b));
    if (config.sorry_backend) service.backends.set(config.sorry_backend.name, this.newBackendState(config.sorry_backend, true));
    this.refreshTiers(service);
    return service;
  }

  private newBackendState(config: ServiceConfig['backends'][number], sorry = false): BackendState {
    return { config, sorry, healthy: undefined, inActiveTier: !sorry, draining: false, totalConns: 0, packets: 0, bytes: 0, closedPackets: 0, closedBytes: 0 };
  }

  private reconcileBackends(service: ServiceState, config: ServiceConfig): void {
    const wanted = new Map(membersOf(config).map((b) => [b.name, b]));
    const sorryName = config.sorry_backend?.name;
    for (const name of [...service.backends.keys()]) {
      if (!wanted.has(name)) {
        service.lb.removeBackend(name);
        service.backends.delete(name);
      }
    }
    for (const [name, b] of wanted) {
      const state = service.backends.get(name);
      if (!state) {
        service.lb.addBackend({ id: name, ip: b.ip, ports: b.ports, weight: b.weight, upperThreshold: b.u_threshold, lowerThreshold: b.l_threshold });
        service.backends.set(name, this.newBackendState(b, name === sorryName));
      } else {
        state.config = b;
        state.sorry = name === sorryName;
        if (!state.draining) service.lb.setWeight(name, b.weight);
        service.lb.setThresholds(name, b.u_threshold, b.l_threshold);
      }
    }
    this.refreshTiers(service);
  }

  // ------------------------------------------------------------------ inputs from the daemon

  /** OVSDB's view of a vNIC (selector as configured: 'NAME', 'iface-id:ID', 'mac:MAC'); undefined = gone. */
  setVnic(selector: string, info: VnicInfo | undefined): void {
    if (info) this.vnics.set(selector, info);
    else this.vnics.delete(selector);
    this.relocateAll();
  }

  /** Health verdict for one backend (from src/health). */
  setHealth(serviceName: string, backendName: string, healthy: boolean): void {
    const service = this.requireService(serviceName);
    const state = service.backends.get(backendName);
    if (!state) return;
    state.healthy = healthy;
    this.refreshAvailability(service, state);
    this.syncBackendFlows();
  }

  /**
   * Where new connections go, as the failover logic decided: the listed backends of one tier, the
   * sorry backend alone, or nowhere (refused with RST / ICMP unreachable).
   */
  setRouting(serviceName: string, routing: { kind: 'tier'; backends: readonly string[] } | { kind: 'sorry'; backend: string } | { kind: 'refuse' }): void {
    const service = this.requireService(serviceName);
    for (const [name, state] of service.backends) {
      state.inActiveTier = routing.kind === 'tier' ? routing.backends.includes(name) : routing.kind === 'sorry' ? routing.backend === name : false;
      this.refreshAvailability(service, state);
    }
  }

  setWeight(serviceName: string, backendName: string, weight: number): void {
    const service = this.requireService(serviceName);
    const state = this.requireBackend(service, backendName);
    state.draining = false;
    state.config = { ...state.config, weight };
    service.lb.setWeight(backendName, weight);
  }

  /** Quiesce: weight 0 so no new connections; established ones finish. */
  drain(serviceName: string, backendName: string): void {
    const service = this.requireService(serviceName);
    this.requireBackend(service, backendName).draining = true;
    service.lb.setWeight(backendName, 0);
  }

  enable(serviceName: string, backendName: string): void {
    const service = this.requireService(serviceName);
    const state = this.requireBackend(service, backendName);
    state.draining = false;
    service.lb.setWeight(backendName, state.config.weight);
  }

  /** One statistics sample for the feedback scheduler. */
  feedLoad(serviceName: string, backendName: string, sample: LoadSample): void {
    const service = this.requireService(serviceName);
    if (service.lb.scheduler instanceof FeedbackScheduler) service.lb.scheduler.feed(backendName, sample);
  }

  /** Events since the last call (located/lost backends, refusals, restored connections). */
  drainEvents(): AppEvent[] {
    return this.pendingEvents.splice(0, this.pendingEvents.length);
  }

  // ------------------------------------------------------------------ OpenFlow handlers

  onSwitchUp(sw: SwitchInfo, _now: number): OfpMessage[] {
    if (this.onlyDpid !== undefined && sw.dpid !== this.onlyDpid) return [];
    this.switches.set(sw.dpid, sw);
    // The switch may have lost its flows (an OVS restart): its backend flows are added again (ADD is idempotent).
    this.forgetBackendFlows(sw.dpid);
    this.relocateAll();
    // Never a wipe: the pipeline and service flows are (re)added; connection flows stay in place and
    // the daemon rebuilds the connection table from them (restoreConnections).
    const msgs: OfpMessage[] = [...buildPipelineFlows()];
    if (this.ctZone !== undefined) msgs.push(...buildCtPipelineFlows());
    for (const vip of new Set(this.services.map((s) => s.config.vip))) msgs.push(...buildVipFlows(vip));
    for (const s of this.services) msgs.push(...this.serviceFlows(s));
    msgs.push(...this.takeSwitchMessages(sw.dpid));
    return msgs;
  }

  onSwitchDown(dpid: bigint, _now: number): void {
    this.switches.delete(dpid);
    this.forgetBackendFlows(dpid);
    this.pendingSwitchMessages.delete(dpid);
    this.relocateAll();
  }

  private forgetBackendFlows(dpid: bigint): void {
    for (const [key, flow] of this.backendFlows) if (flow.dpid === dpid) this.backendFlows.delete(key);
  }

  onPortStatus(sw: SwitchInfo, _msg: PortStatus, _now: number): OfpMessage[] {
    if (!this.switches.has(sw.dpid)) return [];
    // The runtime has already applied the change to sw.ports.
    this.relocateAll();
    return this.takeSwitchMessages(sw.dpid);
  }

  /** A packet-in: answers as codec messages (a new connection's flows as FlowMod objects). */
  onPacketIn(sw: SwitchInfo, msg: PacketIn, now: number): OfpMessage[] {
    return this.packetIn(sw, msg, now, false) as OfpMessage[];
  }

  /**
   * The same decisions as onPacketIn, with a new connection's two flow-mods and packet-out pre-encoded
   * (byte for byte what encode() makes of onPacketIn's messages): the controller runtime's fast path.
   */
  onPacketInEncoded(sw: SwitchInfo, msg: PacketIn, now: number): OutboundMessage[] {
    return this.packetIn(sw, msg, now, true);
  }

  private packetIn(sw: SwitchInfo, msg: PacketIn, now: number, encoded: boolean): OutboundMessage[] {
    if (!this.switches.has(sw.dpid)) return [];
    const inPort = inPortOf(msg);
    // IPv4 TCP/UDP, nearly every packet-in, is read as numbers; the rest goes through the general parser.
    if (readTransportHeader(msg.data, this.header)) return this.newConnection(sw, msg.data, this.header, inPort, now, encoded);
    const parsed = parsePacket(msg.data);
    if (!parsed.ok) {
      this.event({ kind: 'bad_packet', level: 'warn', message: `unparsable packet-in: ${parsed.reason}`, dpid: sw.dpid });
      return [];
    }
    const pkt = parsed.packet;
    if (pkt.ethType === ETH_TYPE_ARP && pkt.arp) return this.answerArp(pkt, inPort);
    if (pkt.ethType !== ETH_TYPE_IPV4 || !pkt.ipv4) return [];
    const dst = ipv4ToUint32(pkt.ipv4.dst);
    if (pkt.ipv4.proto === IP_PROTO_ICMP && pkt.icmp?.type === 8) return this.answerEcho(msg.data, pkt, dst, inPort);
    return this.refuse(msg.data, pkt, dst, inPort, undefined, 'not TCP/UDP to a service port');
  }

  /**
   * A connection ends when its forward flow goes (idle timeout, FIN timeout, delete): uncount it and take
   * the reverse half with it. A reverse half that idles out alone (one-way traffic) is left to the forward
   * flow's lifetime.
   */
  onFlowRemoved(sw: SwitchInfo, msg: FlowRemoved, now: number): OfpMessage[] {
    const parts = parseCookie(msg.cookie);
    if (parts?.kind !== 'connection' || msg.tableId !== TABLE.FORWARD) return [];
    const service = this.services.find((s) => s.id === parts.serviceId);
    if (!service) return [];
    const key = forwardKey(msg, service.proto);
    if (key) this.closeConnection(service, key, msg, now);
    if (this.ctZone !== undefined) {
      // No reverse half to take along; a retired backend's flow may go with its last connection.
      this.syncBackendFlows();
      return this.takeSwitchMessages(sw.dpid);
    }
    return msg.reason === OFPRR_DELETE ? [] : [buildDeleteConnection(service.id, parts.connectionId)];
  }

  // ------------------------------------------------------------------ restart and statistics

  /**
   * After a (re)connect: re-track the connections whose flows are still in the switch, so counters and
   * schedulers carry on where the previous controller left off. Returns deletes for half-present pairs.
   */
  restoreConnections(dpid: bigint, entries: FlowStats[], now: number): OfpMessage[] {
    // Conntrack mode's accounting flows stand alone (no reverse half); the rest pair up as forward/reverse.
    const ctFlows = entries.filter(isCtAccountingFlow);
    const { connections, orphans } = readConnectionFlows(entries.filter((e) => !isCtAccountingFlow(e)));
    for (const flow of ctFlows) {
      const conn = ctConnectionFromFlow(flow);
      if (conn) connections.push(conn);
      else orphans.push(flow.cookie);
    }
    const msgs: OfpMessage[] = [];
    let restored = 0;
    for (const conn of connections) {
      const service = this.services.find((s) => s.id === conn.serviceId);
      const backend = service ? [...service.backends.values()].find((b) => b.config.ip === conn.backend.ip && b.config.ports.includes(conn.backend.port)) : undefined;
      if (!service || !backend) {
        msgs.push(buildDeleteConnection(conn.serviceId, conn.connectionId));
        continue;
      }
      const record: ConnRecord = {
        proto: service.proto, clientIp: ipv4ToUint32(conn.client.ip), clientPort: conn.client.port, vip: ipv4ToUint32(conn.vip.ip),
        vipPort: conn.vip.port, backendId: backend.config.name, softwarePort: conn.backend.port,
        state: service.proto === IP_PROTO_TCP ? 'active' : 'inactive', created: now, lastSeen: now,
      };
      const { imported } = service.lb.connections.import([record], (id) => service.lb.backendById(id));
      if (imported) {
        restored++;
        service.nextConnectionId = Math.max(service.nextConnectionId, conn.connectionId + 1) % (MAX_CONNECTION_ID + 1) || 1;
      }
    }
    for (const cookie of orphans) {
      const parts = parseCookie(cookie);
      if (parts) msgs.push(buildDeleteConnection(parts.serviceId, parts.connectionId));
    }
    if (restored || orphans.length) {
      this.event({
        kind: 'connections_restored', level: 'info', dpid,
        message: `re-tracked ${restored} established connection(s) from the switch's flows${orphans.length ? `, removed ${orphans.length} half pair(s)` : ''}`,
        data: { restored, orphans: orphans.length },
      });
    }
    return msgs;
  }

  /**
   * Periodic flow statistics of connection flows: packets/bytes per backend, and TCP connections whose
   * reverse flow carried packets count as active (established), as IPVS counts ESTABLISHED.
   */
  applyFlowStats(entries: FlowStats[], now: number): void {
    const forward = new Map<bigint, FlowStats>();
    const reverse = new Map<bigint, FlowStats>();
    for (const e of entries) {
      if (parseCookie(e.cookie)?.kind !== 'connection') continue;
      (e.tableId === TABLE.FORWARD ? forward : reverse).set(e.cookie, e);
    }
    const perBackend = new Map<BackendState, { packets: number; bytes: number }>();
    for (const [cookie, fwd] of forward) {
      const parts = parseCookie(cookie)!;
      const service = this.services.find((s) => s.id === parts.serviceId);
      if (!service) continue;
      const key = forwardKey(fwd, service.proto);
      if (!key) continue;
      const entry = service.lb.connections.lookup(key);
      if (!entry) continue;
      const rev = reverse.get(cookie);
      const packets = Number(fwd.packetCount) + Number(rev?.packetCount ?? 0n);
      const bytes = Number(fwd.byteCount) + Number(rev?.byteCount ?? 0n);
      service.lb.connections.touch(key, now);
      // Flows mode: the reply half carried packets and the client sent more than its SYN. Conntrack mode: the
      // accounting flow sees only established (post-handshake) packets.
      const established = rev ? rev.packetCount > 0n && fwd.packetCount > 1n : isCtAccountingFlow(fwd) && fwd.packetCount > 0n;
      if (service.proto === IP_PROTO_TCP && entry.state === 'inactive' && established) {
        service.lb.connections.setState(key, 'active');
      }
      const state = service.backends.get(entry.backend.id);
      if (state) {
        const acc = perBackend.get(state) ?? { packets: 0, bytes: 0 };
        acc.packets += packets;
        acc.bytes += bytes;
        perBackend.set(state, acc);
      }
    }
    for (const service of this.services) {
      for (const state of service.backends.values()) {
        const acc = perBackend.get(state);
        // Counters of live connections; finished connections' counts are added on flow_removed.
        state.packets = state.closedPackets + (acc?.packets ?? 0);
        state.bytes = state.closedBytes + (acc?.bytes ?? 0);
      }
    }
  }

  /**
   * Tracker accounting (conntrack mode): the tracker's listing of vadc's zone is the truth about which
   * connections live. A TCP connection counts as active once ESTABLISHED; one that is closing, or that
   * the tracker no longer has (older than `graceMs`, so one whose commit is still on its way is kept),
   * is closed. Returns how many were closed.
   */
  applyConntrack(entries: readonly ConntrackEntry[], now: number, graceMs = 2000): number {
    if (this.ctAccounting !== 'conntrack') return 0;
    const live = new Map<string, ConntrackEntry>();
    for (const e of entries) if (e.zone === this.ctZone) live.set(trackerKey(e.proto === 'tcp' ? IP_PROTO_TCP : IP_PROTO_UDP, e.orig.src, e.orig.sport, e.orig.dst, e.orig.dport), e);
    let closed = 0;
    for (const service of this.services) {
      for (const record of service.lb.connections.export()) {
        const entry = live.get(trackerKey(record.proto, record.clientIp, record.clientPort, record.vip, record.vipPort));
        if (entry && (entry.mark >>> 16) === service.id && !isClosing(entry)) {
          service.lb.connections.touch(record, now);
          if (record.state === 'inactive' && entry.proto === 'tcp' && isEstablished(entry)) service.lb.connections.setState(record, 'active');
        } else if (entry || now - record.created >= graceMs) {
          service.lb.close(record, now);
          closed++;
        }
      }
    }
    if (closed) this.syncBackendFlows();
    return closed;
  }

  /**
   * After a (re)connect in tracker accounting: re-track the live connections the tracker holds for vadc's
   * services (service id in ct_mark's high half, backend from the reply tuple).
   */
  restoreFromConntrack(dpid: bigint, entries: readonly ConntrackEntry[], now: number): void {
    if (this.ctAccounting !== 'conntrack') return;
    let restored = 0;
    for (const e of entries) {
      if (e.zone !== this.ctZone || isClosing(e)) continue;
      const service = this.services.find((s) => s.id === e.mark >>> 16 && s.l4 === e.proto);
      if (!service) continue;
      const backendIp = uint32ToIpv4(e.reply.src);
      const backend = [...service.backends.values()].find((b) => b.config.ip === backendIp && b.config.ports.includes(e.reply.sport));
      if (!backend) continue;
      const record: ConnRecord = {
        proto: service.proto, clientIp: e.orig.src, clientPort: e.orig.sport, vip: e.orig.dst, vipPort: e.orig.dport,
        backendId: backend.config.name, softwarePort: e.reply.sport,
        state: e.proto === 'tcp' && isEstablished(e) ? 'active' : 'inactive', created: now, lastSeen: now,
      };
      if (service.lb.connections.has(record)) continue;
      const { imported } = service.lb.connections.import([record], (id) => service.lb.backendById(id));
      if (imported) {
        restored++;
      }
    }
    if (restored) {
      this.event({
        kind: 'connections_restored', level: 'info', dpid,
        message: `re-tracked ${restored} established connection(s) from the connection tracker`, data: { restored, orphans: 0 },
      });
    }
  }

  // ------------------------------------------------------------------ views for status, API, metrics

  serviceStates(): ReadonlyArray<{
    id: number; config: ServiceConfig; lb: LbService; decisions: number; refused: number;
    backends: ReadonlyMap<string, Readonly<BackendState>>;
  }> {
    return this.services;
  }

  connectionRecords(serviceName?: string): { service: string; record: ConnRecord }[] {
    const out: { service: string; record: ConnRecord }[] = [];
    for (const s of this.services) {
      if (serviceName && s.config.name !== serviceName) continue;
      for (const record of s.lb.connections.export()) out.push({ service: s.config.name, record });
    }
    return out;
  }

  locationOf(serviceName: string, backendName: string): BackendLocation | undefined {
    return this.requireService(serviceName).backends.get(backendName)?.location;
  }

  connectionCount(serviceName: string, backendName: string): number {
    const backend = this.requireService(serviceName).lb.backendById(backendName);
    return backend?.totalConns ?? 0;
  }

  /**
   * A backend died: forget its connections and delete their flows, so clients notice at once and
   * reconnect to a healthy backend. Flows of other backends are untouched.
   */
  dropBackendConnections(serviceName: string, backendName: string, now: number): OfpMessage[] {
    const service = this.requireService(serviceName);
    const state = this.requireBackend(service, backendName);
    for (const record of service.lb.connections.export()) {
      if (record.backendId === backendName) service.lb.close(record, now);
    }
    if (!state.location) return [];
    // Conntrack mode has only forward (accounting) flows; its backend flow goes with the health verdict
    // (syncBackendFlows), so the clients' next packets reach vadc, which answers them with a RST.
    return deleteBackendConnectionFlows(service.id, state.location.ofport, this.ctZone === undefined);
  }

  // ------------------------------------------------------------------ internals

  private newConnection(sw: SwitchInfo, frame: Buffer, h: TransportHeader, inPort: number, now: number, encoded: boolean): OutboundMessage[] {
    const proto = h.proto;
    const dst = h.dst;
    let service: ServiceState | undefined;
    const onPort = this.servicesByPort.get((proto << 16) | h.dstPort);
    if (onPort) {
      for (const s of onPort) {
        if (inVip(s, dst)) {
          service = s;
          break;
        }
      }
    }
    if (!service) return this.refuseFrame(frame, dst, inPort, undefined, 'no service on this port');
    const key = this.key;
    key.proto = proto;
    key.clientIp = h.src;
    key.clientPort = h.srcPort;
    key.vip = dst;
    key.vipPort = h.dstPort;
    const known = service.lb.connections.has(key);
    // A TCP segment that opens nothing (e.g. after the flows idled out) gets a RST, as a host would answer it.
    if (!known && proto === IP_PROTO_TCP && (h.tcpFlags & (TCP_FLAGS.SYN | TCP_FLAGS.ACK | TCP_FLAGS.RST)) !== TCP_FLAGS.SYN) {
      if (h.tcpFlags & TCP_FLAGS.RST) return [];
      return this.refuseFrame(frame, dst, inPort, service, 'segment of an unknown connection');
    }
    if (known) {
      if (this.ctZone !== undefined) return this.recommit(service, sw, frame, inPort);
      // A packet of a connection whose flows are already on their way or in place: a retransmitted first
      // packet, or one that met a datapath cache entry OVS had not yet revalidated after the flow-mods.
      // Send it through the tables (which have the flows); re-sending the flows would only add work.
      return [buildResubmitPacketOut(frame, inPort)];
    }
    const pk = this.packetKey;
    pk.srcIp = h.src;
    pk.srcPort = h.srcPort;
    pk.dstIp = dst;
    pk.dstPort = h.dstPort;
    pk.proto = proto;
    const placement = service.lb.open(pk, 'inactive', now);
    if (!placement) return this.refuseFrame(frame, dst, inPort, service, 'no backend available');
    const { backend, softwarePort } = placement;
    const state = service.backends.get(backend.id);
    const location = state?.location;
    if (!state || !location || location.dpid !== sw.dpid) {
      service.lb.close(key, now);
      return this.refuseFrame(frame, dst, inPort, service, `backend ${backend.id} is not reachable from switch ${dpidText(sw.dpid)}`);
    }
    service.decisions++;
    state.totalConns++;
    const connectionId = this.nextConnectionId(service);
    if (encoded && this.ctZone === undefined) return [this.encodeConnection(service, state, location, connectionId, frame, h, inPort, softwarePort)];
    if (encoded && this.ctAccounting === 'conntrack') return [this.encodeCommit(service, state, location, frame, inPort, softwarePort)];
    const spec: ConnectionSpec = {
      serviceId: service.id, connectionId, protocol: service.l4,
      idleTimeout: service.config.idle_timeout, finTimeout: service.config.fin_timeout,
      client: { ofport: inPort, mac: formatMac(frame, 6), ip: uint32ToIpv4(h.src), port: h.srcPort },
      vip: { mac: service.config.vip_mac, ip: uint32ToIpv4(dst), port: h.dstPort },
      backend: { ofport: location.ofport, mac: location.mac, ip: state.config.ip, port: softwarePort },
    };
    if (this.ctZone !== undefined) {
      const commit = buildCtCommitPacketOut(frame, inPort, {
        zone: this.ctZone, serviceId: service.id, clientOfport: inPort, backendIp: state.config.ip, backendPort: softwarePort,
        backendMac: location.mac, backendOfport: location.ofport,
      });
      // Tracker accounting: the connection is read back from the tracker, no per-connection flow at all.
      return this.ctAccounting === 'flows' ? [buildCtConnectionFlow(spec), commit] : [commit];
    }
    const [forward, reverse] = buildConnectionFlows(spec);
    return [forward, reverse, buildResubmitPacketOut(frame, inPort)];
  }

  /**
   * Conntrack mode, a packet of a known connection at the controller: the client's first packet again
   * before vadc's commit of it reached the tracker (a quick retransmit), or one that arrived before its
   * backend flow. The same commit again: the tracker keeps the first binding, so it goes where that went.
   */
  private recommit(service: ServiceState, sw: SwitchInfo, frame: Buffer, inPort: number): OfpMessage[] {
    const entry = service.lb.connections.lookup(this.key);
    if (!entry) return [];
    // Where the backend is, or, for one taken out of the configuration, where its retained flow sends to.
    const location = service.backends.get(entry.backend.id)?.location ?? this.backendFlows.get(`${service.id}/${entry.backend.id}`);
    if (!location || location.dpid !== sw.dpid) return [];
    return [buildCtCommitPacketOut(frame, inPort, {
      zone: this.ctZone!, serviceId: service.id, clientOfport: inPort, backendIp: uint32ToIpv4(entry.backend.ip), backendPort: entry.softwarePort,
      backendMac: location.mac, backendOfport: location.ofport,
    })];
  }

  /** The connection's flows and packet-out as bytes, from the service's templates. */
  private encodeConnection(
    service: ServiceState, state: BackendState, location: BackendLocation, connectionId: number, frame: Buffer, h: TransportHeader,
    inPort: number, softwarePort: number,
  ): PreEncodedMessages {
    if (service.wire?.config !== service.config) {
      const c = service.config;
      service.wire = {
        config: c,
        encoder: new ConnectionWireEncoder({
          serviceId: service.id, protocol: service.l4, idleTimeout: c.idle_timeout, finTimeout: c.fin_timeout, vipMac: c.vip_mac, vipPort: c.port,
        }),
      };
    }
    if (state.locationMac?.mac !== location.mac) state.locationMac = { mac: location.mac, bytes: macBytes(location.mac) };
    if (state.backendIp?.text !== state.config.ip) state.backendIp = { text: state.config.ip, value: ipv4ToUint32(state.config.ip) };
    const v = this.wireValues;
    v.connectionId = connectionId;
    v.clientOfport = inPort;
    v.clientIp = h.src;
    v.clientPort = h.srcPort;
    v.clientMacSource = frame;
    v.vipIp = h.dst;
    v.backendOfport = location.ofport;
    v.backendIp = state.backendIp.value;
    v.backendPort = softwarePort;
    v.backendMac = state.locationMac.bytes;
    const bytes = service.wire.encoder.encode(v, frame);
    v.clientMacSource = EMPTY;
    return { type: 'pre_encoded', bytes, messages: CONNECTION_WIRE_MESSAGES, flowMods: CONNECTION_WIRE_FLOW_MODS };
  }

  /** Conntrack mode with tracker accounting: the commit packet-out as bytes, from the service's template. */
  private encodeCommit(service: ServiceState, state: BackendState, location: BackendLocation, frame: Buffer, inPort: number, softwarePort: number): PreEncodedMessages {
    service.ctWire ??= new CtCommitWireEncoder(this.ctZone!, service.id);
    if (state.locationMac?.mac !== location.mac) state.locationMac = { mac: location.mac, bytes: macBytes(location.mac) };
    if (state.backendIp?.text !== state.config.ip) state.backendIp = { text: state.config.ip, value: ipv4ToUint32(state.config.ip) };
    const bytes = service.ctWire.encode({
      clientOfport: inPort, backendIp: state.backendIp.value, backendPort: softwarePort, backendMac: state.locationMac.bytes, backendOfport: location.ofport,
    }, frame);
    return { type: 'pre_encoded', bytes, messages: 1, flowMods: 0 };
  }

  /** Ids only need to be unique among live connections; a counter wraps after 2^28 connections. */
  private nextConnectionId(service: ServiceState): number {
    const id = service.nextConnectionId;
    service.nextConnectionId = id >= MAX_CONNECTION_ID ? 1 : id + 1;
    return id;
  }

  private closeConnection(service: ServiceState, key: ConnKey, msg: FlowRemoved, now: number): void {
    const entry = service.lb.connections.lookup(key);
    if (!entry) return;
    const state = service.backends.get(entry.backend.id);
    if (state) {
      state.closedPackets += Number(msg.packetCount);
      state.closedBytes += Number(msg.byteCount);
    }
    service.lb.close(key, now);
  }

  private answerArp(pkt: ParsedPacket, inPort: number): OfpMessage[] {
    const arp = pkt.arp!;
    if (arp.op !== ARP_REQUEST) return [];
    const target = ipv4ToUint32(arp.tpa);
    const service = this.services.find((s) => inVip(s, target));
    if (!service) return [];
    return [buildReplyPacketOut(buildArpReply(pkt, service.config.vip_mac), inPort)];
  }

  private answerEcho(frame: Buffer, pkt: ParsedPacket, dst: number, inPort: number): OfpMessage[] {
    const service = this.services.find((s) => inVip(s, dst));
    if (!service) return [];
    return [buildReplyPacketOut(buildIcmpEchoReply(frame, pkt, service.config.vip_mac), inPort)];
  }

  /** A clean refusal rather than silence: TCP RST, or ICMP port unreachable for anything else. */
  private refuse(frame: Buffer, pkt: ParsedPacket, dst: number, inPort: number, service: ServiceState | undefined, reason: string): OfpMessage[] {
    const owner = service ?? this.services.find((s) => inVip(s, dst));
    if (!owner) return [];
    if (service) service.refused++;
    this.event({
      kind: 'connection_refused', level: 'warn', service: owner.config.name,
      message: `refused ${pkt.ipv4!.src}:${pkt.l4?.src ?? '-'} -> ${pkt.ipv4!.dst}:${pkt.l4?.dst ?? '-'}: ${reason}`,
    });
    const vipMac = owner.config.vip_mac;
    const reply = pkt.ipv4!.proto === IP_PROTO_TCP && pkt.l4
      ? buildTcpReset(frame, pkt, vipMac)
      : buildIcmpUnreachable(frame, pkt, vipMac, pkt.ipv4!.proto === IP_PROTO_UDP ? ICMP_UNREACHABLE.PORT : ICMP_UNREACHABLE.PROTOCOL);
    return [buildReplyPacketOut(reply, inPort)];
  }

  /** refuse() for a packet read by the fast path: the full parse happens only now, on the rare refusal. */
  private refuseFrame(frame: Buffer, dst: number, inPort: number, service: ServiceState | undefined, reason: string): OfpMessage[] {
    const parsed = parsePacket(frame);
    return parsed.ok ? this.refuse(frame, parsed.packet, dst, inPort, service, reason) : [];
  }

  /** Where each backend's vNIC is: OVSDB's interface name (or the selector itself) looked up in the port tables. */
  private relocateAll(): void {
    for (const service of this.services) {
      for (const state of service.backends.values()) {
        const selector = state.config.vnic;
        const vnic = this.vnics.get(selector);
        const portName = vnic?.name ?? (selector.includes(':') ? undefined : selector);
        let location: BackendLocation | undefined;
        if (portName !== undefined) {
          for (const sw of this.switches.values()) {
            for (const port of sw.ports.values()) {
              if (port.name !== portName) continue;
              location = {
                dpid: sw.dpid, ofport: port.portNo, mac: state.config.mac ?? vnic?.mac ?? port.hwAddr,
                linkUp: isPortUp(port) && vnic?.up !== false,
              };
            }
          }
        }
        const before = state.location;
        state.location = location;
        if (!sameLocation(before, location)) {
          this.event(location
            ? { kind: 'backend_located', level: 'info', service: service.config.name, backend: state.config.name, dpid: location.dpid,
              message: `vNIC ${selector} is port ${location.ofport} (${portName}) on ${dpidText(location.dpid)}, link ${location.linkUp ? 'up' : 'down'}` }
            : { kind: 'backend_lost', level: 'warn', service: service.config.name, backend: state.config.name,
              message: `vNIC ${selector} is not on any connected switch` });
        }
        this.refreshAvailability(service, state);
      }
    }
    this.syncBackendFlows();
  }

  /** Tiers come from the failover logic; before it speaks, the lowest configured tier serves. */
  private refreshTiers(service: ServiceState): void {
    const lowest = Math.min(...[...service.backends.values()].filter((b) => !b.sorry).map((b) => b.config.tier));
    for (const state of service.backends.values()) state.inActiveTier = !state.sorry && state.config.tier === lowest;
    for (const state of service.backends.values()) this.refreshAvailability(service, state);
  }

  private refreshAvailability(service: ServiceState, state: BackendState): void {
    const available = state.location !== undefined && state.location.linkUp && state.healthy !== false && state.inActiveTier;
    service.lb.setAvailable(state.config.name, available);
  }

  private requireService(name: string): ServiceState {
    const service = this.services.find((s) => s.config.name === name);
    if (!service) throw new LbAppError('not_found', `no service named ${JSON.stringify(name)}`);
    return service;
  }

  private requireBackend(service: ServiceState, name: string): BackendState {
    const state = service.backends.get(name);
    if (!state) throw new LbAppError('not_found', `service ${service.config.name} has no backend ${JSON.stringify(name)}`);
    return state;
  }

  private event(e: AppEvent): void {
    this.pendingEvents.push(e);
    if (this.pendingEvents.length > 10000) this.pendingEvents.shift();
  }
}

/** The scheduler's members: the tiered backends, then the sorry backend if any. */
function membersOf(config: ServiceConfig): ServiceConfig['backends'] {
  return config.sorry_backend ? [...config.backends, config.sorry_backend] : config.backends;
}

export class LbAppError extends Error {
  constructor(readonly code: 'not_found' | 'invalid', message: string) {
    super(message);
    this.name = 'LbAppError';
  }
}

/** Datapath ids as ovs-ofctl prints them (the controller's own formatter). */
export function dpidText(dpid: bigint): string {
  return formatDpid(dpid);
}

function sameLocation(a: BackendLocation | undefined, b: BackendLocation | undefined): boolean {
  if (!a || !b) return a === b;
  return a.dpid === b.dpid && a.ofport === b.ofport && a.mac === b.mac && a.linkUp === b.linkUp;
}

function inPortOf(msg: PacketIn): number {
  return oxmNumber(msg.match, 'in_port') ?? 0;
}

function oxmNumber(match: readonly Oxm[], field: string): number | undefined {
  for (const oxm of match) if (oxm.field === field && oxm.field !== 'raw') return oxm.value as number;
  return undefined;
}

function oxmText(match: readonly Oxm[], field: string): string | undefined {
  for (const oxm of match) if (oxm.field === field && oxm.field !== 'raw') return oxm.value as string;
  return undefined;
}

/**
 * The connection key from a forward flow's match (client 5-tuple as the client sent it). A conntrack-mode
 * accounting flow matches after NAT, so the VIP side is its ct_nw_dst/ct_tp_dst.
 */
function forwardKey(flow: { match: readonly Oxm[] }, proto: number): ConnKey | undefined {
  const src = oxmText(flow.match, 'ipv4_src');
  const l4 = proto === IP_PROTO_TCP ? ['tcp_src', 'tcp_dst'] : ['udp_src', 'udp_dst'];
  const ctDst = oxmText(flow.match, 'ct_nw_dst');
  const dst = ctDst ?? oxmText(flow.match, 'ipv4_dst');
  const sport = oxmNumber(flow.match, l4[0]);
  const dport = ctDst !== undefined ? oxmNumber(flow.match, 'ct_tp_dst') : oxmNumber(flow.match, l4[1]);
  if (src === undefined || dst === undefined || sport === undefined || dport === undefined) return undefined;
  return { proto, clientIp: ipv4ToUint32(src), clientPort: sport, vip: ipv4ToUint32(dst), vipPort: dport };
}

/**
 * Deletes every connection flow of one backend of a service: forward flows by out_port, reverse ones (flows
 * mode only) by in_port. The selector takes connection flows only, never a conntrack-mode backend flow.
 */
function deleteBackendConnectionFlows(serviceId: number, ofport: number, withReverse: boolean): FlowMod[] {
  const { cookie, cookieMask } = connectionsOfService(serviceId);
  const base: FlowMod = {
    type: 'flow_mod', xid: 0, cookie, cookieMask, tableId: TABLE.FORWARD, command: OFPFC_DELETE, idleTimeout: 0, hardTimeout: 0,
    priority: 0, bufferId: OFP_NO_BUFFER, outPort: ofport, outGroup: OFPG_ANY, flags: 0, match: [], instructions: [],
  };
  return withReverse ? [base, { ...base, tableId: TABLE.REVERSE, outPort: OFPP_ANY, match: [{ field: 'in_port', value: ofport }] }] : [base];
}

/** A conntrack-mode accounting flow: a forward-table connection flow matching the original VIP (ct_nw_dst). */
function isCtAccountingFlow(flow: FlowStats): boolean {
  return flow.tableId === TABLE.FORWARD && flow.match.some((m) => m.field === 'ct_nw_dst');
}


/** One connection's identity as text (client side and VIP side), for matching tracker entries to records. */
function trackerKey(proto: number, clientIp: number, clientPort: number, vip: number, vipPort: number): string {
  return `${proto}/${clientIp}/${clientPort}/${vip}/${vipPort}`;
}
