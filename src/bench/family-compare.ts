// `vadc bench flowsetup --family both`: the same flow-setup benchmark for IPv4 and for IPv6 in one command,
// runs alternating (ABBA: ipv4, ipv6, then ipv6, ipv4, ...) so slow drifts of a shared machine's load fall on
// both families alike, and the two side by side with their ratio.
import { FlowSetupOptionError } from './errors';
import { FlowSetupProgress, FlowSetupResult, formatFlowSetupReport, runFlowSetup } from './flowsetup';
import type { BenchFamily } from './frames';
import type { FlowSetupOptions } from './plan';
import { abbaOrder, checkRounds, formatSideBySide, ratioOf, summarizeRuns, type VariantRatio, type VariantSummary } from './side-by-side';

export const FAMILIES: readonly BenchFamily[] = ['ipv4', 'ipv6'];

export type FamilySummary = VariantSummary;

export interface FamilyComparison {
  benchmark: 'flowsetup-families';
  rounds: number;
  /** Every run in the order it ran. */
  runs: FlowSetupResult[];
  families: Record<BenchFamily, FamilySummary>;
  /** IPv6's figures over IPv4's (1 = parity; the issue asks >= 0.9 for throughput). */
  ipv6OverIpv4: VariantRatio;
}

/** Pure: the families' summaries and ratios from the runs. */
export function compareFamilies(runs: readonly FlowSetupResult[], rounds: number): FamilyComparison {
  const summarize = (family: BenchFamily) => summarizeRuns(runs.filter((r) => r.options.family === family), family);
  const ipv4 = summarize('ipv4');
  const ipv6 = summarize('ipv6');
  return { benchmark: 'flowsetup-families', rounds, runs: [...runs], families: { ipv4, ipv6 }, ipv6OverIpv4: ratioOf(ipv4, ipv6) };
}

/** The order of the runs: ABBA rounds. */
export function familyOrder(rounds: number): BenchFamily[] {
  return abbaOrder<BenchFamily>(rounds, 'ipv4', 'ipv6');
}

/** Runs the benchmark `rounds` times per family, alternating; each run has its own controller child. */
export async function runFlowSetupFamilies(
  partial: Partial<FlowSetupOptions>, rounds: number, onRun?: (family: BenchFamily, run: number) => void, onLoop?: FlowSetupProgress,
): Promise<FamilyComparison> {
  checkRounds(rounds);
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

/** The report for people: each run's report, then the families side by side. */
export function formatFamilyComparison(c: FamilyComparison): string {
  return [
    ...c.runs.map((run) => formatFlowSetupReport(run)),
    '',
    ...formatSideBySide(`IPv4 and IPv6 on the same run (${c.rounds} round(s), runs alternating ABBA):`, ['IPv4', 'IPv6', 'IPv6/IPv4'],
      c.families.ipv4, c.families.ipv6, c.ipv6OverIpv4),
  ].join('\n');
}
