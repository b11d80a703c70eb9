import { formatTailSteadiness, tailSteadiness } from '../lib/tail-steadiness';

// 1..n us, in order: the p99 (nearest rank) of 1..1000 is 990.
const ramp = (n: number, add = 0) => Array.from({ length: n }, (_, i) => i + 1 + add);

describe('tailSteadiness', () => {
  it('gives the p99 extra, and 1 % over the static p99 when the two paths are one distribution', () => {
    const t = tailSteadiness(ramp(1000), ramp(1000));
    expect(t.p99ExtraUs).toBe(0);
    expect(t.overStaticP99Pct).toBe(1);
    expect(t.halvesUs).toEqual([0, 0]);
  });

  it('shifts with a VIP path slower by a constant, and counts the VIP connects over the static p99', () => {
    const t = tailSteadiness(ramp(1000, 100), ramp(1000));
    expect(t.p99ExtraUs).toBe(100);
    // 990 is the static p99: VIP values 991..1100 are over it.
    expect(t.overStaticP99Pct).toBeCloseTo(11, 6);
  });

  it('splits each path at its middle in the order the connects were made', () => {
    // First half of the VIP phase slow in its tail, the second not.
    const vip = [...ramp(500).map((v) => (v > 490 ? v + 1000 : v)), ...ramp(500)];
    const t = tailSteadiness(vip, [...ramp(500), ...ramp(500)]);
    expect(t.halvesUs[0]).toBe(1000);
    expect(t.halvesUs[1]).toBe(0);
    expect(t.overStaticP99HalvesPct[0]).toBeCloseTo(2, 6);
    expect(t.overStaticP99HalvesPct[1]).toBeCloseTo(1, 6);
  });

  it('brackets the p99 extra with a bootstrap interval that widens with a sparse tail, and repeats for a seed', () => {
    const base = ramp(2000);
    // A tail of 20 values from 5,000 to 100,000 us: its 50th-largest region is sparse.
    const sparse = [...ramp(1980), ...Array.from({ length: 20 }, (_, i) => 5000 * (i + 1))];
    const dense = tailSteadiness(ramp(2000, 50), base, 300);
    const wide = tailSteadiness(sparse, base, 300);
    expect(dense.bootstrapUs.resamples).toBe(300);
    expect(dense.bootstrapUs.lo).toBeLessThanOrEqual(dense.p99ExtraUs);
    expect(dense.bootstrapUs.hi).toBeGreaterThanOrEqual(dense.p99ExtraUs);
    expect(wide.bootstrapUs.hi - wide.bootstrapUs.lo).toBeGreaterThan(10 * (dense.bootstrapUs.hi - dense.bootstrapUs.lo));
    expect(tailSteadiness(sparse, base, 300)).toEqual(wide);
  });

  it('is NaN, not zero, with no samples', () => {
    const t = tailSteadiness([], ramp(10));
    expect(t.p99ExtraUs).toBeNaN();
    expect(t.overStaticP99Pct).toBeNaN();
    expect(t.bootstrapUs.resamples).toBe(0);
    expect(formatTailSteadiness(t)).toContain('p99 extra - us');
  });
});
