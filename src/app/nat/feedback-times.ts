// The time per connection a `decisions: datapath`, `scheduler: feedback` service's buckets are weighted by (weight / T).
//
// The controller's feedback scheduler takes T = max(L, 1) / lambda from the port counters until a member has
// connection times (its cost adds the open connections, so the floor is harmless there). The datapath's connections are
// short and learnt only from the tracker's listing: L, the open connections a listing shows, is mostly below one, so
// that T was 1 / lambda, and a member's weight followed the share of connections it had just been given: equal VMs
// herded onto whichever had the most in the last second (session 47: 1000/219 to 40/1000 within 4 s). Here T is
// Little's law without the floor, L / lambda, which does not depend on how many connections a member is given; and
// members within FEEDBACK_EQUAL_BAND of the fast members' pooled T (at least one open connection per member's equal
// share of the completions) count as equal to it, so that one poll's noise between equal VMs moves no bucket, while a member clearly slower keeps weight / its own T (a VM slowed 4x gets a quarter).

/** What a member's estimate gives (FeedbackScheduler.estimate): seconds, connections, connections per second. */
export interface MemberTimes {
  /** The connection-time estimate, where the controller saw the member's connections start and end. */
  connectionTime?: number;
  /** Smoothed open connections (Little's L). */
  outstanding: number;
  /** Smoothed connections completed per second (Little's lambda). */
  completions: number;
}

/**
 * Members whose T is at most this fraction above the fast members' pooled T count as that T (their buckets equal).
 * The controller's feedback scheduler's equalBand is 0.25 for one pick; a bucket weight holds for a whole poll and is
 * set from one poll's figures, which differ more between equal VMs under CPU load (docs/benchmarks.md, band18).
 */
export const FEEDBACK_EQUAL_BAND = 0.5;

/** A member that finished nothing while it held connections: very slow rather than infinitely (FeedbackScheduler's floor). */
const MIN_COMPLETIONS = 1e-3;

/**
 * Each member's T (s) for its bucket weight, or undefined for every member when none completed a connection (no figure
 * to compare: the weights alone). A member with neither open nor completed connections (idle) counts as the fast
 * members' T, so it is given connections and measured.
 */
export function bucketTimes(members: readonly MemberTimes[], band = FEEDBACK_EQUAL_BAND): number[] | undefined {
  const own = members.map((m): number | undefined => {
    if (m.connectionTime !== undefined) return m.connectionTime;
    if (m.completions > 0) return m.outstanding / m.completions;
    return m.outstanding > 0 ? m.outstanding / MIN_COMPLETIONS : undefined;
  });
  // Pooled by completions (L / lambda summed: the members' common T when they are equal, however they are split).
  const pooled = (pick: (t: number) => boolean): number | undefined => {
    let time = 0;
    let completions = 0;
    members.forEach((m, i) => {
      const t = own[i];
      if (t === undefined || !pick(t) || m.completions <= 0) return;
      time += t * m.completions;
      completions += m.completions;
    });
    return completions > 0 ? time / completions : undefined;
  };
  const all = pooled(() => true);
  if (all === undefined) return undefined;
  // The fast members: those at or below the pooled T of all (a slow member's own time does not raise the reference) ...
  const fast = pooled((t) => t <= all) ?? all;
  // ... and no less than one open connection for the time between a member's completions at an equal split: a listing
  // shows whole connections, so below that L is mostly 0 or 1 and says nothing (0 would make a bucket infinite).
  const completions = members.reduce((n, m) => n + Math.max(0, m.completions), 0);
  const reference = Math.max(fast, members.length / completions);
  return own.map((t) => (t === undefined || t <= reference * (1 + band) ? reference : t));
}
