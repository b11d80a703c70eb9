// The statistics poll: each interval, the accounting reading (connection flows or the tracker) goes to the
// app, the backends' port counters go to the feedback estimators, and connection counts to the health module.
import type { LoadBalancerApp, SwitchBatch } from '../app';
import type { Controller } from '../controller';
import { FeedbackScheduler, type LbService } from '../lb';
import { OFPP_ANY } from '../openflow/constants';
import type { MultipartReply } from '../openflow/types';
import type { BackendStatus } from '../runtime/types';
import type { Logger } from '../util/logger';
import { finishInTurns, nextTurn } from '../util/next-turn';
import type { AccountingReader } from './accounting-readers';
import type { HealthBridge } from './health-bridge';
import { DEFAULT_LISTING_SHARE, ReadingSchedule, type SpacingBound } from './reading-spacing';

export interface StatsPollerDeps {
  controller: Controller;
  app: LoadBalancerApp;
  reader: AccountingReader;
  health: HealthBridge;
  deliver: (batches: SwitchBatch[]) => void;
  logger: Logger;
  now: () => number;
  /** datapath.listing_share: the share of the wall clock the reading may take of its source (default DEFAULT_LISTING_SHARE). */
  listingShare?: number;
  /**
   * Accounting readings at most this far apart (ms), asked whenever the schedule needs it (a reload may change it): the
   * daemon's listingSpacingLimit. Default MAX_READING_SPACING_MS.
   */
  readingsWithinMs?: () => number;
  /** The poll interval (ms), asked at each poll start() arms: a reload of feedback_interval changes it. */
  intervalMs?: () => number;
}

/** The last accounting reading's cost and the spacing it set (status and metrics). */
export interface ReadingFigures {
  /** When it was asked for (ms, the deps' clock). */
  askedAt: number;
  /** Asked for -> applied, ms. */
  tookMs: number;
  /** Asked for -> the answer's first byte, ms: the source's own time (ovs-vswitchd's, for the tracker). */
  answerWaitMs?: number;
  /** The least time to the next reading's request, ms (0: every poll), and which share set it. */
  spacingMs: number;
  spacedBy: SpacingBound;
}

export { ACCOUNTING_DUTY, SLOW_READING_MS } from './reading-spacing';

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

/** The poll interval without feedback services (ms): a feedback service's feedback_interval can make it shorter. */
export const DEFAULT_POLL_INTERVAL_MS = 2000;

/** The statistics poll interval the services need (ms): the smallest feedback_interval, at most DEFAULT_POLL_INTERVAL_MS. */
export function pollIntervalFor(services: readonly { feedback_interval: number }[]): number {
  return Math.min(DEFAULT_POLL_INTERVAL_MS, ...services.map((s) => s.feedback_interval * 1000));
}

export class StatsPoller {
  /** The poll in flight (poll() called meanwhile resolves with it). */
  private running?: Promise<void>;
  /** readSoon() was called while a poll was in flight: another follows it. */
  private again = false;
  /** When the last poll started (ms, the deps' clock), and readSoon's timer until the spacing allows the next. */
  private lastPollAt = -Infinity;
  private soon?: NodeJS.Timeout;
  /** When accounting readings may be asked for (vadc's duty, ovs-vswitchd's share). */
  private readonly schedule: ReadingSchedule;
  /** start()'s timer: the next poll, armed again at each with the interval of the moment. */
  private timer?: NodeJS.Timeout;
  private last?: ReadingFigures;
  /** Per-service shadow estimators, so every service shows the queue measure the feedback scheduler would use. */
  private readonly shadowEstimators = new Map<string, FeedbackScheduler>();

  constructor(private readonly deps: StatsPollerDeps) {
    this.schedule = new ReadingSchedule(deps.listingShare ?? DEFAULT_LISTING_SHARE, deps.readingsWithinMs);
  }

  /**
   * Polls every intervalMs() from now on (until stop). The interval is asked again at each poll, so a reload that
   * changes it (a smaller feedback_interval) holds from the next poll on.
   */
  start(poll: () => Promise<void> = () => this.poll()): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.start(poll);
      void poll();
    }, this.deps.intervalMs?.() ?? DEFAULT_POLL_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * A poll now, not at the next interval: the outlier detector judges a port's refusals at a reading asked for after
   * them (its successes come only with readings). One in flight at a time; asked for meanwhile, one more follows it.
   * vadc's own duty still holds (none after a listing that took seconds of vadc); ovs-vswitchd's share does not delay
   * it, but it spends the share's budget (ReadingSchedule), so the regular readings after it wait longer.
   */
  readSoon(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.soon) return;
    const wait = this.lastPollAt + EARLY_READING_SPACING_MS - this.deps.now();
    if (wait <= 0) {
      void this.poll(true);
      return;
    }
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.poll(true);
    }, wait);
    this.soon.unref();
  }

  /** No poll runs any more, neither start()'s nor one readSoon scheduled (the daemon stops). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.soon);
    this.soon = undefined;
    this.again = false;
  }

  /**
   * `early`: readSoon asks (ReadingSchedule: not held back by ovs-vswitchd's share, a regular reading is). Called while a
   * poll is in flight, it starts none and resolves when that one has finished: a caller that awaits a poll (the daemon's
   * pollStats) finds its figures applied either way.
   */
  poll(early = false): Promise<void> {
    if (this.running) return this.running;
    this.running = this.pollOnce(early).finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.poll(true);
      }
    });
    return this.running;
  }

  private async pollOnce(early: boolean): Promise<void> {
    this.lastPollAt = this.deps.now();
    const { controller, app, reader } = this.deps;
    try {
      const dpids = controller.switches().map((sw) => sw.dpid);
      const askedAt = this.deps.now();
      const readAccounting = this.schedule.due(askedAt, early || this.silentPortsAwait(askedAt));
      const [polled, ports] = await Promise.all([
        readAccounting ? reader.poll(dpids) : undefined,
        Promise.all(dpids.map((dpid) => controller.request(dpid, { type: 'multipart_request', xid: 0, flags: 0, body: { mpType: 'port_stats', portNo: OFPP_ANY } }))),
      ]);
      const at = this.deps.now();
      if (polled) {
        this.deps.deliver(await finishInTurns(app.applyAccountingInSlices({ ...polled.input, askedAt }, at, ENTRIES_PER_SLICE)));
        this.spaceNext(askedAt, this.deps.now() - askedAt, polled.answerWaitMs);
      }
      dpids.forEach((dpid, i) => this.feedPortStats(dpid, ports[i], at));
      this.feedHealthLoad();
      await this.sweepEnded(this.deps.now());
    } catch (err) {
      this.deps.logger.debug(`statistics poll failed: ${(err as Error).message}`);
    }
  }

  /** The last accounting reading's cost and the spacing it set; undefined before the first. */
  readingFigures(): ReadingFigures | undefined {
    return this.last;
  }

  private spaceNext(askedAt: number, tookMs: number, answerWaitMs: number | undefined): void {
    const { spacingMs, bound } = this.schedule.record(askedAt, { tookMs, answerWaitMs });
    this.last = { askedAt, tookMs, ...(answerWaitMs !== undefined ? { answerWaitMs } : {}), spacingMs, spacedBy: bound };
  }

  /**
   * Ended connections the datapath has let go of leave the tables at each poll, not at the next reading
   * (ConnectionTable.sweepEnded: O(1) each, ENTRIES_PER_SLICE a turn of the event loop). Returns how many.
   */
  async sweepEnded(now: number): Promise<number> {
    let swept = 0;
    for (const service of this.deps.app.serviceStates()) {
      for (;;) {
        const n = service.lb.connections.sweepEnded(now, ENTRIES_PER_SLICE);
        swept += n;
        if (n < ENTRIES_PER_SLICE) break;
        await nextTurn();
      }
    }
    return swept;
  }

  /**
   * A port that answers nothing sends no end copy: where the listing is spaced, a reading is asked for as an early one
   * once it would judge such a port's unanswered connections (LbService.outlierAwaitsReading: connect_timeout after the
   * first of a run that could eject it), not at the next regular listing up to a minute later.
   */
  private silentPortsAwait(now: number): boolean {
    return this.deps.app.serviceStates().some((s) => s.lb.outlierAwaitsReading(now));
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
