import type { Logger } from './logger';

export interface ViolationLogOptions {
  /** After the first report of a kind, at most one line per this long (default 60 s). */
  intervalMs?: number;
  /** Kinds remembered at once (default 1024; the oldest is forgotten), so a flood of distinct keys stays bounded. */
  maxKinds?: number;
  now?: () => number;
}

/**
 * Logs each kind of violation (a key such as "api-401 10.0.0.9") once, then at most once per interval with the
 * number not logged since: a peer that repeats a violation a thousand times a second costs a line a minute.
 */
export class ViolationLog {
  private readonly kinds = new Map<string, { lastAt: number; unreported: number }>();
  private readonly intervalMs: number;
  private readonly maxKinds: number;
  private readonly now: () => number;

  constructor(private readonly logger: Logger, opts: ViolationLogOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 60_000;
    this.maxKinds = opts.maxKinds ?? 1024;
    this.now = opts.now ?? Date.now;
  }

  /** Logs `message` if this kind was not logged within the interval; returns whether it was. */
  report(kind: string, level: 'error' | 'warn' | 'info' | 'debug', message: string, meta: Record<string, unknown> = {}): boolean {
    const now = this.now();
    const seen = this.kinds.get(kind);
    if (seen && now - seen.lastAt < this.intervalMs) {
      seen.unreported++;
      return false;
    }
    const unreported = seen?.unreported ?? 0;
    this.kinds.delete(kind); // re-inserted last: the map's order is oldest-reported first
    this.kinds.set(kind, { lastAt: now, unreported: 0 });
    if (this.kinds.size > this.maxKinds) this.kinds.delete(this.kinds.keys().next().value as string);
    const suffix = unreported > 0 ? ` (and ${unreported} more like it since the last report)` : '';
    this.logger.log(level, `${message}${suffix}`, meta);
    return true;
  }
}
