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

describe('feedback', () => {
  it('smooths the processing rate and queue from cumulative counters', () => {
    const fb = new FeedbackScheduler({ alpha: 0.5 });
    fb.feed('A', sample(0, 0));
    fb.feed('A', sample(1000, 1000, 0, 10));
    expect(fb.estimate('A')).toEqual({ rate: 1000, queue: 10, dropping: false });
    fb.feed('A', sample(2000, 1500, 3, 30));
    expect(fb.estimate('A')).toEqual({ rate: 750, queue: 20, dropping: true });
  });

  it('moves load away from a member whose samples show a slow queue', () => {
    const { service, scheduler } = feedbackService();
    scheduler.feed('A', sample(0, 0));
    scheduler.feed('B', sample(0, 0));
    scheduler.feed('A', sample(1000, 1000)); // 1000 replies/s
    scheduler.feed('B', sample(1000, 100)); // 100 replies/s: slow
    // (n+1)/rate: A while nA + 1 <= 10 (nB + 1), ties to the first -> A x10, B, A x10, B
    expect(place(service, 22, 1000)).toEqual({ A: 20, B: 2 });
  });

  it('counts a growing backlog as waiting work', () => {
    const { service, scheduler } = feedbackService();
    for (const id of ['A', 'B']) scheduler.feed(id, sample(0, 0));
    scheduler.feed('A', sample(1000, 100, 0, 9)); // (n + 9 + 1) / 100
    scheduler.feed('B', sample(1000, 100, 0, 0)); // (n + 0 + 1) / 100
    expect(place(service, 9, 1000)).toEqual({ A: 0, B: 9 });
    expect(place(service, 2, 1000)).toEqual({ A: 1, B: 1 }); // 10/100 each: tie to A, then B
  });

  it('avoids a member whose drops grew while another can take the connection', () => {
    const { service, scheduler } = feedbackService();
    for (const id of ['A', 'B']) scheduler.feed(id, sample(0, 0));
    scheduler.feed('A', sample(1000, 5000, 7)); // fast but dropping
    scheduler.feed('B', sample(1000, 100));
    expect(place(service, 5, 1000)).toEqual({ A: 0, B: 5 });
    service.setAvailable('B', false);
    expect(place(service, 1, 1000)).toEqual({ A: 1, B: 0 }); // only the dropping one is left
  });

  it('falls back to wlc when a sample is missing or stale', () => {
    const { service, scheduler } = feedbackService();
    scheduler.feed('A', sample(0, 0));
    scheduler.feed('A', sample(1000, 10));
    expect(place(service, 4, 1000)).toEqual({ A: 2, B: 2 }); // B has no sample: wlc alternates
    scheduler.feed('B', sample(0, 0));
    scheduler.feed('B', sample(1000, 1000000));
    expect(place(service, 4, 10_000)).toEqual({ A: 2, B: 2 }); // samples 9 s old: stale -> wlc
  });

  it('restarts an estimate on a counter reset and returns null with no usable member', () => {
    const fb = new FeedbackScheduler();
    fb.feed('A', sample(0, 500));
    fb.feed('A', sample(1000, 10)); // counters went back: restart
    expect(fb.estimate('A')).toBeUndefined();
    expect(fb.pick(members([0, 0]), packet(), 0)).toBeNull();
  });
});
