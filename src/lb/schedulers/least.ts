import type { Backend } from '../backend';
import type { PacketKey, Scheduler } from '../scheduler';
import { usable } from './rr';

type Overhead = (b: Backend) => number;

const connOverhead: Overhead = (b) => b.overhead;
/** ip_vs_sed_dest_overhead: inactive connections do not count, +1 for the connection being placed. */
const expectedDelayOverhead: Overhead = (b) => b.activeConns + 1;

/**
 * The least overhead/weight over the members usable for the packet's connection, compared by cross-multiplying (no
 * division, as ip_vs_wlc does): d replaces the least only when overhead(least)*w(d) > overhead(d)*w(least), so the
 * first in list order wins ties. O(n).
 */
export function leastWeighted(backends: readonly Backend[], pkt: PacketKey, overheadOf: Overhead = connOverhead): Backend | null {
  let least: Backend | null = null;
  let leastOverhead = 0;
  for (const candidate of backends) {
    if (!usable(candidate, pkt)) continue;
    const overhead = overheadOf(candidate);
    if (least === null || leastOverhead * candidate.weight > overhead * least.weight) {
      least = candidate;
      leastOverhead = overhead;
    }
  }
  return least;
}

/** ip_vs_lc: least active*256 + inactive, weights ignored except that 0 quiesces. */
export class LeastConnectionScheduler implements Scheduler {
  readonly name = 'lc' as const;
  pick(backends: readonly Backend[], pkt: PacketKey, _now: number): Backend | null {
    let least: Backend | null = null;
    for (const candidate of backends) {
      if (usable(candidate, pkt) && (least === null || candidate.overhead < least.overhead)) least = candidate;
    }
    return least;
  }
}

/** ip_vs_wlc: least (active*256 + inactive) / weight. */
export class WeightedLeastConnectionScheduler implements Scheduler {
  readonly name = 'wlc' as const;
  pick(backends: readonly Backend[], pkt: PacketKey, _now: number): Backend | null {
    return leastWeighted(backends, pkt, connOverhead);
  }
}

/** ip_vs_sed: shortest expected delay, least (active + 1) / weight. */
export class ShortestExpectedDelayScheduler implements Scheduler {
  readonly name = 'sed' as const;
  pick(backends: readonly Backend[], pkt: PacketKey, _now: number): Backend | null {
    return leastWeighted(backends, pkt, expectedDelayOverhead);
  }
}

/** ip_vs_nq: the first usable member with no active connection; otherwise as sed. */
export class NeverQueueScheduler implements Scheduler {
  readonly name = 'nq' as const;
  pick(backends: readonly Backend[], pkt: PacketKey, _now: number): Backend | null {
    for (const candidate of backends) {
      if (usable(candidate, pkt) && candidate.activeConns === 0) return candidate;
    }
    return leastWeighted(backends, pkt, expectedDelayOverhead);
  }
}
