import {
  BenchInputError, countDumpedFlows, coverageDelta, cpuPercent, extraOver, medianSpread, parseCoverage, parseCtStats, parseIperf3Json, perSecond, retryRefused, summarize, whilePending,
} from '../lib/realovs-stats';

describe('summarize', () => {
  it('gives nearest-rank p50/p99, max and mean of unsorted samples', () => {
    const values = Array.from({ length: 200 }, (_, i) => 200 - i); // 200 .. 1
    expect(summarize(values)).toEqual({ samples: 200, p50: 100, p99: 198, max: 200, mean: 100.5 });
  });

  it('is NaN for no samples rather than zero', () => {
    const empty = summarize([]);
    expect(empty.samples).toBe(0);
    expect(empty.p50).toBeNaN();
    expect(empty.max).toBeNaN();
  });
});

describe('extraOver', () => {
  it('subtracts the baseline rank by rank', () => {
    const subject = { samples: 3, p50: 900, p99: 1500, max: 4000, mean: 1000 };
    const baseline = { samples: 3, p50: 300, p99: 700, max: 1000, mean: 400 };
    expect(extraOver(subject, baseline)).toEqual({ p50: 600, p99: 800, max: 3000 });
  });
});

describe('medianSpread', () => {
  it('takes the middle of odd and even counts and ignores non-finite runs', () => {
    expect(medianSpread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(medianSpread([4, 1, NaN, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(medianSpread([]).median).toBeNaN();
  });
});

describe('parseIperf3Json', () => {
  const doc = (end: unknown) => JSON.stringify({ start: {}, intervals: [], end });

  it('reads receiver and sender totals', () => {
    const text = doc({
      sum_sent: { seconds: 4.0, bytes: 5e8, bits_per_second: 1.0e9, retransmits: 3 },
      sum_received: { seconds: 4.01, bytes: 4.9e8, bits_per_second: 0.98e9 },
    });
    expect(parseIperf3Json(text)).toEqual({ receivedBps: 0.98e9, sentBps: 1.0e9, retransmits: 3, seconds: 4.01 });
  });

  it('says what is wrong: not JSON, an iperf3 error, missing totals', () => {
    expect(() => parseIperf3Json('iperf3: error')).toThrow(BenchInputError);
    expect(() => parseIperf3Json(JSON.stringify({ error: 'unable to connect to server: Connection refused' })))
      .toThrow(/iperf3 failed: unable to connect/);
    expect(() => parseIperf3Json(doc({ sum_sent: { bits_per_second: 1 } }))).toThrow(/end\.sum_received\.bits_per_second/);
  });
});

describe('countDumpedFlows', () => {
  it('counts flow lines per table and skips the reply header', () => {
    const text = [
      'OFPST_FLOW reply (OF1.3) (xid=0x2):',
      ' cookie=0xadc0400010000001, duration=1.2s, table=1, n_packets=3, n_bytes=200, idle_timeout=60, priority=1000,tcp',
      ' cookie=0xadc0400010000001, duration=1.2s, table=2, n_packets=2, n_bytes=120, idle_timeout=60, priority=1000,tcp',
      ' cookie=0xadc0400010000002, duration=1.1s, table=1, n_packets=3, n_bytes=200, idle_timeout=60, priority=1000,tcp',
      '',
    ].join('\n');
    const counts = countDumpedFlows(text);
    expect(counts.total).toBe(3);
    expect([...counts.byTable]).toEqual([[1, 2], [2, 1]]);
  });
});

describe('rates', () => {
  it('turns CPU microseconds and counts into shares and rates, refusing a zero window', () => {
    expect(cpuPercent(20_000, 1000)).toBe(2);
    expect(perSecond(500, 250)).toBe(2000);
    expect(() => cpuPercent(1, 0)).toThrow(/wall time/);
    expect(() => perSecond(1, -5)).toThrow(BenchInputError);
  });
});

describe('parseCtStats', () => {
  it('reads the total, each protocol and TCP by state as OVS 3.1 prints them (verbose)', () => {
    const text = 'Connections Stats:\n    Total: 60583\n  TCP: 60573\n    Conn per TCP states:\n\t  [SYN_SENT]=50\n\t  [ESTABLISHED]=60523\n  UDP: 10\n';
    const stats = parseCtStats(text);
    expect(stats.total).toBe(60583);
    expect([...stats.byProto]).toEqual([['TCP', 60573], ['UDP', 10]]);
    expect([...stats.tcpStates]).toEqual([['SYN_SENT', 50], ['ESTABLISHED', 60523]]);
  });

  it('takes an empty tracker and refuses text that is not ct-stats-show output', () => {
    expect(parseCtStats('Connections Stats:\n    Total: 0\n')).toEqual({ total: 0, byProto: new Map(), tcpStates: new Map() });
    expect(() => parseCtStats('ovs-vswitchd: unknown command')).toThrow(BenchInputError);
  });
});

describe('whilePending', () => {
  it("has a handler on work before `during` starts (a rejection meanwhile is not unhandled), and throws work's error after", async () => {
    const work = Promise.reject(new Error('unable to connect to server: Connection refused'));
    // Node reports a rejection with no handler once the microtasks run out, and ends the process (the bench's
    // finally, which takes the lab down, never ran): the handler must be there before `during` first waits.
    const then = jest.spyOn(work, 'then');
    let handlersWhenDuringStarted = -1;
    const run = whilePending(work, async () => {
      handlersWhenDuringStarted = then.mock.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    await expect(run).rejects.toThrow('Connection refused');
    expect(handlersWhenDuringStarted).toBeGreaterThan(0);
  });

  it("gives work's value once `during` has ended", async () => {
    let sampled = false;
    await expect(whilePending(Promise.resolve(42), async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      sampled = true;
    })).resolves.toBe(42);
    expect(sampled).toBe(true);
  });
});

describe('retryRefused', () => {
  const refused = () => new Error('iperf3 failed: unable to connect to server: Connection refused');

  it('tries again while the server refuses, and gives the first success', async () => {
    const outcomes = [refused(), refused(), 'ok'];
    const retried: string[] = [];
    const attempt = jest.fn(async () => {
      const next = outcomes.shift();
      if (next instanceof Error) throw next;
      return next;
    });
    await expect(retryRefused(attempt, 3, 1, (e) => retried.push(e.message))).resolves.toBe('ok');
    expect(attempt).toHaveBeenCalledTimes(3);
    expect(retried).toHaveLength(2);
  });

  it('gives up after `tries` refusals with the last error, and throws any other error at once', async () => {
    const always = jest.fn(async () => { throw refused(); });
    await expect(retryRefused(always, 3, 1, () => undefined)).rejects.toThrow('Connection refused');
    expect(always).toHaveBeenCalledTimes(3);
    const other = jest.fn(async () => { throw new Error('iperf3 output is not JSON'); });
    await expect(retryRefused(other, 3, 1, () => undefined)).rejects.toThrow('not JSON');
    expect(other).toHaveBeenCalledTimes(1);
  });
});

describe('parseCoverage and coverageDelta', () => {
  const show = (upcalls: number, pins: number) => `Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash=a1b2c3d4:
bridge_reconfigure         0.0/sec     0.000/sec        0.0000/sec   total: 4
dpif_execute               ${upcalls / 10}/sec     0.000/sec        0.0000/sec   total: ${upcalls}
ofproto_packet_out         0.2/sec     0.017/sec        0.0003/sec   total: ${pins}
43 events never hit
`;
  it('reads each counter\'s total and lists those that moved, largest change first', () => {
    const before = parseCoverage(show(10, 3));
    expect([...before]).toEqual([['bridge_reconfigure', 4], ['dpif_execute', 10], ['ofproto_packet_out', 3]]);
    expect(coverageDelta(before, parseCoverage(show(2010, 1003)))).toEqual([['dpif_execute', 2000], ['ofproto_packet_out', 1000]]);
  });
});
