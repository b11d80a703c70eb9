// The services' and backends' state the app decides with: configuration, scheduler (LbService from src/lb),
// where each backend is, its health verdict, tier and drain, and counters. Pure data and the rules that
// derive availability from it; no OpenFlow.
import type { ServiceConfig } from '../config';
import type { L4Protocol } from '../flows/builders';
import { MAX_CONNECTION_ID } from '../flows/cookies';
import { IP_PROTO_TCP, IP_PROTO_UDP } from '../flows/packets';
import type { BackendSpec } from '../lb/backend';
import type { SchedulerOptions } from '../lb/registry';
import type { PersistenceOptions } from '../lb/persistence';
import { DEFAULT_OUTLIER_SETTINGS, LbService, type OutlierSettings } from '../lb/service';
import { vipMix6 } from '../lb/conn-key';
// '../net/prefix', not the '../net' barrel: lookup() runs per packet-in, and a barrel re-export is a megamorphic getter.
import { ipv4Mask, parsePrefix, type IpPrefix } from '../net/prefix';
import { foldIpv6, type Ipv6Pair } from '../net/ipv6';
import { AppError } from './errors';
import { newPayloadState, poolsOf, type PayloadState } from './payload';
import type { BackendLocation, RemoteBackendReport } from './location';
import { pinConflicts, pinnedIds, restartUnstable, serviceIds, UnstableIdsTold, type PinConflict, type UnstableServiceId } from './service-ids';
export type { PinConflict } from './service-ids';
import { byPortOf, EMPTY_INDEX, find4, find6, findPair6, vipIndexOf, type VipIndex } from './vip-index';

export type BackendConfig = ServiceConfig['backends'][number];

export interface BackendState {
  config: BackendConfig;
  /** The service's sorry backend: serves only when routing says so (nothing else is healthy). */
  sorry: boolean;
  /** Health verdict from the health module; undefined = no active check configured (passive only). */
  healthy: boolean | undefined;
  /**
   * Listed by the routing: in the tier that currently takes new connections and up, by this host's checks or, for a
   * remote backend, by the verdict its host published (the health monitor counts that: publishedVerdict).
   */
  inActiveTier: boolean;
  /** Operator drain: weight forced to 0 until enabled again. */
  draining: boolean;
  location?: BackendLocation;
  /** What the cluster host that has its vNIC published (remote backends: that host's verdict counts, not ours). */
  remote?: RemoteBackendReport;
  /** Connections ever placed on it. */
  totalConns: number;
  /** Packets/bytes of this backend's live connections (last accounting poll) and of finished ones. */
  packets: number;
  bytes: number;
  closedPackets: number;
  closedBytes: number;
}

export interface ServiceState {
  /** 1..65535, derived from the name (stable across restarts; it is in every flow cookie). */
  id: number;
  config: ServiceConfig;
  lb: LbService;
  /** IP protocol number and name. */
  proto: number;
  l4: L4Protocol;
  /** The VIP, parsed once (a dual-stack service's IPv4 one). */
  vip: IpPrefix;
  /** The service's IPv6 VIP: `vip` itself for an IPv6 service, a dual-stack service's `vip6`, undefined for IPv4 only. */
  vip6: IpPrefix | undefined;
  /**
   * vip6 as one address (not a prefix): its words' vipMix6, where every IPv6 key of the service's connection table
   * starts its hash (the packet-in then mixes only the client's words: hashConnKey6). Undefined otherwise.
   */
  vip6Mix: number | undefined;
  backends: Map<string, BackendState>;
  nextConnectionId: number;
  decisions: number;
  refused: number;
  /** Copies of FIN/RST segments the switch sent (datapath.end_copies): packet-ins that open no connection. */
  endCopies: number;
  /**
   * Packet-ins of a connection already decided (a retransmitted SYN, or a segment that met the datapath's cached way
   * up of its SYN): sent back through the tables, no new decision.
   */
  repeats: number;
  /** Flows mode's reply guard: SYN-ACKs of the service's backends that no connection flow took (a stale datapath entry, or a direct connection). */
  guardedReplies: number;
  /**
   * Flows mode: connections already decided whose flows were gone from the switch (their packet came back up after
   * vadc sent it through the tables), given their flows again (FlowsNat.known).
   */
  flowsResent: number;
  /** UDP payload rules: the first datagram of a new flow picks a backend pool (src/app/payload.ts). */
  payload?: PayloadState;
  /** The failover logic's last word on the service (applyRouting), if any. */
  routing?: Routing;
}

const PROTO_NUMBER: Record<L4Protocol, number> = { tcp: IP_PROTO_TCP, udp: IP_PROTO_UDP };

/** The scheduler's members: the tiered backends, then the sorry backend if any. */
export function membersOf(config: ServiceConfig): ServiceConfig['backends'] {
  return config.sorry_backend ? [...config.backends, config.sorry_backend] : config.backends;
}

/** The service's VIPs as configured: `vip`, and a dual-stack service's `vip6`. */
export function vipsOf(config: ServiceConfig): string[] {
  return config.vip6 === undefined ? [config.vip] : [config.vip, config.vip6];
}

/** Ids only need to be unique among live connections; a counter wraps after 2^28 connections. */
export function takeConnectionId(service: ServiceState): number {
  const id = service.nextConnectionId;
  service.nextConnectionId = id >= MAX_CONNECTION_ID ? 1 : id + 1;
  return id;
}

/**
 * The configured services and the lookups the packet-in path needs. A reconfiguration keeps a service (its
 * connection table and counters) when its name and shape are unchanged, and reconciles its backends.
 */
export class ServiceTable {
  private list: ServiceState[] = [];

  /**
   * @param outlierAtReadings the NAT mode's readings show the connections that worked (Accounting.readsSuccesses):
   * each service's outlier detector judges failures at the readings (OutlierOptions.judgeAtReadings).
   * @param endedKeptMs how long the datapath keeps an ended connection (Accounting.endedKeptMs): each service's table
   * lets go of its ended entries that much later (ConnectionTable.sweepEnded).
   */
  constructor(private readonly outlierAtReadings = false, private readonly endedKeptMs?: number) {}
  /**
   * Services with an IPv4 VIP by protocol and port (proto << 16 | port): the packet-in's lookup. byPort6 the same for the
   * IPv6 VIPs (a dual-stack service is in both, under each family's own prefix). all4/all6: every port's (owner()).
   */
  private byPort4 = new Map<number, VipIndex>();
  private byPort6 = new Map<number, VipIndex>();
  private all4: VipIndex = EMPTY_INDEX;
  private all6: VipIndex = EMPTY_INDEX;
  private byName = new Map<string, ServiceState>();
  /** By id: every end copy and reply-guard packet-in names its service by id (a scan of the list cost O(services) each). */
  private byIdMap = new Map<number, ServiceState>();
  /** prebuild()'s states for the next configure(), by config object. */
  private prebuilt = new Map<ServiceConfig, ServiceState>();
  private readonly unstableTold = new UnstableIdsTold();

  get all(): readonly ServiceState[] {
    return this.list;
  }

  /**
   * Builds, one service per step, the state of the services configure(configs) would create (new, or whose shape
   * changed): a large configuration's connection tables and schedulers cost most of its apply, and a caller that
   * yields between steps keeps the event loop turning. configure() takes what was built for the same config objects.
   */
  *prebuild(configs: readonly ServiceConfig[]): Generator<void, void, undefined> {
    const ids = this.idsFor(configs);
    const old = new Map(this.list.map((s) => [s.config.name, s]));
    this.prebuilt = new Map();
    for (const config of configs) {
      const prev = old.get(config.name);
      if (prev && sameShape(prev.config, config) && prev.id === ids.get(config.name)) continue;
      this.prebuilt.set(config, makeService(ids.get(config.name)!, config, this.outlierAtReadings, this.endedKeptMs));
      yield;
    }
  }

  /** The ids of the configured services by name: a new configuration's names keep theirs (serviceIds' `kept`). */
  idsByName(): Map<string, number> {
    return new Map(this.list.map((s) => [s.config.name, s.id]));
  }

  /** The ids `configs` would get: pinned first, then the running services' (see serviceIds). */
  private idsFor(configs: readonly ServiceConfig[]): Map<string, number> {
    const names = configs.map((s) => s.name);
    return serviceIds(names, this.idsByName(), pinnedIds(configs));
  }

  /** The running services whose id a fresh start would not give them again (they should be pinned). */
  restartUnstable(): UnstableServiceId[] {
    const runningConfigs = this.list.map((s) => s.config);
    return restartUnstable(this.idsByName(), pinnedIds(runningConfigs));
  }

  /** restartUnstable() when it differs from what was last told, else undefined (service-ids.ts UnstableIdsTold). */
  unstableToTell(): UnstableServiceId[] | undefined {
    return this.unstableTold.next(this.restartUnstable());
  }

  /**
   * Why `configs`' pinned ids cannot be applied to the running services, or none (service-ids.ts pinConflicts).
   * `alsoKept`: names of services that stay beside `configs` (a cluster host's store services).
   */
  pinConflicts(configs: readonly ServiceConfig[], alsoKept: readonly string[] = []): PinConflict[] {
    const keptNames = new Set([...configs.map((c) => c.name), ...alsoKept]);
    return pinConflicts(pinnedIds(configs), this.idsByName(), keptNames);
  }

  /** Replaces the configuration; returns the services that went away (their flows must be deleted). */
  configure(configs: readonly ServiceConfig[]): ServiceState[] {
    const ids = this.idsFor(configs);
    const old = new Map(this.list.map((s) => [s.config.name, s]));
    const prebuilt = this.prebuilt;
    this.prebuilt = new Map();
    const next: ServiceState[] = [];
    for (const config of configs) {
      const prev = old.get(config.name);
      const built = prebuilt.get(config);
      // A service keeps its state (and its live connections) unless its shape or its id changes: a pin taking a
      // running service's id is refused before it gets here (pinConflicts), a removed one's may be reused.
      if (prev && sameShape(prev.config, config) && prev.id === ids.get(config.name)) {
        if (!sameScheduler(prev.config, config)) prev.lb.setScheduler(config.scheduler, schedulerOptionsOf(config));
        reconcileBackends(prev, config);
        // Backends that joined or left, or whose tags changed, may have changed the pools' members.
        if (config.payload_rules) prev.lb.setPools(poolsOf(config.payload_rules, membersOf(config), config.sorry_backend?.name));
        prev.config = config;
        next.push(prev);
        old.delete(config.name);
      } else {
        // A prebuilt state is the same config's, unused (a service is built once), and has the id this list gives it.
        next.push(built && built.id === ids.get(config.name) ? built : makeService(ids.get(config.name)!, config, this.outlierAtReadings, this.endedKeptMs));
      }
    }
    this.list = next;
    // The first service of a name or id wins, as a scan of the list would find it.
    this.byName = new Map();
    this.byIdMap = new Map();
    for (const service of next) {
      if (!this.byName.has(service.config.name)) this.byName.set(service.config.name, service);
      if (!this.byIdMap.has(service.id)) this.byIdMap.set(service.id, service);
    }
    const v4 = next.filter((s) => s.vip.family === 4);
    const v6 = next.filter((s) => s.vip6 !== undefined);
    this.byPort4 = byPortOf(v4, (s) => s.vip);
    this.byPort6 = byPortOf(v6, (s) => s.vip6!);
    this.all4 = vipIndexOf(v4, (s) => s.vip);
    this.all6 = vipIndexOf(v6, (s) => s.vip6!);
    return [...old.values()];
  }

  /** The service a TCP/UDP packet to dst:port belongs to (IPv4 as a number). */
  lookup(proto: number, port: number, dst: number): ServiceState | undefined {
    const index = this.byPort4.get((proto << 16) | port);
    return index === undefined ? undefined : find4(index, dst);
  }

  /** The service whose VIP (longest prefix) holds dst, on any port: who answers ARP, ping and refusals. */
  owner(dst: number): ServiceState | undefined {
    return find4(this.all4, dst);
  }

  /**
   * The service a TCP/UDP packet to an IPv6 dst:port belongs to (the address as four words from `at`; `fold`: their
   * foldIpv6, which the packet-in's header read has made), longest prefix first.
   */
  lookup6(proto: number, port: number, dst: ArrayLike<number>, at = 0, fold = foldIpv6(dst, at)): ServiceState | undefined {
    const index = this.byPort6.get((proto << 16) | port);
    return index === undefined ? undefined : find6(index, dst[at] | 0, dst[at + 1] | 0, dst[at + 2] | 0, dst[at + 3] | 0, fold);
  }

  /** lookup6 of a packet-in's destination: the pair's d0..d3 (its int32 fields, read without a typed array's checks). */
  lookupPair6(proto: number, port: number, p: Ipv6Pair, fold: number): ServiceState | undefined {
    const index = this.byPort6.get((proto << 16) | port);
    return index === undefined ? undefined : findPair6(index, p, fold);
  }

  /** owner() for an IPv6 address (four words from `at`): who answers neighbor solicitations, ping6 and refusals. */
  owner6(dst: ArrayLike<number>, at = 0): ServiceState | undefined {
    return find6(this.all6, dst[at] | 0, dst[at + 1] | 0, dst[at + 2] | 0, dst[at + 3] | 0, foldIpv6(dst, at));
  }

  byId(id: number): ServiceState | undefined {
    return this.byIdMap.get(id);
  }

  /** The service of that name (a map: the health bridge asks for each of 10,000 backends). */
  named(name: string): ServiceState | undefined {
    return this.byName.get(name);
  }

  require(name: string): ServiceState {
    const service = this.byName.get(name);
    if (!service) throw new AppError('not_found', `no service named ${JSON.stringify(name)}`);
    return service;
  }
}

export function requireBackend(service: ServiceState, name: string): BackendState {
  const state = service.backends.get(name);
  if (!state) throw new AppError('not_found', `service ${service.config.name} has no backend ${JSON.stringify(name)}`);
  return state;
}

/**
 * Services whose VIP, port, protocol, persistence, outlier or payload rules changed are replaced (new state: their
 * connections and flows go). A scheduler change is made in place (sameScheduler): a connection in flight keeps its
 * backend and flows (flows mode deleted them with the old state, and the client's next segment met a RST).
 */
function sameShape(a: ServiceConfig, b: ServiceConfig): boolean {
  return a.vip === b.vip && a.vip6 === b.vip6 && a.port === b.port && a.protocol === b.protocol
    && a.persistence === b.persistence && a.persistence_prefix === b.persistence_prefix && a.persistence_prefix6 === b.persistence_prefix6
    && JSON.stringify(a.outlier) === JSON.stringify(b.outlier)
    && JSON.stringify(a.payload_rules) === JSON.stringify(b.payload_rules);
}

/** Whether the scheduler options (schedulerOptionsOf) are the same: feedback_interval counts for feedback alone. */
function sameScheduler(a: ServiceConfig, b: ServiceConfig): boolean {
  return a.scheduler === b.scheduler && JSON.stringify(a.scheduler_flags) === JSON.stringify(b.scheduler_flags) && a.mh_table_size === b.mh_table_size
    && (a.scheduler !== 'feedback' || a.feedback_interval === b.feedback_interval);
}

function schedulerOptionsOf(config: ServiceConfig): SchedulerOptions {
  const flags = new Set(config.scheduler_flags);
  return {
    sh: { hashPort: flags.has('sh-port'), fallback: flags.has('sh-fallback') },
    mh: { tableSize: config.mh_table_size, hashPort: flags.has('mh-port'), fallback: flags.has('mh-fallback') },
    feedback: { staleAfterMs: config.feedback_interval * 1000 * 2.5 },
  };
}

/**
 * The outlier detector's settings for a service: TCP services are judged with the defaults unless the config turns
 * it off; UDP services only when their `outlier` section sets udp_reply_within (silence may be the protocol).
 */
export function outlierSettingsOf(config: ServiceConfig): OutlierSettings | undefined {
  const o = config.outlier;
  if (config.protocol === 'udp' && (!o || !o.enabled || o.udp_reply_within <= 0)) return undefined;
  if (!o) return DEFAULT_OUTLIER_SETTINGS;
  if (!o.enabled) return undefined;
  const ms = (s: number) => Math.round(s * 1000);
  return {
    consecutiveFailures: o.consecutive_failures, failureRatio: o.failure_ratio, windowMs: ms(o.window), minConnections: o.min_connections,
    ejectionMs: ms(o.ejection_time), maxEjectionMs: ms(o.max_ejection_time), maxEjectedPercent: o.max_ejected_percent,
    connectTimeoutMs: ms(o.connect_timeout), resetWithinMs: ms(o.reset_within), udpReplyWithinMs: ms(o.udp_reply_within),
  };
}

/**
 * A persistent service's templates: the client's leading persistence_prefix bits (IPv4 as a netmask, IPv6 as a prefix
 * length); a dual-stack service's IPv6 clients by persistence_prefix6.
 */
function persistenceOf(config: ServiceConfig): PersistenceOptions {
  const timeoutMs = config.persistence * 1000;
  const ipv6Vip = config.vip.includes(':');
  const v4Length = ipv6Vip ? undefined : config.persistence_prefix;
  const v6Length = ipv6Vip ? config.persistence_prefix : config.persistence_prefix6;
  return { timeoutMs, ...(v4Length !== undefined ? { netmask: ipv4Mask(v4Length) } : {}), ...(v6Length !== undefined ? { prefixLength6: v6Length } : {}) };
}

function makeService(id: number, config: ServiceConfig, outlierAtReadings: boolean, endedKeptMs?: number): ServiceState {
  const outlier = outlierSettingsOf(config);
  const vip = parsePrefix(config.vip);
  const lb = new LbService(
    membersOf(config).map(backendSpec),
    {
      scheduler: config.scheduler,
      schedulerOptions: schedulerOptionsOf(config),
      persistence: config.persistence > 0 ? persistenceOf(config) : undefined,
      outlier: outlier && outlierAtReadings ? { ...outlier, judgeAtReadings: true } : outlier,
      pools: config.payload_rules && poolsOf(config.payload_rules, membersOf(config), config.sorry_backend?.name),
      ...(endedKeptMs !== undefined ? { endedKeptMs } : {}),
    },
  );
  const vip6 = config.vip6 !== undefined ? parsePrefix(config.vip6) : vip.family === 6 ? vip : undefined;
  const service: ServiceState = {
    id, config, lb, proto: PROTO_NUMBER[config.protocol], l4: config.protocol, vip, vip6,
    vip6Mix: vip6?.length === 128 ? vipMix6(vip6.words!, 0) : undefined, backends: new Map(),
    nextConnectionId: 1, decisions: 0, refused: 0, endCopies: 0, repeats: 0, guardedReplies: 0, flowsResent: 0,
  };
  if (config.payload_rules && config.protocol === 'udp') service.payload = newPayloadState(config.payload_rules);
  for (const b of config.backends) service.backends.set(b.name, newBackendState(b));
  if (config.sorry_backend) service.backends.set(config.sorry_backend.name, newBackendState(config.sorry_backend, true));
  refreshTiers(service);
  return service;
}

/**
 * The scheduler's member for a configured backend: an IPv6 backend's address goes in ip6 (its IPv4 address is 0); a
 * dual-stack one has both, and a connection goes to the address of its own family.
 */
function backendSpec(b: BackendConfig): BackendSpec {
  const v6 = b.ip.includes(':');
  const ip6 = v6 ? b.ip : b.ip6;
  return {
    id: b.name, ip: v6 ? 0 : b.ip, ...(ip6 !== undefined ? { ip6 } : {}), ports: b.ports, weight: b.weight, upperThreshold: b.u_threshold, lowerThreshold: b.l_threshold,
  };
}

function newBackendState(config: BackendConfig, sorry = false): BackendState {
  return { config, sorry, healthy: undefined, inActiveTier: !sorry, draining: false, totalConns: 0, packets: 0, bytes: 0, closedPackets: 0, closedBytes: 0 };
}

function reconcileBackends(service: ServiceState, config: ServiceConfig): void {
  const wanted = new Map(membersOf(config).map((b) => [b.name, b]));
  const added = new Set<string>();
  const sorryName = config.sorry_backend?.name;
  for (const name of [...service.backends.keys()]) {
    const next = wanted.get(name);
    // A backend whose address or ports changed (a tagged VM given another address) is a new member under the old name.
    const readdressed = next !== undefined && !sameAddress(service.backends.get(name)!.config, next);
    if (!next || readdressed) {
      service.lb.removeBackend(name);
      service.backends.delete(name);
    }
  }
  for (const [name, b] of wanted) {
    const state = service.backends.get(name);
    if (!state) {
      service.lb.addBackend(backendSpec(b));
      service.backends.set(name, newBackendState(b, name === sorryName));
      added.add(name);
    } else {
      state.config = b;
      state.sorry = name === sorryName;
      if (!state.draining) service.lb.setWeight(name, b.weight);
      service.lb.setThresholds(name, b.u_threshold, b.l_threshold);
    }
  }
  refreshTiers(service, config, added);
}

function sameAddress(a: BackendConfig, b: BackendConfig): boolean {
  return a.ip === b.ip && a.ip6 === b.ip6 && a.ports.length === b.ports.length && a.ports.every((p, i) => p === b.ports[i]);
}

/**
 * Tiers come from the failover logic; before it speaks, the lowest configured tier serves. A service it sent to its
 * sorry backend stays there through a reconfiguration, on the sorry backend now configured (a changed one takes the
 * next connections at once; the failover logic routes again when a tier comes back). One it sent to a tier stays on
 * that tier's routed backends still configured there, with the backends `added` to that tier (before, the lowest tier
 * came back until the next evaluation: a poll interval of refusals when that tier was down).
 */
function refreshTiers(service: ServiceState, config = service.config, added: ReadonlySet<string> = new Set()): void {
  const sorry = config.sorry_backend?.name;
  const routing = service.routing;
  if (routing?.kind === 'sorry' && sorry !== undefined) {
    applyRouting(service, { kind: 'sorry', backend: sorry });
    return;
  }
  const tier = routing?.kind === 'tier' ? routing.backends.map((n) => service.backends.get(n)).find((b) => b && !b.sorry)?.config.tier : undefined;
  if (routing?.kind === 'tier' && tier !== undefined) {
    const kept = (name: string, b: BackendState) => !b.sorry && b.config.tier === tier && (routing.backends.includes(name) || added.has(name));
    applyRouting(service, { kind: 'tier', backends: [...service.backends].filter(([name, b]) => kept(name, b)).map(([name]) => name) });
    return;
  }
  const lowest = Math.min(...[...service.backends.values()].filter((b) => !b.sorry).map((b) => b.config.tier));
  for (const state of service.backends.values()) state.inActiveTier = !state.sorry && state.config.tier === lowest;
  for (const state of service.backends.values()) refreshAvailability(service, state);
}

/**
 * A backend on another cluster host as this host counts it: by the verdict that host published (it has the vNIC and
 * checks it first-hand). Up, draining and drained are up; 'unknown' is up for a service without active checks (as a
 * local backend with no verdict is) and else not judged yet; down, launching and no report are down. The one place
 * both ask: the rotation here (failedByHealth) and the health monitor's tiers (quorum, failover: the bridge tells it).
 */
export function publishedVerdict(health: RemoteBackendReport['health'] | undefined, activeChecks: boolean): 'up' | 'down' | 'unknown' {
  if (health === 'up' || health === 'draining' || health === 'drained') return 'up';
  if (health === 'unknown') return activeChecks ? 'unknown' : 'up';
  return 'down';
}

/** Whether health has failed the backend: this host's verdict, or a remote one's published verdict (not up). */
export function failedByHealth(service: ServiceState, state: BackendState): boolean {
  if (state.location?.remoteHost === undefined) return state.healthy === false;
  return publishedVerdict(state.remote?.health, service.config.health !== undefined) !== 'up';
}

/**
 * A backend whose connections are cut: failed by health, or a remote backend whose vNIC link is down at its own host
 * (that host's report says so). This host drops its connections to a remote one when it becomes so
 * (LoadBalancerApp.setRemoteBackends) and conntrack mode takes its backend flow away. This host's own uplink going
 * down is not a cut: it stops new connections to every remote backend while it lasts, and theirs resume after.
 */
export function connectionsCut(service: ServiceState, state: BackendState): boolean {
  return failedByHealth(service, state) || (state.location?.remoteHost !== undefined && state.remote?.linkUp === false);
}

/** A backend takes new connections when located, its link up, not failed by health, and in the active tier. */
export function refreshAvailability(service: ServiceState, state: BackendState): void {
  const available = state.location !== undefined && state.location.linkUp && !failedByHealth(service, state) && state.inActiveTier;
  service.lb.setAvailable(state.config.name, available);
}

/** Where new connections go, as the failover logic decided. */
export type Routing = { kind: 'tier'; backends: readonly string[] } | { kind: 'sorry'; backend: string } | { kind: 'refuse' };

export function applyRouting(service: ServiceState, routing: Routing): void {
  service.routing = routing;
  for (const [name, state] of service.backends) {
    state.inActiveTier = routing.kind === 'tier' ? routing.backends.includes(name) : routing.kind === 'sorry' ? routing.backend === name : false;
    refreshAvailability(service, state);
  }
}
