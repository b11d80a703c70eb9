// The statistics poll: each interval, the accounting reading (connection flows or the tracker) goes to the
// app, the backends' port counters go to the feedback estimators, and connection counts to the health module.
import type { LoadBalancerApp, SwitchBatch } from '../app';
import type { Controller } from '../controller';
import { FeedbackScheduler, type LbService } from '../lb';
import { OFPP_ANY } from '../openflow/constants';
import type { MultipartReply } from '../openflow/types';
import type { BackendStatus } from '../runtime/types';
import type { Logger } from '../util/logger';
import { finishInTurns } from '../util/next-turn';
import type { AccountingReader } from './accounting-readers';
import type { HealthBridge } from './health-bridge';

export interface StatsPollerDeps {
  controller: Controller;
  app: LoadBalancerApp;
  reader: AccountingReader;
  health: HealthBridge;
  deliver: (batches: SwitchBatch[]) => void;
  logger: Logger;
  now: () => number;
}

/**
 * The share of the wall clock a slow accounting reading may take: after a reading that took T >= SLOW_READING_MS,
 * the next is not asked for before T / ACCOUNTING_DUTY has passed (port statistics still come every poll). The
 * tracker's listing of 100,000 connections takes seconds to read and parse on a loaded host; asked for every 2 s it
 * kept vadc busy and its control API unanswered for 17 s at a time (issue 15). Quicker readings come every poll.
 */
export const ACCOUNTING_DUTY = 0.25;
export const SLOW_READING_MS = 1000;

/**
 * Entries of a reading the app applies between two turns of the event loop (~0.1-0.3 ms of lookups here): a new
 * connection's packet-in waits for at most one such slice of the poll (issue 15).
 */
export const ENTRIES_PER_SLICE = 500;

/**
 * The least time between the starts of two polls that readSoon asks for: a port that refuses often between its
 * successes asks for a reading every few refusals, and a listing a few ms apart would take the CPU from new
 * connections.
 */
export const EARLY_READING_SPACING_MS = 100;

export class StatsPoller {
  private inFlight = false;
  /** readSoon() was called while a poll was in flight: another follows it. */
  private again = false;
  /** When the last poll started (ms, the deps' clock), and readSoon's timer until the spacing allows the next. */
  private lastPollAt = -Infinity;
  private soon?: NodeJS.Timeout;
  /** When the next accounting reading may be asked for (ms, the deps' clock). */
  private nextAccountingAt = -Infinity;
  /** Per-service shadow estimators, so every service shows the queue measure the feedback scheduler would use. */
  private readonly shadowEstimators = new Map<string, FeedbackScheduler>();

  constructor(private readonly deps: StatsPollerDeps) {}

  /**
   * A poll now, not at the next interval: the outlier detector judges a port's refusals at a reading asked for after
   * them (its successes come only with readings). One in flight at a time; asked for meanwhile, one more follows it.
   * The slow-reading duty still holds (a listing that took seconds is not asked for again at once).
   */
  readSoon(): void {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    if (this.soon) return;
    const wait = this.lastPollAt + EARLY_READING_SPACING_MS - this.deps.now();
    if (wait <= 0) {
      void this.poll();
      return;
    }
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.poll();
    }, wait);
    this.soon.unref();
  }

  /** No poll that readSoon scheduled runs any more (the daemon stops). */
  stop(): void {
    clearTimeout(this.soon);
    this.soon = undefined;
    this.again = false;
  }

  async poll(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    this.lastPollAt = this.deps.now();
    const { controller, app, reader } = this.deps;
    try {
      const dpids = controller.switches().map((sw) => sw.dpid);
      const askedAt = this.deps.now();
      const readAccounting = askedAt >= this.nextAccountingAt;
      const [accounting, ports] = await Promise.all([
        readAccounting ? reader.poll(dpids) : undefined,
        Promise.all(dpids.map((dpid) => controller.request(dpid, { type: 'multipart_request', xid: 0, flags: 0, body: { mpType: 'port_stats', portNo: OFPP_ANY } }))),
      ]);
      const at = this.deps.now();
      if (accounting) this.deps.deliver(await finishInTurns(app.applyAccountingInSlices({ ...accounting, askedAt }, at, ENTRIES_PER_SLICE)));
      const took = this.deps.now() - askedAt;
      if (readAccounting) this.nextAccountingAt = took >= SLOW_READING_MS ? askedAt + took / ACCOUNTING_DUTY : -Infinity;
      dpids.forEach((dpid, i) => this.feedPortStats(dpid, ports[i], at));
      this.feedHealthLoad();
    } catch (err) {
      this.deps.logger.debug(`statistics poll failed: ${(err as Error).message}`);
    } finally {
      this.inFlight = false;
      if (this.again) {
        this.again = false;
        void this.poll();
      }
    }
  }

  /** Connection counts for drain completion and the tiers' overload measure. */
  feedHealthLoad(): void {
    for (const service of this.deps.app.serviceStates()) {
      const loads: [string, { activeConns: number }][] = [];
      for (const name of service.backends.keys()) {
        const b = service.lb.backendById(name);
        if (b) loads.push([name, { activeConns: b.totalConns }]);
      }
      this.deps.health.updateLoads(service.config.name, loads);
    }
  }

  private feedPortStats(dpid: bigint, reply: MultipartReply, at: number): void {
    if (reply.body.mpType !== 'port_stats') return;
    const byPort = new Map(reply.body.entries.map((e) => [e.portNo, e]));
    for (const service of this.deps.app.serviceStates()) {
      const estimator = this.estimatorFor(service.config.name, service.lb);
      for (const [name, state] of service.backends) {
        const loc = state.location;
        // A remote backend's port here is the shared uplink: its load is measured by its own host.
        const stats = loc && loc.dpid === dpid && loc.remoteHost === undefined ? byPort.get(loc.ofport) : undefined;
        if (!stats) continue;
        // Switch view: tx = towards the VM, rx = from the VM.
        const sample = { at, rxPackets: Number(stats.rxPackets), txPackets: Number(stats.txPackets), txDropped: Number(stats.txDropped) };
        if (estimator === service.lb.scheduler) this.deps.deliver(this.deps.app.feedLoad(service.config.name, name, sample));
        else estimator.feed(name, sample);
      }
    }
  }

  /**
   * The feedback scheduler's load estimates for a service: its own scheduler when it uses feedback, else a
   * shadow estimator fed the same samples (status, metrics and the dashboard show the same measure for all).
   */
  private estimatorFor(serviceName: string, lb: LbService): FeedbackScheduler {
    if (lb.scheduler instanceof FeedbackScheduler) return lb.scheduler;
    let shadow = this.shadowEstimators.get(serviceName);
    if (!shadow) {
      shadow = new FeedbackScheduler();
      this.shadowEstimators.set(serviceName, shadow);
    }
    shadow.onChange(lb.backends);
    return shadow;
  }

  /** The queue measure (expected wait of one more connection, s) and the reply packet rate, once measured. */
  loadFigures(serviceName: string, lb: LbService, backend: string): Pick<BackendStatus, 'queueMeasure' | 'rateOfProcessing'> {
    const estimator = lb.scheduler instanceof FeedbackScheduler ? lb.scheduler : this.shadowEstimators.get(serviceName);
    const member = lb.backendById(backend);
    const estimate = estimator?.estimate(backend);
    if (!estimator || !member || !estimate) return {};
    const wait = estimator.expectedWait(member); // infinite while the backend has weight 0 (drained)
    return { queueMeasure: Number.isFinite(wait) ? wait : undefined, rateOfProcessing: estimate.rate };
  }
}
