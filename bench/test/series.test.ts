import type { FlowSetupResult } from '../../src/bench/flowsetup';
import { median, summarizeSeries } from '../lib/series';

function run(avg: number, p50Us: number, p99Us: number, controllerPct: number | null): FlowSetupResult {
  return {
    options: { switches: 16, mode: 'throughput' },
    responsesPerSec: { avg },
    latencyUs: { p50Us, p99Us },
    cpu: { generatorPct: 40, controllerPct },
  } as unknown as FlowSetupResult;
}

describe('series of runs', () => {
  it('takes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('summarizes runs: median rate, spread, latency medians and the worst p99', () => {
    const row = summarizeSeries([run(100, 10, 50, 90), run(300, 30, 70, 100), run(200, 20, 90, 95)]);
    expect(row).toEqual({
      switches: 16, mode: 'throughput', runs: 3, medianRate: 200, minRate: 100, maxRate: 300, medianP50Us: 20, medianP99Us: 70,
      maxP99Us: 90, medianGeneratorCpuPct: 40, medianControllerCpuPct: 95,
    });
    expect(summarizeSeries([run(1, 1, 1, null)]).medianControllerCpuPct).toBeNull();
    expect(() => summarizeSeries([])).toThrow(RangeError);
  });
});
