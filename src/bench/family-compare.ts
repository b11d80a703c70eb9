// `vadc bench flowsetup --family both`: the same flow-setup benchmark for IPv4 and for IPv6 in one command,
// runs alternating (ABBA: ipv4, ipv6, then ipv6, ipv4, ...) so slow drifts of a shared machine's load fall on
// both families alike, and the two side by side with their ratio.
import { FlowSetupOptionError } from './errors';
import { FlowSetupProgress, FlowSetupResult, formatFlowSetupReport, runFlowSetup } from './flowsetup';
import type { BenchFamily } from './frames';
import type { FlowSetupOptions } from './plan';

export const FAMILIES: readonly BenchFamily[] = ['ipv4', 'ipv6'];

export interface FamilySummary {
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

export interface FamilyComparison {
  benchmark: 'flowsetup-families';
  rounds: number;
  /** Every run in the order it ran. */
  runs: FlowSetupResult[];
  families: Record<BenchFamily, FamilySummary>;
  /** IPv6's figures over IPv4's (1 = parity; the issue asks >= 0.9 for throughput). */
  ipv6OverIpv4: { responsesPerSec: number; perControllerCpuSecond: number | null; p50LatencyUs: number };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Pure: the families' summaries and ratios from the runs. */
export function compareFamilies(runs: readonly FlowSetupResult[], rounds: number): FamilyComparison {
  const summarize = (family: BenchFamily): FamilySummary => {
    const mine = runs.filter((r) => r.options.family === family);
    if (mine.length === 0) throw new RangeError(`no ${family} run to summarize`);
    const averages = mine.map((r) => r.responsesPerSec.avg);
    const perCpu = mine.map((r) => (r.cpu.controllerPct ? r.responsesPerSec.avg / (r.cpu.controllerPct / 100) : NaN));
    return {
      runs: mine.length,
      responsesPerSec: { median: median(averages), min: Math.min(...averages), max: Math.max(...averages) },
      perControllerCpuSecond: perCpu.every(Number.isFinite) ? median(perCpu) : null,
      p50LatencyUs: median(mine.map((r) => r.latencyUs.p50Us)),
    };
  };
  const ipv4 = summarize('ipv4');
  const ipv6 = summarize('ipv6');
  return {
    benchmark: 'flowsetup-families', rounds, runs: [...runs], families: { ipv4, ipv6 },
    ipv6OverIpv4: {
      responsesPerSec: ipv6.responsesPerSec.median / ipv4.responsesPerSec.median,
      perControllerCpuSecond: ipv4.perControllerCpuSecond && ipv6.perControllerCpuSecond !== null
        ? ipv6.perControllerCpuSecond / ipv4.perControllerCpuSecond : null,
      p50LatencyUs: ipv6.p50LatencyUs / ipv4.p50LatencyUs,
    },
  };
}

/** The order of the runs: ABBA rounds. */
export function familyOrder(rounds: number): BenchFamily[] {
  return Array.from({ length: rounds }, (_, r) => (r % 2 === 0 ? ['ipv4', 'ipv6'] : ['ipv6', 'ipv4']) as BenchFamily[]).flat();
}

/** Runs the benchmark `rounds` times per family, alternating; each run has its own controller child. */
export async function runFlowSetupFamilies(
  partial: Partial<FlowSetupOptions>, rounds: number, onRun?: (family: BenchFamily, run: number) => void, onLoop?: FlowSetupProgress,
): Promise<FamilyComparison> {
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) throw new FlowSetupOptionError('rounds', `expected an integer 1..100, got ${rounds}`);
  // Each family needs addresses of its own: one --vip cannot serve both.
  if (partial.vip !== undefined || partial.vipStride !== undefined) {
    throw new FlowSetupOptionError('vip', 'with --family both each family uses its default VIPs; give --family ipv4 or ipv6 to choose one');
  }
  const runs: FlowSetupResult[] = [];
  for (const [n, family] of familyOrder(rounds).entries()) {
    onRun?.(family, n);
    runs.push(await runFlowSetup({ ...partial, family }, onLoop));
  }
  return compareFamilies(runs, rounds);
}

const fmt = (n: number | null, digits = 0) =>
  (n !== null && Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');

/** The report for people: each run's report, then the families side by side. */
export function formatFamilyComparison(c: FamilyComparison): string {
  const { ipv4, ipv6 } = c.families;
  const ratio = c.ipv6OverIpv4;
  const pct = (x: number | null) => (x === null ? '-' : `${fmt(100 * x, 1)} %`);
  const row = (what: string, a: string, b: string, r: string) => `  ${what.padEnd(34)}${a.padStart(16)}${b.padStart(16)}${r.padStart(12)}`;
  return [
    ...c.runs.map((run) => formatFlowSetupReport(run)),
    '',
    `IPv4 and IPv6 on the same run (${c.rounds} round(s), runs alternating ABBA):`,
    row('', 'IPv4', 'IPv6', 'IPv6/IPv4'),
    row('responses/s (median of runs)', fmt(ipv4.responsesPerSec.median), fmt(ipv6.responsesPerSec.median), pct(ratio.responsesPerSec)),
    row('  lowest-highest run', `${fmt(ipv4.responsesPerSec.min)}-${fmt(ipv4.responsesPerSec.max)}`, `${fmt(ipv6.responsesPerSec.min)}-${fmt(ipv6.responsesPerSec.max)}`, ''),
    row('per controller CPU-second', fmt(ipv4.perControllerCpuSecond), fmt(ipv6.perControllerCpuSecond), pct(ratio.perControllerCpuSecond)),
    row('latency p50 us', fmt(ipv4.p50LatencyUs, 1), fmt(ipv6.p50LatencyUs, 1), pct(ratio.p50LatencyUs)),
  ].join('\n');
}
