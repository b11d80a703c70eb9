import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { stringify as toYaml } from 'yaml';
import { LoadBalancerApp, type SwitchBatch, type VadcEvent as AppEvent, type VswitchdProbe } from '../app';
import type { EffectivePolicy, PolicyProblem } from '../cluster';
import type { OffThreadOptions, VadcConfig } from '../config';
import { Controller, insecureListenerWarning } from '../controller';
import { PACKET_IN_RING_BOUNDS } from '../controller/packet-in-ring';
import { ProtocolViolationError } from '../controller/errors';
import type { OutboundMessage } from '../controller/types';
import type { SourceAddresses } from '../health';
import { formatDpid } from '../openflow/dpid';
import type { InterfaceRow, OvsdbClientOptions } from '../ovsdb';
import {
  RuntimeError, type BackendSpec, type BackendStatus, type ConnectionStatus, type FlowStatus, type ServiceSpec,
  type ServiceStatus, type StatusSnapshot, type VadcEvent, type VadcRuntime,
} from '../runtime/types';
import { silentLogger, type Logger } from '../util/logger';
import { nextTurn, runInSlices } from '../util/next-turn';
import { createAccountingReader, type AccountingReader } from './accounting-readers';
import { reportControllerEvents } from './controller-events';
import { cachedNatChoice, ClusterHost, type NatChosenBy } from './cluster-host';
import { HealthBridge } from './health-bridge';
import { createElection, type ControllerElection, type ElectionChange } from './election';
import { desiredEgressQos, egressQueueIds } from './egress-rows';
import { OvsdbLink, ovsdbTls, toAppVnic } from './ovsdb-link';
import { PairConfigSync } from './pair-config';
import { PeerWatch } from './peer-watch';
import { ServedServices } from './served-services';
import { listingSpacingLimit } from './reading-spacing';
import { pollIntervalFor, StatsPoller } from './stats-poller';
import { SwitchHooks } from './switch-hooks';
import { TableZeroWatch } from './table-zero-watch';
import { connectionStatuses, flowStatuses, haStatus, optionalReachable, optionalSynced, readingStatus, serviceStatuses } from './views';
import { RuntimeChanges } from './runtime-changes';
import { probeVswitchd } from './vswitchd-probe';

export interface DaemonOptions {
  config: VadcConfig;
  /** The YAML the config came from (shown by `vadc config show`). */
  configText?: string;
  logger?: Logger;
  /** Override config.controller.listen (e.g. port 0 in tests). */
  listen?: string[];
  /** false: do not use OVSDB at all (vNICs are then found by port name only). */
  ovsdb?: boolean;
  /** OVSDB session settings beyond the defaults (tests shorten the backoff). */
  ovsdbSession?: Partial<OvsdbClientOptions>;
  /**
   * Source addresses of health checks (in the lab: the bridge's LOCAL port addresses), per family; a single address
   * is used for checks of its own family only.
   */
  healthSourceAddress?: string | SourceAddresses;
  /** Statistics poll interval (flow + port stats), ms. Default: the smallest service feedback_interval. */
  statsIntervalMs?: number;
  now?: () => number;
  version?: string;
  /** The config file (a cluster host keeps its policy cache next to it). */
  configPath?: string;
  /** Cluster store session settings beyond the defaults (tests shorten the backoff). */
  clusterSession?: Partial<OvsdbClientOptions>;
  /**
   * Run the controller HA election the config's controller.ha describes (serve() does; a daemon built without it
   * drives its switches as the only controller). `api`: this instance's control API, shown to its peer.
   */
  ha?: { api?: string };
  /**
   * The configuration as its file says, without the runtime changes a state file adds (serve() passes it): it
   * names the controller pair, so an instance restarted with runtime changes still pairs with its peer.
   */
  fileConfig?: VadcConfig;
  /** How an applied configuration is parsed (its worker's time and heap bounds); tests on a loaded machine widen the time. */
  configParse?: OffThreadOptions;
  /** For `datapath.nat: auto`: finds ovs-vswitchd on this host (default: its unixctl socket, ./vswitchd-probe.ts). */
  probeVswitchd?: () => VswitchdProbe;
}

const EVENT_RING = 1000;
/** New services' state built per turn of the event loop during a configuration change (~1-5 ms each under load). */
const SERVICES_PER_SLICE = 25;

/**
 * The running vadc: wires the OpenFlow controller, the load-balancing app, OVSDB (vNIC discovery and
 * link state), statistics polling and the event log together, and implements the runtime facade the
 * control API, CLI, metrics and dashboard use. All decisions are in the app and src/lb; this class
 * moves data between them and the sockets.
 */
export class VadcDaemon implements VadcRuntime {
  readonly bus = new EventEmitter();
  readonly controller: Controller;
  private hooks!: SwitchHooks;
  readonly app: LoadBalancerApp;
  readonly health: HealthBridge;
  private readonly stats: StatsPoller;
  private readonly accounting: AccountingReader;
  private config: VadcConfig;
  private text: string;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly ring: VadcEvent[] = [];
  private readonly startedAt: number;
  private ovsdb?: OvsdbLink;
  /** A master's look at its standby (peer_lost / peer_seen events), twice a second. */
  private peerTimer?: NodeJS.Timeout;
  private readonly peerWatch = new PeerWatch();
  private stopped = false;
  /** A cluster host's link to the store, and the services its policy gives this host (docs/cluster.md). */
  cluster?: ClusterHost;
  private publishQueued = false;
  /** What is served: the file's services, then the cluster's that do not collide with them, with their tagged backends. */
  private readonly served: ServedServices;
  private readonly decisionObservers: ((seconds: number) => void)[] = [];
  /** Controller HA: who is master among the instances serving this configuration (absent: always this one). */
  private readonly election?: ControllerElection;
  /** A pair's configuration: the master publishes what it runs, the standby adopts it (./pair-config.ts). */
  private readonly pairConfig?: PairConfigSync;
  /** With datapath.first_table > 0: whether table 0 leads to vadc's tables on each switch. */
  private readonly tableZero?: TableZeroWatch;
  /** What chose the NAT mode that runs (a cluster host tells the operator what a restart would change). */
  private readonly natChosenBy: NatChosenBy;
  /** The API's changes and `config apply`, one at a time (./runtime-changes.ts). */
  private readonly changes: RuntimeChanges;

  constructor(private readonly opts: DaemonOptions) {
    this.config = opts.config;
    this.text = opts.configText ?? toYaml(opts.config);
    this.log = opts.logger ?? silentLogger();
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.served = new ServedServices(this.config.services, (e) => this.emitEvent(e));
    // A cluster host whose file leaves the NAT mode to auto runs the mode its cached policy sets (docs/cluster.md).
    const clusterNat = this.config.cluster && this.config.datapath.nat === 'auto' ? cachedNatChoice(this.config.cluster, opts.configPath) : undefined;
    this.natChosenBy = this.config.datapath.nat !== 'auto' ? 'file' : clusterNat ? 'cache' : 'probe';
    this.app = new LoadBalancerApp(this.config.services, {
      dpid: this.config.dpid, datapath: this.config.datapath, emit: (e) => this.record(e), uplink: this.config.cluster?.uplink, egress: this.config.egress,
      probeVswitchd: opts.probeVswitchd ?? (() => probeVswitchd(this.config.datapath.appctl)), ...(clusterNat ? { clusterNat } : {}),
    });
    if (opts.ha) {
      this.election = createElection({
        config: this.config, pairConfig: opts.fileConfig, listen: (opts.listen ?? [this.config.controller.listen])[0], api: opts.ha.api, logger: this.log, now: this.now,
        onChange: (change) => this.onElection(change), tls: ovsdbTls(this.config), clusterSession: opts.clusterSession,
      });
      const election = this.election;
      const channel = election?.configChannel;
      if (election && channel) {
        this.pairConfig = new PairConfigSync({
          // The master's changes come in past the standby's refusal of API changes (refuseOnStandby).
          channel, now: this.now, configText: () => this.text, apply: (text) => this.changes.oneChangeAtATime(() => this.changes.applyConfigNow(text, 'pair')), emit: (e) => this.emitEvent(e),
          drains: { list: () => [...this.changes.apiDrained.values()], set: async (service, backend, drained) => this.changes.setDrained(service, backend, drained) },
          election: () => {
            const { instance, role, peer, stoodBy } = election.status();
            return { instance, role, master: role === 'standby' ? peer : undefined, stoodBy };
          },
        });
      }
    }
    const tlsFiles = this.config.controller.ssl;
    this.controller = new Controller({
      listen: opts.listen ?? [this.config.controller.listen],
      tls: tlsFiles && { key: readFileSync(tlsFiles.key), cert: readFileSync(tlsFiles.cert), ca: readFileSync(tlsFiles.ca) },
      session: {
        echoIntervalMs: this.config.controller.echo_interval * 1000,
        maxReplyBytes: this.config.limits.openflow_reply_bytes, maxBufferedReplyBytes: 2 * this.config.limits.openflow_reply_bytes,
      },
      maxHandshaking: this.config.limits.openflow_handshaking, maxSwitches: this.config.limits.openflow_switches,
      logger: this.log,
      now: this.now,
      roles: this.election,
      // A takeover decides nothing before its restore has read the datapath (./switch-hooks.ts takeOver replays then).
      holdAfterMastershipMs: PACKET_IN_RING_BOUNDS.maxAgeMs,
    });
    this.health = new HealthBridge({
      app: this.app, logger: this.log, sourceAddresses: sourcesOf(opts.healthSourceAddress), now: this.now,
      emit: (e) => this.emitEvent(e), deliver: (batches) => this.deliver(batches),
      // A pair's standby sees the same absent VM as its master: only the master may start it.
      mayRunHooks: () => this.election === undefined || this.election.status().role === 'master',
    });
    const dp = this.config.datapath;
    this.accounting = createAccountingReader(this.app.accountingSource, {
      controller: this.controller, logger: this.log, emit: (e) => this.emitEvent(e),
      tracker: this.app.nat.status.nat === 'conntrack' ? { zone: dp.ct_zone, appctl: dp.appctl } : undefined,
    });
    const intervalMs = (): number => this.opts.statsIntervalMs ?? pollIntervalFor(this.config.services);
    this.stats = new StatsPoller({
      controller: this.controller, app: this.app, reader: this.accounting, health: this.health, deliver: (b) => this.deliver(b), logger: this.log, now: this.now, listingShare: dp.listing_share,
      intervalMs, readingsWithinMs: () => listingSpacingLimit(this.app.serviceStates(), this.app.nat.accounting, this.config.datapath.ct_timeouts, intervalMs()),
    });
    if (this.config.datapath.first_table > 0) {
      this.tableZero = new TableZeroWatch({ controller: this.controller, firstTable: this.config.datapath.first_table, emit: (e) => this.emitEvent(e), logger: this.log });
      this.controller.on('switch_down', (dpid) => this.tableZero?.forget(dpid));
    }
    this.controller.setApp((this.hooks = new SwitchHooks({
      app: this.app, controller: this.controller, accounting: this.accounting, health: this.health, tableZero: this.tableZero, log: this.log, now: this.now,
      emitEvent: (e) => this.emitEvent(e), deliver: (b) => this.deliver(b), send: (dpid, msgs) => this.send(dpid, msgs), stopped: () => this.stopped, afterDiscovery: () => this.afterDiscovery(), decisionObservers: this.decisionObservers,
      readingWanted: () => this.stats.readSoon(),
    })).controllerApp());
    reportControllerEvents(this.controller, (e) => this.emitEvent(e), (dpid, report) => {
      this.election?.check(); // the switch knows better than our last look at the record
      if (report.kind === 'fenced') this.outbid(dpid, report.generation);
    });
    // Refused peers are logged by the controller itself, once per peer per minute.
    this.controller.on('error', (err, sw) => err instanceof ProtocolViolationError || this.log.warn(err.message, { dpid: sw ? formatDpid(sw.dpid) : undefined }));
    this.changes = new RuntimeChanges({
      app: this.app, health: this.health, stats: this.stats, election: this.election, pairConfig: this.pairConfig, bus: this.bus, configParse: opts.configParse,
      config: () => this.config, adopt: (config, text) => { this.config = config; this.text = text; }, clusterNames: () => this.served.clusterNames(),
      serve: () => this.serveCombined(), service: (name) => this.service(name), emitEvent: (e) => this.emitEvent(e), deliver: (b) => this.deliver(b),
    });
  }

  /** Starts listening for switches and connects to OVSDB; returns the bound listen targets. */
  async start(): Promise<string[]> {
    try {
      return await this.startParts();
    } catch (err) {
      // What started before the failure (health checks, the store session, the election) would keep the
      // process alive, serving nothing, after the error was printed: stop it all, then report.
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  private async startParts(): Promise<string[]> {
    await this.health.setServices(this.config.services);
    await this.joinCluster();
    await this.election?.start();
    this.pairConfig?.start();
    const election = this.election;
    if (election) {
      this.peerTimer = setInterval(() => {
        const event = this.peerWatch.observe(election.status());
        if (event) this.emitEvent(event);
      }, 500);
      this.peerTimer.unref();
    }
    const targets = await this.controller.start();
    this.emitEvent({ kind: 'started', level: 'info', message: `vadc listening on ${targets.join(', ')}` });
    for (const warning of targets.map(insecureListenerWarning)) if (warning) this.emitEvent({ kind: 'insecure_listener', level: 'warn', message: warning });
    if (this.opts.ovsdb !== false) {
      this.ovsdb = new OvsdbLink({
        config: this.config, nat: this.app.nat.status.nat, logger: this.log, emit: (e) => this.emitEvent(e), selectors: () => this.vnicSelectors(), session: this.opts.ovsdbSession,
        onVnic: (selector, info) => {
          // OVSDB's word that the vNIC went is news about the VM, also while its switch is away (HealthBridge.vnicGone).
          if (!info) this.health.vnicGone(selector);
          this.health.moved(() => this.app.setVnic(selector, toAppVnic(info), this.now()));
        },
        onInterfaces: (rows) => this.interfacesChanged(rows),
        onReady: () => this.afterDiscovery(),
        egress: () => desiredEgressQos(this.config.egress, this.served.current),
      });
    }
    this.stats.start(() => this.pollStats());
    this.tableZero?.start();
    return targets;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Resign first: a standby takes over while this instance closes its sessions.
    const resigned = this.election?.stop();
    this.pairConfig?.stop();
    this.stats.stop();
    clearInterval(this.peerTimer);
    this.tableZero?.stop();
    this.cluster?.close();
    this.ovsdb?.close();
    this.accounting.close();
    await this.health.stop();
    await this.controller.stop();
    await resigned;
  }

  /** Called with each decision's latency in seconds (the metrics histogram). */
  onDecision(observer: (seconds: number) => void): void {
    this.decisionObservers.push(observer);
  }

  /** One statistics poll now (the timer runs them every interval). */
  pollStats(): Promise<void> {
    return this.stopped ? Promise.resolve() : this.stats.poll();
  }

  // ------------------------------------------------------------------ wiring

  /**
   * A switch fenced this instance while its election, looked at again, still names it master: the switch's
   * generation came from outside the election, and without an outbid the bridge would have no master until
   * ovs-vswitchd restarts. The election takes a later generation (promoted event) or says why not.
   */
  private outbid(dpid: string, switchGeneration: bigint): void {
    if (!this.election || this.election.wanted().role !== 'master') return;
    const verdict = this.election.outbid(switchGeneration);
    if (!verdict.outbid) {
      this.emitEvent({ kind: 'fenced_stuck', level: 'error', dpid, data: { generation: String(switchGeneration) }, message: `switch ${dpid} knows generation ${switchGeneration}, later than this master's, and the election cannot outbid it: ${verdict.reason}` });
    }
  }

  /** The election's verdict changed: events, and every switch is asked for the matching role. */
  private onElection(change: ElectionChange): void {
    // The switches first: the role requests leave in this turn's write. What follows a promotion (health hooks, the
    // pair configuration's adopt-then-publish, YAML work of tens of ms on a loaded host) waits for the next turn,
    // after that write, so that it does not hold back the MASTER request and with it the first served packet-in.
    this.controller.updateRoles();
    if (change.kind === 'promoted') {
      this.emitEvent({ kind: 'promoted', level: 'warn', data: { generation: String(change.generation) }, message: `this instance is master now (generation ${change.generation}): ${change.reason}` });
      setImmediate(() => {
        if (this.stopped) return;
        this.health.reconsider();
        void this.pairConfig?.promoted();
      });
    } else if (change.kind === 'fenced') {
      this.emitEvent({ kind: 'fenced', level: 'warn', data: { generation: String(change.generation), by: change.by }, message: `this instance is a standby now: ${change.reason}` });
    }
  }

  /** Sends what an app input caused, switch by switch. */
  private deliver(batches: SwitchBatch[]): void {
    for (const { dpid, msgs } of batches) this.send(dpid, msgs);
  }

  private send(dpid: bigint, msgs: OutboundMessage[]): void {
    if (msgs.length && this.controller.switch(dpid)) this.controller.send(dpid, msgs);
  }

  /**
   * vNIC absence is only a fact once a switch has reported its ports and OVSDB has answered (or is not used):
   * before that, an unlocated backend may merely be undiscovered, and must not trigger its launch hook.
   */
  private afterDiscovery(): void {
    const ovsdbSettled = this.opts.ovsdb === false || this.ovsdb?.ready === true;
    if (ovsdbSettled && this.controller.switches().length > 0) this.health.discoverySettled();
    else this.health.observeLocations();
  }

  /** An event from the app (already stamped) or from here: to the ring, the log and the bus. */
  private record(raw: AppEvent): void {
    // What our own shutdown causes (switches disconnecting, backends lost) is news, not a warning.
    const event = this.stopped && raw.level === 'warn' ? { ...raw, level: 'info' as const } : raw;
    this.ring.push(event);
    if (this.ring.length > EVENT_RING) this.ring.shift();
    const fields = { kind: event.kind, service: event.service, backend: event.backend, dpid: event.dpid };
    this.log.log(event.level, event.message, fields);
    this.bus.emit('event', event);
    // A backend's verdict or location changed: the other cluster hosts that may send it connections learn it
    // from this host's report, so it is written now (once per turn), not at the next report interval.
    if (event.backend !== undefined && this.cluster && !this.publishQueued) {
      this.publishQueued = true;
      setImmediate(() => {
        this.publishQueued = false;
        this.cluster?.publish();
      });
    }
  }

  emitEvent(partial: Omit<VadcEvent, 'time'>): void {
    this.record({ time: this.now(), ...partial });
  }

  // ------------------------------------------------------------------ OVSDB

  private vnicSelectors(): string[] {
    // The sorry backend's vNIC is found the same way as the tiered ones (it may be an iface-id/mac selector too).
    return [...new Set(this.served.current.flatMap((s) => [...s.backends, ...(s.sorry_backend ? [s.sorry_backend] : [])].map((b) => b.vnic)))];
  }

  // ------------------------------------------------------------------ cluster

  private async joinCluster(): Promise<void> {
    const c = this.config.cluster;
    if (!c) return;
    this.cluster = new ClusterHost({
      cluster: c, configPath: this.opts.configPath, tls: ovsdbTls(this.config), nat: this.app.nat.status.nat, natChosenBy: this.natChosenBy,
      version: this.opts.version ?? '0.1.0', logger: this.log, emit: (e) => this.emitEvent(e), now: this.now, session: this.opts.clusterSession,
      pairedHost: () => this.election?.status().peer !== undefined,
      apply: (policy) => this.changes.oneChangeAtATime(() => this.applyClusterPolicy(policy)), services: () => this.services(),
      remoteBackends: (reports) => {
        this.deliver(this.app.setRemoteBackends(reports, this.now()));
        this.health.observeLocations();
      },
    });
    await this.cluster.start();
  }

  private async applyClusterPolicy(policy: EffectivePolicy): Promise<PolicyProblem[]> {
    this.served.setClusterPolicy(policy);
    return this.serveCombined();
  }

  /** OVSDB's interfaces changed: serve again when that changes any service's tagged backends. */
  private interfacesChanged(rows: InterfaceRow[]): void {
    if (!this.served.setInterfaces(rows, this.config.services)) return;
    void this.changes.oneChangeAtATime(() => this.serveCombined()).catch((err: Error) => this.emitEvent({
      kind: 'tagged_serve_failed', level: 'error', message: `could not serve the tagged backends: ${err.message}`,
    }));
  }

  /** Serves the file's and the cluster's services together, with their tagged backends; the store's drains follow. */
  private async serveCombined(): Promise<PolicyProblem[]> {
    const { services, problems } = this.served.next(this.config.services, (configs) => this.app.pinConflicts(configs, []));
    // The new services' connection tables and schedulers are built a slice per turn (1,000 new services: ~0.3-0.8 s
    // at once); the switch sessions' echoes and packet-ins are served between slices, still by the state before.
    await runInSlices(this.app.prepareServices(services), SERVICES_PER_SLICE);
    // The egress section may have come, gone or changed `police` (a config apply): the app swaps its tagger.
    const steps = this.app.setServicesInSlices(services, this.now(), { egress: this.config.egress }, SERVICES_PER_SLICE);
    let step = steps.next(); // the app takes the new services
    // Its first batch leads (the egress meters, the deletes, the VIP flows) and goes out before the OVSDB sync and the
    // monitors below: the tagging flows the sync sends name those meters, and a flow naming a meter the switch does
    // not have yet is refused (egress-queues e2e: two errors after an apply that brought the egress section back).
    this.deliver(step.value);
    this.health.retire(services); // in the same turn: no monitor speaks of what the app just dropped
    // The vNICs first: a backend that joins (a tagged VM) is located before its monitor first looks for it, so it
    // is not reported down for an absence that was only vadc not having looked yet.
    this.ovsdb?.watch();
    this.ovsdb?.syncEgress();
    // The new monitors start now, not after the flows below: a new service's checked backends get no connection
    // before their first pass, and a rebuilt service's take their carried verdicts, while the flows still go out.
    const monitors = this.health.setServices(services, nextTurn);
    monitors.catch(() => undefined); // awaited below: a failure meanwhile is not an unhandled rejection
    // The service flows, a slice per turn (1,000 services' flows and their encoding: ~0.3-1 s at once).
    while (!step.done) {
      await nextTurn();
      step = steps.next();
      this.deliver(step.value);
    }
    await monitors;
    this.afterDiscovery();
    const backends = this.app.serviceStates().flatMap((s) => [...s.backends.values()].map((b) => ({ service: s.config.name, backend: b.config.name, draining: b.draining })));
    const plan = this.served.drains(backends);
    for (const [service, backend] of plan.drain) this.changes.drainNow(service, backend);
    for (const [service, backend] of plan.enable) this.changes.enableNow(service, backend);
    return problems;
  }

  // ------------------------------------------------------------------ VadcRuntime

  status(): StatusSnapshot {
    return {
      version: this.opts.version ?? '0.1.0',
      startedAt: this.startedAt,
      switches: this.controller.switches().map((sw) => ({
        dpid: formatDpid(sw.dpid), address: sw.address, connectedAt: sw.connectedAt, ports: sw.ports.size,
        packetIns: sw.counters.packetIns, flowModsSent: sw.counters.flowModsSent, errorsReceived: sw.counters.errorsReceived,
        ...(sw.role ? { role: sw.role.state, ...(sw.role.generation !== undefined ? { generation: String(sw.role.generation) } : {}) } : {}),
        ...(this.tableZero ? { firstTable: this.config.datapath.first_table, ...optionalReachable(this.tableZero.reachable(sw.dpid)) } : {}),
        ...optionalSynced(this.hooks.flowsSyncedAt(sw)),
      })),
      services: this.services(),
      ovsdb: { target: this.config.ovsdb, connected: this.ovsdb?.connected ?? false },
      datapath: { ...this.app.nat.status, ...readingStatus(this.stats.readingFigures()) },
      ...(this.election ? { ha: haStatus(this.election) } : {}),
      ...(this.cluster ? { cluster: this.cluster.status() } : {}),
    };
  }

  services(): ServiceStatus[] {
    const queues = egressQueueIds(this.config.egress, this.served.current);
    return serviceStatuses(this.app, this.health, this.stats, (service, backend) => this.served.tagged.ifaceOf(service, backend), (vnic) => queues.get(vnic));
  }

  service(name: string): ServiceStatus {
    const found = this.services().find((s) => s.name === name);
    if (!found) throw new RuntimeError('not_found', `no service named ${JSON.stringify(name)}`);
    return found;
  }

  addService(spec: ServiceSpec): Promise<ServiceStatus> { return this.changes.addService(spec); }
  removeService(name: string): Promise<void> { return this.changes.removeService(name); }
  addBackend(serviceName: string, spec: BackendSpec): Promise<BackendStatus> { return this.changes.addBackend(serviceName, spec); }
  removeBackend(serviceName: string, backend: string): Promise<void> { return this.changes.removeBackend(serviceName, backend); }
  setWeight(serviceName: string, backend: string, weight: number): Promise<BackendStatus> { return this.changes.setWeight(serviceName, backend, weight); }
  /** Weight 0; the health module reports 'backend_draining' now and 'backend_drained' when the last connection ends. */
  drain(serviceName: string, backend: string): Promise<BackendStatus> { return this.changes.drain(serviceName, backend); }
  enable(serviceName: string, backend: string): Promise<BackendStatus> { return this.changes.enable(serviceName, backend); }

  connections(filter: { service?: string; backend?: string } = {}): ConnectionStatus[] {
    return connectionStatuses(this.app, filter, this.now());
  }

  flows(dpid?: string): Promise<FlowStatus[]> {
    return flowStatuses(this.controller, dpid);
  }

  events(limit = 100): VadcEvent[] {
    return this.ring.slice(-limit);
  }

  configText(): string {
    return this.text;
  }

  applyConfig(yamlText: string): Promise<{ changed: string[] }> { return this.changes.applyConfig(yamlText); }
}

/** DaemonOptions.healthSourceAddress as per-family addresses: a single address serves its own family only. */
function sourcesOf(given: string | SourceAddresses | undefined): SourceAddresses | undefined {
  if (typeof given !== 'string') return given;
  return given.includes(':') ? { ipv6: given } : { ipv4: given };
}
