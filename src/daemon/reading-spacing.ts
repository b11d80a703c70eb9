// When the statistics poll may ask for the next accounting reading: the one rule for both processes a reading costs.
// Pure: a reading's measured cost in, the spacing to the next one out (stats-poller.ts applies it).
import type { Accounting } from '../app/nat/nat-mode';
import { trackerKeepsClosedMs } from '../app/nat/tracker-timeouts';
import type { ServiceState } from '../app/services';

/**
 * The share of the wall clock a slow accounting reading may take of vadc: after a reading that took T >=
 * SLOW_READING_MS (asked for -> applied), the next is not asked for before T / ACCOUNTING_DUTY has passed. The
 * tracker's listing of 100,000 connections takes seconds to read and parse on a loaded host; asked for every 2 s it
 * kept vadc busy and its control API unanswered for 17 s at a time (issue 15).
 */
export const ACCOUNTING_DUTY = 0.25;
export const SLOW_READING_MS = 1000;

/**
 * The default of datapath.listing_share: the share of the wall clock the tracker's listing may take of ovs-vswitchd.
 * OVS formats the whole zone on its main thread before it writes a byte (lib/dpctl.c dpctl_dump_conntrack prints each
 * entry into the one reply string that unixctl_command_reply sends), the thread that also sends packet-ins and
 * packet-outs (and, in the userspace datapath, forwards non-PMD ports' packets): a stall of S ms every I ms delays
 * about S/I of new connections, so a first-packet p99 within 1 ms needs S/I well under 1 % (docs/benchmarks.md).
 */
export const DEFAULT_LISTING_SHARE = 0.005;

/**
 * The longest spacing either share may set: the tracker is a backstop for what end copies tell at once, and what only
 * it tells (connections that ended without a copy, successes of short connections, datapath decisions) waits at most
 * this long. A listing that costs ovs-vswitchd more than MAX_READING_SPACING_MS x share then takes more than its share.
 */
export const MAX_READING_SPACING_MS = 60_000;

/**
 * The longest spacing at which no ended connection goes unread: an ended TCP connection stays in the listing only for
 * the zone's close timeout (trackerKeepsClosedMs: 2 s by vadc's default policy), and what only the listing tells of it
 * is lost once it is gone: the outlier detector's success of a short connection, a datapath decision's count
 * (docs/operators/choose-a-nat-mode.md). A reading is asked for at the first poll at least this long after the last,
 * so two are at most this plus a poll interval apart: half an interval more is left for the timer's jitter and the
 * listing's own making.
 */
export function listingSpacingCap(ctTimeouts: { tcp_close?: number; tcp_time_wait?: number }, pollIntervalMs: number): number {
  return Math.max(0, Math.min(MAX_READING_SPACING_MS, trackerKeepsClosedMs(ctTimeouts) - 1.5 * pollIntervalMs));
}

/**
 * The one rule for how far apart tracker listings may be. Where every service learns its ends from its copies
 * (Accounting.endsFromCopies: end copies on and a controller-decided TCP service, the answer endCopySides follows too),
 * each connection's end and a short one's success come from its FIN/RST copies, so the listing is a backstop: the
 * share and MAX_READING_SPACING_MS decide. Otherwise something needs every ended connection from the listing (a
 * datapath decision's count and outcome, a UDP flow, a service without copies) and it stays within the close timeout.
 */
export function listingSpacingLimit(
  services: readonly Pick<ServiceState, 'l4' | 'config'>[], accounting: Pick<Accounting, 'endsFromCopies'>, ctTimeouts: { tcp_close?: number; tcp_time_wait?: number }, pollIntervalMs: number,
): number {
  return services.every((s) => accounting.endsFromCopies(s)) ? MAX_READING_SPACING_MS : listingSpacingCap(ctTimeouts, pollIntervalMs);
}

export interface ReadingCost {
  /** Asked for -> applied by the app (vadc's share, with the wait for the answer). */
  tookMs: number;
  /** Asked for -> the answer's first byte: the source's own time building it (undefined: not measured). */
  answerWaitMs?: number;
}

/** Which bound set the spacing: none (every poll), vadc's duty, ovs-vswitchd's listing share, or the cap. */
export type SpacingBound = 'none' | 'vadc' | 'ovs-vswitchd' | 'cap';

export interface ReadingSpacing {
  /** The least time from a reading's request to the next regular one's (0: the next poll may ask). */
  spacingMs: number;
  bound: SpacingBound;
}

const vadcSpacing = (tookMs: number): number => (tookMs >= SLOW_READING_MS ? tookMs / ACCOUNTING_DUTY : 0);

/**
 * When readings may be asked for: the one place both bounds are kept. ovs-vswitchd's share is a budget of its time
 * that accrues at `listingShare` ms per ms of wall clock and holds at most two readings' worth: a regular reading
 * waits until two are saved (so one reading every cost / share: the spacing). An early one (readSoon: an end copy
 * brought a port's refusals to where a reading would eject it) comes at once, as it did before the share: an ejection
 * judged late sends more connections to a refusing backend (an outlier e2e ejected after 4 refusals instead of 3 when
 * early readings waited for the budget). It spends the budget all the same (overdrawn, it delays the regular readings
 * after it), and early readings are few: readSoon spaces them EARLY_READING_SPACING_MS apart, and they stop once the
 * port is ejected. vadc's own duty (a reading that took seconds of it) applies to both, the cap to regular ones. The
 * cap: MAX_READING_SPACING_MS, or less (the constructor's maxSpacingMs: listingSpacingLimit, the close-timeout cap
 * where a service needs every end).
 */
export class ReadingSchedule {
  private lastAt = -Infinity;
  /** The last reading's answer wait, ms: the cost the next one is expected to have (0: not measured, no budget). */
  private costMs = 0;
  /** ovs-vswitchd time saved as of lastAt, ms (negative: overdrawn by a reading the cap forced). */
  private credit = 0;
  private vadcNextAt = -Infinity;

  /**
   * @param maxSpacingMs readings at most this far apart (ms; at most MAX_READING_SPACING_MS), asked each time it is
   *   needed (a reload may change it): the daemon's listingSpacingLimit.
   */
  constructor(private readonly listingShare: number, private readonly maxSpacingMs: () => number = () => MAX_READING_SPACING_MS) {}

  private capMs(): number {
    return Math.min(MAX_READING_SPACING_MS, Math.max(0, this.maxSpacingMs()));
  }

  /** Whether a reading may be asked for at `now`; `early`: one readSoon asks for. */
  due(now: number, early: boolean): boolean {
    return now >= this.vadcNextAt && (early || now >= this.regularAt());
  }

  /**
   * A reading asked for at `askedAt` cost this: spend it, and expect it of the next. Returns the spacing to the next
   * regular reading as due() will see it (the same sums): after an early reading that overdrew the budget it is
   * longer than cost / share.
   */
  record(askedAt: number, cost: ReadingCost): ReadingSpacing {
    const wait = cost.answerWaitMs ?? 0;
    this.credit = this.creditAt(askedAt, wait) - wait;
    this.lastAt = askedAt;
    this.costMs = wait;
    this.vadcNextAt = askedAt + Math.min(vadcSpacing(cost.tookMs), MAX_READING_SPACING_MS);
    return this.spacing();
  }

  /** When due() next says yes to a regular reading, from the last reading's request, and which bound sets it. */
  spacing(): ReadingSpacing {
    const regularAt = this.regularAt();
    const nextAt = Math.max(regularAt, this.vadcNextAt);
    const spacingMs = Math.max(0, nextAt - this.lastAt);
    if (spacingMs === 0 || !Number.isFinite(spacingMs)) return { spacingMs: 0, bound: 'none' };
    if (this.vadcNextAt > regularAt) return { spacingMs, bound: 'vadc' };
    return { spacingMs, bound: this.forBudgetMs() > this.capMs() ? 'cap' : 'ovs-vswitchd' };
  }

  /** The first time a regular reading may be asked for (the vadc duty aside): two readings' worth saved, or the cap. */
  private regularAt(): number {
    return this.lastAt + Math.min(this.capMs(), this.forBudgetMs());
  }

  /** How long after the last reading the budget holds two readings' worth (0: none needed). */
  private forBudgetMs(): number {
    return this.costMs === 0 ? 0 : Math.max(0, (2 * this.costMs - this.credit) / this.listingShare);
  }

  private creditAt(now: number, costMs: number): number {
    return Math.min(this.credit + (now - this.lastAt) * this.listingShare, 2 * costMs);
  }
}
