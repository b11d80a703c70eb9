// A cluster host's side of the store (docs/cluster.md): the policy cache served at start, the store's policy
// merged for this host and handed to the daemon whenever its digest changes, this host's report published, and
// the store's outages reported without touching what is served (a VIP is never withdrawn because the store is
// unreachable).
import { randomUUID } from 'node:crypto';
import {
  ClusterStore, defaultPolicyCachePath, effectivePolicy, loadPolicyCache, savePolicyCache,
  type BackendReport, type BackendStatusRow, type EffectivePolicy, type PolicyProblem, type PolicySnapshot, type PublishedHealth,
} from '../cluster';
import type { RemoteBackendReport } from '../app';
import type { NatChoice } from '../app/nat/factory';
import { CLUSTER_REPORT_INTERVAL_S, type ClusterConfig, type NatModeName } from '../config';
import type { LogPosition, OvsdbClientOptions, TlsFiles } from '../ovsdb';
import type { ServiceStatus, StatusSnapshot, VadcEvent } from '../runtime/types';
import type { Logger } from '../util/logger';

/** What `vadc status` shows of a cluster host's link to the store. */
export type ClusterHostStatus = NonNullable<StatusSnapshot['cluster']>;
/** Where the policy a host serves came from. */
export type ClusterPolicySource = ClusterHostStatus['source'];

export interface ClusterHostOptions {
  cluster: ClusterConfig;
  /** The config file (the policy cache lives next to it unless cluster.policy_cache says where). */
  configPath?: string;
  tls?: TlsFiles;
  /** The NAT mode this vadc runs (the store's is applied at the next start: cachedNatChoice). */
  nat: NatModeName;
  /**
   * What chose it: the file's `datapath.nat: flows|conntrack` ('file', the default), or with `auto` the cached
   * policy ('cache') or the probe ('probe'). It decides what cluster_nat_pending tells the operator.
   */
  natChosenBy?: NatChosenBy;
  version: string;
  logger: Logger;
  emit(event: Omit<VadcEvent, 'time'>): void;
  /** Serves the policy's services next to the file's; returns the problems combining them caused. */
  apply(policy: EffectivePolicy): Promise<PolicyProblem[]>;
  /** The services served now (for this host's report). */
  services(): ServiceStatus[];
  /** The other hosts' reports of the backends whose vNICs they have (remote backends), whenever they change. */
  remoteBackends?(reports: RemoteBackendReport[]): void;
  now(): number;
  /** Session settings beyond the defaults (tests shorten the backoff). */
  session?: Partial<OvsdbClientOptions>;
  /** This instance is one of a controller pair sharing the host name (see ClusterStoreOptions.pairedHost). */
  pairedHost?: () => boolean;
}

export class ClusterHost {
  private store?: ClusterStore;
  private readonly instance = randomUUID();
  private readonly startedAt: number;
  private readonly cachePath: string;
  private source: ClusterPolicySource = 'none';
  private served?: EffectivePolicy;
  private problems: string[] = [];
  private combineProblems: string[] = [];
  private pending?: PolicySnapshot;
  private applying?: Promise<void>;
  private unreachable = false;
  private natWarned?: string;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: ClusterHostOptions) {
    this.startedAt = opts.now();
    this.cachePath = opts.cluster.policy_cache ?? defaultPolicyCachePath(opts.configPath, opts.cluster.host);
  }

  /** Serves the cached policy (if any) now, then connects to the store; the store's first answer replaces it. */
  async start(): Promise<void> {
    const c = this.opts.cluster;
    let logPosition: LogPosition | undefined;
    try {
      const cached = loadPolicyCache(this.cachePath);
      logPosition = cached?.log;
      if (cached) {
        await this.serve(cached.snapshot, 'cache');
        this.opts.emit({
          kind: 'cluster_policy_cached', level: 'info', data: { savedAt: cached.savedAt, digest: this.served?.digest },
          message: `serving the cluster policy cached in ${this.cachePath} at ${new Date(cached.savedAt).toISOString()} until the store answers`,
        });
      }
    } catch (err) {
      this.opts.emit({ kind: 'cluster_cache_unusable', level: 'error', message: `${(err as Error).message}; waiting for the store` });
    }
    const store = new ClusterStore({
      remotes: c.remotes, host: c.host, tls: this.opts.tls, logger: this.opts.logger, session: this.opts.session, pairedHost: this.opts.pairedHost,
      ...(logPosition ? { logPosition } : {}),
    });
    this.store = store;
    store.on('policy', (snapshot) => this.onSnapshot(snapshot));
    store.on('connected', (info) => {
      this.unreachable = false;
      this.opts.emit({ kind: 'cluster_connected', level: 'info', data: { member: info.remote }, message: `cluster store: reading from ${info.remote}` });
    });
    store.on('disconnected', (reason) => {
      if (this.unreachable || this.closed) return;
      this.unreachable = true;
      this.opts.emit({
        kind: 'cluster_unreachable', level: 'warn',
        message: `cluster store unreachable (${reason}): serving the last policy (${this.source}), read-only until it answers`,
      });
    });
    store.on('reports', (rows) => this.opts.remoteBackends?.(remoteReports(rows, c.host)));
    store.on('problem', (err) => this.opts.emit({ kind: `cluster_${err.code}`, level: 'error', message: err.message }));
    store.on('publishing', () => this.opts.emit({ kind: 'cluster_publishing', level: 'info', message: `cluster store: publishing host ${c.host}'s status` }));
    this.timer = setInterval(() => this.publish(), reportIntervalMs(c));
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.store?.close();
  }

  status(): ClusterHostStatus {
    const c = this.opts.cluster;
    const connected = this.store?.connected ?? false;
    return {
      host: c.host, ...(c.group ? { group: c.group } : {}), remotes: c.remotes, connected, readOnly: !connected,
      publishing: this.store?.writable ?? false, source: this.source, ...(this.served ? { policy: this.served.digest } : {}), problems: [...this.problems],
    };
  }

  /** Writes this host's report now (it is also written every interval and after each policy change). */
  publish(): void {
    if (!this.store || this.closed) return;
    const services = this.opts.services();
    const c = this.opts.cluster;
    this.store.publish({
      instance: this.instance, version: this.opts.version, ...(c.group ? { group: c.group } : {}), nat: this.opts.nat,
      ...(c.uplink ? { uplink: c.uplink } : {}), started: this.startedAt, reported: this.opts.now(), policy: this.served?.digest ?? '',
      services: services.length, problems: this.problems,
    }, backendReports(services, this.opts.now()));
  }

  // Snapshots are applied one at a time; while one is applied only the newest waiting one is kept.
  private onSnapshot(snapshot: PolicySnapshot): void {
    this.pending = snapshot;
    if (this.applying) return;
    this.applying = (async () => {
      while (this.pending && !this.closed) {
        const next = this.pending;
        this.pending = undefined;
        try {
          await this.serve(next, 'store');
          const log = this.store?.logPosition;
          savePolicyCache(this.cachePath, { savedAt: this.opts.now(), remotes: this.opts.cluster.remotes, ...(log ? { log } : {}), snapshot: next });
        } catch (err) {
          this.opts.emit({ kind: 'cluster_apply_failed', level: 'error', message: `cluster policy not applied: ${(err as Error).message}` });
        }
      }
      this.applying = undefined;
      this.publish();
    })();
  }

  private async serve(snapshot: PolicySnapshot, source: ClusterPolicySource): Promise<void> {
    const c = this.opts.cluster;
    const policy = effectivePolicy(snapshot, { host: c.host, group: c.group });
    if (policy.digest !== this.served?.digest) {
      const t0 = this.opts.now();
      // Combining with the file's services is redone only when the policy changed (the daemon redoes it on a
      // file change); its problems are kept until then.
      this.combineProblems = (await this.opts.apply(policy)).map((p) => p.message);
      this.opts.emit({
        kind: 'cluster_policy_applied', level: 'info', data: { digest: policy.digest, source, services: policy.services.map((s) => s.config.name) },
        message: `cluster policy ${policy.digest.slice(0, 16)} from the ${source === 'store' ? 'store' : 'policy cache'}: ${policy.services.length} service(s) for host ${c.host}${c.group ? ` (group ${c.group})` : ''}, applied in ${this.opts.now() - t0} ms`,
      });
    }
    this.served = policy;
    this.source = source;
    const problems = [...policy.problems.map((p) => p.message), ...this.combineProblems];
    for (const message of problems.filter((m) => !this.problems.includes(m))) {
      this.opts.emit({ kind: 'cluster_policy_problem', level: 'error', message });
    }
    this.problems = problems;
    const pending = natPending(policy.nat, this.opts.nat, this.opts.natChosenBy ?? 'file');
    if (pending && this.natWarned !== pending) {
      this.opts.emit({
        kind: 'cluster_nat_pending', level: 'warn', message: pending,
        data: { store: policy.nat?.value ?? null, from: policy.nat?.from ?? null, runs: this.opts.nat, chosenBy: this.opts.natChosenBy ?? 'file' },
      });
    }
    // Said once per difference; a difference that goes away and comes back is said again.
    this.natWarned = pending;
  }
}

export type NatChosenBy = 'file' | 'cache' | 'probe';

/**
 * The NAT mode the cached policy sets for this host, for a vadc whose file leaves `datapath.nat` to `auto`: the
 * mode is a property of the whole bridge's pipeline, so it is taken once, at start, from the policy cache (the
 * store's policy as of the last run; docs/cluster.md, NAT mode). undefined without a cache, with an unusable one
 * (the host reports it when it starts), or when the policy sets no mode.
 */
export function cachedNatChoice(cluster: ClusterConfig, configPath: string | undefined): NatChoice | undefined {
  const file = cluster.policy_cache ?? defaultPolicyCachePath(configPath, cluster.host);
  let cached;
  try {
    cached = loadPolicyCache(file);
  } catch {
    return undefined;
  }
  const nat = cached && effectivePolicy(cached.snapshot, { host: cluster.host, group: cluster.group }).nat;
  if (!nat) return undefined;
  return { nat: nat.value, reason: `datapath.nat: auto, and the cluster policy cached in ${file} sets ${nat.value} for this host (${nat.from})` };
}

/**
 * What the operator is told when the store's NAT mode for this host is not the one that runs (the mode changes
 * only at a start), or undefined when a restart would change nothing. Pure.
 */
export function natPending(store: EffectivePolicy['nat'], runs: NatModeName, chosenBy: NatChosenBy): string | undefined {
  if (store && store.value !== runs) {
    const says = `the cluster sets NAT mode ${store.value} for this host (${store.from}); it runs ${runs}`;
    return chosenBy === 'file'
      ? `${says}, as its config file's datapath.nat says (the file wins): set datapath.nat: auto and restart vadc to follow the store`
      : `${says}: a restart applies it (datapath.nat: auto takes the cached policy's mode at start)`;
  }
  if (!store && chosenBy === 'cache') {
    return `the cluster no longer sets a NAT mode for this host; it runs ${runs}, from its cached policy: a restart chooses by datapath.nat: auto's probe of ovs-vswitchd`;
  }
  return undefined;
}

const PUBLISHED: ReadonlySet<string> = new Set<PublishedHealth>(['up', 'down', 'unknown', 'draining', 'drained', 'launching']);

/** What this host knows first-hand about backends: those whose vNIC is on its bridge (located here). Pure. */
export function backendReports(services: readonly ServiceStatus[], now: number): BackendReport[] {
  const out: BackendReport[] = [];
  for (const s of services) {
    for (const b of s.backends) {
      // Only first-hand knowledge: a remote backend (reached through the uplink) is its own host's to report.
      if (b.ofport === undefined || b.host !== undefined) continue;
      out.push({
        // The views say 'link down' exactly when the located vNIC's link is down.
        service: s.name, backend: b.id, vnic: b.vnic, ...(b.mac ? { mac: b.mac } : {}), linkUp: b.healthReason !== 'link down',
        health: (PUBLISHED.has(b.health) ? b.health : 'unknown') as PublishedHealth, reason: b.healthReason ?? '',
        ...(b.queueMeasure !== undefined && Number.isFinite(b.queueMeasure) ? { queueMeasure: b.queueMeasure } : {}),
        ...(b.rateOfProcessing !== undefined && Number.isFinite(b.rateOfProcessing) ? { rate: b.rateOfProcessing } : {}),
        updated: now,
      });
    }
  }
  return out;
}

/** The store's backend reports of the other hosts, as the app takes them (pure). */
export function remoteReports(rows: readonly BackendStatusRow[], self: string): RemoteBackendReport[] {
  return rows.filter((r) => r.host !== self).map((r) => ({
    host: r.host, service: r.service, backend: r.backend, vnic: r.vnic, ...(r.mac ? { mac: r.mac } : {}), linkUp: r.linkUp,
    health: r.health, reason: r.reason, ...(r.queueMeasure !== undefined ? { queueMeasure: r.queueMeasure } : {}),
  }));
}

export type BackendKey = `${string}\u0000${string}`;
export const backendKey = (service: string, backend: string): BackendKey => `${service}\u0000${backend}`;

/**
 * How the store's drains hold on this host (pure): drain what the policy drains and is not draining yet, enable
 * what the store drained before and no longer does (a drain made through the local API stays the operator's).
 */
export function drainPlan(
  backends: readonly { service: string; backend: string; draining: boolean }[],
  wanted: ReadonlySet<BackendKey>,
  storeDrainedBefore: ReadonlySet<BackendKey>,
): { drain: BackendKey[]; enable: BackendKey[]; storeDrained: Set<BackendKey> } {
  const drain: BackendKey[] = [];
  const enable: BackendKey[] = [];
  const storeDrained = new Set<BackendKey>();
  for (const b of backends) {
    const key = backendKey(b.service, b.backend);
    if (wanted.has(key)) {
      storeDrained.add(key);
      if (!b.draining) drain.push(key);
    } else if (storeDrainedBefore.has(key) && b.draining) enable.push(key);
  }
  return { drain, enable, storeDrained };
}

/** How often a host writes its report even when nothing changed (its `reported` time), ms: cluster.report_interval. */
export function reportIntervalMs(cluster: Pick<ClusterConfig, 'report_interval'>): number {
  return Math.round((cluster.report_interval ?? CLUSTER_REPORT_INTERVAL_S) * 1000);
}
