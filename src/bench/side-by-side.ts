// Two variants of the flow-setup benchmark side by side (IPv4 and IPv6, end copies off and on): runs
// alternating ABBA so slow drifts of a shared machine's load fall on both alike, each variant's medians, and
// the second's figures over the first's.
import { FlowSetupOptionError } from './errors';
import type { FlowSetupResult } from './flowsetup';

export interface VariantSummary {
  runs: number;
  /** Median over the runs of each run's average responses/s, and the lowest and highest run average. */
  responsesPerSec: { median: number; min: number; max: number };
  /**
   * Responses per second of the controller's CPU (responses/s / the controller's share of its core), median over
   * the runs; what load on a shared machine moves least. null with an external controller.
   */
  perControllerCpuSecond: number | null;
  /** Median over the runs of each run's p50 latency. */
  p50LatencyUs: number;
}

/** The second variant's figures over the first's (1 = parity). */
export interface VariantRatio {
  responsesPerSec: number;
  perControllerCpuSecond: number | null;
  p50LatencyUs: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A run's responses per second of the controller's CPU (responses / controller CPU-seconds); NaN without a controller figure. */
export function perControllerCpuSecond(run: FlowSetupResult): number {
  return run.cpu.controllerPct ? run.responsesPerSec.avg / (run.cpu.controllerPct / 100) : NaN;
}

/** Pure: one variant's summary from its runs (`what` names it in the error when there are none). */
export function summarizeRuns(runs: readonly FlowSetupResult[], what: string): VariantSummary {
  if (runs.length === 0) throw new RangeError(`no ${what} run to summarize`);
  const averages = runs.map((r) => r.responsesPerSec.avg);
  const perCpu = runs.map(perControllerCpuSecond);
  return {
    runs: runs.length,
    responsesPerSec: { median: median(averages), min: Math.min(...averages), max: Math.max(...averages) },
    perControllerCpuSecond: perCpu.every(Number.isFinite) ? median(perCpu) : null,
    p50LatencyUs: median(runs.map((r) => r.latencyUs.p50Us)),
  };
}

export function ratioOf(first: VariantSummary, second: VariantSummary): VariantRatio {
  return {
    responsesPerSec: second.responsesPerSec.median / first.responsesPerSec.median,
    perControllerCpuSecond: first.perControllerCpuSecond && second.perControllerCpuSecond !== null
      ? second.perControllerCpuSecond / first.perControllerCpuSecond : null,
    p50LatencyUs: second.p50LatencyUs / first.p50LatencyUs,
  };
}

/** The order of the runs: ABBA rounds. */
export function abbaOrder<T>(rounds: number, first: T, second: T): T[] {
  return Array.from({ length: rounds }, (_, r) => (r % 2 === 0 ? [first, second] : [second, first])).flat();
}

export function checkRounds(rounds: number): void {
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) throw new FlowSetupOptionError('rounds', `expected an integer 1..100, got ${rounds}`);
}

export const fmt = (n: number | null, digits = 0) =>
  (n !== null && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');

/** The table rows for people: both variants' medians and the ratio, under `title`. */
export function formatSideBySide(title: string, names: readonly [string, string, string], a: VariantSummary, b: VariantSummary, ratio: VariantRatio): string[] {
  const pct = (x: number | null) => (x === null ? '-' : `${fmt(100 * x, 1)} %`);
  const row = (what: string, x: string, y: string, r: string) => `  ${what.padEnd(34)}${x.padStart(16)}${y.padStart(16)}${r.padStart(12)}`;
  return [
    title,
    row('', ...names),
    row('responses/s (median of runs)', fmt(a.responsesPerSec.median), fmt(b.responsesPerSec.median), pct(ratio.responsesPerSec)),
    row('  lowest-highest run', `${fmt(a.responsesPerSec.min)}-${fmt(a.responsesPerSec.max)}`, `${fmt(b.responsesPerSec.min)}-${fmt(b.responsesPerSec.max)}`, ''),
    row('per controller CPU-second', fmt(a.perControllerCpuSecond), fmt(b.perControllerCpuSecond), pct(ratio.perControllerCpuSecond)),
    row('latency p50 us', fmt(a.p50LatencyUs, 1), fmt(b.p50LatencyUs, 1), pct(ratio.p50LatencyUs)),
  ];
}
