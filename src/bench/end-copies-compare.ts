// `vadc bench flowsetup --end-copies-compare`: the cost of connection-end detection. The same benchmark with end
// copies off (no copy flows: vadc learns nothing of a connection's end until its flow or tracker entry goes) and
// on (every answered connection ends: the copies of its two FINs reach vadc through the meter), alternating
// ABBA, side by side, with what an end costs the controller in CPU per connection.
import { FlowSetupOptionError } from './errors';
import { FlowSetupProgress, FlowSetupResult, formatFlowSetupReport, runFlowSetup } from './flowsetup';
import { schedulerNeedsFinCopies } from '../app/nat/end-copies';
import type { FlowSetupOptions } from './plan';
import { abbaOrder, checkRounds, fmt, formatSideBySide, ratioOf, summarizeRuns, type VariantRatio, type VariantSummary } from './side-by-side';

/** What --end-copies-compare uses when --end-copies is 0: vadc's default datapath.end_copies. */
export const DEFAULT_COMPARE_END_COPIES = 5000;

export interface EndCopiesComparison {
  benchmark: 'flowsetup-end-copies';
  rounds: number;
  /** The meter's rate in the runs with copies (copies/s per switch). */
  endCopies: number;
  /** Every run in the order it ran. */
  runs: FlowSetupResult[];
  off: VariantSummary;
  on: VariantSummary;
  /** On's figures over off's. */
  onOverOff: VariantRatio;
  /**
   * Controller CPU per response, in microseconds (1e6 / per controller CPU-second), off and on, and the
   * difference: what ending a connection (its copies) costs the controller, and that over the copies per response
   * (what one copy costs: the meter may have dropped some). null with an external controller.
   */
  controllerUsPerResponse: { off: number; on: number; endCost: number; perCopy: number } | null;
  /** Of the runs with copies: copies sent per response, and the share the meter dropped. */
  copiesPerResponse: number;
  meteredShare: number;
}

/** Pure: the two summaries, their ratio and the per-connection cost from the runs. */
export function compareEndCopies(runs: readonly FlowSetupResult[], rounds: number): EndCopiesComparison {
  const withCopies = runs.filter((r) => r.options.endCopies > 0);
  const off = summarizeRuns(runs.filter((r) => r.options.endCopies === 0), 'end-copies-off');
  const on = summarizeRuns(withCopies, 'end-copies-on');
  const us = (s: VariantSummary) => (s.perControllerCpuSecond ? 1e6 / s.perControllerCpuSecond : null);
  const [usOff, usOn] = [us(off), us(on)];
  const sent = withCopies.reduce((a, r) => a + r.totals.endCopiesSent, 0);
  const metered = withCopies.reduce((a, r) => a + r.totals.endCopiesMetered, 0);
  const copiesPerResponse = sent / Math.max(1, withCopies.reduce((a, r) => a + r.totals.responses, 0));
  return {
    benchmark: 'flowsetup-end-copies', rounds, endCopies: withCopies[0].options.endCopies, runs: [...runs], off, on, onOverOff: ratioOf(off, on),
    controllerUsPerResponse: usOff !== null && usOn !== null
      ? { off: usOff, on: usOn, endCost: usOn - usOff, perCopy: copiesPerResponse > 0 ? (usOn - usOff) / copiesPerResponse : NaN } : null,
    copiesPerResponse,
    meteredShare: sent + metered > 0 ? metered / (sent + metered) : 0,
  };
}

/** Runs the benchmark `rounds` times with end copies off and on, alternating; each run has its own controller child. */
export async function runFlowSetupEndCopies(
  partial: Partial<FlowSetupOptions>, rounds: number, onRun?: (endCopies: number, run: number) => void, onLoop?: FlowSetupProgress,
): Promise<EndCopiesComparison> {
  checkRounds(rounds);
  if (partial.controller?.kind === 'tcp') {
    throw new FlowSetupOptionError('end-copies-compare', 'an external controller is configured by its own datapath.end_copies; compare with --controller internal');
  }
  if (partial.app !== undefined && partial.app !== 'vadc') {
    throw new FlowSetupOptionError('end-copies-compare', `the ${partial.app} responder installs no end-copy flows: compare vadc's app`);
  }
  // The emulated switch copies a connection's client FIN, then its backend's: conntrack mode copies an rr service's
  // backend FIN alone (its tracker shows the end: endCopySides), so the comparison needs a scheduler that reads the ends.
  const scheduler = partial.scheduler ?? 'rr';
  if (partial.nat === 'conntrack' && !schedulerNeedsFinCopies(scheduler)) {
    throw new FlowSetupOptionError('end-copies-compare', `with --nat conntrack vadc copies no client FIN of a ${scheduler} service (the tracker shows its ends): compare with --scheduler wlc`);
  }
  const rate = partial.endCopies || DEFAULT_COMPARE_END_COPIES;
  const runs: FlowSetupResult[] = [];
  for (const [n, endCopies] of abbaOrder(rounds, 0, rate).entries()) {
    onRun?.(endCopies, n);
    runs.push(await runFlowSetup({ ...partial, endCopies }, onLoop));
  }
  return compareEndCopies(runs, rounds);
}

/** The report for people: each run's report, then off and on side by side, and the cost of an end. */
export function formatEndCopiesComparison(c: EndCopiesComparison): string {
  const nat = c.runs[0]?.options.nat ?? '';
  const cost = c.controllerUsPerResponse;
  return [
    ...c.runs.map((run) => formatFlowSetupReport(run)),
    '',
    ...formatSideBySide(
      `Connection-end copies off and on (${nat} NAT, ${c.rounds} round(s), runs alternating ABBA; on: ${fmt(c.endCopies)} copies/s per switch, ` +
        `${fmt(c.copiesPerResponse, 2)} copies per response, ${fmt(100 * c.meteredShare, 1)} % dropped by the meter):`,
      ['off', 'on', 'on/off'], c.off, c.on, c.onOverOff,
    ),
    cost
      ? `  controller CPU us per response  ${fmt(cost.off, 1).padStart(16)}${fmt(cost.on, 1).padStart(16)}    an end costs ${fmt(cost.endCost, 1)} us per connection, ${fmt(cost.perCopy, 2)} us per copy`
      : '  controller CPU: not measured (external controller)',
  ].join('\n');
}
