import { LatencyRecorder, StatsError, percentile, summarizeLoops } from '../../../src/bench/stats';

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
