import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { stringify as toYaml } from 'yaml';
import { parseConfigOffThread, type VadcConfig } from '../config';
import { Controller, insecureListenerWarning } from '../controller';
import { ProtocolViolationError } from '../controller/errors';
import { LbAppError, LoadBalancerApp, dpidText, type AppEvent } from '../controller/app/lb-app';
import type { ControllerApp, SwitchInfo } from '../controller/types';
import { allVadcFlows, buildFlowStatsRequest } from '../flows';
import { FeedbackScheduler, uint32ToIpv4, type LbService } from '../lb';
import { OFPG_ANY, OFPP_ANY, OFPTT_ALL } from '../openflow/constants';
import type { FlowRemoved, MultipartReply, OfpMessage, PacketIn, PortStatus } from '../openflow/types';
import { ensureZoneTimeoutPolicy, OvsdbClient, VnicResolver, VswitchCache, type VnicInfo as OvsdbVnicInfo } from '../ovsdb';
import {
  RuntimeError, type BackendSpec, type BackendStatus, type ConnectionStatus, type FlowStatus, type ServiceSpec,
  type ServiceStatus, type StatusSnapshot, type VadcEvent, type VadcRuntime,
} from '../runtime/types';
import { silentLogger, type Logger } from '../util/logger';
import { describeActions, describeMatch } from './flow-text';
import type { ConntrackDump } from '../flows/conntrack-dump';
import { ConntrackReader } from './conntrack-reader';
import { HealthBridge } from './health-bridge';

export interface DaemonOptions {
  config: VadcConfig;
  /** The YAML the config came from (shown by `vadc config show`). */
  configText?: string;
  logger?: Logger;
  /** Override config.controller.listen (e.g. port 0 in tests). */
  listen?: string[];
  /** false: do not use OVSDB at all (vNICs are then found by port name only). */
  ovsdb?: boolean;
  /** Source address of health checks (in the lab: the bridge's LOCAL port IP). */
  healthSourceAddress?: string;
  /** Statistics poll interval (flow + port stats), ms. Default: the smallest service feedback_interval. */
  statsIntervalMs?: number;
  now?: () => number;
  version?: string;
}

const EVENT_RING = 1000;

/**
 * The running vadc: wires the OpenFlow controller, the load-balancing app, OVSDB (vNIC discovery and
 * link state), statistics polling and the event log together, and implements the runtime facade the
 * control API, CLI, metrics and dashboard use. All decisions are in the app and src/lb; this class
 * moves data between them and the sockets.
 */
export class VadcDaemon implements VadcRuntime {
  readonly bus = new EventEmitter();
  readonly controller: Controller;
  readonly app: LoadBalancerApp;
  readonly health: HealthBridge;
  private config: VadcConfig;
  private text: string;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly ring: VadcEvent[] = [];
  private readonly startedAt: number;
  private ovsdbClient?: OvsdbClient;
  private resolver?: VnicResolver;
  private cache?: VswitchCache;
  private ovsdbRetry?: NodeJS.Timeout;
  private statsTimer?: NodeJS.Timeout;
  private stopped = false;
  private readonly decisionObservers: ((seconds: number) => void)[] = [];
  /** Conntrack mode with tracker accounting: reads vadc's zone of the connection tracker. */
  private readonly conntrack?: ConntrackReader;
  private conntrackDown = false;

  constructor(private readonly opts: DaemonOptions) {
    this.config = opts.config;
    this.text = opts.configText ?? toYaml(opts.config);
    this.log = opts.logger ?? silentLogger();
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.app = new LoadBalancerApp(this.config.services, { dpid: this.config.dpid, datapath: this.config.datapath });
    const dp = this.config.datapath;
    if (dp.nat === 'conntrack' && dp.accounting === 'conntrack') this.conntrack = new ConntrackReader({ zone: dp.ct_zone, appctl: dp.appctl });
    const tlsFiles = this.config.controller.ssl;
    this.controller = new Controller({
      listen: opts.listen ?? [this.config.controller.listen],
      tls: tlsFiles && { key: readFileSync(tlsFiles.key), cert: readFileSync(tlsFiles.cert), ca: readFileSync(tlsFiles.ca) },
      session: {
        echoIntervalMs: this.config.controller.echo_interval * 1000,
        maxReplyBytes: this.config.limits.openflow_reply_bytes, maxBufferedReplyBytes: 2 * this.config.limits.openflow_reply_bytes,
      },
      maxHandshaking: this.config.limits.openflow_handshaking, maxSwitches: this.config.limits.openflow_switches,
      app: this.controllerApp(),
      logger: this.log,
      now: this.now,
    });
    this.health = new HealthBridge({
      app: this.app, logger: this.log, sourceAddress: opts.healthSourceAddress, now: this.now,
      emit: (e) => this.emitEvent(e), send: (msgs) => this.sendAll(msgs), flushSwitchMessages: () => this.flushSwitchMessages(),
    });
    this.controller.on('switch_down', (dpid, reason) => this.emitEvent({ kind: 'switch_down', level: 'warn', dpid: dpidText(dpid), message: `switch ${dpidText(dpid)} disconnected: ${reason}` }));
    this.controller.on('dpid_conflict', (c) => this.emitEvent({
      kind: 'dpid_conflict', level: 'warn', dpid: dpidText(c.dpid), data: { holder: c.holder, claimant: c.claimant, kept: c.kept },
      message: c.kept === 'holder'
        ? `${c.claimant} claimed datapath id ${dpidText(c.dpid)}, connected from ${c.holder}: refused (${c.reason})`
        : `${c.claimant} took over datapath id ${dpidText(c.dpid)} from ${c.holder}: ${c.reason}`,
    }));
    // Refused peers are logged by the controller itself, once per peer per minute.
    this.controller.on('error', (err, sw) => err instanceof ProtocolViolationError || this.log.warn(err.message, { dpid: sw ? dpidText(sw.dpid) : undefined }));
  }

  /** Starts listening for switches and connects to OVSDB; returns the bound listen targets. */
  async start(): Promise<string[]> {
    await this.health.setServices(this.config.services);
    const targets = await this.controller.start();
    this.emitEvent({ kind: 'started', level: 'info', message: `vadc listening on ${targets.join(', ')}` });
    for (const warning of targets.map(insecureListenerWarning)) if (warning) this.emitEvent({ kind: 'insecure_listener', level: 'warn', message: warning });
    if (this.opts.ovsdb !== false) void this.connectOvsdb();
    const interval = this.opts.statsIntervalMs ?? Math.min(2000, ...this.config.services.map((s) => s.feedback_interval * 1000));
    this.statsTimer = setInterval(() => void this.pollStats(), interval);
    this.statsTimer.unref();
    return targets;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.statsTimer);
    clearTimeout(this.ovsdbRetry);
    this.resolver?.dispose();
    this.ovsdbClient?.close();
    this.conntrack?.close();
    await this.health.stop();
    await this.controller.stop();
  }

  /** Called with each decision's latency in seconds (the metrics histogram). */
  onDecision(observer: (seconds: number) => void): void {
    this.decisionObservers.push(observer);
  }

  // ------------------------------------------------------------------ wiring

  private controllerApp(): ControllerApp {
    const app = this.app;
    return {
      onSwitchUp: (sw: SwitchInfo, now: number) => {
        const msgs = app.onSwitchUp(sw, now);
        this.emitEvent({ kind: 'switch_up', level: 'info', dpid: dpidText(sw.dpid), message: `switch ${dpidText(sw.dpid)} connected from ${sw.address} with ${sw.ports.size} ports` });
        void this.restoreConnections(sw.dpid);
        this.flushAppEvents();
        this.syncHealthIfSettled();
        return msgs;
      },
      onSwitchDown: (dpid: bigint, now: number) => {
        app.onSwitchDown(dpid, now);
        this.flushAppEvents();
      },
      onPacketIn: (sw: SwitchInfo, msg: PacketIn, now: number) => {
        const t0 = process.hrtime.bigint();
        const msgs = app.onPacketInEncoded(sw, msg, now);
        if (this.decisionObservers.length) {
          const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
          for (const observe of this.decisionObservers) observe(seconds);
        }
        this.flushAppEvents();
        return msgs;
      },
      onFlowRemoved: (sw: SwitchInfo, msg: FlowRemoved, now: number) => {
        const msgs = app.onFlowRemoved(sw, msg, now);
        return msgs;
      },
      onPortStatus: (sw: SwitchInfo, msg: PortStatus, now: number) => {
        const msgs = app.onPortStatus(sw, msg, now);
        this.flushAppEvents();
        return msgs;
      },
      onError: (sw: SwitchInfo, msg) => {
        this.emitEvent({ kind: 'switch_error', level: 'warn', dpid: dpidText(sw.dpid), message: `switch ${dpidText(sw.dpid)} reported error type ${msg.errType} code ${msg.code ?? '-'}` });
        return [];
      },
    };
  }

  /** Re-track the connections whose flows survived our restart (never wipe on connect). */
  private async restoreConnections(dpid: bigint): Promise<void> {
    if (this.conntrack) {
      try {
        this.app.restoreFromConntrack(dpid, (await this.readConntrack()).entries, this.now());
        this.flushAppEvents();
      } catch (err) {
        this.emitEvent({ kind: 'restore_failed', level: 'error', dpid: dpidText(dpid), message: (err as Error).message });
      }
      return;
    }
    try {
      const reply = await this.controller.request(dpid, buildFlowStatsRequest('connection'));
      if (reply.body.mpType !== 'flow') return;
      this.send(dpid, this.app.restoreConnections(dpid, reply.body.entries, this.now()));
      this.flushAppEvents();
    } catch (err) {
      this.emitEvent({ kind: 'restore_failed', level: 'error', dpid: dpidText(dpid), message: `could not read connection flows back: ${(err as Error).message}` });
    }
  }

  private send(dpid: bigint, msgs: OfpMessage[]): void {
    if (msgs.length && this.controller.switch(dpid)) this.controller.send(dpid, msgs);
  }

  private sendAll(msgs: OfpMessage[]): void {
    if (!msgs.length) return;
    for (const sw of this.controller.switches()) this.controller.send(sw.dpid, msgs);
  }

  private flushSwitchMessages(): void {
    for (const { dpid, msgs } of this.app.drainSwitchMessages()) this.send(dpid, msgs);
  }

  private flushAppEvents(): void {
    this.flushSwitchMessages();
    for (const e of this.app.drainEvents()) {
      this.emitEvent(appEventToVadc(e));
      if ((e.kind === 'backend_located' || e.kind === 'backend_lost') && e.service && e.backend) {
        const location = this.app.locationOf(e.service, e.backend);
        this.health.vnicChanged(e.service, e.backend, { present: location !== undefined, linkState: location?.linkUp === false ? 'down' : 'up' });
      }
    }
  }

  /**
   * vNIC absence is only a fact once a switch has reported its ports and OVSDB has answered (or is not used):
   * before that, an unlocated backend may merely be undiscovered, and must not trigger its launch hook.
   */
  private syncHealthIfSettled(): void {
    const ovsdbSettled = this.opts.ovsdb === false || this.cache !== undefined;
    if (ovsdbSettled && this.controller.switches().length > 0) this.health.syncVnics();
  }

  emitEvent(partial: Omit<VadcEvent, 'time'>): void {
    // What our own shutdown causes (switches disconnecting, backends lost) is news, not a warning.
    const level = this.stopped && partial.level === 'warn' ? 'info' : partial.level;
    const event: VadcEvent = { time: this.now(), ...partial, level };
    this.ring.push(event);
    if (this.ring.length > EVENT_RING) this.ring.shift();
    const fields = { kind: event.kind, service: event.service, backend: event.backend, dpid: event.dpid };
    this.log.log(event.level, event.message, fields);
    this.bus.emit('event', event);
  }

  // ------------------------------------------------------------------ OVSDB

  private async connectOvsdb(): Promise<void> {
    const target = this.config.ovsdb;
    try {
      const client = await OvsdbClient.connect(target, { logger: this.log });
      this.ovsdbClient = client;
      this.cache = await VswitchCache.start(client);
      this.resolver = new VnicResolver(this.cache);
      for (const selector of this.vnicSelectors()) this.app.setVnic(selector, toAppVnic(this.resolver.watch(selector)));
      const update = (e: { spec: string; new?: OvsdbVnicInfo }) => {
        this.app.setVnic(e.spec, toAppVnic(e.new));
        this.flushAppEvents();
      };
      for (const kind of ['appear', 'change', 'move', 'disappear'] as const) this.resolver.on(kind, update);
      this.emitEvent({ kind: 'ovsdb_connected', level: 'info', message: `OVSDB ${target} connected; watching ${this.vnicSelectors().length} vNIC(s)` });
      void this.applyZoneTimeouts(client);
      this.flushAppEvents();
      this.syncHealthIfSettled();
    } catch (err) {
      this.emitEvent({ kind: 'ovsdb_unreachable', level: 'warn', message: `${(err as Error).message}; vNICs are found by OpenFlow port name until it answers (retrying in 5 s)` });
      if (!this.stopped) {
        this.ovsdbRetry = setTimeout(() => void this.connectOvsdb(), 5000);
        this.ovsdbRetry.unref();
      }
    }
  }

  /** Conntrack mode: vadc's zone gets its timeout policy (short close states), once per OVSDB connection. */
  private async applyZoneTimeouts(client: OvsdbClient): Promise<void> {
    const dp = this.config.datapath;
    const timeouts = Object.fromEntries(Object.entries(dp.ct_timeouts).filter((e): e is [string, number] => e[1] !== undefined));
    if (dp.nat !== 'conntrack' || Object.keys(timeouts).length === 0) return;
    const text = Object.entries(timeouts).map(([k, v]) => `${k}=${v}`).join(' ');
    try {
      const changed = await ensureZoneTimeoutPolicy(client, dp.ct_zone, timeouts);
      this.emitEvent({
        kind: 'ct_timeouts_applied', level: 'info', data: { zone: dp.ct_zone, changed },
        message: `conntrack zone ${dp.ct_zone} timeout policy ${text}: ${changed.length ? `set on datapath ${changed.join(', ')}` : 'already in place'}`,
      });
    } catch (err) {
      this.emitEvent({ kind: 'ct_timeouts_failed', level: 'error', message: `could not set conntrack zone ${dp.ct_zone}'s timeout policy (${text}): ${(err as Error).message}` });
    }
  }

  private vnicSelectors(): string[] {
    // The sorry backend's vNIC is found the same way as the tiered ones (it may be an iface-id/mac selector too).
    return [...new Set(this.config.services.flatMap((s) => [...s.backends, ...(s.sorry_backend ? [s.sorry_backend] : [])].map((b) => b.vnic)))];
  }

  private rewatch(): void {
    if (!this.resolver) return;
    for (const selector of this.vnicSelectors()) this.app.setVnic(selector, toAppVnic(this.resolver.watch(selector)));
  }

  // ------------------------------------------------------------------ statistics

  /** Tracker accounting: one listing of vadc's zone per statistics poll; an unreadable tracker is reported once per outage. */
  private async pollConntrack(): Promise<void> {
    try {
      const dump = await this.readConntrack();
      this.app.applyConntrack(dump.entries, this.now());
      // A backend taken out of the configuration loses its flow with its last connection.
      this.flushSwitchMessages();
      if (this.conntrackDown) {
        this.conntrackDown = false;
        this.emitEvent({ kind: 'conntrack_readable', level: 'info', message: `connection tracker readable again (${dump.entries.length} entries)` });
      }
    } catch (err) {
      if (!this.conntrackDown) {
        this.conntrackDown = true;
        this.emitEvent({ kind: 'conntrack_unreadable', level: 'error', message: `${(err as Error).message}; connections are not aged until it answers` });
      }
    }
  }

  private async readConntrack(): Promise<ConntrackDump> {
    const dump = await this.conntrack!.read();
    if (dump.malformed.length) {
      const first = dump.malformed[0];
      this.log.warn(`connection tracker listing: ${dump.malformed.length} line(s) not understood, first (line ${first.line}, ${first.reason}): ${first.text}`);
    }
    return dump;
  }

  private pollInFlight = false;

  /** Flow stats (connection state, packets/bytes) and port stats (the feedback scheduler's samples). */
  async pollStats(): Promise<void> {
    if (this.pollInFlight || this.stopped) return;
    this.pollInFlight = true;
    try {
      for (const sw of this.controller.switches()) {
        // Tracker accounting has no connection flows to ask about: the tracker listing replaces them.
        const [flows, ports] = await Promise.all([
          this.conntrack ? undefined : this.controller.request(sw.dpid, buildFlowStatsRequest('connection')),
          this.controller.request(sw.dpid, { type: 'multipart_request', xid: 0, flags: 0, body: { mpType: 'port_stats', portNo: OFPP_ANY } }),
        ]);
        const at = this.now();
        if (flows?.body.mpType === 'flow') this.app.applyFlowStats(flows.body.entries, at);
        this.feedPortStats(sw.dpid, ports, at);
      }
      if (this.conntrack && this.controller.switches().length > 0) await this.pollConntrack();
      this.feedHealthLoad();
    } catch (err) {
      this.log.debug(`statistics poll failed: ${(err as Error).message}`);
    } finally {
      this.pollInFlight = false;
    }
  }

  /** Connection counts for drain completion and the tiers' overload measure. */
  private feedHealthLoad(): void {
    for (const service of this.app.serviceStates()) {
      const loads: [string, { activeConns: number }][] = [];
      for (const name of service.backends.keys()) {
        const b = service.lb.backendById(name);
        if (b) loads.push([name, { activeConns: b.totalConns }]);
      }
      this.health.updateLoads(service.config.name, loads);
    }
  }

  private feedPortStats(dpid: bigint, reply: MultipartReply, at: number): void {
    if (reply.body.mpType !== 'port_stats') return;
    const byPort = new Map(reply.body.entries.map((e) => [e.portNo, e]));
    for (const service of this.app.serviceStates()) {
      const estimator = this.loadEstimator(service.config.name, service.lb);
      for (const [name, state] of service.backends) {
        const loc = state.location;
        const stats = loc && loc.dpid === dpid ? byPort.get(loc.ofport) : undefined;
        if (!stats) continue;
        // Switch view: tx = towards the VM, rx = from the VM.
        const sample = { at, rxPackets: Number(stats.rxPackets), txPackets: Number(stats.txPackets), txDropped: Number(stats.txDropped) };
        if (estimator === service.lb.scheduler) this.app.feedLoad(service.config.name, name, sample);
        else estimator.feed(name, sample);
      }
    }
  }

  /** Per-service shadow estimators, so every service shows the queue measure the feedback scheduler would use. */
  private readonly shadowEstimators = new Map<string, FeedbackScheduler>();

  /**
   * The feedback scheduler's load estimates for a service: its own scheduler when it uses feedback, else a
   * shadow estimator fed the same samples (status, metrics and the dashboard show the same measure for all).
   */
  private loadEstimator(serviceName: string, lb: LbService): FeedbackScheduler {
    if (lb.scheduler instanceof FeedbackScheduler) return lb.scheduler;
    let shadow = this.shadowEstimators.get(serviceName);
    if (!shadow) {
      shadow = new FeedbackScheduler();
      this.shadowEstimators.set(serviceName, shadow);
    }
    shadow.onChange(lb.backends);
    return shadow;
  }

  // ------------------------------------------------------------------ VadcRuntime

  status(): StatusSnapshot {
    return {
      version: this.opts.version ?? '0.1.0',
      startedAt: this.startedAt,
      switches: this.controller.switches().map((sw) => ({
        dpid: dpidText(sw.dpid), address: sw.address, connectedAt: sw.connectedAt, ports: sw.ports.size,
        packetIns: sw.counters.packetIns, flowModsSent: sw.counters.flowModsSent, errorsReceived: sw.counters.errorsReceived,
      })),
      services: this.services(),
      ovsdb: { target: this.config.ovsdb, connected: this.ovsdbClient?.connected ?? false },
      datapath: this.config.datapath.nat === 'conntrack'
        ? { nat: 'conntrack', ctZone: this.config.datapath.ct_zone, accounting: this.config.datapath.accounting }
        : { nat: 'flows' },
    };
  }

  services(): ServiceStatus[] {
    return this.app.serviceStates().map((s) => {
      const backends: BackendStatus[] = [...s.backends.values()].map((b) => {
        const lb = s.lb.backendById(b.config.name);
        const monitored = this.health.stateOf(s.config.name, b.config.name);
        const health: BackendStatus['health'] = b.draining
          ? (lb && lb.totalConns === 0 ? 'drained' : 'draining')
          : !b.location || !b.location.linkUp ? 'down' : (monitored?.health as BackendStatus['health'] | undefined) ?? (b.healthy === false ? 'down' : 'up');
        return {
          id: b.config.name, service: s.config.name, vnic: b.config.vnic, ip: b.config.ip, ports: [...b.config.ports],
          weight: lb?.weight ?? b.config.weight, tier: b.config.tier, health,
          healthReason: !b.location ? 'vNIC not found on any connected switch' : !b.location.linkUp ? 'link down' : monitored?.reason,
          ofport: b.location?.ofport, mac: b.location?.mac, dpid: b.location ? dpidText(b.location.dpid) : undefined,
          activeConns: lb?.activeConns ?? 0, inactiveConns: lb?.inactiveConns ?? 0, totalConns: b.totalConns,
          overloaded: lb?.overloaded ?? false, packets: b.packets, bytes: b.bytes,
          ...this.loadFigures(s.config.name, s.lb, b.config.name),
          lastCheck: this.health.lastCheckOf(s.config.name, b.config.name),
        };
      });
      const tiers = [...s.backends.values()].filter((b) => b.inActiveTier).map((b) => b.config.tier);
      return {
        name: s.config.name, vip: s.config.vip, vipMac: s.config.vip_mac, protocol: s.config.protocol, port: s.config.port,
        scheduler: s.config.scheduler, activeTier: tiers.length ? Math.min(...tiers) : 0, backends,
        decisions: s.decisions, refused: s.refused,
      };
    });
  }

  /** The queue measure (expected wait of one more connection, s) and the reply packet rate, once measured. */
  private loadFigures(serviceName: string, lb: LbService, backend: string): Pick<BackendStatus, 'queueMeasure' | 'rateOfProcessing'> {
    const estimator = lb.scheduler instanceof FeedbackScheduler ? lb.scheduler : this.shadowEstimators.get(serviceName);
    const member = lb.backendById(backend);
    const estimate = estimator?.estimate(backend);
    if (!estimator || !member || !estimate) return {};
    const wait = estimator.expectedWait(member); // infinite while the backend has weight 0 (drained)
    return { queueMeasure: Number.isFinite(wait) ? wait : undefined, rateOfProcessing: estimate.rate };
  }

  service(name: string): ServiceStatus {
    const found = this.services().find((s) => s.name === name);
    if (!found) throw new RuntimeError('not_found', `no service named ${JSON.stringify(name)}`);
    return found;
  }

  async addService(spec: ServiceSpec): Promise<ServiceStatus> {
    return this.oneChangeAtATime(() => this.addServiceNow(spec));
  }

  private async addServiceNow(spec: ServiceSpec): Promise<ServiceStatus> {
    if (this.config.services.some((s) => s.name === spec.name)) throw new RuntimeError('conflict', `service ${spec.name} exists`);
    const raw = this.rawConfig();
    raw.services = [...(raw.services ?? []), spec];
    await this.applyRaw(raw);
    return this.service(spec.name);
  }

  async removeService(name: string): Promise<void> {
    return this.oneChangeAtATime(() => this.removeServiceNow(name));
  }

  private async removeServiceNow(name: string): Promise<void> {
    this.service(name);
    const raw = this.rawConfig();
    raw.services = raw.services.filter((s: { name: string }) => s.name !== name);
    await this.applyRaw(raw);
  }

  async addBackend(serviceName: string, spec: BackendSpec): Promise<BackendStatus> {
    return this.oneChangeAtATime(() => this.addBackendNow(serviceName, spec));
  }

  private async addBackendNow(serviceName: string, spec: BackendSpec): Promise<BackendStatus> {
    this.service(serviceName);
    const raw = this.rawConfig();
    const svc = raw.services.find((s: { name: string }) => s.name === serviceName);
    const name = spec.vnic;
    if (svc.backends.some((b: { name?: string; vnic: string }) => (b.name ?? b.vnic) === name)) throw new RuntimeError('conflict', `service ${serviceName} already has backend ${name}`);
    svc.backends.push({ ...spec });
    await this.applyRaw(raw);
    return this.backendStatus(serviceName, name);
  }

  async removeBackend(serviceName: string, backend: string): Promise<void> {
    return this.oneChangeAtATime(() => this.removeBackendNow(serviceName, backend));
  }

  private async removeBackendNow(serviceName: string, backend: string): Promise<void> {
    this.backendStatus(serviceName, backend);
    const raw = this.rawConfig();
    const svc = raw.services.find((s: { name: string }) => s.name === serviceName);
    if (svc.backends.length === 1) throw new RuntimeError('invalid', `cannot remove the last backend of ${serviceName}; remove the service instead`);
    svc.backends = svc.backends.filter((b: { name?: string; vnic: string }) => (b.name ?? b.vnic) !== backend);
    await this.applyRaw(raw);
  }

  async setWeight(serviceName: string, backend: string, weight: number): Promise<BackendStatus> {
    return this.oneChangeAtATime(() => this.setWeightNow(serviceName, backend, weight));
  }

  private async setWeightNow(serviceName: string, backend: string, weight: number): Promise<BackendStatus> {
    if (!Number.isInteger(weight) || weight < 0 || weight > 65535) throw new RuntimeError('invalid', `weight must be an integer 0..65535, got ${weight}`);
    this.backendStatus(serviceName, backend);
    const raw = this.rawConfig();
    const b = raw.services.find((s: { name: string }) => s.name === serviceName).backends.find((x: { name?: string; vnic: string }) => (x.name ?? x.vnic) === backend);
    b.weight = weight;
    await this.applyRaw(raw);
    this.wrap(() => this.app.setWeight(serviceName, backend, weight));
    return this.backendStatus(serviceName, backend);
  }

  /** Weight 0; the health module reports 'backend_draining' now and 'backend_drained' when the last connection ends. */
  async drain(serviceName: string, backend: string): Promise<BackendStatus> {
    this.wrap(() => this.app.drain(serviceName, backend));
    // The connection table is current now, the last statistics poll may not be: a drain must count the
    // connections opened since, or a backend with live connections would be reported drained at once.
    this.feedHealthLoad();
    this.health.drain(serviceName, backend);
    return this.backendStatus(serviceName, backend);
  }

  async enable(serviceName: string, backend: string): Promise<BackendStatus> {
    this.wrap(() => this.app.enable(serviceName, backend));
    this.health.enable(serviceName, backend);
    this.emitEvent({ kind: 'backend_enabled', level: 'info', service: serviceName, backend, message: `${backend} takes new connections again` });
    return this.backendStatus(serviceName, backend);
  }

  connections(filter: { service?: string; backend?: string } = {}): ConnectionStatus[] {
    const now = this.now();
    return this.app.connectionRecords(filter.service)
      .filter((c) => !filter.backend || c.record.backendId === filter.backend)
      .map(({ service, record }) => {
        const svc = this.app.serviceStates().find((s) => s.config.name === service)!;
        const backend = svc.backends.get(record.backendId);
        return {
          service, protocol: svc.config.protocol,
          client: `${uint32ToIpv4(record.clientIp)}:${record.clientPort}`, vip: `${uint32ToIpv4(record.vip)}:${record.vipPort}`,
          backend: record.backendId, destination: `${backend?.config.ip ?? '?'}:${record.softwarePort}`, state: record.state,
          ageMs: now - record.created, idleMs: now - record.lastSeen,
        };
      });
  }

  async flows(dpid?: string): Promise<FlowStatus[]> {
    const out: FlowStatus[] = [];
    for (const sw of this.controller.switches()) {
      if (dpid && dpidText(sw.dpid) !== dpid.replace(/^0x/, '').padStart(16, '0')) continue;
      const reply = await this.controller.request(sw.dpid, {
        type: 'multipart_request', xid: 0, flags: 0,
        body: { mpType: 'flow', tableId: OFPTT_ALL, outPort: OFPP_ANY, outGroup: OFPG_ANY, ...allVadcFlows(), match: [] },
      });
      if (reply.body.mpType !== 'flow') continue;
      for (const f of reply.body.entries) {
        out.push({
          dpid: dpidText(sw.dpid), tableId: f.tableId, priority: f.priority, cookie: `0x${f.cookie.toString(16)}`,
          match: describeMatch(f.match), actions: describeActions(f.instructions), packets: Number(f.packetCount),
          bytes: Number(f.byteCount), durationSec: f.durationSec, idleTimeout: f.idleTimeout,
        });
      }
    }
    return out;
  }

  events(limit = 100): VadcEvent[] {
    return this.ring.slice(-limit);
  }

  configText(): string {
    return this.text;
  }

  async applyConfig(yamlText: string): Promise<{ changed: string[] }> {
    return this.oneChangeAtATime(() => this.applyConfigNow(yamlText));
  }

  /**
   * Configuration changes run one after another: parsing is asynchronous (a worker thread, so a large
   * configuration does not stall the switch sessions), and each change must start from the one before it.
   */
  private oneChangeAtATime<T>(change: () => Promise<T>): Promise<T> {
    const run = this.changeQueue.then(change, change);
    this.changeQueue = run.catch(() => undefined);
    return run;
  }

  private changeQueue: Promise<unknown> = Promise.resolve();

  private async applyConfigNow(yamlText: string): Promise<{ changed: string[] }> {
    let next: VadcConfig;
    try {
      next = await parseConfigOffThread(yamlText, 'applied config');
    } catch (err) {
      throw new RuntimeError('invalid', (err as Error).message);
    }
    if (JSON.stringify(next.datapath) !== JSON.stringify(this.config.datapath)) {
      throw new RuntimeError('invalid', `datapath (nat mode, conntrack zone) cannot change while vadc runs: it is ${JSON.stringify(this.config.datapath)}; restart vadc to change it`);
    }
    const before = new Map(this.config.services.map((s) => [s.name, JSON.stringify(s)]));
    const after = new Map(next.services.map((s) => [s.name, JSON.stringify(s)]));
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((n) => before.get(n) !== after.get(n)).sort();
    this.config = next;
    this.text = yamlText;
    this.sendAll(this.app.setServices(next.services, this.now()));
    await this.health.setServices(next.services);
    this.rewatch();
    this.flushAppEvents();
    this.syncHealthIfSettled();
    this.emitEvent({ kind: 'config_applied', level: 'info', message: `configuration applied; services changed: ${changed.join(', ') || 'none'}`, data: { changed } });
    this.bus.emit('config', yamlText);
    return { changed };
  }

  // ------------------------------------------------------------------ helpers

  private rawConfig(): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    return JSON.parse(JSON.stringify(this.config));
  }

  private async applyRaw(raw: unknown): Promise<void> {
    await this.applyConfigNow(toYaml(raw));
  }

  private backendStatus(serviceName: string, backend: string): BackendStatus {
    const found = this.service(serviceName).backends.find((b) => b.id === backend);
    if (!found) throw new RuntimeError('not_found', `service ${serviceName} has no backend ${JSON.stringify(backend)}`);
    return found;
  }

  private wrap(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof LbAppError) throw new RuntimeError(err.code === 'not_found' ? 'not_found' : 'invalid', err.message);
      throw err;
    }
  }
}

function toAppVnic(info: OvsdbVnicInfo | undefined) {
  if (!info) return undefined;
  const down = info.linkState === 'down' || info.adminState === 'down';
  return { name: info.name, mac: info.externalIds['attached-mac']?.toLowerCase(), up: !down };
}

function appEventToVadc(e: AppEvent): Omit<VadcEvent, 'time'> {
  return { kind: e.kind, level: e.level, message: e.message, service: e.service, backend: e.backend, dpid: e.dpid !== undefined ? dpidText(e.dpid) : undefined, data: e.data };
}
