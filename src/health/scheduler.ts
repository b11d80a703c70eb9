import { runCheck, validateCheckSpec, type Checker } from './checks';
import type { CheckResult, CheckSpec } from './types';

export interface ScheduledCheck {
  /** Unique per target, e.g. 'web/vm1:80'. */
  id: string;
  spec: CheckSpec;
  intervalMs: number;
  /** Receives this target's results (in addition to the scheduler-wide onResult). */
  onResult?: (result: CheckResult) => void;
}

export interface CheckSchedulerOptions {
  /** Checks running at the same time, over all targets. */
  concurrency: number;
  /** Each wait is intervalMs * (1 ± jitter) so checks of many targets do not fire in lock-step. Default 0.1. */
  jitter?: number;
  onResult?: (id: string, result: CheckResult) => void;
  /** Injected for tests; default the real checkers. */
  checker?: Checker;
  /** Injected for tests; default Math.random. */
  random?: () => number;
  /**
   * Hands one result to its receivers (default: calls it). The daemon's bridge makes each result one app input, so a
   * verdict and the failover routing it causes move the flows once.
   */
  handOver?: (deliver: () => void) => void;
}

interface Target {
  check: ScheduledCheck;
  timer?: NodeJS.Timeout;
  queued: boolean;
  running?: { abort: AbortController; done: Promise<void> };
}

/**
 * Runs each check at its interval (with jitter), at most one in flight per target and at most `concurrency`
 * overall, and hands every result to onResult. The next run of a target is timed from the end of the last one,
 * so a slow target is never checked concurrently with itself.
 */
export class CheckScheduler {
  private readonly targets = new Map<string, Target>();
  private readonly queue: Target[] = [];
  private running = 0;
  private stopped = false;
  private readonly checker: Checker;
  private readonly random: () => number;
  private readonly jitter: number;

  constructor(private readonly opts: CheckSchedulerOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new RangeError(`concurrency must be an integer >= 1, got ${opts.concurrency}`);
    this.jitter = opts.jitter ?? 0.1;
    if (!(this.jitter >= 0 && this.jitter < 1)) throw new RangeError(`jitter must be in [0, 1), got ${this.jitter}`);
    this.checker = opts.checker ?? runCheck;
    this.random = opts.random ?? Math.random;
  }

  /** Adds (or replaces) a target; its first check runs within one jittered fraction of its interval. */
  add(check: ScheduledCheck): void {
    if (this.stopped) throw new Error('CheckScheduler is stopped');
    if (!(check.intervalMs > 0)) throw new RangeError(`${check.id}: intervalMs must be > 0, got ${check.intervalMs}`);
    validateCheckSpec(check.spec);
    this.remove(check.id);
    const target: Target = { check, queued: false };
    this.targets.set(check.id, target);
    this.arm(target, this.random() * check.intervalMs * this.jitter);
  }

  /** Stops checking a target; a check in flight is aborted and its result dropped. */
  remove(id: string): void {
    const target = this.targets.get(id);
    if (!target) return;
    this.targets.delete(id);
    clearTimeout(target.timer);
    target.running?.abort.abort();
    const i = this.queue.indexOf(target);
    if (i >= 0) this.queue.splice(i, 1);
  }

  has(id: string): boolean {
    return this.targets.has(id);
  }

  get inFlight(): number {
    return this.running;
  }

  /** Clears every timer, aborts checks in flight and waits for them to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    const pending = [...this.targets.values()].map((t) => t.running?.done);
    for (const id of [...this.targets.keys()]) this.remove(id);
    await Promise.all(pending);
  }

  private arm(target: Target, delayMs: number): void {
    target.timer = setTimeout(() => {
      target.timer = undefined;
      target.queued = true;
      this.queue.push(target);
      this.pump();
    }, delayMs);
    target.timer.unref?.();
  }

  private nextDelay(intervalMs: number): number {
    return intervalMs * (1 + this.jitter * (2 * this.random() - 1));
  }

  private pump(): void {
    while (!this.stopped && this.running < this.opts.concurrency && this.queue.length > 0) {
      const target = this.queue.shift() as Target;
      target.queued = false;
      this.start(target);
    }
  }

  private start(target: Target): void {
    const abort = new AbortController();
    this.running++;
    const done = this.checker(target.check.spec, abort.signal)
      .catch((err: unknown): CheckResult => ({ ok: false, reason: `check failed to run: ${(err as Error).message}`, output: '', durationMs: 0 }))
      .then((result) => {
        this.running--;
        target.running = undefined;
        const current = this.targets.get(target.check.id) === target;
        if (current && !abort.signal.aborted) {
          // Re-armed first so a throwing onResult cannot silently end this target's checks.
          this.arm(target, this.nextDelay(target.check.intervalMs));
          const deliver = () => {
            target.check.onResult?.(result);
            this.opts.onResult?.(target.check.id, result);
          };
          if (this.opts.handOver) this.opts.handOver(deliver);
          else deliver();
        }
        this.pump();
      });
    target.running = { abort, done };
  }
}
