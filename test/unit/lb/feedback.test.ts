import { FeedbackScheduler, LbService, LoadSample, PacketKey, PORT_OUT_HEALTH_IPV6, setPortOut } from '../../../src/lb';
import { members, packet, sequence } from './fixtures';
import { ipv6Pair } from '../../../src/net/ipv6';

const sample = (at: number, rxPackets: number, txDropped = 0, txBacklog?: number): LoadSample =>
  ({ at, rxPackets, txPackets: rxPackets, txDropped, txBacklog });

function feedbackService(): { service: LbService; scheduler: FeedbackScheduler } {
  const service = new LbService(members([1, 1]), { scheduler: 'feedback' });
  return { service, scheduler: service.scheduler as FeedbackScheduler };
}

let nextClientPort = 1000;

/** Opens `count` new connections (distinct client ports) and counts where they went. */
function place(service: LbService, count: number, now: number): Record<string, number> {
  const counts: Record<string, number> = { A: 0, B: 0 };
  for (let i = 0; i < count; i++) counts[service.open(packet(1, nextClientPort++), 'active', now)!.backend.id]++;
  return counts;
}

/**
 * Gives member `id` one measured interval: `outstanding` open connections while `completed` connections
 * ended in one second (so S = outstanding / completed), and as many reply packets.
 */
function measure(scheduler: FeedbackScheduler, id: string, completed: number, outstanding: number, at = 1000, backlog?: number): void {
  scheduler.feed(id, sample(at - 1000, 0), { outstanding, completed: 0 });
  scheduler.feed(id, sample(at, completed, 0, backlog), { outstanding, completed });
}

/**
 * Members A, B, ... of weight 1 known to a fresh scheduler, each with one connection of `endMs[i]` ms ended at `at`,
 * the slowest first (a member's first end counts at most 4x the fastest member's estimate: each as measured here).
 */
function withEnds(endMs: number[], at: number): { list: ReturnType<typeof members>; fb: FeedbackScheduler } {
  const list = members(endMs.map(() => 1));
  const fb = new FeedbackScheduler();
  fb.onChange(list);
  endMs.map((ms, i) => ({ ms, i })).sort((x, y) => y.ms - x.ms).forEach(({ ms, i }) => fb.connectionEnded(list[i], ms, at));
  return { list, fb };
}

describe('feedback', () => {
  it('refuses an alpha outside (0, 1], a time constant <= 0 and a negative equal band, naming the setting', () => {
    for (const alpha of [0, -0.1, 1.01, NaN]) {
      expect(() => new FeedbackScheduler({ alpha })).toThrow(`expected 0 < alpha <= 1, got ${alpha}`);
    }
    for (const decayMs of [0, -1, NaN]) {
      expect(() => new FeedbackScheduler({ decayMs })).toThrow(`expected a positive time constant, got ${decayMs}`);
    }
    for (const equalBand of [-0.01, NaN]) {
      expect(() => new FeedbackScheduler({ equalBand })).toThrow(`expected a fraction >= 0, got ${equalBand}`);
    }
    expect(() => new FeedbackScheduler({ alpha: 0 })).toThrow(expect.objectContaining({ field: 'feedback.alpha' }));
    expect(() => new FeedbackScheduler({ decayMs: 0 })).toThrow(expect.objectContaining({ field: 'feedback.decayMs' }));
    expect(() => new FeedbackScheduler({ equalBand: -1 })).toThrow(expect.objectContaining({ field: 'feedback.equalBand' }));
    // The edges that are allowed.
    for (const opts of [{ alpha: 1 }, { alpha: 0.001 }, { decayMs: 0.5 }, { equalBand: 0 }]) {
      expect(new FeedbackScheduler(opts).name).toBe('feedback');
    }
  });

  it("estimates the time per connection by Little's law, smoothed, over busy intervals only", () => {
    const fb = new FeedbackScheduler({ alpha: 0.5 });
    fb.feed('A', sample(0, 0), { outstanding: 10, completed: 0 });
    fb.feed('A', sample(1000, 1000), { outstanding: 10, completed: 100 }); // L 10, lambda 100/s: S = 0.1 s
    expect(fb.estimate('A')).toEqual({ rate: 1000, completions: 100, outstanding: 10, timePerConn: 0.1, backlog: 0, dropping: false });
    fb.feed('A', sample(2000, 1500, 10), { outstanding: 10, completed: 150 }); // lambda 50/s, smoothed 75; 10 of 510 packets dropped
    expect(fb.estimate('A')).toMatchObject({ rate: 750, completions: 75, outstanding: 10, dropping: true });
    expect(fb.estimate('A')!.timePerConn).toBeCloseTo(10 / 75, 12);
    fb.feed('A', sample(3000, 1500, 10), { outstanding: 0, completed: 150 }); // idle: says nothing about speed
    expect(fb.estimate('A')!.timePerConn).toBeCloseTo(10 / 75, 12);
  });

  it('reads connection counts from the members when not given (completions counted by the connection table)', () => {
    const { service, scheduler } = feedbackService();
    for (let i = 0; i < 4; i++) service.open(packet(3, 30000 + i), 'active', 0);
    scheduler.feed('A', sample(0, 0));
    for (let i = 0; i < 4; i += 2) service.close({ proto: 6, clientIp: packet(3, 30000 + i).srcIp, clientPort: 30000 + i, vip: packet(3, 30000 + i).dstIp, vipPort: packet(3, 30000 + i).dstPort }, 500);
    scheduler.feed('A', sample(1000, 10));
    expect(scheduler.estimate('A')).toMatchObject({ completions: 2, outstanding: 0 });
  });

  it('moves load away from a member that takes longer per connection', () => {
    const { service, scheduler } = feedbackService();
    measure(scheduler, 'A', 1000, 1); // S = 0.001
    measure(scheduler, 'B', 100, 1); // S = 0.01: ten times slower
    // (n+1) * S: A while (nA + 1) * 0.001 <= (nB + 1) * 0.01, ties to the first -> A x10, B, A x10, B
    expect(place(service, 22, 1000)).toEqual({ A: 20, B: 2 });
  });

  it("weighs a member by its owning host's published wait when that is larger than this host's estimate (cluster remote backends)", () => {
    const { service, scheduler } = feedbackService();
    measure(scheduler, 'A', 1000, 1); // S = 0.001 each, both idle here
    measure(scheduler, 'B', 1000, 1);
    // B's own host publishes an expected wait of 0.01 s (its clients keep it busy): here B costs 0.01 while its own
    // (nB + 1) * 0.001 is less, so A takes connections until its (nA + 1) * 0.001 is within the equal band of 0.01
    // (nA = 7: 0.008 * 1.25 = 0.01), then the equals take turns. Without the published wait they alternate at once.
    scheduler.setPublishedWait('B', 0.01);
    const order = Array.from({ length: 11 }, (_, i) => service.open(packet(5, 42000 + i), 'active', 1000)!.backend.id).join('');
    expect(order).toBe('AAAAAAABABA');
    const b = service.backendById('B')!;
    expect(scheduler.expectedWait(b, 1000)).toBe(0.01);
    // A published wait below this host's estimate changes nothing; undefined (or not finite) removes it.
    scheduler.setPublishedWait('B', 0.0001);
    expect(scheduler.expectedWait(b, 1000)).toBeCloseTo((b.totalConns + 1) * 0.001, 12);
    scheduler.setPublishedWait('B', 0.01);
    scheduler.setPublishedWait('B', Number.NaN);
    expect(scheduler.expectedWait(b, 1000)).toBeCloseTo((b.totalConns + 1) * 0.001, 12);
    for (const removes of [-1, Number.POSITIVE_INFINITY, undefined]) {
      scheduler.setPublishedWait('B', 0.01);
      scheduler.setPublishedWait('B', removes);
      expect(scheduler.expectedWait(b, 1000)).toBeCloseTo((b.totalConns + 1) * 0.001, 12);
    }
  });

  it('counts the new connection itself: an idle slow member does not win the first connection over an idle fast one', () => {
    const { service, scheduler } = feedbackService();
    measure(scheduler, 'A', 100, 1); // A (listed first) is the slow one: S = 0.01
    measure(scheduler, 'B', 1000, 1); // S = 0.001
    // Both idle: (0 + 1) * S favours B; B until its wait (nB + 1) * 0.001 is within a quarter of A's 0.01
    // (at nB = 7: 0.008 * 1.25 = 0.01), then the equals take turns.
    const order = Array.from({ length: 11 }, (_, i) => service.open(packet(4, 41000 + i), 'active', 1000)!.backend.id).join('');
    expect(order).toBe('BBBBBBBABBB');
  });

  it('divides the expected wait by the weight: equal VMs share new connections as their weights', () => {
    const service = new LbService(members([3, 1]), { scheduler: 'feedback' });
    const scheduler = service.scheduler as FeedbackScheduler;
    measure(scheduler, 'A', 100, 1);
    measure(scheduler, 'B', 100, 1); // the same speed: only the weights differ
    // Waits (nA + 1) * 0.01 / 3 and (nB + 1) * 0.01; within a quarter of each other they take turns: 3 to 1 overall.
    const order = Array.from({ length: 8 }, (_, i) => service.open(packet(5, 42000 + i), 'active', 1000)!.backend.id).join('');
    expect(order).toBe('AABAABAA');
    expect(scheduler.expectedWait(service.backendById('A')!)).toBeCloseTo((6 + 1) * 0.01 / 3, 12);
    // Over more connections the shares follow the weights, blurred by the quarter band: A about three in four.
    const more = place(service, 40, 1000);
    expect(more.A / 40).toBeGreaterThanOrEqual(0.65);
    expect(more.A / 40).toBeLessThanOrEqual(0.8);
  });

  it('does not run away to the busier of two equal members (work done is not capacity)', () => {
    const { service, scheduler } = feedbackService();
    // A answered 10x the replies of B only because it had 10x the connections: same speed per connection.
    measure(scheduler, 'A', 1000, 10);
    measure(scheduler, 'B', 100, 1);
    for (let i = 0; i < 10; i++) service.open(packet(2, 20000 + i), 'active', 1000); // A or B: balanced
    const counts = { A: service.backendById('A')!.totalConns, B: service.backendById('B')!.totalConns };
    expect(counts).toEqual({ A: 5, B: 5 });
  });

  it('keeps probing an idle member: its speed estimate survives idle intervals', () => {
    const { service, scheduler } = feedbackService();
    measure(scheduler, 'A', 1000, 2);
    measure(scheduler, 'B', 1000, 2);
    scheduler.feed('B', sample(2000, 1000), { outstanding: 0, completed: 1000 }); // B idle for an interval
    scheduler.feed('A', sample(2000, 2000), { outstanding: 2, completed: 2000 });
    expect(place(service, 2, 2000)).toEqual({ A: 1, B: 1 });
  });

  it('counts a reported backlog as waiting work', () => {
    const { service, scheduler } = feedbackService();
    measure(scheduler, 'A', 100, 1, 1000, 9); // S = 0.01, plus 9 queued / 100 per s = 0.09
    measure(scheduler, 'B', 100, 1, 1000, 0);
    // A's 0.1 against B's (nB + 1) * 0.01: B alone until its wait is within a quarter of A's (nB = 7), then turns.
    expect(place(service, 7, 1000)).toEqual({ A: 0, B: 7 });
    const turns = place(service, 4, 1000);
    expect(turns.A).toBeGreaterThanOrEqual(1);
    expect(turns.B).toBeGreaterThanOrEqual(1);
  });

  it('avoids a member whose drops grew while another can take the connection', () => {
    const { service, scheduler } = feedbackService();
    scheduler.feed('A', sample(0, 0), { outstanding: 1, completed: 0 });
    scheduler.feed('A', sample(1000, 5000, 100), { outstanding: 1, completed: 5000 }); // fast but dropping 2 % of its packets
    measure(scheduler, 'B', 100, 1);
    expect(place(service, 5, 1000)).toEqual({ A: 0, B: 5 });
    service.setAvailable('B', false);
    expect(place(service, 1, 1000)).toEqual({ A: 1, B: 0 }); // only the dropping one is left
  });

  it('one dropped packet among thousands does not move the split: drops count as a fraction of the packets, and one is never enough', () => {
    // Three equal members (20 ms each); a 2 s statistics poll in which the switch handed each VM 3,000 packets, and A
    // and C each dropped one of theirs (a veth's one-off overflow). Marking them "dropping" for that sent every new
    // connection to B for up to 3 s: the calm-machine conntrack runs' pattern (2026-12-05), where a recovered VM took
    // 45-58 % of a 6 s window.
    const service = new LbService(members([1, 1, 1]), { scheduler: 'feedback' });
    const scheduler = service.scheduler as FeedbackScheduler;
    const poll = (drops: Record<string, number>) => {
      for (const id of ['A', 'B', 'C']) {
        scheduler.connectionEnded(service.backendById(id)!, 20, 1000);
        scheduler.feed(id, { at: 0, rxPackets: 0, txPackets: 0, txDropped: 0 }, { outstanding: 1, completed: 0 });
        scheduler.feed(id, { at: 2000, rxPackets: 3000, txPackets: 3000, txDropped: drops[id] ?? 0 }, { outstanding: 1, completed: 100 });
      }
    };
    const counts = (from: LbService, n: number, now: number) => {
      const out: Record<string, number> = { A: 0, B: 0, C: 0 };
      for (let i = 0; i < n; i++) out[from.open(packet(9, nextClientPort++), 'active', now)!.backend.id]++;
      return out;
    };
    poll({ A: 1, C: 1 });
    expect(counts(service, 30, 2000)).toEqual({ A: 10, B: 10, C: 10 });
    expect(['A', 'B', 'C'].map((id) => scheduler.estimate(id)!.dropping)).toEqual([false, false, false]);
    // A single drop in a nearly idle interval (1 of 20 packets, 5 %) is still one packet: not a reason either.
    const quiet = new LbService(members([1, 1, 1]), { scheduler: 'feedback' });
    const q = quiet.scheduler as FeedbackScheduler;
    for (const id of ['A', 'B', 'C']) {
      q.connectionEnded(quiet.backendById(id)!, 20, 1000);
      q.feed(id, { at: 0, rxPackets: 0, txPackets: 0, txDropped: 0 }, { outstanding: 1, completed: 0 });
      q.feed(id, { at: 2000, rxPackets: 19, txPackets: 19, txDropped: id === 'B' ? 0 : 1 }, { outstanding: 1, completed: 2 });
    }
    expect(counts(quiet, 30, 2000)).toEqual({ A: 10, B: 10, C: 10 });
  });

  it('marks a member dropping from 1 % of the packets the switch had for it in the interval (delivered + dropped), two drops at least', () => {
    const marked = (delivered: number, dropped: number) => {
      const fb = new FeedbackScheduler();
      fb.feed('A', { at: 0, rxPackets: 0, txPackets: 1000, txDropped: 50 }, { outstanding: 1, completed: 0 });
      fb.feed('A', { at: 2000, rxPackets: delivered, txPackets: 1000 + delivered, txDropped: 50 + dropped }, { outstanding: 1, completed: 10 });
      return fb.estimate('A')!.dropping;
    };
    expect(marked(198, 2)).toBe(true); // 2 of 200: 1 %
    expect(marked(199, 2)).toBe(false); // 2 of 201: just under
    expect(marked(2970, 30)).toBe(true); // 30 of 3,000
    expect(marked(2971, 29)).toBe(false);
    expect(marked(0, 2)).toBe(true); // nothing delivered, two dropped
    expect(marked(0, 1)).toBe(false); // one packet is never enough
    expect(marked(3000, 0)).toBe(false);
  });

  it("takes a dual-stack member out of one family only: its port failing the IPv6 check keeps it from IPv6 connections", () => {
    // Both members measured equal, so they take turns while both may serve; A's port then fails its IPv6 check only.
    const { list, fb } = withEnds([20, 20], 1000);
    setPortOut(list[0], 0, PORT_OUT_HEALTH_IPV6, true);
    const v4 = (port: number): PacketKey => packet(0xc0a80001, port);
    const v6 = (port: number): PacketKey => ({ ...packet(0xc0a80001, port), ip6: ipv6Pair([0x20010db8, 0, 0, 1, 0x20010db8, 0, 0, 0x64]) });
    let picks6 = '';
    let picks4 = '';
    for (let i = 0; i < 6; i++) picks6 += fb.pick(list, v6(2000 + i), 1000)?.id ?? '-';
    for (let i = 0; i < 6; i++) picks4 += fb.pick(list, v4(3000 + i), 1000)?.id ?? '-';
    expect(picks6).toBe('BBBBBB');
    expect(picks4).toMatch(/A/);
    expect(picks4).toMatch(/B/);
    // B out of IPv6 too: no member for IPv6, while IPv4 still has both.
    setPortOut(list[1], 0, PORT_OUT_HEALTH_IPV6, true);
    expect(fb.pick(list, v6(4000), 1000)).toBeNull();
    expect(fb.pick(list, v4(4001), 1000)).not.toBeNull();
  });

  it('falls back to wlc when an estimate is missing or stale', () => {
    const { service, scheduler } = feedbackService();
    measure(scheduler, 'A', 10, 1);
    expect(place(service, 4, 1000)).toEqual({ A: 2, B: 2 }); // B has no estimate: wlc alternates
    measure(scheduler, 'B', 1000000, 1);
    expect(place(service, 4, 10_000)).toEqual({ A: 2, B: 2 }); // samples 9 s old: stale -> wlc
  });

  it('falls back to wlc for a member with a stale port estimate only while it has no connection time', () => {
    const { service, scheduler } = feedbackService();
    measure(scheduler, 'A', 100, 1);
    measure(scheduler, 'B', 100, 1);
    expect(place(service, 2, 9000)).toEqual({ A: 1, B: 1 }); // stale: wlc alternates
    scheduler.connectionEnded(service.backendById('A')!, 5, 9000);
    scheduler.connectionEnded(service.backendById('B')!, 500, 9000);
    expect(place(service, 4, 9000)).toEqual({ A: 4, B: 0 }); // connection times: B is a hundred times slower
  });

  it('restarts an estimate on a counter reset and returns null with no usable member', () => {
    const fb = new FeedbackScheduler();
    fb.feed('A', sample(0, 500), { outstanding: 1, completed: 0 });
    fb.feed('A', sample(1000, 10), { outstanding: 1, completed: 1 }); // port counters went back: restart
    expect(fb.estimate('A')).toBeUndefined();
    expect(fb.pick(members([0, 0]), packet(), 0)).toBeNull();
  });
  it('restarts an estimate on each kind of counter going back, and on a sample no later than the last', () => {
    const base: LoadSample = { at: 1000, rxPackets: 100, txPackets: 100, txDropped: 5 };
    const resets: [string, Partial<LoadSample>, number][] = [
      ['the same time', { at: 1000, rxPackets: 200, txPackets: 200 }, 20],
      ['an earlier time', { at: 999, rxPackets: 200, txPackets: 200 }, 20],
      ['fewer reply packets', { at: 2000, rxPackets: 99, txPackets: 200 }, 20],
      ['fewer delivered packets', { at: 2000, rxPackets: 200, txPackets: 99 }, 20],
      ['fewer drops', { at: 2000, rxPackets: 200, txPackets: 200, txDropped: 4 }, 20],
      ['fewer completed connections', { at: 2000, rxPackets: 200, txPackets: 200 }, 9],
    ];
    for (const [what, change, completed] of resets) {
      const fb = new FeedbackScheduler();
      fb.feed('A', { ...base, at: 0, rxPackets: 0, txPackets: 0 }, { outstanding: 2, completed: 0 });
      fb.feed('A', base, { outstanding: 2, completed: 10 });
      expect(fb.estimate('A')).toBeDefined();
      fb.feed('A', { ...base, ...change }, { outstanding: 2, completed });
      expect([what, fb.estimate('A')]).toEqual([what, undefined]);
      // The restarted estimate is the base of the next interval: one more second, 10 more completions.
      const restart = { ...base, ...change };
      fb.feed('A', { ...restart, at: restart.at + 1000, rxPackets: restart.rxPackets + 50, txPackets: restart.txPackets + 50 }, { outstanding: 2, completed: completed + 10 });
      expect([what, fb.estimate('A')]).toEqual([what, { rate: 50, completions: 10, outstanding: 2, timePerConn: 0.2, backlog: 0, dropping: false }]);
    }
    // Equal counters and completions are no reset: the interval counts (an idle one keeps the estimate).
    const fb = new FeedbackScheduler();
    fb.feed('A', { ...base, at: 0 }, { outstanding: 2, completed: 10 });
    fb.feed('A', base, { outstanding: 2, completed: 10 });
    expect(fb.estimate('A')).toMatchObject({ completions: 0, outstanding: 2, rate: 0 });
  });

  it('takes rates per second over intervals of any length, and counts an interval busy with open or ended connections only', () => {
    const fb = new FeedbackScheduler({ alpha: 1 });
    fb.feed('A', sample(0, 0), { outstanding: 4, completed: 0 });
    fb.feed('A', sample(2000, 1000), { outstanding: 4, completed: 100 }); // 2 s: 500 packets/s, 50 ends/s
    expect(fb.estimate('A')).toMatchObject({ rate: 500, completions: 50, outstanding: 4, timePerConn: 4 / 50 });
    fb.feed('A', sample(2500, 1100), { outstanding: 0, completed: 110 }); // ended connections, none open: busy
    expect(fb.estimate('A')).toMatchObject({ rate: 200, completions: 20, outstanding: 0, timePerConn: 1 / 20 });
    fb.feed('A', sample(3000, 1100), { outstanding: 0, completed: 110 }); // nothing open, nothing ended: idle
    expect(fb.estimate('A')).toMatchObject({ rate: 200, completions: 20, outstanding: 0 });
    // A member that was never busy has no estimate.
    fb.feed('B', sample(0, 0), { outstanding: 0, completed: 0 });
    fb.feed('B', sample(1000, 0), { outstanding: 0, completed: 0 });
    expect(fb.estimate('B')).toBeUndefined();
  });

  it('picks among more members than its scratch starts with (8)', () => {
    const list = members(Array.from({ length: 20 }, () => 1));
    const fb = new FeedbackScheduler();
    fb.onChange(list);
    for (const m of list) fb.connectionEnded(m, m.id === 'Q' ? 5 : 50, 1000);
    expect(fb.pick(list, packet(), 1000)?.id).toBe('Q');
  });
  it('reads the open and ended counts of a known member, and zero for a member it does not know', () => {
    const list = members([1, 1]);
    const fb = new FeedbackScheduler();
    fb.onChange(list);
    list[0].activeConns = 3;
    list[0].inactiveConns = 1;
    fb.feed('A', sample(0, 0));
    list[0].completedConns = 8;
    fb.feed('A', sample(2000, 100));
    expect(fb.estimate('A')).toMatchObject({ outstanding: 4, completions: 4, timePerConn: 1 });
    // Port counters of a member that is not (or no longer) in the list: counted as idle, no error.
    fb.feed('Z', sample(0, 0));
    fb.feed('Z', sample(1000, 10));
    expect(fb.estimate('Z')).toBeUndefined();
  });

  it('reports the backlog and the drops of the port estimate, and no drops for a member with a connection time only', () => {
    const { service, scheduler } = feedbackService();
    measure(scheduler, 'A', 100, 1, 1000, 9);
    expect(scheduler.estimate('A')).toEqual({ rate: 100, completions: 100, outstanding: 1, timePerConn: 0.01, backlog: 9, dropping: false });
    scheduler.connectionEnded(service.backendById('B')!, 30, 1000);
    expect(scheduler.estimate('B')).toEqual({ rate: 0, completions: 0, outstanding: 0, timePerConn: 0.03, backlog: 0, dropping: false, connectionTime: 0.03 });
  });

  it('a counter reset does not mark the member as dropping', () => {
    const { service, scheduler } = feedbackService();
    const [a, b] = [service.backendById('A')!, service.backendById('B')!];
    scheduler.connectionEnded(a, 10, 1000); // A is the faster
    scheduler.connectionEnded(b, 100, 1000);
    scheduler.feed('A', sample(0, 500), { outstanding: 0, completed: 0 });
    scheduler.feed('A', sample(1000, 10), { outstanding: 0, completed: 0 }); // counters went back: restart
    expect(place(service, 3, 1000)).toEqual({ A: 3, B: 0 });
  });

  it('without its own onChange, a pick learns the members (the floor for a member not yet measured)', () => {
    const list = [...members([1, 2])].reverse(); // B (weight 2) first, then A (weight 1)
    const fb = new FeedbackScheduler();
    fb.connectionEnded(list[0], 50, 1000); // B measured; A not: it counts as fast as the fastest
    // A 0.05 / 1 against B 0.05 / 2: B. Without knowing the members there would be no floor and wlc would take A.
    expect(fb.pick(list, packet(), 1000)?.id).toBe('B');
    expect(fb.expectedWait(list[1], 1000)).toBe(0.05);
  });

  it('when every usable member is dropping, it still prefers the cheapest', () => {
    const { list, fb } = withEnds([10, 100], 1000); // A fast, B ten times slower, both dropping
    for (const id of ['A', 'B']) {
      fb.feed(id, sample(0, 0), { outstanding: 1, completed: 0 });
      fb.feed(id, sample(1000, 100, 5), { outstanding: 1, completed: 10 });
    }
    expect(sequence(fb, list, 4, 1000)).toBe('AAAA');
  });

  it('gives Infinity as the expected wait of a member with no estimate and no measured member to compare with', () => {
    const fb = new FeedbackScheduler();
    const list = members([1]);
    fb.onChange(list);
    expect(fb.expectedWait(list[0], 1000)).toBe(Infinity);
  });

  it('counts a backlog only from a fresh port estimate that had a busy interval (3 s old still fresh)', () => {
    const { list, fb } = withEnds([10, 10], 5000);
    // A: a busy interval ending at 5 s, 100 replies/s, 20 queued: 0.2 s of backlog on top of (0 + 1) * 0.01.
    fb.feed('A', sample(4000, 0), { outstanding: 1, completed: 0 });
    fb.feed('A', sample(5000, 100, 0, 20), { outstanding: 1, completed: 100 });
    expect(fb.expectedWait(list[0], 5000)).toBeCloseTo(0.21, 12);
    expect(fb.expectedWait(list[0], 8000)).toBeCloseTo(0.21, 12);
    expect(fb.expectedWait(list[0], 8001)).toBeCloseTo(0.01, 12);
    // B: idle intervals only, with a backlog reported: no busy interval, so no rate to divide it by: ignored.
    fb.feed('B', sample(4000, 0), { outstanding: 0, completed: 0 });
    fb.feed('B', sample(5000, 0, 0, 20), { outstanding: 0, completed: 0 });
    expect(fb.expectedWait(list[1], 5000)).toBeCloseTo(0.01, 12);
  });

  it("uses Little's law only from a fresh port estimate with a busy interval (3 s old still fresh), else the fastest member's time", () => {
    const list = members([1, 1, 1]);
    const fb = new FeedbackScheduler();
    fb.onChange(list);
    fb.connectionEnded(list[0], 20, 5000); // A: the floor, 0.02; B and C have not ended a connection
    fb.feed('B', sample(4000, 0), { outstanding: 1, completed: 0 });
    fb.feed('B', sample(5000, 10), { outstanding: 1, completed: 10 }); // B: S = 1 / 10 per s = 0.1
    expect(fb.expectedWait(list[1], 8000)).toBeCloseTo(0.1, 12);
    expect(fb.expectedWait(list[1], 8001)).toBeCloseTo(0.02, 12);
    fb.feed('C', sample(4000, 0), { outstanding: 0, completed: 0 });
    fb.feed('C', sample(5000, 0), { outstanding: 0, completed: 0 }); // C: idle intervals only
    expect(fb.expectedWait(list[2], 5000)).toBeCloseTo(0.02, 12);
  });

  it('avoids a dropping member only while its drops are fresh (3 s old still fresh)', () => {
    const { list, fb } = withEnds([10, 100], 5000); // A the faster, but dropping as of 5 s
    fb.feed('A', sample(4000, 0), { outstanding: 1, completed: 0 });
    fb.feed('A', sample(5000, 100, 3), { outstanding: 1, completed: 100 });
    expect(fb.pick(list, packet(), 8000)?.id).toBe('B');
    expect(fb.pick(list, packet(), 8001)?.id).toBe('A');
  });

  it('decays an idle member towards the fastest time among all members, whatever their order', () => {
    const { list, fb } = withEnds([20, 20, 200], 1000); // the slow one listed last
    expect(fb.expectedWait(list[2], 2000)).toBeCloseTo(0.02 + 0.18 * Math.exp(-1), 12);
  });

  it('without a time given, judges a member as of its latest news: its last end or its last port sample', () => {
    const { list, fb } = withEnds([20, 200], 1000);
    expect(fb.expectedWait(list[1])).toBeCloseTo(0.2, 12); // as of its end at 1 s: not decayed
    fb.feed('B', sample(4000, 0), { outstanding: 0, completed: 0 });
    fb.feed('B', sample(5000, 0), { outstanding: 0, completed: 0 }); // idle samples up to 5 s
    expect(fb.expectedWait(list[1])).toBeCloseTo(0.02 + 0.18 * Math.exp(-4), 12);
  });
});

describe('feedback: connection times (first packet to the end the datapath showed)', () => {
  const three = () => {
    const service = new LbService(members([1, 1, 1]), { scheduler: 'feedback' });
    return { service, scheduler: service.scheduler as FeedbackScheduler, [Symbol.iterator]: undefined };
  };
  const ended = (service: LbService, id: string, ms: number, now: number) =>
    (service.scheduler as FeedbackScheduler).connectionEnded(service.backendById(id)!, ms, now);

  it('rises as slowly as it falls (tau 1 s both ways), time-weighted whatever the rate', () => {
    const { service, scheduler } = three();
    ended(service, 'A', 20, 0);
    expect(scheduler.estimate('A')).toMatchObject({ connectionTime: 0.02, timePerConn: 0.02 });
    // A 50 ms connection 200 ms after the previous end (the spacing a slow member's own ends have): keeps exp(-0.2).
    ended(service, 'A', 50, 200);
    const slow = 0.02 * Math.exp(-0.2) + 0.05 * (1 - Math.exp(-0.2));
    expect(scheduler.estimate('A')!.connectionTime).toBeCloseTo(slow, 12);
    ended(service, 'A', 20, 1200); // 1 s later, faster: keeps exp(-1) of the old
    const afterOne = slow * Math.exp(-1) + 0.02 * (1 - Math.exp(-1));
    expect(scheduler.estimate('A')!.connectionTime).toBeCloseTo(afterOne, 12);
    ended(service, 'A', 20, 1210); // 10 ms later: moves 1 %
    expect(scheduler.estimate('A')!.connectionTime).toBeCloseTo(afterOne * Math.exp(-0.01) + 0.02 * (1 - Math.exp(-0.01)), 12);
  });

  it('one outlier among a busy member\'s many ends moves it little; a member that turned slow is believed within a second', () => {
    const { service, scheduler } = three();
    for (let t = 0; t <= 1000; t += 10) ended(service, 'A', 20, t);
    ended(service, 'A', 60, 1005); // a 60 ms hiccup 5 ms after the previous end: moves it by 0.5 % of the 40 ms more
    expect(scheduler.estimate('A')!.connectionTime).toBeCloseTo(0.02 + 0.04 * (1 - Math.exp(-0.005)), 12);
    ended(service, 'A', 1000, 1010); // a 1 s connection (a retransmitted SYN): counts as 4 x the estimate
    expect(scheduler.estimate('A')!.connectionTime).toBeLessThan(0.0209);
    // Turned slow: its ends come 200 ms apart, each moving it 18 % (each capped at 4x): over 4x the fast
    // members' 20 ms after four ends (0.8 s), so it gets a new connection only when they hold four times its load.
    for (let i = 1; i <= 4; i++) ended(service, 'A', 200, 1010 + 200 * i);
    expect(scheduler.estimate('A')!.connectionTime).toBeGreaterThan(0.08);
    for (let i = 5; i <= 10; i++) ended(service, 'A', 200, 1010 + 200 * i);
    expect(scheduler.estimate('A')!.connectionTime).toBeGreaterThan(0.15);
  });

  it("counts a member's first end at most 4x the fastest member's estimate (a SYN retransmitted at the start)", () => {
    const { service, scheduler } = three();
    ended(service, 'A', 20, 0);
    ended(service, 'C', 1000, 10);
    expect(scheduler.estimate('C')!.connectionTime).toBeCloseTo(0.08, 12);
    ended(service, 'B', 50, 20); // within the cap: as measured
    expect(scheduler.estimate('B')!.connectionTime).toBeCloseTo(0.05, 12);
    // The very first end of all has nothing to compare with: as measured.
    const { service: first, scheduler: alone } = three();
    ended(first, 'B', 1000, 0);
    expect(alone.estimate('B')!.connectionTime).toBeCloseTo(1, 12);
  });

  it('a member whose connections take 10x longer gets a new one only when the others hold ten times its load; equals take turns', () => {
    const { service } = three();
    ended(service, 'B', 200, 1000); // first: a member's first end counts at most 4x the fastest's
    ended(service, 'A', 20, 1000);
    ended(service, 'C', 20, 1000);
    // One connection each open at a time (the clients' pattern): B is never the cheapest while A and C hold < 10.
    const order = Array.from({ length: 12 }, (_, i) => {
      const placed = service.open(packet(6, 43000 + i), 'active', 1000)!.backend.id;
      service.close({ proto: 6, clientIp: packet(6, 43000 + i).srcIp, clientPort: 43000 + i, vip: packet(6, 43000 + i).dstIp, vipPort: packet(6, 43000 + i).dstPort }, 1000);
      return placed;
    }).join('');
    expect(order).toBe('AC'.repeat(6));
  });

  it('an idle slow member decays towards the fastest and is tried again within a few seconds; a fast answer brings it back', () => {
    const { service, scheduler } = three();
    ended(service, 'B', 200, 1000); // first: a member's first end counts at most 4x the fastest's
    ended(service, 'A', 20, 1000);
    ended(service, 'C', 20, 1000);
    const b = service.backendById('B')!;
    // Idle B after 1 s and 4 s: 0.02 + 0.18 * exp(-t / 1 s).
    expect(scheduler.expectedWait(b, 2000)).toBeCloseTo(0.02 + 0.18 * Math.exp(-1), 12);
    expect(scheduler.expectedWait(b, 5000)).toBeCloseTo(0.02 + 0.18 * Math.exp(-4), 12);
    // Half a second after its last answer B (0.129) is not yet within a quarter of the others: they take turns.
    const early = [44000, 44001, 44002].map((p) => service.open(packet(7, p), 'active', 1500)!.backend.id);
    expect(early).not.toContain('B');
    // Four seconds on (0.023) B is within a quarter of an idle fast member's 0.02: it takes its turn.
    const fresh = three();
    ended(fresh.service, 'B', 200, 1000);
    ended(fresh.service, 'A', 20, 1000);
    ended(fresh.service, 'C', 20, 1000);
    expect(fresh.scheduler.expectedWait(fresh.service.backendById('B')!, 5000)).toBeCloseTo(0.02 + 0.18 * Math.exp(-4), 12);
    expect([45000, 45001, 45002].map((p) => fresh.service.open(packet(7, p), 'active', 5000)!.backend.id).sort()).toEqual(['A', 'B', 'C']);
    // Open, B is no longer idle: its own T counts (no decay while it has work).
    expect(fresh.scheduler.expectedWait(fresh.service.backendById('B')!, 5000)).toBeCloseTo((1 + 1) * 0.2, 12);
    // One fast answer after 4 s of rest: T keeps exp(-4) of the old 0.2.
    ended(fresh.service, 'B', 20, 5000);
    expect(fresh.scheduler.estimate('B')!.connectionTime).toBeCloseTo(0.2 * Math.exp(-4) + 0.02 * (1 - Math.exp(-4)), 12);
  });

  it('two equal members stay balanced: noise within a quarter does not flap them', () => {
    const service = new LbService(members([1, 1]), { scheduler: 'feedback' });
    const counts: Record<string, number> = { A: 0, B: 0 };
    let now = 0;
    for (let i = 0; i < 400; i++) {
      now += 10;
      // Each connection lasts 20-24 ms, whichever member serves it.
      const placed = service.open(packet(8, 10000 + i), 'active', now)!;
      counts[placed.backend.id]++;
      const key = { proto: 6, clientIp: packet(8, 10000 + i).srcIp, clientPort: 10000 + i, vip: packet(8, 10000 + i).dstIp, vipPort: packet(8, 10000 + i).dstPort };
      service.end(key, 'backend', true, now + 20 + (i % 5));
    }
    expect(Math.abs(counts.A - counts.B)).toBeLessThanOrEqual(400 * 0.05);
  });
});

describe('feedback: a closed loop over 60 s (simulated: 4 clients, one request each at a time, ends seen at once)', () => {
  /**
   * Runs clients that each open a connection, hold it for the chosen member's service time, end it (FIN both
   * ways) and open the next 1 ms later. `serviceMs(member, t)` is the application's answer time. Returns the
   * connections each member got, per 10 s window. A connection counts active from its first packet, as the
   * packet-in path opens TCP; `endLingerMs` is how long an ended one still counts (inactive) in lc's overhead.
   */
  function closedLoop(scheduler: string, serviceMs: (id: string, t: number) => number, seconds = 60, endLingerMs?: number): Record<string, number>[] {
    const service = new LbService(members([1, 1, 1]), { scheduler, ...(endLingerMs === undefined ? {} : { endLingerMs }) });
    const windows = Array.from({ length: seconds / 10 }, () => ({ A: 0, B: 0, C: 0 } as Record<string, number>));
    const pending: { at: number; key: ReturnType<typeof keyOf> }[] = [];
    let port = 1024;
    const keyOf = (p: number) => ({ proto: 6, clientIp: 0xc0a80001, clientPort: p, vip: 0x0a000064, vipPort: 80 });
    const start = (t: number) => {
      const p = port++;
      const placed = service.open(packet(0xc0a80001, p), 'active', t)!;
      windows[Math.floor(t / 10_000)][placed.backend.id]++;
      // A few percent of noise, deterministic: answer times differ from one connection to the next.
      pending.push({ at: t + serviceMs(placed.backend.id, t) * (1 + ((p * 7) % 10) / 100), key: keyOf(p) });
    };
    for (let c = 0; c < 4; c++) start(c);
    for (;;) {
      pending.sort((a, b) => a.at - b.at);
      const next = pending.shift()!;
      if (next.at >= seconds * 1000 - 1) break;
      service.end(next.key, 'backend', false, next.at);
      service.end(next.key, 'client', false, next.at);
      service.close(next.key, next.at);
      start(next.at + 1);
    }
    return windows;
  }
  const share = (w: Record<string, number>, id: string) => w[id] / (w.A + w.B + w.C);

  it('B answering 10x slower for 30 s gets under 10 %, A and C split the rest within 5 points; fast again, B is back near a third', () => {
    const windows = closedLoop('feedback', (id, t) => (id === 'B' && t < 30_000 ? 200 : 20));
    for (const w of windows.slice(0, 3)) {
      expect(share(w, 'B')).toBeLessThan(0.1);
      expect(Math.abs(share(w, 'A') - share(w, 'C'))).toBeLessThanOrEqual(0.05);
    }
    // Fast again at 30 s: back within the window (a probe within ~2 s, then its T converges in ~2 s) ...
    expect(share(windows[3], 'B')).toBeGreaterThan(0.2);
    // ... and a third in every window after: no run-away, no oscillation.
    for (const w of windows.slice(4)) for (const id of ['A', 'B', 'C']) expect(Math.abs(share(w, id) - 1 / 3)).toBeLessThanOrEqual(0.05);
  });

  it('with noisy answer times (3-13 ms more, 3 % hiccups of up to 100 ms more): A and C within 5 points while B is slow, each within 5 points of a third after, over five seeds', () => {
    // The noise of this loaded machine's answers: one hiccup among a busy member's ends must not take it out of the
    // equal band. An estimate rising ten times faster than falling split A and C up to 12.7 points in a 10 s window
    // and left a member 9.5 points off a third after B's recovery with these seeds; the symmetric one 2.6 and 2.2.
    for (let seed = 1; seed <= 5; seed++) {
      let state = seed;
      const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
      const noise = () => 3 + random() * 10 + (random() < 0.03 ? 100 * random() : 0);
      const windows = closedLoop('feedback', (id, t) => (id === 'B' && t < 30_000 ? 200 : 20) + noise());
      for (const w of windows.slice(0, 3)) {
        expect(share(w, 'B')).toBeLessThan(0.02);
        expect(Math.abs(share(w, 'A') - share(w, 'C'))).toBeLessThanOrEqual(0.05);
      }
      for (const w of windows.slice(4)) for (const id of ['A', 'B', 'C']) expect(Math.abs(share(w, id) - 1 / 3)).toBeLessThanOrEqual(0.05);
    }
  });

  it('three equal members stay balanced for 60 s (every 10 s window within 5 points of a third)', () => {
    for (const w of closedLoop('feedback', () => 20)) {
      for (const id of ['A', 'B', 'C']) expect(Math.abs(share(w, id) - 1 / 3)).toBeLessThanOrEqual(0.05);
    }
  });

  it('lc, with the same ends, keeps the slow member at its one connection at a time (the control)', () => {
    const windows = closedLoop('lc', (id) => (id === 'B' ? 200 : 20), 20);
    for (const w of windows) expect(share(w, 'B')).toBeLessThan(0.1);
  });

  it("lc: the ends of the last second (lingering, as IPVS's TIME_WAIT) split two equal members evenly, where ties at zero went to the first", () => {
    const windows = closedLoop('lc', (id, t) => (id === 'B' && t < 30_000 ? 200 : 20));
    for (const w of windows.slice(0, 3)) {
      expect(share(w, 'B')).toBeLessThan(0.15);
      expect(Math.abs(share(w, 'A') - share(w, 'C'))).toBeLessThanOrEqual(0.05);
    }
    // Fast again: a third each in every window, the recovering one included (it had fewer recent ends for 1 s only).
    for (const w of windows.slice(3)) for (const id of ['A', 'B', 'C']) expect(Math.abs(share(w, id) - 1 / 3)).toBeLessThanOrEqual(0.05);
    // Without the linger, ties at zero go to A, the first in list order (IPVS's strict <).
    const noLinger = closedLoop('lc', (id, t) => (id === 'B' && t < 30_000 ? 200 : 20), 60, 0);
    expect(share(noLinger[0], 'A') - share(noLinger[0], 'C')).toBeGreaterThan(0.2);
  });

  it("lc with IPVS's own 2 min TIME_WAIT: a member that recovers takes most new connections until its count of ends catches up", () => {
    // Why vadc's linger is 1 s (DEFAULT_END_LINGER_MS): the fast members' thousands of recent ends outweigh any open
    // connection, so lc balances arrivals over two minutes instead of the load now.
    const windows = closedLoop('lc', (id, t) => (id === 'B' && t < 30_000 ? 200 : 20), 60, 120_000);
    expect(share(windows[3], 'B')).toBeGreaterThan(0.45);
  });
});
