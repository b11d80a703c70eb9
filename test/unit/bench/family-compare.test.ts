import { FlowSetupOptionError } from '../../../src/bench/errors';
import { compareFamilies, familyOrder, formatFamilyComparison, runFlowSetupFamilies } from '../../../src/bench/family-compare';
import type { FlowSetupResult } from '../../../src/bench/flowsetup';

/** Just the fields the comparison reads; the rest of a result does not matter to it. */
function run(family: 'ipv4' | 'ipv6', avg: number, controllerPct: number | null, p50Us: number): FlowSetupResult {
  return {
    options: { family }, responsesPerSec: { avg, perLoop: [avg] }, cpu: { controllerPct }, latencyUs: { p50Us },
  } as unknown as FlowSetupResult;
}

describe('IPv4 and IPv6 side by side', () => {
  it('alternates the families ABBA', () => {
    expect(familyOrder(3)).toEqual(['ipv4', 'ipv6', 'ipv6', 'ipv4', 'ipv4', 'ipv6']);
  });

  it('takes medians over the runs and divides IPv6 by IPv4', () => {
    const c = compareFamilies([
      run('ipv4', 100_000, 50, 100), run('ipv6', 45_000, 50, 220), run('ipv6', 50_000, 40, 200), run('ipv4', 80_000, 40, 120),
      run('ipv4', 90_000, 45, 110), run('ipv6', 40_000, 50, 250),
    ], 3);
    expect(c.families.ipv4).toEqual({ runs: 3, responsesPerSec: { median: 90_000, min: 80_000, max: 100_000 }, perControllerCpuSecond: 200_000, p50LatencyUs: 110 });
    expect(c.families.ipv6).toEqual({ runs: 3, responsesPerSec: { median: 45_000, min: 40_000, max: 50_000 }, perControllerCpuSecond: 90_000, p50LatencyUs: 220 });
    expect(c.ipv6OverIpv4).toEqual({ responsesPerSec: 0.5, perControllerCpuSecond: 0.45, p50LatencyUs: 2 });
    const text = formatFamilyComparison({ ...c, runs: [] });
    expect(text).toMatch(/responses\/s \(median of runs\)\s+90,000\s+45,000\s+50\.0 %/);
    expect(text).toMatch(/per controller CPU-second\s+200,000\s+90,000\s+45\.0 %/);
  });

  it('has no per-CPU figure for an external controller, and needs a run of each family', () => {
    const c = compareFamilies([run('ipv4', 10, null, 1), run('ipv6', 10, null, 1)], 1);
    expect(c.families.ipv4.perControllerCpuSecond).toBeNull();
    expect(c.ipv6OverIpv4.perControllerCpuSecond).toBeNull();
    expect(() => compareFamilies([run('ipv4', 10, 50, 1)], 1)).toThrow(/no ipv6 run/);
  });

  it('refuses one --vip for both families and a bad round count before running anything', async () => {
    await expect(runFlowSetupFamilies({ vip: '10.0.0.100' }, 1)).rejects.toThrow(FlowSetupOptionError);
    await expect(runFlowSetupFamilies({}, 0)).rejects.toThrow(/--rounds: expected an integer 1\.\.100/);
  });
});
