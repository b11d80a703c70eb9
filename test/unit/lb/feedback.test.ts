import { FeedbackScheduler, LbService, LoadSample } from '../../../src/lb';
import { members, packet } from './fixtures';

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

describe('feedback', () => {
  it("estimates the time per connection by Little's law, smoothed, over busy intervals only", () => {
    const fb = new FeedbackScheduler({ alpha: 0.5 });
    fb.feed('A', sample(0, 0), { outstanding: 10, completed: 0 });
    fb.feed('A', sample(1000, 1000), { outstanding: 10, completed: 100 }); // L 10, lambda 100/s: S = 0.1 s
    expect(fb.estimate('A')).toEqual({ rate: 1000, completions: 100, outstanding: 10, timePerConn: 0.1, backlog: 0, dropping: false });
    fb.feed('A', sample(2000, 1500, 3), { outstanding: 10, completed: 150 }); // lambda 50/s, smoothed 75; drops grew
    expect(fb.estimate('A')).toMatchObject({ rate: 750, completions: 75, outstanding: 10, dropping: true });
    expect(fb.estimate('A')!.timePerConn).toBeCloseTo(10 / 75, 12);
    fb.feed('A', sample(3000, 1500, 3), { outstanding: 0, completed: 150 }); // idle: says nothing about speed
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

  it('counts the new connection itself: an idle slow member does not win the first connection over an idle fast one', () => {
    const { service, scheduler } = feedbackService();
    measure(scheduler, 'A', 100, 1); // A (listed first) is the slow one: S = 0.01
    measure(scheduler, 'B', 1000, 1); // S = 0.001
    // Both idle: (0 + 1) * S favours B; B until (nB + 1) * 0.001 reaches A's 0.01 (a tie goes to the first).
    const order = Array.from({ length: 11 }, (_, i) => service.open(packet(4, 41000 + i), 'active', 1000)!.backend.id).join('');
    expect(order).toBe('BBBBBBBBBAB');
  });

  it('divides the expected wait by the weight: equal VMs share new connections as their weights', () => {
    const service = new LbService(members([3, 1]), { scheduler: 'feedback' });
    const scheduler = service.scheduler as FeedbackScheduler;
    measure(scheduler, 'A', 100, 1);
    measure(scheduler, 'B', 100, 1); // the same speed: only the weights differ
    // A while (nA + 1) / 3 <= (nB + 1) / 1: A A A B A A A B ...
    const order = Array.from({ length: 8 }, (_, i) => service.open(packet(5, 42000 + i), 'active', 1000)!.backend.id).join('');
    expect(order).toBe('AAAB'.repeat(2));
    expect(scheduler.expectedWait(service.backendById('A')!)).toBeCloseTo((6 + 1) * 0.01 / 3, 12);
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
    expect(place(service, 9, 1000)).toEqual({ A: 0, B: 9 });
    expect(place(service, 2, 1000)).toEqual({ A: 1, B: 1 }); // 0.1 each: tie to A, then B
  });

  it('avoids a member whose drops grew while another can take the connection', () => {
    const { service, scheduler } = feedbackService();
    scheduler.feed('A', sample(0, 0), { outstanding: 1, completed: 0 });
    scheduler.feed('A', sample(1000, 5000, 7), { outstanding: 1, completed: 5000 }); // fast but dropping
    measure(scheduler, 'B', 100, 1);
    expect(place(service, 5, 1000)).toEqual({ A: 0, B: 5 });
    service.setAvailable('B', false);
    expect(place(service, 1, 1000)).toEqual({ A: 1, B: 0 }); // only the dropping one is left
  });

  it('falls back to wlc when an estimate is missing or stale', () => {
    const { service, scheduler } = feedbackService();
    measure(scheduler, 'A', 10, 1);
    expect(place(service, 4, 1000)).toEqual({ A: 2, B: 2 }); // B has no estimate: wlc alternates
    measure(scheduler, 'B', 1000000, 1);
    expect(place(service, 4, 10_000)).toEqual({ A: 2, B: 2 }); // samples 9 s old: stale -> wlc
  });

  it('restarts an estimate on a counter reset and returns null with no usable member', () => {
    const fb = new FeedbackScheduler();
    fb.feed('A', sample(0, 500), { outstanding: 1, completed: 0 });
    fb.feed('A', sample(1000, 10), { outstanding: 1, completed: 1 }); // port counters went back: restart
    expect(fb.estimate('A')).toBeUndefined();
    expect(fb.pick(members([0, 0]), packet(), 0)).toBeNull();
  });
});
