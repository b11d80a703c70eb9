// `vadc bench flowsetup --family both`: the same flow-setup benchmark for IPv4 and for IPv6 in one command,
// runs alternating (ABBA: ipv4, ipv6, then ipv6, ipv4, ...) so slow drifts of a shared machine's load fall on
// both families alike, and the two side by side with their ratio. Issue 16's "within 10 % of IPv4" is read on
// the controller's CPU per new connection (its CPU-seconds over the responses): each round's IPv6 run against the
// IPv4 run next to it, the rounds' median printed beside the 1.10 ceiling with the median's distribution-free interval
// (stats.medianInterval): whether the rounds can tell the median from the ceiling at all. User space alone is shown
// too: the kernel's share (the sockets' reads and writes) follows how many packets each read finds, which the load
// sets. Responses/s are not the measure: on a shared machine the generator and the load set the pace, and the
// controller idles part of each run.
import { FlowSetupOptionError } from './errors';
import { FlowSetupProgress, FlowSetupResult, formatFlowSetupReport, runFlowSetup } from './flowsetup';
import type { BenchFamily } from './frames';
import { formatInstructions, type InstructionComparison } from './instructions';
import type { FlowSetupOptions } from './plan';
import { medianInterval, type MedianInterval } from './stats';
import {
  abbaOrder, checkRounds, fmt, formatSideBySide, median, perControllerCpuSecond, ratioOf, summarizeRuns, type VariantRatio, type VariantSummary,
} from './side-by-side';

export const FAMILIES: readonly BenchFamily[] = ['ipv4', 'ipv6'];

export type FamilySummary = VariantSummary;

/** Issue 16's ceiling: an IPv6 new connection may cost the controller at most 1.10 times the CPU of an IPv4 one. */
export const IPV6_COST_CEILING = 1.1;

/** IPv6's controller CPU per new connection over IPv4's, round by round (a round: an IPv4 run and the IPv6 run next to it). */
export interface FamilyCost {
  /** Each round's ratio (IPv4's responses per controller CPU-second over IPv6's), in run order; null: no CPU figure. */
  perRound: (number | null)[];
  /** Median, lowest and highest of the rounds that have a ratio (null: none has). */
  median: number | null;
  min: number | null;
  max: number | null;
  ceiling: number;
  /** Rounds at or under the ceiling. */
  roundsWithin: number;
  /** 'within': the rounds' median is at most the ceiling; 'over': above it; 'not measured': no round has a ratio. */
  verdict: 'within' | 'over' | 'not measured';
  /** The median's 90 % interval from the rounds' order statistics (fewer than 5 rounds: lowest-highest, less sure); null: under 2 rounds. */
  interval: MedianInterval | null;
  /** The interval lies wholly on the verdict's side of the ceiling: the rounds tell the median from the ceiling. */
  decided: boolean;
  /** The same ratio of user-space CPU alone (the controller's time less its kernel time), each round; null: no figure. */
  userPerRound: (number | null)[];
  userMedian: number | null;
  userInterval: MedianInterval | null;
}

export interface FamilyComparison {
  benchmark: 'flowsetup-families';
  rounds: number;
  /** Every run in the order it ran. */
  runs: FlowSetupResult[];
  families: Record<BenchFamily, FamilySummary>;
  /** IPv6's figures over IPv4's medians (1 = parity). */
  ipv6OverIpv4: VariantRatio;
  /** The measure of issue 16's target: IPv6's controller CPU per new connection over IPv4's, by rounds, against 1.10. */
  ipv6Cost: FamilyCost;
  /**
   * The controller's CPU per new connection in microseconds, median of each family's runs, and the parts of it in user
   * space (vadc, V8) and in the kernel (its sockets): where a difference lies. null with an external controller.
   */
  controllerUs: Record<BenchFamily, ControllerUs> | null;
  /** --instructions: each family's instructions per new connection (callgrind) and IPv6's over IPv4's; null: not counted. */
  instructions: InstructionComparison | null;
}

export interface ControllerUs {
  total: number;
  user: number;
  kernel: number;
}

/** Pure: a family's median controller CPU per response (null when a run has no controller figure). */
function controllerUsOf(runs: readonly FlowSetupResult[]): ControllerUs | null {
  const each = runs.map((r) => {
    const total = 1e6 / perControllerCpuSecond(r);
    const kernelShare = r.cpu.controllerPct && r.cpu.controllerSystemPct !== null ? r.cpu.controllerSystemPct / r.cpu.controllerPct : NaN;
    return { total, kernel: total * kernelShare };
  });
  if (each.length === 0 || !each.every((x) => Number.isFinite(x.total) && Number.isFinite(x.kernel))) return null;
  const total = median(each.map((x) => x.total));
  const kernel = median(each.map((x) => x.kernel));
  return { total, user: median(each.map((x) => x.total - x.kernel)), kernel };
}

/** A run's user-space controller CPU per response, in % of a core over responses/s (NaN without the figures). */
function userCpuPerResponse(run: FlowSetupResult): number {
  const { controllerPct, controllerSystemPct } = run.cpu;
  return controllerPct && controllerSystemPct !== null ? (controllerPct - controllerSystemPct) / run.responsesPerSec.avg : NaN;
}

/** Pure: each round's IPv6 cost over IPv4's from the runs in the order they ran (two runs a round, one of each family). */
export function familyCost(runs: readonly FlowSetupResult[], ceiling = IPV6_COST_CEILING): FamilyCost {
  const perRound: (number | null)[] = [];
  const userPerRound: (number | null)[] = [];
  for (let i = 0; i + 1 < runs.length; i += 2) {
    const pair = [runs[i], runs[i + 1]];
    const ipv4 = pair.find((r) => r.options.family === 'ipv4');
    const ipv6 = pair.find((r) => r.options.family === 'ipv6');
    if (!ipv4 || !ipv6) throw new RangeError(`round ${i / 2 + 1} has no run of each family (${pair.map((r) => r.options.family).join(', ')})`);
    const ratio = perControllerCpuSecond(ipv4) / perControllerCpuSecond(ipv6);
    perRound.push(Number.isFinite(ratio) ? ratio : null);
    const user = userCpuPerResponse(ipv6) / userCpuPerResponse(ipv4);
    userPerRound.push(Number.isFinite(user) ? user : null);
  }
  const measured = perRound.filter((x): x is number => x !== null);
  const mid = measured.length ? median(measured) : null;
  const interval = medianInterval(measured);
  const userMeasured = userPerRound.filter((x): x is number => x !== null);
  return {
    perRound, median: mid, min: measured.length ? Math.min(...measured) : null, max: measured.length ? Math.max(...measured) : null, ceiling,
    roundsWithin: measured.filter((x) => x <= ceiling).length,
    verdict: mid === null ? 'not measured' : mid <= ceiling ? 'within' : 'over',
    interval, decided: interval !== null && (interval.high <= ceiling || interval.low > ceiling),
    userPerRound, userMedian: userMeasured.length ? median(userMeasured) : null, userInterval: medianInterval(userMeasured),
  };
}

/** Pure: the families' summaries and ratios from the runs. */
export function compareFamilies(runs: readonly FlowSetupResult[], rounds: number): FamilyComparison {
  const summarize = (family: BenchFamily) => summarizeRuns(runs.filter((r) => r.options.family === family), family);
  const ipv4 = summarize('ipv4');
  const ipv6 = summarize('ipv6');
  const us4 = controllerUsOf(runs.filter((r) => r.options.family === 'ipv4'));
  const us6 = controllerUsOf(runs.filter((r) => r.options.family === 'ipv6'));
  return {
    benchmark: 'flowsetup-families', rounds, runs: [...runs], families: { ipv4, ipv6 }, ipv6OverIpv4: ratioOf(ipv4, ipv6), ipv6Cost: familyCost(runs),
    controllerUs: us4 && us6 ? { ipv4: us4, ipv6: us6 } : null, instructions: null,
  };
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

/** The target's line: IPv6's controller CPU per connection over IPv4's, the rounds' median beside the ceiling. */
export function formatFamilyCost(cost: FamilyCost): string {
  const head = `  IPv6 controller CPU per new connection / IPv4's`;
  if (cost.verdict === 'not measured') return `${head}: not measured (no controller CPU figure: external controller)`;
  const rounds = cost.perRound.map((x) => fmt(x, 3)).join(' ');
  return [
    `${head}: median ${fmt(cost.median, 3)} (rounds: ${rounds}), ceiling ${fmt(cost.ceiling, 2)}: ` +
      `${cost.verdict === 'within' ? 'WITHIN' : 'OVER'} (${cost.roundsWithin} of ${cost.perRound.length} round(s) at or under it)`,
    `    the median's interval ${formatInterval(cost.interval)}: ${cost.interval === null ? 'one round, no interval' : cost.decided
      ? `wholly ${cost.verdict === 'within' ? 'at or under' : 'over'} the ceiling` : 'the ceiling inside it, the rounds cannot tell (more rounds narrow it)'}`,
    `    user space alone (no socket work): median ${fmt(cost.userMedian, 3)} (rounds: ${cost.userPerRound.map((x) => fmt(x, 3)).join(' ')}), ` +
      `interval ${formatInterval(cost.userInterval)}`,
  ].join('\n');
}

function formatInterval(i: MedianInterval | null): string {
  return i === null ? '-' : `${fmt(i.low, 3)}-${fmt(i.high, 3)} (${fmt(100 * i.confidence, 1)} % sure)`;
}

/** Rows of the side-by-side table: the controller's CPU per new connection, user space and kernel. */
function formatControllerUs(us: FamilyComparison['controllerUs']): string[] {
  if (!us) return [];
  const row = (what: string, get: (x: ControllerUs) => number) =>
    `  ${what.padEnd(34)}${fmt(get(us.ipv4), 2).padStart(16)}${fmt(get(us.ipv6), 2).padStart(16)}${`${fmt((100 * get(us.ipv6)) / get(us.ipv4), 1)} %`.padStart(12)}`;
  return [row('controller CPU us per connection', (x) => x.total), row('  of it user space', (x) => x.user), row('  of it kernel (sockets)', (x) => x.kernel)];
}

/** The report for people: each run's report, then the families side by side and the target's ratio. */
export function formatFamilyComparison(c: FamilyComparison): string {
  return [
    ...c.runs.map((run) => formatFlowSetupReport(run)),
    '',
    ...formatSideBySide(`IPv4 and IPv6 on the same run (${c.rounds} round(s), runs alternating ABBA):`, ['IPv4', 'IPv6', 'IPv6/IPv4'],
      c.families.ipv4, c.families.ipv6, c.ipv6OverIpv4),
    ...formatControllerUs(c.controllerUs),
    formatFamilyCost(c.ipv6Cost),
    ...(c.instructions ? [formatInstructions(c.instructions)] : []),
  ].join('\n');
}
