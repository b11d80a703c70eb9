import { connectCallSplit, counterDeltas, countTrackerWarnings, formatConnectCallSplit, parseNetstat, tupleFate, type CalledConnect, type PortUse } from '../lib/port-reuse';

const T0 = 1_765_000_000_000;
const connect = (s: number, port: number, path: 'vip' | 'static', us: number, callUs = 20, callEndUs = 40): CalledConnect =>
  ({ startMs: T0 + s * 1000, port, path, us, callUs, callEndUs });

describe('connectCallSplit', () => {
  it('counts a latency connect as reused when its port went to the same destination within the window, by age and previous phase', () => {
    const history: PortUse[] = [
      { atMs: T0 - 30_000, port: 40000, dst: 'vip', phase: 'static churn' }, // 30 s before: reused
      { atMs: T0 - 5_000, port: 40002, dst: 'vip', phase: 'VIP churn' }, // 5 s before: reused
      { atMs: T0 - 90_000, port: 40004, dst: 'vip', phase: 'VIP churn' }, // 90 s before: outside 60 s
      { atMs: T0 - 1_000, port: 40006, dst: 'static', phase: 'latency' }, // another destination: not the VIP's
    ];
    const connects = [
      connect(0, 40000, 'vip', 12_000), connect(0.1, 40002, 'vip', 900), connect(0.2, 40004, 'vip', 11_000),
      connect(0.3, 40006, 'vip', 800), connect(0.4, 40006, 'static', 700),
      // The latency phase's own earlier use counts too: 40000 again 1 s later.
      connect(1, 40000, 'vip', 13_000),
    ];
    const s = connectCallSplit(connects, history, { slowUs: 5000, windowS: 60 });
    expect(s.reuse.vip).toMatchObject({ connects: 5, slow: 3, reused: 3, slowReused: 2, slowByPreviousPhase: { 'static churn': 1, latency: 1 } });
    // ages: 1 s (<2), 5 s (2-10), 30 s (20-40)
    expect(s.reuse.vip.reusedByAge).toEqual([1, 1, 0, 1, 0, 0]);
    expect(s.reuse.vip.slowReusedByAge).toEqual([1, 0, 0, 1, 0, 0]);
    expect(s.reuse.vip.freshUs.samples).toBe(2);
    expect(s.reuse.vip.reusedUs.max).toBe(13_000);
    expect(s.reuse.static).toMatchObject({ connects: 1, slow: 0, reused: 1, slowReused: 0 });
    expect(s.slowestVip[0]).toMatchObject({ port: 40000, us: 13_000, ageS: 1, previousPhase: 'latency' });
    expect(s.slowestVip[1]).toMatchObject({ port: 40000, us: 12_000, ageS: 30, previousPhase: 'static churn' });
  });

  it('splits each connect at the connect(2) call\'s return and takes the extra from there', () => {
    const connects = [
      ...Array.from({ length: 100 }, (_, i) => connect(i, 41000 + 2 * i, 'vip', 10_500, 30, 10_000)),
      ...Array.from({ length: 100 }, (_, i) => connect(i + 0.5, 51000 + 2 * i, 'static', 700, 25, 50)),
    ];
    const s = connectCallSplit(connects, [], { slowUs: 5000, windowS: 60 });
    expect(s.callUs.vip.p99).toBe(30);
    expect(s.callUs.static.p99).toBe(25);
    expect(s.fromReturnUs.vip.p99).toBe(500);
    expect(s.fromReturnUs.static.p99).toBe(650);
    expect(s.extraFromReturnUs.p99).toBe(-150);
    expect(s.reuse.vip.reused).toBe(0);
    const text = formatConnectCallSplit(s, { slowUs: 5000, windowS: 60 });
    expect(text).toContain('extra p99 from the call\'s return -150 us');
    expect(text).toContain('vip: 100 connects, 100 slow');
  });
});

describe('countTrackerWarnings', () => {
  it('counts the tracker\'s missing-parent and NAT exhaustion lines', () => {
    const log = '2026-12-06T21:00:00.000Z|00001|conntrack|INFO|Missing parent conn 0x55: ...\n' +
      '2026-12-06T21:00:00.100Z|00002|conntrack|WARN|Unable to NAT due to tuple space exhaustion - if DoS attack, ...\n' +
      '2026-12-06T21:00:00.200Z|00003|conntrack|INFO|Missing parent conn 0x56: ...\n';
    expect(countTrackerWarnings(log)).toEqual({ missingParent: 2, natExhausted: 1 });
    expect(countTrackerWarnings('')).toEqual({ missingParent: 0, natExhausted: 0 });
  });
});

describe('parseNetstat and counterDeltas', () => {
  const text = (tw: number, paws: number, opens: number) => `TcpExt: SyncookiesSent TW PAWSTimewait\nTcpExt: 0 ${tw} ${paws}\n` +
    `IpExt: InNoRoutes\nIpExt: 0\nTcp: RtoAlgorithm ActiveOpens\nTcp: 1 ${opens}\n`;
  it('reads each header line with the value line after it, and names the counters that moved', () => {
    const before = parseNetstat(text(10, 0, 100));
    expect(before.get('TcpExt.TW')).toBe(10);
    expect(before.get('Tcp.ActiveOpens')).toBe(100);
    expect(before.get('IpExt.InNoRoutes')).toBe(0);
    expect(counterDeltas(before, parseNetstat(text(25, 3, 107)))).toBe('Tcp.ActiveOpens +7, TW +15, PAWSTimewait +3');
    expect(counterDeltas(before, before)).toBe('none moved');
  });
});

describe('tupleFate', () => {
  it('takes the backend\'s PAWS refusals in TIME_WAIT and the client\'s SYNs sent again over the phase', () => {
    const netstat = (paws: number, synRetrans: number) => parseNetstat(`TcpExt: PAWSTimewait TCPSynRetrans\nTcpExt: ${paws} ${synRetrans}\n`);
    expect(tupleFate({ backend: netstat(2, 0), client: netstat(0, 5) }, { backend: netstat(10, 0), client: netstat(0, 13) }))
      .toEqual({ backendPawsTimewait: 8, clientSynRetrans: 8 });
  });
});
