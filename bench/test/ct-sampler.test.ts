import { ctTimeline, formatCtTimeline, parseCleanupLog, parseSchedstat, parseSockstatTimeWait, threadKind, type CtSample, type TimedConnect } from '../lib/ct-sampler';

describe('ct-sampler parsers', () => {
  it('reads the time on a CPU from schedstat and TIME_WAIT from sockstat', () => {
    expect(parseSchedstat('123456789 4567 89\n')).toBe(123456789);
    expect(parseSchedstat('')).toBeNaN();
    const sockstat = 'sockets: used 12\nTCP: inuse 3 orphan 0 tw 21457 alloc 5 mem 2\nUDP: inuse 0 mem 0\n';
    expect(parseSockstatTimeWait(sockstat)).toBe(21457);
    expect(parseSockstatTimeWait('UDP: inuse 0 tw 5\n')).toBeNaN();
  });

  it('names threads without their number', () => {
    expect(threadKind('ct_clean3\n')).toBe('ct_clean');
    expect(threadKind('urcu2')).toBe('urcu');
    expect(threadKind('ovs-vswitchd')).toBe('ovs-vswitchd');
    expect(threadKind('42')).toBe('42');
  });

  it('takes the clean thread\'s sweeps from the log and nothing else', () => {
    const log = [
      '2026-12-06T18:40:01.123Z|00042|conntrack(ct_clean3)|DBG|conntrack cleanup 812 entries in 3 msec',
      '2026-12-06T18:40:01.200Z|00043|conntrack(ct_clean3)|INFO|conntrack cleanup 9 entries in 1 msec',
      '2026-12-06T18:40:06.500Z|00044|dpif_netdev|DBG|conntrack cleanup 5 entries in 2 msec',
      '2026-12-06T18:40:06.501Z|00045|conntrack(ct_clean3)|DBG|conntrack cleanup 0 entries in 0 msec',
    ].join('\n');
    expect(parseCleanupLog(log)).toEqual([
      { endMs: Date.parse('2026-12-06T18:40:01.123Z'), entries: 812, ms: 3 },
      { endMs: Date.parse('2026-12-06T18:40:06.501Z'), entries: 0, ms: 0 },
    ]);
  });
});

describe('ctTimeline', () => {
  const t0 = Date.parse('2026-12-06T18:40:00.000Z');
  const sample = (atS: number, nconns: number, ctClean: number): CtSample => ({
    atMs: t0 + atS * 1000, phase: 'run 1 latency', nconns, threadCpuMs: { ct_clean: ctClean, 'ovs-vswitchd': 50 }, backendTimeWait: 100 * atS, clientTimeWait: 0,
  });

  it('bins connects by second and tells the slow VIP connects that overlap a sweep from those that do not', () => {
    const connects: TimedConnect[] = [
      { startMs: t0 + 10, us: 300, path: 'vip' },
      { startMs: t0 + 20, us: 250, path: 'static' },
      // Overlaps the sweep that ran 1,490-1,500 ms.
      { startMs: t0 + 1496, us: 9000, path: 'vip' },
      { startMs: t0 + 1510, us: 280, path: 'static' },
      // Slow, but no sweep anywhere near.
      { startMs: t0 + 2300, us: 7000, path: 'vip' },
      { startMs: t0 + 2320, us: 6000, path: 'static' },
    ];
    const cleanups = [{ endMs: t0 + 1500, entries: 4000, ms: 10 }, { endMs: t0 + 900, entries: 10, ms: 0 }];
    const t = ctTimeline(connects, [sample(0.5, 8000, 1), sample(1.5, 4000, 12), sample(2.5, 3990, 0)], cleanups, { slowUs: 5000 });
    expect(t.bins.map((b) => [b.fromS, b.vip, b.vipSlow, b.static, b.staticSlow])).toEqual([[0, 1, 0, 1, 0], [1, 1, 1, 1, 0], [2, 1, 1, 1, 1]]);
    expect(t.bins.map((b) => [b.cleanups, b.cleanedEntries, b.cleanupMs, b.longestCleanupMs])).toEqual([[1, 10, 0, 0], [1, 4000, 10, 10], [0, 0, 0, 0]]);
    expect(t.bins.map((b) => [b.nconns, b.ctCleanCpuMs, b.backendTimeWait])).toEqual([[8000, 1, 50], [4000, 12, 150], [3990, 0, 250]]);
    expect([t.slowVip, t.slowVipDuringSweep, t.slowStatic]).toEqual([2, 1, 1]);
    expect(t.slowVipConnects).toEqual([{ atS: 1.486, ms: 9 }, { atS: 2.29, ms: 7 }]);
    const text = formatCtTimeline(t, 5000);
    expect(text).toContain('  1 s  vip 1 slow 1  static 1 slow 0  tracker 4000  backend TIME_WAIT 150  ct_clean CPU 12 ms  sweeps 1 (4000 entries, 10 ms, longest 10 ms)');
    expect(text).toContain('connects slower than 5000 us: VIP 2 (1 of them overlapping a tracker sweep), static 1');
    expect(text).toContain('slow VIP connects, ms @ s into the phase (slowest first): 9.0@1.49 7.0@2.29');
  });

  it('is empty without timed connects', () => {
    expect(ctTimeline([], [sample(1, 1, 1)], [], { slowUs: 5000 })).toEqual({ bins: [], slowVip: 0, slowVipDuringSweep: 0, slowStatic: 0, slowVipConnects: [] });
  });
});
