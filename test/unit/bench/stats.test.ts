import { LatencyRecorder, StatsError, medianInterval, percentile, summarizeLoops } from '../../../src/bench/stats';

describe('summarizeLoops', () => {
  it('drops the warm-up loop and reports min/max/avg/stdev of responses per second', () => {
    const summary = summarizeLoops([
      { responses: 5, durationMs: 1000 }, // warm-up, dropped
      { responses: 100, durationMs: 1000 },
      { responses: 300, durationMs: 1000 },
      { responses: 100, durationMs: 500 },
    ]);
    expect(summary.perLoop).toEqual([100, 300, 200]);
    expect(summary).toMatchObject({ min: 100, max: 300, avg: 200, warmupLoops: 1, measuredResponses: 500 });
    expect(summary.stdev).toBeCloseTo(Math.sqrt(20000 / 3), 9);
  });

  it('can drop no loops or several, and refuses too few loops or a zero duration', () => {
    expect(summarizeLoops([{ responses: 10, durationMs: 100 }], 0).perLoop).toEqual([100]);
    expect(summarizeLoops([{ responses: 1, durationMs: 1 }, { responses: 1, durationMs: 1 }, { responses: 7, durationMs: 1000 }], 2).avg).toBe(7);
    expect(() => summarizeLoops([{ responses: 1, durationMs: 1000 }])).toThrow(StatsError);
    expect(() => summarizeLoops([{ responses: 1, durationMs: 1000 }, { responses: 1, durationMs: 0 }])).toThrow(/duration/);
    expect(() => summarizeLoops([], -1)).toThrow(/warm-up/);
  });
});

describe('percentile (nearest rank)', () => {
  const values = Float64Array.from({ length: 100 }, (_, i) => i + 1);

  it('picks the nearest-rank value', () => {
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile(values, 0)).toThrow(StatsError);
  });

  it('LatencyRecorder sorts, grows past its first block and converts ns to us', () => {
    const recorder = new LatencyRecorder();
    const n = 70_000;
    for (let i = n; i >= 1; i--) recorder.record(i * 1000);
    const s = recorder.summary();
    expect(s.samples).toBe(n);
    expect(s.p50Us).toBe(35_000);
    expect(s.p99Us).toBe(69_300);
    expect(s.maxUs).toBe(70_000);
    expect(s.avgUs).toBeCloseTo(35_000.5, 6);
    expect(new LatencyRecorder().summary().p99Us).toBeNaN();
  });
});

describe('medianInterval', () => {
  const ranks = (n: number) => Array.from({ length: n }, (_, i) => n - i); // n..1: the samples need not come sorted

  it('takes the k-th lowest and highest samples, k as large as keeps 90 % (1 - 2 P(Bin(n, 1/2) < k)))', () => {
    // 5 and 7 rounds: only the extremes reach 90 % (7: the 2nd and 6th give 1 - 2 * 8/128 = 87.5 %).
    expect(medianInterval(ranks(5))).toEqual({ low: 1, high: 5, confidence: 1 - 2 / 32 });
    expect(medianInterval(ranks(7))).toEqual({ low: 1, high: 7, confidence: 1 - 2 / 128 });
    // 9: the 2nd and 8th (1 - 2 * 10/512); 20: the 6th and 15th (P(Bin(20, 1/2) <= 5) = 21,700 / 2^20).
    expect(medianInterval(ranks(9))).toEqual({ low: 2, high: 8, confidence: 1 - 20 / 512 });
    expect(medianInterval(ranks(20))).toEqual({ low: 6, high: 15, confidence: 1 - (2 * 21_700) / 2 ** 20 });
    // A lower wish narrows it: 9 rounds at 80 % take the 3rd and 7th (1 - 2 * 46/512).
    expect(medianInterval(ranks(9), 0.8)).toEqual({ low: 3, high: 7, confidence: 1 - 92 / 512 });
  });

  it('gives too few samples their extremes with the confidence they have, none for one, and refuses a confidence outside (0, 1)', () => {
    expect(medianInterval([3, 1, 2])).toEqual({ low: 1, high: 3, confidence: 0.75 });
    expect(medianInterval([1.2, 0.9])).toEqual({ low: 0.9, high: 1.2, confidence: 0.5 });
    expect(medianInterval([1])).toBeNull();
    expect(() => medianInterval([1, 2, 3], 1)).toThrow(/confidence must be in \(0, 1\)/);
  });
});
