// Pure summary of repeated flow-setup runs of one configuration: medians and spread, as the
// benchmarking notes ask (the machine is shared and noisy).
import type { FlowSetupResult } from '../../src/bench/flowsetup';

export interface SeriesRow {
  switches: number;
  mode: string;
  runs: number;
  /** Median over runs of each run's average responses/s, and the lowest/highest run average. */
  medianRate: number;
  minRate: number;
  maxRate: number;
  medianP50Us: number;
  medianP99Us: number;
  maxP99Us: number;
  medianGeneratorCpuPct: number;
  medianControllerCpuPct: number | null;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarizeSeries(results: readonly FlowSetupResult[]): SeriesRow {
  if (results.length === 0) throw new RangeError('a series needs at least one run');
  const rates = results.map((r) => r.responsesPerSec.avg);
  const controller = results.map((r) => r.cpu.controllerPct).filter((x): x is number => x !== null);
  return {
    switches: results[0].options.switches,
    mode: results[0].options.mode,
    runs: results.length,
    medianRate: median(rates),
    minRate: Math.min(...rates),
    maxRate: Math.max(...rates),
    medianP50Us: median(results.map((r) => r.latencyUs.p50Us)),
    medianP99Us: median(results.map((r) => r.latencyUs.p99Us)),
    maxP99Us: Math.max(...results.map((r) => r.latencyUs.p99Us)),
    medianGeneratorCpuPct: median(results.map((r) => r.cpu.generatorPct)),
    medianControllerCpuPct: controller.length ? median(controller) : null,
  };
}
