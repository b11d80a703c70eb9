import { FlowSetupOptionError } from '../../../src/bench/errors';
import { compareFamilies, familyCost, familyOrder, formatFamilyComparison, runFlowSetupFamilies } from '../../../src/bench/family-compare';
import type { FlowSetupResult } from '../../../src/bench/flowsetup';

/** Just the fields the comparison reads; the rest of a result does not matter to it. */
function run(family: 'ipv4' | 'ipv6', avg: number, controllerPct: number | null, p50Us: number, controllerSystemPct: number | null = null): FlowSetupResult {
  return {
    options: { family }, responsesPerSec: { avg, perLoop: [avg] }, cpu: { controllerPct, controllerSystemPct }, latencyUs: { p50Us },
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
    // Round by round: 200,000/90,000, 200,000/125,000, 200,000/80,000.
    expect(c.ipv6Cost.perRound.map((x) => x!.toFixed(3))).toEqual(['2.222', '1.600', '2.500']);
    expect(c.ipv6Cost).toMatchObject({ min: 1.6, max: 2.5, ceiling: 1.1, roundsWithin: 0, verdict: 'over' });
    expect(c.ipv6Cost.median).toBeCloseTo(2.2222, 4);
    expect(text).toContain("IPv6 controller CPU per new connection / IPv4's: median 2.222 (rounds: 2.222 1.600 2.500), ceiling 1.10: OVER (0 of 3 round(s) at or under it)");
    // Three rounds: their lowest and highest hold the median 75 % surely; both over the ceiling.
    expect(c.ipv6Cost).toMatchObject({ interval: { low: 1.6, high: 2.5, confidence: 0.75 }, decided: true });
    expect(text).toContain("the median's interval 1.600-2.500 (75.0 % sure): wholly over the ceiling");
    // No kernel figure: no user-space ratio.
    expect(c.ipv6Cost).toMatchObject({ userPerRound: [null, null, null], userMedian: null, userInterval: null });
  });

  it("reads the target on each round's two runs: IPv6's controller CPU per connection over IPv4's against 1.10", () => {
    // Per controller CPU-second: IPv4 100,000, 120,000, 100,000; IPv6 95,000, 100,000, 92,000 (ratios 1.053, 1.2, 1.087).
    // A fifth of each run's controller CPU in the kernel.
    const runs = [
      run('ipv4', 50_000, 50, 1, 10), run('ipv6', 47_500, 50, 1, 10), run('ipv6', 40_000, 40, 1, 8), run('ipv4', 48_000, 40, 1, 8),
      run('ipv4', 30_000, 30, 1, 6), run('ipv6', 27_600, 30, 1, 6),
    ];
    const cost = familyCost(runs);
    expect(cost.perRound.map((x) => x!.toFixed(3))).toEqual(['1.053', '1.200', '1.087']);
    expect(cost).toMatchObject({ roundsWithin: 2, verdict: 'within' });
    expect(cost.median).toBeCloseTo(100_000 / 92_000, 9);
    const text = formatFamilyComparison({ ...compareFamilies(runs, 3), runs: [] });
    expect(text).toContain('median 1.087 (rounds: 1.053 1.200 1.087), ceiling 1.10: WITHIN (2 of 3 round(s) at or under it)');
    // Within by the median, but the ceiling lies inside the median's interval: the rounds cannot tell.
    expect(cost).toMatchObject({ interval: { low: 100_000 / 95_000, high: 1.2, confidence: 0.75 }, decided: false });
    expect(text).toContain("the median's interval 1.053-1.200 (75.0 % sure): the ceiling inside it, the rounds cannot tell");
    // The same fifth of each run in the kernel: user space alone gives the same ratios.
    expect(cost.userPerRound.map((x) => x!.toFixed(3))).toEqual(['1.053', '1.200', '1.087']);
    // Controller CPU per connection, medians: IPv4 10, 8.33, 10 us; IPv6 10.53, 10, 10.87 us.
    const us = compareFamilies(runs, 3).controllerUs!;
    expect(us.ipv4).toEqual({ total: 10, user: 8, kernel: 2 });
    expect(us.ipv6.total).toBeCloseTo(1e6 / 95_000, 9);
    expect(us.ipv6.kernel).toBeCloseTo(0.2e6 / 95_000, 9);
    expect(text).toMatch(/controller CPU us per connection\s+10\.00\s+10\.53\s+105\.3 %/);
    expect(text).toMatch(/of it kernel \(sockets\)\s+2\.00\s+2\.11\s+105\.3 %/);
    // The same runs against a tighter ceiling: the median is over it.
    expect(familyCost(runs, 1.08)).toMatchObject({ roundsWithin: 1, verdict: 'over' });
    // A round is the two runs next to each other: two IPv4 runs side by side are no round.
    expect(() => familyCost([run('ipv4', 1, 50, 1), run('ipv4', 1, 50, 1)])).toThrow(/round 1 has no run of each family \(ipv4, ipv4\)/);
  });

  it("user space alone: each round's user-space CPU per connection, IPv6's over IPv4's, the kernel's part left out", () => {
    // Round 1: IPv4 40 % of a core, 20 of it kernel, at 10,000/s (user 20/10,000); IPv6 40 %, 10 kernel, 10,000/s (30/10,000).
    // Round 2: IPv6 33 % (3 kernel) at 10,000/s (30/10,000); IPv4 30 % (10 kernel) at 10,000/s (20/10,000).
    const runs = [run('ipv4', 10_000, 40, 1, 20), run('ipv6', 10_000, 40, 1, 10), run('ipv6', 10_000, 33, 1, 3), run('ipv4', 10_000, 30, 1, 10)];
    const cost = familyCost(runs);
    expect(cost.perRound.map((x) => x!.toFixed(3))).toEqual(['1.000', '1.100']);
    expect(cost.userPerRound).toEqual([1.5, 1.5]);
    expect(cost).toMatchObject({ userMedian: 1.5, userInterval: { low: 1.5, high: 1.5, confidence: 0.5 }, roundsWithin: 2, verdict: 'within' });
    expect(formatFamilyComparison({ ...compareFamilies(runs, 2), runs: [] }))
      .toContain('user space alone (no socket work): median 1.500 (rounds: 1.500 1.500), interval 1.500-1.500 (50.0 % sure)');
    // One round: no interval, and so nothing decided.
    expect(familyCost(runs.slice(0, 2))).toMatchObject({ interval: null, decided: false });
    expect(formatFamilyComparison({ ...compareFamilies(runs.slice(0, 2), 1), runs: [] })).toContain("the median's interval -: one round, no interval");
  });

  it('has no per-CPU figure for an external controller, and needs a run of each family', () => {
    const c = compareFamilies([run('ipv4', 10, null, 1), run('ipv6', 10, null, 1)], 1);
    expect(c.families.ipv4.perControllerCpuSecond).toBeNull();
    expect(c.ipv6OverIpv4.perControllerCpuSecond).toBeNull();
    expect(c.ipv6Cost).toMatchObject({ perRound: [null], median: null, verdict: 'not measured' });
    expect(c.controllerUs).toBeNull();
    expect(formatFamilyComparison({ ...c, runs: [] })).toContain("IPv6 controller CPU per new connection / IPv4's: not measured");
    expect(() => compareFamilies([run('ipv4', 10, 50, 1)], 1)).toThrow(/no ipv6 run/);
  });

  it('refuses one --vip for both families and a bad round count before running anything', async () => {
    await expect(runFlowSetupFamilies({ vip: '10.0.0.100' }, 1)).rejects.toThrow(FlowSetupOptionError);
    await expect(runFlowSetupFamilies({}, 0)).rejects.toThrow(/--rounds: expected an integer 1\.\.100/);
  });
});
