import type { DatapathConfig, EgressConfig, ServiceConfig } from '../config';
import type { HeldVerdict } from '../controller/packet-in-ring';
import type { OutboundMessage, SwitchInfo } from '../controller/types';
import { buildDeleteService, buildDeleteVipFlows, buildPipelineFlows, buildVipFlows } from '../flows/builders';
import { buildDeleteAllDecisionFlows } from '../flows/groups';
import type { ConnRecord } from '../lb/conn-slots';
import type { AddressFamily } from '../lb/backend';
import type { LoadSample } from '../lb/schedulers/feedback';
import { formatDpid } from '../openflow/dpid';
import { isClientEntry } from '../flows/egress';
import type { FlowMod, FlowRemoved, OfpMessage, PacketIn, PortStatus } from '../openflow/types';
import { createEgressTagger, type EgressTagger } from './egress';
import { BackendInputs } from './backend-inputs';
import { BackendLocator } from './backend-locator';
import type { EventSink } from './events';
import type { BackendLocation, RemoteBackendReport, VnicInfo } from './location';
import { createNatMode, type NatChoice, type VswitchdProbe } from './nat/factory';
import { askedAtOf, runSteps, type AccountingInput, type NatMode } from './nat/nat-mode';
import { Outbox, type SwitchBatch } from './outbox';
import { dueProbes, reportOutlierChanges, type OutlierProbe } from './outliers';
import { PacketInPath } from './packet-in';
import { StoppedBackends } from './stopped-backends';
import { serviceWarnings } from './service-warnings';
import { strayServiceFlows, strayVipFlows } from './sweeps';
import { ServiceTable, vipsOf, type BackendState, type PinConflict, type Routing, type ServiceState } from './services';

const NO_MESSAGES: readonly OfpMessage[] = [];

export interface AppOptions {
  /** Drive only this datapath (config `dpid`); default every switch that connects. */
  dpid?: string;
  /** The datapath section of the config: picks the NAT mode (and its accounting) once, here. */
  datapath?: DatapathConfig;
  /** Finds ovs-vswitchd on this host, for `datapath.nat: auto` (the daemon's src/daemon/vswitchd-probe.ts). */
  probeVswitchd?: () => VswitchdProbe;
  /** For `datapath.nat: auto` on a cluster host: the mode its cached policy sets (src/daemon/cluster-host.ts). */
  clusterNat?: NatChoice;
  /** Where events go; default nowhere. */
  emit?: EventSink;
  /**
   * A cluster host's port toward the other hosts (`cluster.uplink`): backends whose vNIC another host published
   * are reached through it (remote backends, docs/cluster.md). Unset: only local backends are served.
   */
  uplink?: string;
  /** The config's `egress` section: queued vNICs' traffic is tagged with their queue (and policed if asked). */
  egress?: Pick<EgressConfig, 'police'>;
}

/**
 * vadc's load-balancing application, a coordinator over small parts: the services' state (./services), where
 * backends are (./location), the packet-in path (./packet-in) and the NAT mode chosen once from the config
 * (./nat). Pure, Faucet-style: every input takes `now` and returns the OpenFlow messages it causes, switch by
 * switch; events go to the sink. The daemon does the I/O.
 */
export class LoadBalancerApp {
  readonly nat: NatMode;
  private egress: EgressTagger;
  /** What the egress tagger runs with (the config's `police`; undefined: no egress section). */
  private egressConfig: Pick<EgressConfig, 'police'> | undefined;
  private readonly tagOf = (vnic: string) => this.egress.tagOf(vnic);
  private readonly services: ServiceTable;
  private readonly switches = new Map<bigint, SwitchInfo>();
  /**
   * The switch a packet-in last came from that `switches` has, until a switch goes: packet-ins come in runs from one
   * switch, and `switches.has` by a BigInt key is a runtime call to hash and compare it (~250 instructions per
   * packet-in, callgrind: docs/benchmarks.md).
   */
  private knownSwitch: SwitchInfo | undefined;
  /** Backends that stopped taking new connections since the last look: their ended connections are forgotten. */
  private readonly stoppedBackends = new StoppedBackends();
  /** Where the backends are: OVSDB's vNICs and the other hosts' reports, every location recomputed from them. */
  private readonly locator: BackendLocator;
  private readonly backendInputs: BackendInputs;
  private readonly packets: PacketInPath;
  private readonly emit: EventSink;
  private readonly onlyDpid: bigint | undefined;
  /** Inside batched(): what the inputs caused so far; their finish() is deferred to its end. */
  private pending: Outbox | undefined;
  /** Inside batched(): how many inputs ended (none: nothing changed, no finish() at its end). */
  private pendingInputs = 0;

  constructor(configs: readonly ServiceConfig[], opts: AppOptions = {}) {
    this.onlyDpid = opts.dpid ? BigInt(opts.dpid.startsWith('0x') ? opts.dpid : `0x${opts.dpid}`) : undefined;
    this.emit = opts.emit ?? (() => undefined);
    this.nat = createNatMode(opts.datapath, opts.probeVswitchd, opts.clusterNat);
    this.services = new ServiceTable(this.nat.accounting.readsSuccesses, this.nat.accounting.endedKeptMs);
    this.locator = new BackendLocator(this.services, this.switches, this.stoppedBackends, this.emit, opts.uplink);
    this.egressConfig = opts.egress && { police: opts.egress.police };
    this.egress = createEgressTagger(this.egressConfig, this.nat.tables);
    // Conntrack mode's commit packet-out of a queued vNIC's new connection sets its queue (the tagger's current one).
    this.nat.setClientQueues((dpid, ofport) => this.egress.queueAt(dpid, ofport));
    this.backendInputs = new BackendInputs(this.services, this.switches, this.nat);
    this.packets = new PacketInPath(this.services, this.nat, this.emit);
    this.setServices(configs, 0);
  }

  // ------------------------------------------------------------------ configuration and operator inputs

  /**
   * Replaces the service list. Services kept by name keep their connection tables and counters; their
   * backends are reconciled (added, removed, re-weighted) without touching established connections.
   * `changes.egress` (when the key is there): the config's egress section now (undefined: none); a change of its
   * presence or of `police` replaces the tagger (chosen by the factory, as at start) on every switch.
   */
  setServices(configs: readonly ServiceConfig[], now: number, changes: { egress?: Pick<EgressConfig, 'police'> } = {}): SwitchBatch[] {
    const steps = this.setServicesInSlices(configs, now, changes, Infinity);
    const out = new Outbox();
    for (let step = steps.next(); ; step = steps.next()) {
      for (const { dpid, msgs } of step.value) out.to(dpid, msgs);
      if (step.done) return out.done();
    }
  }

  /**
   * setServices() in steps, for a caller that lets the event loop turn between them: the first step takes the new
   * services (configure, relocate) and yields the messages that must lead (egress meters, the removed services' and
   * VIPs' deletes, the VIP flows); each later step yields the flows of `servicesPerSlice` services; the return value is
   * the rest (a replaced egress tagger, finish()). Inputs between steps already see the new services; what they send
   * adds or deletes only connection and backend flows, never the service flows still to come.
   */
  *setServicesInSlices(
    configs: readonly ServiceConfig[], now: number, changes: { egress?: Pick<EgressConfig, 'police'> }, servicesPerSlice: number,
  ): Generator<SwitchBatch[], SwitchBatch[], undefined> {
    const oldVips = new Set(this.services.all.flatMap((s) => vipsOf(s.config)));
    const removed = this.services.configure(configs);
    const services = this.services.all;
    this.locator.relocate(now);
    this.locator.publishWaits();
    const retired = 'egress' in changes ? this.replaceEgress(changes.egress) : NO_MESSAGES;
    // Egress meters first: the service flows may name them.
    let msgs: OfpMessage[] = [...this.egress.configure(services)];
    for (const gone of removed) {
      msgs.push(buildDeleteService(gone.id));
      // The delete took its backend flows too (a replacement under the same id re-adds its own), not the shared end copies.
      msgs.push(...this.nat.forgetService(gone.id));
    }
    const newVips = new Set(services.flatMap((s) => vipsOf(s.config)));
    for (const vip of oldVips) if (!newVips.has(vip)) msgs.push(...buildDeleteVipFlows(vip, this.nat.tables));
    for (const vip of newVips) msgs.push(...buildVipFlows(vip, this.nat.tables));
    const entries: FlowMod[] = [];
    for (let i = 0; i < services.length; i++) {
      if (i % servicesPerSlice === 0) {
        yield new Outbox().toEach(this.switches.keys(), msgs).done();
        msgs = [];
      }
      const flows = this.nat.serviceFlows(services[i], this.tagOf);
      msgs.push(...flows);
      for (const f of flows) if (isClientEntry(f, this.nat.tables)) entries.push(f);
    }
    // Each queued vNIC gets a tagged copy of these (its packets to a VIP): finish() sends them after the flows above.
    this.egress.setClientEntries(entries, removed.length > 0);
    // A replaced tagger's flows and meters go after the flows that replaced its tagged ones (finish() then adds the
    // new tagger's EGRESS flows).
    msgs.push(...retired);
    const out = new Outbox().toEach(this.switches.keys(), msgs);
    const undecided = services.filter((s) => s.config.decisions === 'datapath' && this.decidedBy(s.config.name) === 'controller').map((s) => s.config.name);
    for (const event of serviceWarnings(undecided, this.nat.status.reason, this.services.unstableToTell(), now)) this.emit(event);
    return this.finish(out);
  }

  /**
   * Step by step (a service per step), the state setServices(configs) will need for its new services: a caller that
   * yields between steps keeps the event loop turning while a large configuration is applied. Optional: setServices
   * builds whatever was not prepared.
   */
  prepareServices(configs: readonly ServiceConfig[]): Generator<void, void, undefined> {
    return this.services.prebuild(configs);
  }

  /**
   * Runs `inputs` (several app inputs, e.g. the health verdicts of a new configuration's backends) with one finish()
   * for them all: each input alone ends by walking every service's backend flows, so a burst of N verdicts cost N
   * walks of N backends (10,000 located backends: ~6 s in conntrack mode). What they cause is delivered once, at the
   * end, also when an input throws; when none of them was an app input, nothing is (no walk). One finish() also
   * keeps a verdict and what it causes together: a tier's last backend failing and the failover routing it causes,
   * one at a time, first emptied a `decisions: datapath` group (deleted with its decision flow: new connections went
   * to the controller) and then added it back for the next tier; batched, they are one group-mod that changes its
   * buckets.
   */
  batched(inputs: () => void, deliver: (batches: SwitchBatch[]) => void): void {
    if (this.pending) {
      inputs();
      return;
    }
    const pending = new Outbox();
    this.pending = pending;
    this.pendingInputs = 0;
    try {
      inputs();
    } finally {
      this.pending = undefined;
      if (this.pendingInputs > 0) deliver(this.finish(pending));
    }
  }

  /** OVSDB's view of a vNIC (selector as configured: 'NAME', 'iface-id:ID', 'mac:MAC'); undefined = gone. */
  setVnic(selector: string, info: VnicInfo | undefined, now: number): SwitchBatch[] {
    this.locator.setVnic(selector, info);
    this.locator.relocate(now);
    return this.finish(new Outbox());
  }

  /**
   * The other cluster hosts' backend reports (the store's Backend_Status rows, this host's own left out): a
   * backend not on this host's switch but published by the host that has its vNIC is served through the uplink,
   * judged by that host's health verdict. Replaces the previous set.
   */
  setRemoteBackends(reports: readonly RemoteBackendReport[], now: number): SwitchBatch[] {
    return this.finish(this.backendInputs.dropCutRemoteConnections(this.locator.setRemoteReports(reports, now), now));
  }

  // Verdicts and operators' changes of one backend (./backend-inputs.ts); each ends in finish().
  setHealth(serviceName: string, backendName: string, healthy: boolean): SwitchBatch[] {
    return this.finish(this.backendInputs.setHealth(serviceName, backendName, healthy));
  }

  setPortHealth(serviceName: string, backendName: string, softwarePort: number, healthy: boolean, family?: AddressFamily): SwitchBatch[] {
    return this.finish(this.backendInputs.setPortHealth(serviceName, backendName, softwarePort, healthy, family));
  }

  setRouting(serviceName: string, routing: Routing): SwitchBatch[] {
    return this.finish(this.backendInputs.setRouting(serviceName, routing));
  }

  setWeight(serviceName: string, backendName: string, weight: number): SwitchBatch[] {
    return this.finish(this.backendInputs.setWeight(serviceName, backendName, weight));
  }

  drain(serviceName: string, backendName: string): SwitchBatch[] {
    return this.finish(this.backendInputs.drain(serviceName, backendName));
  }

  enable(serviceName: string, backendName: string): SwitchBatch[] {
    return this.finish(this.backendInputs.enable(serviceName, backendName));
  }

  feedLoad(serviceName: string, backendName: string, sample: LoadSample): SwitchBatch[] {
    return this.finish(this.backendInputs.feedLoad(serviceName, backendName, sample));
  }

  dropBackendConnections(serviceName: string, backendName: string, now: number): SwitchBatch[] {
    return this.finish(this.backendInputs.dropBackendConnections(serviceName, backendName, now));
  }

  /** Every few hundred ms: ejections that ended ask for probes (for the daemon to run); flows follow the packet-ins' ejections. */
  outlierTick(now: number): { batches: SwitchBatch[]; probes: OutlierProbe[] } {
    const probes = this.services.all.flatMap((s) => dueProbes(s, now));
    return { batches: this.outlierFlush(), probes };
  }

  /**
   * The flows and groups after an end copy ejected or re-admitted a port, at once rather than at the next
   * outlierTick (the runtime calls it after each packet-in): a `decisions: datapath` service's select group drops
   * the port's bucket before more connections reach it. [] when nothing changed, which is one check: finish() walks
   * every service's backend flows.
   */
  outlierFlush(): SwitchBatch[] {
    if (!this.packets.endCopies.outliersChanged) return [];
    this.packets.endCopies.outliersChanged = false;
    return this.finish(new Outbox());
  }

  /** Whether an end copy since the last call asks for an accounting reading now (LbService.outlierWantsReading). */
  takeReadingWanted = (): boolean => this.packets.endCopies.takeReadingWanted();

  /** A probe's result (outlierTick asked for it): the port is back, or ejected again for longer. */
  outlierProbeResult(probe: OutlierProbe, ok: boolean, reason: string, now: number): SwitchBatch[] {
    const service = this.services.all.find((s) => s.config.name === probe.service);
    if (!service) return [];
    service.lb.outlierProbeResult(probe.backend, probe.portIndex, ok, reason, now);
    reportOutlierChanges(service, this.emit, now);
    return this.finish(new Outbox());
  }

  /**
   * The addresses vadc's health checks and outlier probes may be sent from (the daemon's health bridge: their source
   * addresses and the host's own). They connect to backends directly, so a `decisions: datapath` service's end copies
   * carry a stopped server's refusals of them too: a backend's RST to one of these answers a check, which the checks
   * judge, not a connection the select group placed. Changes nothing on the switches.
   */
  setCheckSources(addresses: readonly string[]): void {
    this.packets.endCopies.setCheckSources(addresses);
  }

  // ------------------------------------------------------------------ OpenFlow inputs

  switchUp(sw: SwitchInfo, now: number): SwitchBatch[] {
    if (this.onlyDpid !== undefined && sw.dpid !== this.onlyDpid) return [];
    this.switches.set(sw.dpid, sw);
    // The switch may have lost its flows (an OVS restart): its backend flows are added again (ADD is idempotent).
    this.nat.forgetSwitch(sw.dpid);
    this.egress.forgetSwitch(sw.dpid);
    this.locator.relocate(now);
    // Never a wipe: the pipeline and service flows are (re)added; connection state stays in the datapath and
    // the daemon rebuilds the connection table from it (restore).
    // Decision flows are the exception: every one goes (an earlier run's may send a service's new connections to a group
    // the configuration no longer wants), and the mode's sync adds back the ones wanted, in this batch (finish()). The
    // groups themselves are read and swept after (groupsFound).
    const msgs: OfpMessage[] = [
      ...buildPipelineFlows(this.nat.tables), buildDeleteAllDecisionFlows(), ...this.nat.pipelineFlows(), ...this.nat.hostFlows(sw.dpid, sw.ports),
      ...this.egress.switchFlows(),
    ];
    for (const vip of new Set(this.services.all.flatMap((s) => vipsOf(s.config)))) msgs.push(...buildVipFlows(vip, this.nat.tables));
    for (const s of this.services.all) msgs.push(...this.nat.serviceFlows(s, this.tagOf));
    return this.finish(new Outbox().to(sw.dpid, msgs));
  }

  switchDown(dpid: bigint, now: number): SwitchBatch[] {
    this.knownSwitch = undefined;
    if (!this.switches.delete(dpid)) return [];
    this.nat.forgetSwitch(dpid);
    this.egress.forgetSwitch(dpid);
    this.locator.relocate(now);
    return this.finish(new Outbox());
  }

  portStatus(sw: SwitchInfo, _msg: PortStatus, now: number): SwitchBatch[] {
    if (!this.switches.has(sw.dpid)) return [];
    // The runtime has already applied the change to sw.ports.
    this.locator.relocate(now);
    return this.finish(new Outbox().to(sw.dpid, this.nat.hostFlows(sw.dpid, sw.ports)));
  }

  /** A packet-in, answered with codec messages. */
  packetIn(sw: SwitchInfo, msg: PacketIn, now: number): OfpMessage[] {
    if (!this.isKnown(sw)) return [];
    return this.packets.handle(sw, msg, now, false) as OfpMessage[];
  }

  /** The same decisions as packetIn, with a new connection's answer from the NAT mode's fast path. */
  packetInEncoded(sw: SwitchInfo, msg: PacketIn, now: number): OutboundMessage[] {
    if (!this.isKnown(sw)) return [];
    return this.packets.handle(sw, msg, now, true);
  }

  /** Whether the switch `dpid` is connected (switchUp, not yet switchDown). */
  hasSwitch(dpid: bigint): boolean {
    return this.switches.has(dpid);
  }

  /** Whether `sw`'s datapath id is a switch this app has up (switchUp, not yet switchDown). */
  private isKnown(sw: SwitchInfo): boolean {
    if (sw === this.knownSwitch) return true;
    if (!this.switches.has(sw.dpid)) return false;
    this.knownSwitch = sw;
    return true;
  }

  /**
   * Controller HA: a packet-in this instance held as a standby, judged at its takeover (after the restore): a known
   * connection's is skipped (the old master answered it), the others are replayed through packetIn.
   */
  heldVerdict(msg: PacketIn): HeldVerdict {
    return this.packets.heldVerdict(msg);
  }

  flowRemoved(sw: SwitchInfo, msg: FlowRemoved, now: number): SwitchBatch[] {
    return this.finish(new Outbox().to(sw.dpid, this.nat.accounting.flowRemoved(this.services.all, msg, now)));
  }

  /**
   * The meter ids a switch holds, read after it connects or this instance became its master: vadc's egress
   * meters that nothing here holds any more are deleted (./egress.ts strayMeters).
   */
  metersFound(dpid: bigint, meterIds: readonly number[]): SwitchBatch[] {
    if (!this.switches.has(dpid)) return [];
    return this.finish(new Outbox().to(dpid, this.egress.strayMeters(meterIds)));
  }

  /**
   * The group ids a switch holds, read after it connects or this instance became its master: vadc's select groups
   * (its id range) that the configuration does not want there are deleted (an earlier run's; foreign groups stay).
   */
  groupsFound(dpid: bigint, groupIds: readonly number[]): SwitchBatch[] {
    if (!this.switches.has(dpid)) return [];
    return this.finish(new Outbox().to(dpid, this.nat.strayGroups(dpid, groupIds)));
  }

  /** Why `configs`' pinned service ids cannot be applied now (`alsoKept`: names served besides them), or none. */
  pinConflicts(configs: readonly ServiceConfig[], alsoKept: readonly string[]): PinConflict[] { return this.services.pinConflicts(configs, alsoKept); }

  /** The service ids of a switch's service flows, read after it connects or this instance became its master (./sweeps.ts). */
  serviceFlowsFound(dpid: bigint, serviceIds: Iterable<number>): SwitchBatch[] {
    if (!this.switches.has(dpid)) return [];
    return this.finish(new Outbox().to(dpid, strayServiceFlows(this.services.all, serviceIds)));
  }

  /** The cookies of a switch's VIP flows, read after it connects or this instance became its master (./sweeps.ts). */
  vipFlowsFound(dpid: bigint, cookies: Iterable<bigint>): SwitchBatch[] {
    if (!this.switches.has(dpid)) return [];
    return this.finish(new Outbox().to(dpid, strayVipFlows(this.services.all, cookies)));
  }

  // ------------------------------------------------------------------ accounting

  /** What the daemon reads for the accounting: the switches' connection flow statistics, or the tracker. */
  get accountingSource(): AccountingInput['source'] {
    return this.nat.accounting.source;
  }

  /** After a switch (re)connects: re-track the connections the datapath still carries. */
  restore(dpid: bigint, input: AccountingInput, now: number): SwitchBatch[] {
    const { msgs, restored, orphans } = this.nat.accounting.restore(this.services.all, input, now);
    if (restored || orphans) {
      this.emit({
        time: now, kind: 'connections_restored', level: 'info', dpid: formatDpid(dpid), data: { restored, orphans },
        message: `re-tracked ${restored} established connection(s) from ${this.nat.accounting.restoresFrom}${orphans ? `, removed ${orphans} half pair(s)` : ''}`,
      });
    }
    return this.finish(new Outbox().to(dpid, msgs));
  }

  /** A periodic accounting reading (connection states, counts, ends). */
  applyAccounting(input: AccountingInput, now: number): SwitchBatch[] {
    return runSteps(this.applyAccountingInSlices(input, now, Infinity));
  }

  /**
   * applyAccounting() in steps of `entriesPerSlice` entries of the reading, for a caller that lets the event loop turn
   * between them (the statistics poll: a packet-in waits for at most one step). Inputs between steps are safe: a
   * connection placed meanwhile is younger than the reading.
   */
  *applyAccountingInSlices(input: AccountingInput, now: number, entriesPerSlice: number): Generator<void, SwitchBatch[], undefined> {
    yield* this.nat.accounting.apply(this.services.all, input, now, entriesPerSlice);
    // The reading told which open connections established and which never did: the outlier detector's input. It
    // tells as of when it was asked for: a connection opened while a slow listing was made is not in it, and judged
    // at its arrival it counted as never established (100,000 opened at once: every backend ejected by turns).
    const seesReplies = this.nat.accounting.seesReplies;
    const judgedAt = askedAtOf(input, now);
    for (const s of this.services.all) {
      s.lb.judgeOpenConnections(judgedAt, seesReplies);
      reportOutlierChanges(s, this.emit, now);
    }
    return this.finish(new Outbox());
  }

  // ------------------------------------------------------------------ views for status, API, metrics

  /** Who picks a service's backends: the datapath's select group only if asked for and the NAT mode can (conntrack). */
  decidedBy(serviceName: string): 'controller' | 'datapath' {
    const service = this.services.all.find((s) => s.config.name === serviceName);
    return service?.config.decisions === 'datapath' && this.nat.decidesInDatapath ? 'datapath' : 'controller';
  }

  serviceStates(): ReadonlyArray<Readonly<Omit<ServiceState, 'backends'>> & { backends: ReadonlyMap<string, Readonly<BackendState>> }> {
    return this.services.all;
  }

  connectionRecords(serviceName?: string): { service: string; record: ConnRecord }[] {
    const out: { service: string; record: ConnRecord }[] = [];
    for (const s of this.services.all) {
      if (serviceName && s.config.name !== serviceName) continue;
      for (const record of s.lb.connections.export()) out.push({ service: s.config.name, record });
    }
    return out;
  }

  /** Whether the app has this service (and backend): a lookup, not a walk over the services. */
  serves(serviceName: string, backendName?: string): boolean {
    const service = this.services.named(serviceName);
    return service !== undefined && (backendName === undefined || service.backends.has(backendName));
  }

  locationOf(serviceName: string, backendName: string): BackendLocation | undefined {
    return this.services.require(serviceName).backends.get(backendName)?.location;
  }

  connectionCount(serviceName: string, backendName: string): number {
    return this.services.require(serviceName).lb.backendById(backendName)?.totalConns ?? 0;
  }

  // ------------------------------------------------------------------ internals

  /** A new tagger when the egress section came, went or changed `police`; returns what takes the old one off. */
  private replaceEgress(egress: Pick<EgressConfig, 'police'> | undefined): readonly OfpMessage[] {
    if (egress?.police === this.egressConfig?.police && (egress === undefined) === (this.egressConfig === undefined)) return NO_MESSAGES;
    const retired = this.egress.teardown();
    this.egressConfig = egress && { police: egress.police };
    this.egress = createEgressTagger(this.egressConfig, this.nat.tables, retired);
    return retired;
  }

  /** Every input ends here: the NAT mode's per-backend flows follow what the input changed. */
  private finish(out: Outbox): SwitchBatch[] {
    if (this.pending) {
      this.pending.add(out);
      this.pendingInputs++;
      return [];
    }
    const switches = new Set(this.switches.keys());
    for (const { service, dpid, records } of this.stoppedBackends.look(this.services.all)) {
      if (switches.has(dpid)) out.to(dpid, this.nat.forgetEnded(service, records));
    }
    this.nat.syncBackendFlows(this.services.all, switches, out);
    this.egress.sync(this.services.all, switches, out);
    return out.done();
  }
}
