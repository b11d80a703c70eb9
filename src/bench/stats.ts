// Pure statistics of a run: per-loop rates with the warm-up loops dropped (as cbench does), and
// response-latency percentiles.

export interface LoopSample {
  /** Responses completed during the loop. */
  responses: number;
  /** The loop's real length (timers drift), in ms. */
  durationMs: number;
}

export interface RateSummary {
  /** Responses/s of each measured loop (warm-up dropped), in order. */
  perLoop: number[];
  min: number;
  max: number;
  avg: number;
  /** Population standard deviation of perLoop. */
  stdev: number;
  warmupLoops: number;
  measuredResponses: number;
}

export class StatsError extends Error {
  override name = 'StatsError';
}

export function summarizeLoops(loops: readonly LoopSample[], warmupLoops = 1): RateSummary {
  if (!Number.isInteger(warmupLoops) || warmupLoops < 0) throw new StatsError(`warm-up loops must be an integer >= 0, got ${warmupLoops}`);
  if (loops.length <= warmupLoops) throw new StatsError(`need more than ${warmupLoops} loop(s) to measure, got ${loops.length}`);
  const measured = loops.slice(warmupLoops);
  const bad = measured.find((loop) => !(loop.durationMs > 0));
  if (bad) throw new StatsError(`loop duration must be > 0 ms, got ${bad.durationMs}`);
  const perLoop = measured.map((loop) => (loop.responses * 1000) / loop.durationMs);
  const avg = perLoop.reduce((a, b) => a + b, 0) / perLoop.length;
  const variance = perLoop.reduce((a, r) => a + (r - avg) ** 2, 0) / perLoop.length;
  return {
    perLoop, min: Math.min(...perLoop), max: Math.max(...perLoop), avg, stdev: Math.sqrt(variance), warmupLoops,
    measuredResponses: measured.reduce((a, loop) => a + loop.responses, 0),
  };
}

/** Nearest-rank percentile (p in (0, 100]) of ascending-sorted values; NaN for no values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p > 0 && p <= 100)) throw new StatsError(`percentile must be in (0, 100], got ${p}`);
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)];
}

export interface LatencySummary {
  samples: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  avgUs: number;
}

/** Growable store of latencies (ns) without per-sample allocation. */
export class LatencyRecorder {
  private values = new Float64Array(1 << 16);
  private count = 0;

  record(ns: number): void {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = ns;
  }

  get size(): number {
    return this.count;
  }

  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.count).sort();
    let total = 0;
    for (let i = 0; i < sorted.length; i++) total += sorted[i];
    const us = (ns: number) => ns / 1000;
    return {
      samples: this.count,
      p50Us: us(percentile(sorted, 50)),
      p99Us: us(percentile(sorted, 99)),
      maxUs: us(this.count ? sorted[this.count - 1] : NaN),
      avgUs: us(this.count ? total / this.count : NaN),
    };
  }
}

/** A distribution-free interval for a median: two of the samples, and how surely the median lies between them. */
export interface MedianInterval {
  low: number;
  high: number;
  /** The probability that [low, high] holds the true median, for independent samples of any one distribution. */
  confidence: number;
}

/**
 * The interval of the median from the samples' order statistics: the k-th lowest and k-th highest sample, with k the
 * largest that keeps the confidence at least `wanted` (1 - 2 P(Binomial(n, 1/2) < k)). Fewer samples than that
 * needs (4 or fewer for 0.9) give the lowest and highest with the confidence they have; fewer than 2: null. It
 * assumes nothing about the spread's shape (a loaded machine's rounds are not normal), only that rounds are alike.
 */
export function medianInterval(values: readonly number[], wanted = 0.9): MedianInterval | null {
  const n = values.length;
  if (n < 2) return null;
  if (!(wanted > 0 && wanted < 1)) throw new StatsError(`confidence must be in (0, 1), got ${wanted}`);
  const sorted = [...values].sort((a, b) => a - b);
  // below[j] = P(X <= j) for X ~ Binomial(n, 1/2).
  let term = 0.5 ** n;
  let cumulative = term;
  const below = [cumulative];
  for (let j = 1; j < n; j++) {
    term = (term * (n - j + 1)) / j;
    cumulative += term;
    below.push(cumulative);
  }
  let k = 1;
  while (2 * k < n && 1 - 2 * below[k] >= wanted) k++;
  return { low: sorted[k - 1], high: sorted[n - k], confidence: 1 - 2 * below[k - 1] };
}
