// The time per connection a datapath feedback service's buckets are weighted by: equal VMs alike however the last
// poll split the connections, a slow one in proportion.
import { bucketTimes, FEEDBACK_EQUAL_BAND } from '../../../src/app/nat/feedback-times';

/** Weights as decisionBuckets scales them: the largest 1000, the others weight / T in proportion. */
function weights(times: number[]): number[] {
  const shares = times.map((t) => 1 / t);
  const largest = Math.max(...shares);
  return shares.map((s) => Math.round((s / largest) * 1000));
}

describe('bucketTimes', () => {
  it("equal VMs given 300/150/100 connections a second (each 1 ms, under one open connection) get equal buckets, not their last split's", () => {
    // L = lambda * 1 ms each. T = max(L, 1) / lambda (the controller's floor) would give 1000/500/333: the split fed itself.
    const short = bucketTimes([{ outstanding: 0.3, completions: 300 }, { outstanding: 0.15, completions: 150 }, { outstanding: 0.1, completions: 100 }])!;
    expect(weights(short)).toEqual([1000, 1000, 1000]);
    // So do equal VMs of 10 ms (L above one: Little's law alone).
    const longer = bucketTimes([{ outstanding: 3, completions: 300 }, { outstanding: 1.5, completions: 150 }, { outstanding: 1, completions: 100 }])!;
    expect(weights(longer)).toEqual([1000, 1000, 1000]);
  });

  it('noise within the band between equal VMs moves no bucket; beyond it, the slower gets weight / its T', () => {
    const inside = 1 + FEEDBACK_EQUAL_BAND * 0.9;
    expect(weights(bucketTimes([{ outstanding: 2, completions: 200 }, { outstanding: 2 * inside, completions: 200 }, { outstanding: 2, completions: 200 }])!))
      .toEqual([1000, 1000, 1000]);
    expect(weights(bucketTimes([{ outstanding: 2, completions: 200 }, { outstanding: 6, completions: 200 }, { outstanding: 2, completions: 200 }])!))
      .toEqual([1000, 333, 1000]);
  });

  it('a VM four times slower gets a quarter of the weight, its own time not raising the reference', () => {
    const t = bucketTimes([{ outstanding: 2, completions: 100 }, { outstanding: 8, completions: 100 }, { outstanding: 2, completions: 100 }])!;
    expect(t.map((x) => x * 1000)).toEqual([20, 80, 20]);
    expect(weights(t)).toEqual([1000, 250, 1000]);
  });

  it('a connection-time estimate counts as the member T; an idle member counts as the fast members; one that finishes nothing is slow', () => {
    expect(bucketTimes([{ connectionTime: 0.04, outstanding: 0, completions: 100 }, { outstanding: 2, completions: 100 }])).toEqual([0.04, 0.02]);
    expect(bucketTimes([{ outstanding: 2, completions: 100 }, { outstanding: 0, completions: 0 }])).toEqual([0.02, 0.02]);
    const stuck = bucketTimes([{ outstanding: 2, completions: 100 }, { outstanding: 3, completions: 0 }])!;
    expect(stuck[1]).toBeGreaterThan(1000 * stuck[0]);
  });

  it('undefined when no member completed a connection (no figure to compare)', () => {
    expect(bucketTimes([{ outstanding: 1, completions: 0 }, { outstanding: 0, completions: 0 }])).toBeUndefined();
  });
});
