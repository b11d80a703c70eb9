import os from 'node:os';
import { publishedVerdict, type LoadBalancerApp, type OutlierProbe, type SwitchBatch } from '../app';
import type { ServiceConfig } from '../config';
import { CheckScheduler, ServiceHealthMonitor, checkTcp, checkUdp, healthOptionsFromConfig, sourceFor, type Checker, type SourceAddresses } from '../health';
import type { Routing } from '../health/tiers';
import type { LastCheck, VadcEvent } from '../runtime/types';
import type { Logger } from '../util/logger';

export interface HealthBridgeOptions {
  app: LoadBalancerApp;
  logger: Logger;
  /** Checks are sent from here, per family (in the lab: the bridge's LOCAL port addresses); default: the kernel's choice. */
  sourceAddresses?: SourceAddresses;
  emit: (event: Omit<VadcEvent, 'time'>) => void;
  /** Sends the flow changes the app returns for a verdict (a dead backend's connections, conntrack mode's backend flows). */
  deliver: (batches: SwitchBatch[]) => void;
  now: () => number;
  /** False while this instance is the standby of a pair: its monitors run no launch or stop hooks. */
  mayRunHooks?: () => boolean;
  /** Runs the active checks; injected for tests (default the real checkers). */
  checker?: Checker;
  /** The host's own addresses, where checks without a source address leave from (default: os.networkInterfaces()); injected for tests. */
  hostAddresses?: () => string[];
}

const TICK_MS = 250;
/** Ticks between two looks at the host's addresses (app.setCheckSources): 5 s. */
const SOURCES_EVERY_TICKS = 20;
/** Monitors told of their vNICs per turn of the event loop when a caller gives observeLocations a turn. */
const MONITORS_PER_SLICE = 20;
/** What an outlier probe of a UDP port sends (an application that answers any datagram answers it). */
const OUTLIER_UDP_PROBE = 'vadc outlier probe\n';
/** An outlier probe's connect timeout: a port that cannot accept within this stays ejected. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * Connects the health module (one ServiceHealthMonitor per service) to the load-balancing app: the
 * monitors get vNIC facts, port status and load; their verdicts become backend availability, their
 * routing decides which tier (or sorry backend) takes new connections, and a backend that goes down
 * has its connection flows removed so its clients reconnect at once to a healthy one.
 */
export class HealthBridge {
  /** A check result, the verdict it gives and the routing that verdict causes reach the app as one batch (app.batched). */
  private readonly scheduler: CheckScheduler;
  private readonly monitors = new Map<string, { monitor: ServiceHealthMonitor; config: ServiceConfig }>();
  private readonly ticker: NodeJS.Timeout;
  /** What each monitor was last told of its backends' vNICs ("service/backend" -> present/link). */
  private readonly told = new Map<string, string>();
  /**
   * The switch each backend's vNIC was on when last told present ("service/backend"), and whether that switch is away
   * now (see heldWhileAway).
   */
  private readonly lastSwitch = new Map<string, { dpid: bigint; away: boolean }>();
  private settled = false;
  /** Monitors detached by retire() and not yet stopped; verdicts carried from them to their rebuilt services. */
  private readonly retiring: ServiceHealthMonitor[] = [];
  private readonly carried = new Map<string, ReturnType<ServiceHealthMonitor['healthSnapshot']>>();

  /** What the app was last told of where checks come from (app.setCheckSources), joined. */
  private checkSources = '';
  private ticks = 0;

  constructor(private readonly opts: HealthBridgeOptions) {
    this.scheduler = new CheckScheduler({ concurrency: 32, checker: opts.checker, handOver: (deliver) => this.opts.app.batched(deliver, this.opts.deliver) });
    this.tellCheckSources();
    this.ticker = setInterval(() => {
      for (const { monitor } of this.monitors.values()) monitor.tick();
      this.outlierTick();
      if (++this.ticks % SOURCES_EVERY_TICKS === 0) this.tellCheckSources();
    }, TICK_MS);
    this.ticker.unref();
  }

  /**
   * Tells the app where the checks and outlier probes may come from: the configured source addresses and the host's
   * own (a check without one leaves from an address the kernel picks among them; an interface may gain one later).
   */
  private tellCheckSources(): void {
    const given = this.opts.sourceAddresses;
    const addresses = [...new Set([given?.ipv4, given?.ipv6, ...(this.opts.hostAddresses ?? hostAddresses)()].filter((a): a is string => a !== undefined))].sort();
    const joined = addresses.join(' ');
    if (joined === this.checkSources) return;
    this.checkSources = joined;
    this.opts.app.setCheckSources(addresses);
  }

  /**
   * What must happen in the same turn as the app taking a new service list (the daemon calls it right after): monitors
   * of services gone or to be rebuilt are detached (their events no longer reach the app) and backends gone leave
   * their service's monitor (backends that join are added by setServices). Before, this happened inside setServices after the daemon had looked the vNICs up and
   * between awaited monitor stops, and a monitor could tell the app of a service or backend it had dropped.
   */
  retire(services: readonly ServiceConfig[]): void {
    const wanted = new Map(services.map((s) => [s.name, s]));
    for (const [name, entry] of [...this.monitors]) {
      const next = wanted.get(name);
      if (next && JSON.stringify(next) === JSON.stringify(entry.config)) continue;
      if (next && sameButBackends(next, entry.config)) {
        // Only the removals: a backend that joins is added by setServices, after the daemon has looked its vNIC up
        // (added before, a tagged VM was reported down for an absence that was only vadc not having looked yet).
        const kept = new Set(next.backends.map(monitoredView));
        this.updateMembers(entry, { ...entry.config, backends: entry.config.backends.filter((b) => kept.has(monitoredView(b))) });
        continue;
      }
      // Rebuilt (the scheduler or another setting changed): with the same health section the verdicts carry over, so
      // a config apply does not take every backend out until its next check (new connections were refused meanwhile).
      if (next && JSON.stringify(next.health) === JSON.stringify(entry.config.health)) this.carried.set(name, entry.monitor.healthSnapshot());
      this.monitors.delete(name);
      this.retiring.push(entry.monitor);
    }
  }

  /**
   * (Re)build monitors for the services whose config changed; keep the others running. The new monitors' first
   * verdicts reach the app as one batch (app.batched); what the monitors are told of their vNICs afterwards goes in
   * slices, `turn` awaited between them (a configuration of 1,000 services with 10,000 located backends).
   */
  async setServices(services: readonly ServiceConfig[], turn?: () => Promise<void>): Promise<void> {
    this.retire(services);
    for (const monitor of this.retiring.splice(0)) await monitor.stop();
    const carried = new Map(this.carried);
    this.carried.clear();
    this.opts.app.batched(() => this.addMonitors(services, carried), this.opts.deliver);
    await this.observeLocationsInSlices(turn);
  }

  /** The backends that join kept monitors, and the monitors of new or rebuilt services (started). */
  private addMonitors(services: readonly ServiceConfig[], carried: ReadonlyMap<string, ReturnType<ServiceHealthMonitor['healthSnapshot']>>): void {
    // The backends that join a kept monitor (retire let only the removals happen).
    for (const service of services) {
      const entry = this.monitors.get(service.name);
      if (entry && JSON.stringify(entry.config) !== JSON.stringify(service)) this.updateMembers(entry, service);
    }
    for (const service of services) {
      if (this.monitors.has(service.name)) continue;
      const monitor = new ServiceHealthMonitor(healthOptionsFromConfig(service, {
        scheduler: this.scheduler, logger: this.opts.logger, sourceAddresses: this.opts.sourceAddresses, now: this.opts.now,
        mayRunHooks: this.opts.mayRunHooks, carried: carried.get(service.name),
      }));
      this.monitors.set(service.name, { monitor, config: service });
      // With active checks, a backend gets no traffic until its first pass (or until the pass it carried over).
      if (service.health) for (const b of service.backends) this.opts.deliver(this.opts.app.setHealth(service.name, b.name, monitor.stateOf(b.name).health === 'up'));
      monitor.on('event', (event: VadcEvent) => this.onMonitorEvent(service.name, monitor, event));
      monitor.on('routing', (routing: Routing) => this.applyRouting(service.name, monitor, routing));
      monitor.start();
      for (const b of service.backends) this.forget(`${service.name}/${b.name}`);
    }
  }

  /** What this bridge told a monitor of a backend's vNIC, and where it was, forgotten (it is told afresh). */
  private forget(key: string): void {
    this.told.delete(key);
    this.lastSwitch.delete(key);
  }

  /**
   * OVSDB says the vNIC `selector` names is gone (its Interface row went: the VM stopped, its port was deleted). That is
   * news about the VM, also while its switch is away: the hold (heldWhileAway) ends and the next look reports it
   * absent, so it must pass its checks again when it comes back.
   */
  vnicGone(selector: string): void {
    for (const { config } of this.monitors.values()) {
      for (const b of config.backends) if (b.vnic === selector) this.lastSwitch.delete(`${config.name}/${b.name}`);
    }
  }

  /** This instance became master: launches and stops its standby days held back are looked at again. */
  reconsider(): void {
    for (const { monitor } of this.monitors.values()) monitor.reconsider();
  }

  /** Discovery is authoritative from now on (a switch connected, and OVSDB answered or is not used). */
  discoverySettled(): void {
    this.settled = true;
    this.observeLocations();
  }

  /**
   * Tells each monitor where its backends' vNICs are now, as the app places them (present on a connected
   * switch, with the link state OpenFlow port-status and OVSDB give), when that changed since it was last
   * told. Before discovery has settled (a switch connected and OVSDB answered) a backend not located may
   * simply not have been discovered yet: only a vNIC that was seen and went is reported absent then. Once
   * settled, absence is a fact, which lets launch hooks run.
   */
  observeLocations(): void {
    this.opts.app.batched(() => this.tellLocations([...this.monitors.values()]), this.opts.deliver);
  }

  /**
   * An app input that may move backends (a switch's port status, a vNIC from OVSDB), then health's view of it
   * (observeLocations), as one batch: a tier's last backend whose link went down and the failover it causes change a
   * `decisions: datapath` group's buckets once, instead of emptying it (new connections to the controller) and
   * adding it back.
   */
  moved(input: () => SwitchBatch[]): void {
    this.opts.app.batched(() => {
      this.opts.deliver(input());
      this.tellLocations([...this.monitors.values()]);
    }, this.opts.deliver);
  }

  /** observeLocations() a slice of monitors per turn (`turn` awaited between slices; none: all at once). */
  private async observeLocationsInSlices(turn?: () => Promise<void>): Promise<void> {
    if (!turn) return this.observeLocations();
    const monitors = [...this.monitors.values()];
    for (let from = 0; from < monitors.length; from += MONITORS_PER_SLICE) {
      if (from > 0) await turn();
      this.opts.app.batched(() => this.tellLocations(monitors.slice(from, from + MONITORS_PER_SLICE)), this.opts.deliver);
    }
  }

  private tellLocations(entries: ReadonlyArray<{ monitor: ServiceHealthMonitor; config: ServiceConfig }>): void {
    const states = new Map(this.opts.app.serviceStates().map((s) => [s.config.name, s]));
    for (const { monitor, config } of entries) {
      // Retired while an earlier slice waited: its verdicts no longer count.
      if (this.monitors.get(config.name)?.monitor !== monitor) continue;
      for (const b of config.backends) {
        const state = states.get(config.name)?.backends.get(b.name);
        if (!state) continue; // dropped by the app, not yet by this bridge (see appHas)
        const location = state.location;
        const key = `${config.name}/${b.name}`;
        const before = this.told.get(key);
        if (!location && !this.settled && before === undefined) continue;
        if (!location && this.heldWhileAway(config.name, b.name, key)) continue;
        // On another host: its tiers count that host's verdict, and this host stops checking it (remoteVerdict).
        monitor.remoteVerdict(b.name, location?.remoteHost === undefined ? undefined : publishedVerdict(state.remote?.health, config.health !== undefined));
        if (location) this.lastSwitch.set(key, { dpid: location.dpid, away: false });
        else this.lastSwitch.delete(key);
        const vnic = { present: location !== undefined, linkState: location?.linkUp === false ? 'down' : 'up' } as const;
        const now = `${vnic.present}/${vnic.linkState}`;
        if (now === before) continue;
        this.told.set(key, now);
        monitor.vnicChanged(b.name, vnic);
      }
    }
  }

  /**
   * A backend that is not located because the switch its vNIC was on is away (the switch's OpenFlow connection
   * dropped, ovs-vswitchd restarting): its monitor is not told the vNIC is absent, so the verdict it had stays. The
   * switch being away says nothing about the VM; told absent, a backend with active checks was out after the switch
   * came back until its next passing check (0.6-2.7 s in the e2e: its service's decision flow was missing, new
   * connections went to vadc), and absent VMs could have had their launch hooks run. Its connections are forgotten
   * as before (the restore reads back what the datapath kept). The hold ends when the switch is back (the port is
   * there, or it is reported absent now: a fact then), or when OVSDB says the vNIC went (vnicGone).
   */
  private heldWhileAway(service: string, backend: string, key: string): boolean {
    const last = this.lastSwitch.get(key);
    if (last === undefined || this.opts.app.hasSwitch(last.dpid)) return false;
    if (!last.away) this.opts.deliver(this.opts.app.dropBackendConnections(service, backend, this.opts.now()));
    last.away = true;
    return true;
  }

  /** One poll's samples for a service's backends, evaluated once (backends the monitor does not know are skipped). */
  updateLoads(service: string, loads: ReadonlyArray<readonly [string, { activeConns: number; queueMeasure?: number; drops?: number }]>): void {
    const entry = this.monitors.get(service);
    if (!entry) return;
    const known = new Set(entry.config.backends.map((b) => b.name));
    entry.monitor.updateLoads(loads.filter(([backend]) => known.has(backend)));
  }

  drain(service: string, backend: string): void {
    this.monitors.get(service)?.monitor.drain(backend);
  }

  enable(service: string, backend: string): void {
    this.monitors.get(service)?.monitor.enable(backend);
  }

  stateOf(service: string, backend: string): { health: string; reason: string } | undefined {
    const entry = this.monitors.get(service);
    if (!entry || !entry.config.backends.some((b) => b.name === backend)) return undefined;
    return entry.monitor.stateOf(backend);
  }

  lastCheckOf(service: string, backend: string): LastCheck | undefined {
    const entry = this.monitors.get(service);
    if (!entry || !entry.config.backends.some((b) => b.name === backend)) return undefined;
    return entry.monitor.lastCheckOf(backend);
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    for (const { monitor } of this.monitors.values()) await monitor.stop();
    for (const monitor of this.retiring.splice(0)) await monitor.stop();
    this.monitors.clear();
    await this.scheduler.stop();
  }

  /**
   * The service's backends came or went and nothing else changed (VMs that join by tag, an added backend):
   * the monitor takes them in or lets them go, and every other backend keeps its verdict, drain and launch job
   * (a rebuilt monitor would judge them all again, and with active checks take them all out until then).
   */
  private updateMembers(entry: { monitor: ServiceHealthMonitor; config: ServiceConfig }, next: ServiceConfig): void {
    // A backend whose weight alone changed stays a member with its verdict, checks and drain (removed and added, it
    // was judged afresh: with active checks out of the rotation until its next check).
    const before = new Map(entry.config.backends.map((b) => [b.name, monitoredView(b)]));
    const after = new Map(next.backends.map((b) => [b.name, monitoredView(b)]));
    const members = new Map(healthOptionsFromConfig(next, { scheduler: this.scheduler }).backends.map((b) => [b.id, b]));
    // The new member list first: what a removal makes the monitor say (a re-evaluation's events) must not reach the
    // app for a backend the app no longer has ("service web has no backend ..." failed backend remove and config apply).
    entry.config = next;
    for (const [name, text] of before) {
      if (after.get(name) === text) {
        entry.monitor.setWeight(name, members.get(name)!.weight);
        continue;
      }
      entry.monitor.removeBackend(name);
      this.forget(`${next.name}/${name}`);
    }
    for (const [name, text] of after) {
      if (before.get(name) === text) continue;
      if (next.health) this.opts.deliver(this.opts.app.setHealth(next.name, name, false));
      entry.monitor.addBackend(members.get(name)!);
    }
  }

  private onMonitorEvent(serviceName: string, monitor: ServiceHealthMonitor, event: VadcEvent): void {
    this.opts.emit({ ...event, service: event.service ?? serviceName });
    const service = this.monitors.get(serviceName)?.config;
    if (!service || this.monitors.get(serviceName)?.monitor !== monitor) return;
    if (!event.backend || !service.backends.some((b) => b.name === event.backend)) return;
    if (!this.appHas(service.name, event.backend)) return;
    const state = monitor.stateOf(event.backend).health;
    const healthy = state === 'up' || state === 'draining' || state === 'drained';
    this.opts.deliver(this.opts.app.setHealth(service.name, event.backend, healthy));
    // A remote backend is judged by its own host (the app follows that host's published verdict): this host's
    // checks of it neither mark its ports nor drop its connections.
    const remote = this.opts.app.locationOf(service.name, event.backend)?.remoteHost !== undefined;
    // Active checks judge each software port: a failing one is skipped while the backend's others serve. A dual-stack
    // backend's port is judged per family: failing its IPv6 check, it still serves the IPv4 VIP.
    if (service.health && healthy && !remote) {
      const ports = service.backends.find((b) => b.name === event.backend)?.ports ?? [];
      for (const { family, passing } of monitor.portVerdicts(event.backend)) {
        for (const port of ports) this.opts.deliver(this.opts.app.setPortHealth(service.name, event.backend, port, passing.includes(port), family));
      }
    }
    if (event.kind === 'backend_down' && !remote) {
      // Flows to a dead backend are removed so its clients reconnect (and get a healthy one) at once.
      this.opts.deliver(this.opts.app.dropBackendConnections(service.name, event.backend, this.opts.now()));
    }
  }

  /** The outlier detector's ejections that ended: probe each port (a TCP connect from the checks' source address). */
  private outlierTick(): void {
    const { batches, probes } = this.opts.app.outlierTick(this.opts.now());
    this.opts.deliver(batches);
    for (const probe of probes) void this.runProbe(probe);
  }

  private async runProbe(probe: OutlierProbe): Promise<void> {
    const target = { host: probe.ip, port: probe.port, timeoutMs: PROBE_TIMEOUT_MS, sourceAddress: sourceFor(this.opts.sourceAddresses, probe.ip) };
    // A UDP port proves itself by answering a datagram (the `udp` check with its default: any reply passes).
    const result = await (probe.protocol === 'udp' ? checkUdp({ kind: 'udp', ...target, send: OUTLIER_UDP_PROBE }) : checkTcp({ kind: 'tcp', ...target }))
      .catch((err: unknown) => ({ ok: false, reason: (err as Error).message }));
    try {
      this.opts.deliver(this.opts.app.outlierProbeResult(probe, result.ok, result.reason, this.opts.now()));
    } catch (err) {
      // The service went away meanwhile: nothing to re-admit.
      this.opts.logger.debug(`outlier probe of ${probe.service}/${probe.backend}:${probe.port}: ${(err as Error).message}`);
    }
  }

  /**
   * Whether the app serves this service (and backend). Between the app taking a new service list and this bridge
   * taking it (the daemon looks the vNICs up in between) a monitor can still speak of a service or backend the app
   * has dropped; the app is not told of it (it would throw: config apply and backend remove failed so).
   */
  private appHas(service: string, backend?: string): boolean {
    return this.opts.app.serves(service, backend);
  }

  private applyRouting(service: string, monitor: ServiceHealthMonitor, routing: Routing): void {
    // A retired monitor (its service gone or rebuilt) no longer routes the app's service.
    if (this.monitors.get(service)?.monitor !== monitor || !this.appHas(service)) return;
    this.opts.deliver(this.opts.app.setRouting(service, routing));
  }
}

/** Two configurations of one service that differ at most in their backends list. */
function sameButBackends(a: ServiceConfig, b: ServiceConfig): boolean {
  return JSON.stringify({ ...a, backends: [] }) === JSON.stringify({ ...b, backends: [] });
}

/** Every address of the host's interfaces (an IPv6 link-local one without its zone). */
function hostAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.replace(/%.*$/, '')));
}

/** A backend as its health monitor sees it: its configuration less the weight (the monitor only records it). */
function monitoredView(b: ServiceConfig['backends'][number]): string {
  return JSON.stringify({ ...b, weight: 0 });
}
