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

/** Gives member `id` a measured time per connection: `outstanding` connections answered at `rate` replies/s. */
function measure(scheduler: FeedbackScheduler, id: string, rate: number, outstanding: number, at = 1000, backlog?: number): void {
  scheduler.feed(id, sample(at - 1000, 0), outstanding);
  scheduler.feed(id, sample(at, rate, 0, backlog), outstanding);
}

describe('feedback', () => {
  it("estimates the time per connection by Little's law, smoothed, over busy intervals only", () => {
    const fb = new FeedbackScheduler({ alpha: 0.5 });
    fb.feed('A', sample(0, 0), 10);
    fb.feed('A', sample(1000, 1000), 10); // 10 connections at 1000 replies/s: S = 0.01
    expect(fb.estimate('A')).toEqual({ rate: 1000, timePerConn: 0.01, backlog: 0, dropping: false });
    fb.feed('A', sample(2000, 1500, 3), 10); // 500/s: S = 0.02, smoothed 0.015; drops grew
    expect(fb.estimate('A')).toEqual({ rate: 750, timePerConn: 0.015, backlog: 0, dropping: true });
    fb.feed('A', sample(3000, 1500, 3), 0); // idle: says nothing about speed, S kept
    expect(fb.estimate('A')?.timePerConn).toBe(0.015);
  });

  it('moves load away from a member that takes longer per connection', () => {
    const { service, scheduler } = feedbackService();
    measure(scheduler, 'A', 1000, 1); // S = 0.001
    measure(scheduler, 'B', 100, 1); // S = 0.01: ten times slower
    // (n+1) * S: A while (nA + 1) * 0.001 <= (nB + 1) * 0.01, ties to the first -> A x10, B, A x10, B
    expect(place(service, 22, 1000)).toEqual({ A: 20, B: 2 });
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
    scheduler.feed('B', sample(2000, 1000), 0); // B idle for an interval
    scheduler.feed('A', sample(2000, 2000), 2);
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
    scheduler.feed('A', sample(0, 0), 1);
    scheduler.feed('A', sample(1000, 5000, 7), 1); // fast but dropping
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
    fb.feed('A', sample(0, 500), 1);
    fb.feed('A', sample(1000, 10), 1); // counters went back: restart
    expect(fb.estimate('A')).toBeUndefined();
    expect(fb.pick(members([0, 0]), packet(), 0)).toBeNull();
  });
});
