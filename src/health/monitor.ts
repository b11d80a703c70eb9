import { EventEmitter } from 'node:events';
import type { HealthState, LastCheck, VadcEvent } from '../runtime/types';
import { silentLogger, type Logger } from '../util/logger';
import {
  familiesOut, initialBackendHealth, stepBackendHealth, usablePorts, vnicProblem, type BackendHealth, type CheckFamily, type HealthInput, type RiseFall,
} from './backend-health';
import { effectiveWeight, endDrain, startDrain, updateDrain, type DrainTable } from './drain';
import { toVadcEvent, type HealthEvent } from './events';
import { HookRuns, type RunHook } from './hook-runs';
import { runHook as defaultRunHook, type HookContext } from './hooks';
import { newLaunchJob, stepLaunch, validateLaunchPolicy, type LaunchInput, type LaunchJob, type LaunchPolicy } from './launch';
import {
  newRelocateJob, overloadVerdict, relocationsRunning, stepRelocate, validateRelocatePolicy, type OverloadThresholds, type RelocateInput,
  type RelocateJob, type RelocatePolicy,
} from './relocate';
import type { CheckScheduler } from './scheduler';
import {
  evaluateFailover, initialFailoverState, validateTierPolicy, type FailoverState, type Routing, type TierBackendView, type TierPolicy,
} from './tiers';
import type { CheckResult, CheckSpec, HookSpec } from './types';

export interface MonitoredBackend {
  id: string;
  vnic: string;
  ip: string;
  /** A dual-stack backend's IPv6 address (`ip` is then its IPv4 one): active checks go to both. */
  ip6?: string;
  ports: number[];
  tier: number;
  weight: number;
  /** Hook that starts this backend's VM when failover needs it and its vNIC is absent. */
  launch?: HookSpec;
  stop?: HookSpec;
  /** Hook that relocates this backend's VM when it has stayed overloaded (ServiceHealthOptions.relocate). */
  relocate?: HookSpec;
}

export interface BackendLoad {
  activeConns: number;
  queueMeasure?: number;
  drops?: number;
}

export interface ServiceHealthOptions {
  service: string;
  backends: MonitoredBackend[];
  /**
   * Builds the active check of one (backend, software port) at the backend's `ip`, or at its `ip6` for family 'ipv6'
   * (a dual-stack backend has both); undefined = passive health only (a port counts as passing once the vNIC is up).
   */
  checkFor?: (backend: MonitoredBackend, port: number, family?: CheckFamily) => CheckSpec;
  intervalMs: number;
  riseFall: RiseFall;
  tiers: TierPolicy;
  launch: LaunchPolicy;
  /** When a backend with a relocate hook counts as overloaded, and how its relocations are paced. */
  relocate?: RelocatePolicy & OverloadThresholds;
  /** Shared by all services so concurrency is bounded process-wide; the monitor adds and removes its targets. */
  scheduler?: CheckScheduler;
  logger?: Logger;
  now?: () => number;
  /** Injected for tests. */
  runHook?: RunHook;
  /**
   * Whether this instance may act outside the switch (launch, retry and stop hooks): false on the standby of
   * a controller pair, which would otherwise start the same VM as its master. Default: always.
   */
  mayRunHooks?: () => boolean;
  /**
   * Verdicts of the monitor this one replaces (a config change that rebuilt it, the health section unchanged): a
   * backend with the same software ports starts where it was, so an up backend is not out until its next check.
   */
  carried?: ReadonlyMap<string, BackendHealth>;
}

const PASSIVE_PASS: CheckResult = { ok: true, reason: 'vNIC up (no active check configured)', output: '', durationMs: 0 };

/**
 * The health module's face to the daemon, one per service: feed it OVSDB/OpenFlow facts, check results (its
 * scheduler does that itself), load samples and drain requests; it decides on its own and emits 'event'
 * (VadcEvent) for everything it did and 'routing' when where new connections go changes.
 */
export class ServiceHealthMonitor extends EventEmitter {
  private readonly backends = new Map<string, MonitoredBackend>();
  private readonly health = new Map<string, BackendHealth>();
  private readonly load = new Map<string, BackendLoad>();
  private readonly jobs = new Map<string, LaunchJob>();
  private readonly relocations = new Map<string, RelocateJob>();
  private readonly lastChecks = new Map<string, LastCheck>();
  /** Backends on another cluster host: the verdict their host published, as this host counts it (see remoteVerdict). */
  private readonly published = new Map<string, TierBackendView['health']>();
  /** Backends that came to this host: their host's last verdict, counted until this host's first check of them. */
  private readonly untilChecked = new Map<string, TierBackendView['health']>();
  private drains: DrainTable = {};
  private started = false;
  private failover: FailoverState = initialFailoverState();
  private tiersNeeded: number[] = [];
  private readonly hooks: HookRuns;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly opts: ServiceHealthOptions) {
    super();
    validateTierPolicy(opts.tiers);
    validateLaunchPolicy(opts.launch);
    if (opts.relocate) validateRelocatePolicy(opts.relocate);
    if (opts.checkFor && !opts.scheduler) throw new RangeError(`service ${opts.service}: active checks need a scheduler`);
    this.logger = opts.logger ?? silentLogger();
    this.now = opts.now ?? Date.now;
    this.hooks = new HookRuns(opts.runHook ?? defaultRunHook, this.logger, opts.service);
    const start = this.now();
    for (const b of opts.backends) {
      if (this.backends.has(b.id)) throw new RangeError(`service ${opts.service}: backend ${b.id} is listed twice`);
      this.backends.set(b.id, b);
      const carried = opts.carried?.get(b.id);
      const samePorts = carried !== undefined && JSON.stringify(Object.keys(carried.ports).map(Number).sort((x, y) => x - y)) === JSON.stringify([...b.ports].sort((x, y) => x - y))
        && (carried.ports6 !== undefined) === this.checksIp6(b);
      this.health.set(b.id, carried && samePorts ? carried : initialBackendHealth(b.id, b.ports, start, this.checksIp6(b)));
      if (b.launch) this.jobs.set(b.id, newLaunchJob(b.id, { backend: b.id, tier: b.tier }));
      if (b.relocate && opts.relocate) this.relocations.set(b.id, newRelocateJob(b.id));
    }
    if (opts.tiers.sorryBackend && this.backends.has(opts.tiers.sorryBackend)) {
      throw new RangeError(`service ${opts.service}: the sorry backend ${opts.tiers.sorryBackend} must not also be a tiered backend`);
    }
  }

  /** Starts the active checks (of the backends on this host: see remoteVerdict). */
  start(): void {
    this.started = true;
    for (const b of this.backends.values()) if (!this.published.has(b.id)) this.scheduleChecks(b);
  }

  /**
   * From the bridge: the backend is on another cluster host, whose published verdict (it checks the vNIC first-hand) its
   * tier counts, quorum and failover; this host's checks of it stop and its last one is forgotten (status shows none, not
   * a stale one). Undefined: it is on this host (its VM moved here), and its own checks judge it again from their first.
   */
  remoteVerdict(backend: string, verdict: TierBackendView['health'] | undefined): void {
    const b = this.requireBackend(backend);
    const before = this.published.get(backend);
    if (verdict === before) return;
    if (verdict === undefined) {
      this.published.delete(backend);
      if (before !== undefined) this.untilChecked.set(backend, before);
      this.scheduleChecks(b);
    } else {
      if (before === undefined) this.unscheduleChecks(b);
      this.published.set(backend, verdict);
      this.untilChecked.delete(backend);
      this.lastChecks.delete(backend);
    }
    this.evaluate();
  }

  /** The verdict the failover counts: this host's, or for a remote backend its host's (down while unreachable from here). */
  private verdictOf(id: string): TierBackendView['health'] {
    const h = this.requireHealth(id);
    const remote = this.published.get(id) ?? this.untilChecked.get(id);
    return remote === undefined ? h.state : h.vnic.reported && vnicProblem(h.vnic) ? 'down' : remote;
  }

  /** Whether the backend's ports are checked at its IPv6 address too (dual stack, active checks); then in both families. */
  private checksIp6(b: MonitoredBackend): boolean {
    return b.ip6 !== undefined && this.opts.checkFor !== undefined;
  }
  private familiesOf(b: MonitoredBackend): CheckFamily[] {
    return this.checksIp6(b) ? ['ipv4', 'ipv6'] : ['ipv4'];
  }

  private scheduleChecks(b: MonitoredBackend): void {
    if (!this.started || !this.opts.checkFor || !this.opts.scheduler) return;
    for (const port of b.ports) {
      for (const family of this.familiesOf(b)) {
        // A result still in flight when the backend left (or was replaced) is not about a member any more.
        const onResult = (result: CheckResult) => this.backends.get(b.id) === b && this.checkResult(b.id, port, result, family);
        this.opts.scheduler.add({ id: this.checkId(b.id, port, family), spec: this.opts.checkFor(b, port, family), intervalMs: this.opts.intervalMs, onResult });
      }
    }
  }

  private unscheduleChecks(b: MonitoredBackend): void {
    for (const port of b.ports) for (const family of this.familiesOf(b)) this.opts.scheduler?.remove(this.checkId(b.id, port, family));
  }

  /**
   * A backend that joins while the service runs (a VM that joined by tag): it starts unjudged, with its own
   * checks; every other backend keeps its state, drains and launch jobs.
   */
  addBackend(b: MonitoredBackend): void {
    if (this.backends.has(b.id) || this.opts.tiers.sorryBackend === b.id) throw new RangeError(`service ${this.opts.service}: backend ${b.id} is already a member`);
    this.backends.set(b.id, b);
    this.health.set(b.id, initialBackendHealth(b.id, b.ports, this.now(), this.checksIp6(b)));
    if (b.launch) this.jobs.set(b.id, newLaunchJob(b.id, { backend: b.id, tier: b.tier }));
    if (b.relocate && this.opts.relocate) this.relocations.set(b.id, newRelocateJob(b.id));
    this.scheduleChecks(b);
    this.evaluate();
  }

  /** A backend that left (its tagged vNIC went): its checks stop and its state is forgotten; a hook already running finishes unheard. */
  removeBackend(id: string): void {
    const b = this.backends.get(id);
    if (!b) return;
    this.unscheduleChecks(b);
    this.backends.delete(id);
    this.health.delete(id);
    this.load.delete(id);
    this.jobs.delete(id);
    this.relocations.delete(id);
    this.lastChecks.delete(id);
    this.published.delete(id);
    this.untilChecked.delete(id);
    this.drains = endDrain(this.drains, id).table;
    this.evaluate();
  }

  /** Stops the checks, aborts running hooks (their process groups are killed) and waits for them. */
  async stop(): Promise<void> {
    for (const b of this.backends.values()) this.unscheduleChecks(b);
    await this.hooks.stop();
  }

  /** A check result (the scheduler delivers them itself after start()); `family` 'ipv6': of a dual-stack backend's `ip6`. */
  checkResult(backend: string, port: number, result: CheckResult, family: CheckFamily = 'ipv4'): void {
    // A dual-stack backend's last check names its family (the reason alone may not: 'HTTP 200').
    const dual = this.requireHealth(backend).ports6 !== undefined;
    const reason = dual ? `${family === 'ipv6' ? 'IPv6' : 'IPv4'}: ${result.reason}` : result.reason;
    this.lastChecks.set(backend, { at: this.now(), ok: result.ok, port, reason, durationMs: result.durationMs });
    this.untilChecked.delete(backend);
    this.applyHealth(backend, { kind: 'check', port, ...(family === 'ipv6' ? { family } : {}), result });
  }

  /** The backend's last active check (any of its ports), for status and the dashboard. */
  lastCheckOf(backend: string): LastCheck | undefined {
    return this.lastChecks.get(backend);
  }

  /** From the OVSDB VnicResolver: the backend's vNIC appeared, changed or disappeared. */
  vnicChanged(backend: string, vnic: { present: boolean; linkState?: 'up' | 'down'; adminState?: 'up' | 'down' }): void {
    this.applyHealth(backend, { kind: 'vnic', ...vnic });
    this.applyLaunch(backend, { kind: 'vnic', present: vnic.present });
    this.passiveVerdict(backend);
  }

  /** Without active checks the vNIC's own state is the whole verdict: its ports pass while it is up. */
  private passiveVerdict(backend: string): void {
    const h = this.requireHealth(backend);
    if (this.opts.checkFor || vnicProblem(h.vnic)) return;
    for (const [port, p] of Object.entries(h.ports)) {
      if (p.state !== 'up') this.applyHealth(backend, { kind: 'check', port: Number(port), result: PASSIVE_PASS });
    }
  }

  /** From OpenFlow port-status for the backend's ofport. */
  portStatus(backend: string, linkUp: boolean): void {
    this.applyHealth(backend, { kind: 'port_status', linkUp });
    this.passiveVerdict(backend);
  }

  /** A load sample from the connection table / statistics. */
  updateLoad(backend: string, load: BackendLoad): void {
    this.updateLoads([[backend, load]]);
  }

  /**
   * One poll's load samples for several backends, then one failover evaluation: evaluating after each
   * backend made a poll of N backends cost N evaluations of the whole service.
   */
  updateLoads(loads: Iterable<readonly [string, BackendLoad]>): void {
    const now = this.now();
    const samples = [...loads];
    for (const [backend, load] of samples) {
      this.requireBackend(backend);
      this.load.set(backend, load);
      this.report(updateDrain(this.drains, backend, load.activeConns, now), (t) => (this.drains = t));
    }
    this.evaluate();
    for (const [backend] of samples) this.judgeOverload(backend);
  }

  drain(backend: string): void {
    const b = this.requireBackend(backend);
    this.report(startDrain(this.drains, backend, b.weight, this.load.get(backend)?.activeConns ?? 0, this.now()), (t) => (this.drains = t));
    this.evaluate();
  }

  enable(backend: string): void {
    this.requireBackend(backend);
    this.drains = endDrain(this.drains, backend).table;
    this.evaluate();
  }

  /** Call every few hundred ms: launch timeouts and retries, and the failback hold time, are driven by it. */
  tick(): void {
    for (const id of this.jobs.keys()) this.applyLaunch(id, { kind: 'tick' });
    for (const id of this.relocations.keys()) this.applyRelocate(id, { kind: 'tick' });
    this.evaluate();
  }

  routing(): Routing {
    return this.failover.routing;
  }

  /** Every backend's verdict now, for the monitor that may replace this one (see ServiceHealthOptions.carried). */
  healthSnapshot(): ReadonlyMap<string, BackendHealth> {
    return new Map(this.health);
  }

  /** Looks at launches and stops again (this instance became master: what its standby days held back). */
  reconsider(): void {
    this.evaluate();
  }

  /**
   * Software ports of the backend that may get new connections now (empty when it must get none); `family`: of a
   * dual-stack backend, those that may get that family's (without: those serving either).
   */
  portsFor(backend: string, family?: CheckFamily): number[] {
    return usablePorts(this.requireHealth(backend), family);
  }

  /**
   * The backend's port verdicts as the app takes them: one set for a single-family backend (`family` absent: it holds
   * for every connection), one per family for a dual-stack one (a port may serve one family's VIP only).
   */
  portVerdicts(backend: string): Array<{ family?: CheckFamily; passing: number[] }> {
    const h = this.requireHealth(backend);
    if (!h.ports6) return [{ passing: usablePorts(h) }];
    return (['ipv4', 'ipv6'] as const).map((family) => ({ family, passing: usablePorts(h, family) }));
  }

  /** The scheduler weight: 0 while draining. setWeight: a weight-only change keeps the verdict, checks and drain. */
  weightOf(backend: string): number {
    return effectiveWeight(this.drains, backend, this.requireBackend(backend).weight);
  }
  setWeight(backend: string, weight: number): void { this.requireBackend(backend).weight = weight; }

  stateOf(backend: string): { health: HealthState; reason: string } {
    const drain = this.drains[backend];
    if (drain) return { health: drain.state, reason: drain.state === 'draining' ? 'draining: weight 0' : 'drained' };
    const phase = this.jobs.get(backend)?.state.phase;
    if (phase === 'hook_running' || phase === 'waiting_ready' || phase === 'backoff') return { health: 'launching', reason: `launch ${phase.replace('_', ' ')}` };
    const h = this.requireHealth(backend);
    // A dual-stack backend up in one family only says which is out (its checks of that address all fail).
    const out = familiesOut(h);
    return { health: h.state, reason: out.length === 0 ? h.reason : `${out.join(', ')} out: no port passes its ${out.join(', ')} check; ${h.reason}` };
  }

  checkId(backend: string, port: number, family: CheckFamily = 'ipv4'): string {
    return `${this.opts.service}/${backend}:${port}${family === 'ipv6' ? '/ipv6' : ''}`;
  }

  private requireBackend(id: string): MonitoredBackend {
    const b = this.backends.get(id);
    if (!b) throw new RangeError(`service ${this.opts.service} has no backend ${id}`);
    return b;
  }

  private requireHealth(id: string): BackendHealth {
    this.requireBackend(id);
    return this.health.get(id) as BackendHealth;
  }

  private report<T>(step: { events: HealthEvent[]; table: T }, store: (t: T) => void): void {
    store(step.table);
    this.emitEvents(step.events);
  }

  private emitEvents(events: HealthEvent[]): void {
    for (const e of events) {
      const event: VadcEvent = toVadcEvent(e, this.opts.service);
      this.logger.log(event.level, event.message, { service: event.service, backend: event.backend, ...event.data });
      this.emit('event', event);
    }
  }

  private applyHealth(backend: string, input: HealthInput): void {
    const before = this.requireHealth(backend);
    const step = stepBackendHealth(before, input, this.opts.riseFall, this.now());
    this.health.set(backend, step.health);
    this.emitEvents(step.events);
    if (step.health.state !== before.state) this.applyLaunch(backend, { kind: 'ready', ready: step.health.state === 'up' });
    this.evaluate();
  }

  private applyLaunch(backend: string, input: LaunchInput): void {
    const job = this.jobs.get(backend);
    if (!job) return;
    // On a standby the jobs stand still: nothing that could start a hook (a request, a retry's tick, the stop
    // cool-down's load) is taken in; results of hooks started while master still are. reconsider() on promotion.
    if (this.opts.mayRunHooks && !this.opts.mayRunHooks() && input.kind !== 'hook_finished' && input.kind !== 'ready' && input.kind !== 'vnic') return;
    const step = stepLaunch(job, input, this.opts.launch, this.now());
    this.jobs.set(backend, step.job);
    this.emitEvents(step.events);
    for (const action of step.actions) this.startHook(backend, action.hook, action.attempt, action.reason);
  }

  /** The relocate hook's view of a backend's last load sample: overloaded only while it serves. */
  private judgeOverload(backend: string): void {
    const relocate = this.opts.relocate;
    if (!relocate || !this.relocations.has(backend)) return;
    const serving = this.health.get(backend)?.state === 'up' && this.drains[backend] === undefined;
    const verdict = overloadVerdict(this.load.get(backend) ?? { activeConns: 0 }, serving, relocate);
    this.applyRelocate(backend, { kind: 'load', ...verdict });
  }

  private applyRelocate(backend: string, input: RelocateInput): void {
    const job = this.relocations.get(backend);
    const policy = this.opts.relocate;
    if (!job || !policy) return;
    const standby = this.opts.mayRunHooks !== undefined && !this.opts.mayRunHooks();
    const running = relocationsRunning(this.relocations.values());
    const gate = standby ? { mayStart: false, heldBy: 'this instance is a standby (its master relocates)' }
      : running >= policy.maxConcurrent ? { mayStart: false, heldBy: `${running} relocation(s) of this service already running (max_concurrent ${policy.maxConcurrent})` }
        : { mayStart: true };
    const step = stepRelocate(job, input, policy, gate, this.now());
    this.relocations.set(backend, step.job);
    this.emitEvents(step.events);
    for (const action of step.actions) this.startRelocateHook(backend, action.attempt, action.reason);
  }

  private startRelocateHook(backendId: string, attempt: number, reason: string): void {
    const b = this.requireBackend(backendId);
    if (!b.relocate) return;
    const ctx: HookContext = { action: 'relocate', service: this.opts.service, backend: b.id, vnic: b.vnic, ip: b.ip, tier: b.tier, reason, attempt };
    this.hooks.start(b.relocate, ctx, (result) => this.applyRelocate(backendId, { kind: 'hook_finished', ok: result.ok, reason: result.reason, output: result.output }));
  }

  private startHook(backendId: string, which: 'launch' | 'stop', attempt: number, reason: string): void {
    const b = this.requireBackend(backendId);
    const hook = which === 'launch' ? b.launch : b.stop;
    if (!hook) {
      // A stop without a stop hook: nothing to run, the job simply returns to idle.
      queueMicrotask(() => this.applyLaunch(backendId, { kind: 'hook_finished', hook: which, ok: true, reason: 'no stop hook configured', output: '' }));
      return;
    }
    const ctx: HookContext = { action: which, service: this.opts.service, backend: b.id, vnic: b.vnic, ip: b.ip, tier: b.tier, reason, attempt };
    this.hooks.start(hook, ctx, (result) => this.applyLaunch(backendId, { kind: 'hook_finished', hook: which, ok: result.ok, reason: result.reason, output: result.output }));
  }

  private evaluate(): void {
    const now = this.now();
    const views = [...this.backends.values()].map((b) => ({
      backend: b.id,
      tier: b.tier,
      health: this.verdictOf(b.id),
      draining: this.drains[b.id] !== undefined,
      ...(this.load.get(b.id) ?? { activeConns: 0 }),
    }));
    const before = this.failover.routing;
    const step = evaluateFailover(this.failover, views, this.opts.tiers, now);
    this.failover = step.state;
    this.tiersNeeded = step.tiersNeeded;
    this.emitEvents(step.events);
    if (step.state.routing !== before) this.emit('routing', step.state.routing);
    this.requestLaunches();
    this.feedStopCooldown();
  }

  /**
   * Launches absent backends of the lowest needed tier that can still be launched, as many as its quorum
   * lacks. One tier at a time, so a failure of the primaries does not start every VM of every tier.
   */
  private requestLaunches(): void {
    const active = ['hook_running', 'waiting_ready', 'backoff'];
    for (const tier of this.tiersNeeded) {
      const members = [...this.backends.values()].filter((b) => b.tier === tier);
      // A running backend not checked yet may still come up: launch nothing until it has been judged.
      if (members.some((b) => this.isPending(b.id))) return;
      const healthy = members.filter((b) => this.verdictOf(b.id) === 'up').length;
      const launching = members.filter((b) => active.includes(this.jobs.get(b.id)?.state.phase ?? '')).length;
      let missing = Math.min(this.opts.tiers.quorum ?? 1, members.length) - healthy - launching;
      for (const b of members) {
        const job = this.jobs.get(b.id);
        const vnic = this.requireHealth(b.id).vnic;
        if (missing <= 0 || !job || !vnic.reported || vnic.present) continue;
        const before = job.state;
        this.applyLaunch(b.id, { kind: 'request', reason: `tier ${tier} needed and vNIC ${b.vnic} is absent` });
        if (this.jobs.get(b.id)?.state !== before) missing--;
      }
      const inProgress = members.some((b) => active.includes(this.jobs.get(b.id)?.state.phase ?? ''));
      if (inProgress) return;
    }
  }

  /** Not judged yet and not known to be absent. */
  private isPending(id: string): boolean {
    const h = this.requireHealth(id);
    return this.verdictOf(id) === 'unknown' && !(h.vnic.reported && !h.vnic.present);
  }

  private feedStopCooldown(): void {
    const routing = this.failover.routing;
    for (const [id, job] of this.jobs) {
      if (job.state.phase !== 'running') continue;
      const tier = this.requireBackend(id).tier;
      const needed = (routing.kind === 'tier' && routing.tier === tier) || this.tiersNeeded.includes(tier);
      this.applyLaunch(id, { kind: 'load', needed, activeConns: this.load.get(id)?.activeConns ?? 0 });
    }
  }
}
