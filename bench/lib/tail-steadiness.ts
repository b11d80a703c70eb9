// How steady a run's first-packet extra p99 is (issue 15): a p99 of 5,000 connects is the 50th largest of each path,
// and the extra is the difference of two such tails. Pure: the latency phase's connect times in (each path's, in the
// order they were made, by turns), the estimator's spread and a statistic beside it out.
import { percentile } from '../../src/bench/stats';
// mulberry32, seeded: the same samples give the same interval.
import { rng as random } from '../../test/helpers/fuzz';

export interface TailSteadiness {
  /** VIP p99 minus static p99, us (what firstPacketExtraUs.p99 is). */
  p99ExtraUs: number;
  /** The same from resamples of each path (with replacement): the 5th and 95th percentile of the resampled extras, us. */
  bootstrapUs: { lo: number; hi: number; resamples: number };
  /** The extra p99 of the phase's first half and of its second half (each path split at its middle), us. */
  halvesUs: [number, number];
  /**
   * Beside the p99 extra: the share of VIP connects slower than the static path's own p99, %. 1 % when the VIP's
   * tail is the static path's; its binomial spread is known (about +-0.14 points at 5,000 connects), so it is steadier
   * than a difference of two 50th-largest values. `halves`: the same per half.
   */
  overStaticP99Pct: number;
  overStaticP99HalvesPct: [number, number];
}

const sortedOf = (values: readonly number[]): Float64Array => Float64Array.from(values).sort();

function p99Extra(vip: readonly number[], statik: readonly number[]): number {
  return percentile(sortedOf(vip), 99) - percentile(sortedOf(statik), 99);
}

/** Share (%) of `vip` above the static path's own p99. */
function overStaticP99(vip: readonly number[], statik: readonly number[]): number {
  if (vip.length === 0 || statik.length === 0) return NaN;
  const bound = percentile(sortedOf(statik), 99);
  let over = 0;
  for (const v of vip) if (v > bound) over++;
  return (100 * over) / vip.length;
}

function resample(values: readonly number[], next: () => number): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[Math.floor(next() * values.length)];
  return out;
}

const halves = (values: readonly number[]): [number[], number[]] => [values.slice(0, values.length >> 1), values.slice(values.length >> 1)];

/** The run's p99 extra with its bootstrap interval and split halves, and the share of VIP connects over the static p99. */
export function tailSteadiness(vip: readonly number[], statik: readonly number[], resamples = 200, seed = 15): TailSteadiness {
  const next = random(seed);
  const extras: number[] = [];
  if (vip.length > 0 && statik.length > 0) for (let i = 0; i < resamples; i++) extras.push(p99Extra(resample(vip, next), resample(statik, next)));
  const sorted = sortedOf(extras);
  const [v1, v2] = halves(vip);
  const [s1, s2] = halves(statik);
  return {
    p99ExtraUs: p99Extra(vip, statik),
    bootstrapUs: { lo: percentile(sorted, 5), hi: percentile(sorted, 95), resamples: extras.length },
    halvesUs: [p99Extra(v1, s1), p99Extra(v2, s2)],
    overStaticP99Pct: overStaticP99(vip, statik),
    overStaticP99HalvesPct: [overStaticP99(v1, s1), overStaticP99(v2, s2)],
  };
}

/** One line for a run's log. */
export function formatTailSteadiness(t: TailSteadiness): string {
  const us = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '-');
  const pct = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
  return `p99 extra ${us(t.p99ExtraUs)} us, bootstrap 5-95 % ${us(t.bootstrapUs.lo)}..${us(t.bootstrapUs.hi)} (${t.bootstrapUs.resamples} resamples), ` +
    `halves ${us(t.halvesUs[0])}, ${us(t.halvesUs[1])}; VIP connects over the static p99 ${pct(t.overStaticP99Pct)} % (1 % = the same tail; halves ` +
    `${pct(t.overStaticP99HalvesPct[0])}, ${pct(t.overStaticP99HalvesPct[1])})`;
}
