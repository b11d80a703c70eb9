import type { AccountingInput, LoadBalancerApp, SwitchBatch } from '../../../src/app';
import type { Controller } from '../../../src/controller';
import type { AccountingReader } from '../../../src/daemon/accounting-readers';
import type { HealthBridge } from '../../../src/daemon/health-bridge';
import { ACCOUNTING_DUTY, EARLY_READING_SPACING_MS, pollIntervalFor, SLOW_READING_MS, StatsPoller } from '../../../src/daemon/stats-poller';
import { DEFAULT_LISTING_SHARE, listingSpacingCap, listingSpacingLimit, MAX_READING_SPACING_MS, ReadingSchedule } from '../../../src/daemon/reading-spacing';
import { TrackerAccounting } from '../../../src/app/nat/tracker-accounting';
import type { ServiceState } from '../../../src/app/services';
import type { Logger } from '../../../src/util/logger';
import { readingStatus } from '../../../src/daemon/views';

/**
 * A poller whose accounting reading takes `readMs` of the clock, its source `waitMs` of it before answering (undefined:
 * not measured); what the app was given, and the reads asked for.
 */
function slowReadingPoller(readMs: number, waitMs?: number, listingShare?: number, readingsWithinMs?: () => number) {
  const clock = { now: 10_000 };
  const applied: [AccountingInput, number][] = [];
  const reads = { count: 0 };
  const reader: AccountingReader = {
    forRestore: () => Promise.reject(new Error('not used')),
    poll: () => {
      reads.count++;
      clock.now += readMs;
      return Promise.resolve({ input: { source: 'tracker', entries: [] }, ...(waitMs !== undefined ? { answerWaitMs: waitMs } : {}) });
    },
    close: () => undefined,
  };
  const app = {
    // In steps, as the poller applies a reading (a turn of the event loop between them).
    applyAccountingInSlices: function* (input: AccountingInput, now: number): Generator<void, SwitchBatch[], undefined> {
      applied.push([input, now]);
      yield;
      return [];
    },
    serviceStates: () => [],
  } as unknown as LoadBalancerApp;
  const controller = {
    switches: () => [{ dpid: 1n }],
    request: () => Promise.resolve({ body: { mpType: 'port_stats', entries: [] } }),
  } as unknown as Controller;
  const logger = { debug: () => undefined } as unknown as Logger;
  const poller = new StatsPoller({
    controller, app, reader, health: { updateLoads: () => undefined } as unknown as HealthBridge, deliver: () => undefined, logger, now: () => clock.now, listingShare,
    ...(readingsWithinMs ? { readingsWithinMs } : {}),
  });
  return { poller, clock, applied, reads };
}

describe('StatsPoller', () => {
  it('hands the app the time the accounting reading was asked for, not only when it arrived', async () => {
    // A listing that takes 4 s to arrive (the tracker's 100,000 connections).
    const { poller, applied } = slowReadingPoller(4000);
    await poller.poll();
    expect(applied).toHaveLength(1);
    expect(applied[0][0].askedAt).toBe(10_000);
    expect(applied[0][1]).toBe(14_000);
  });

  it('asks for a slow accounting reading again only after it took its share of the time; a quick one every poll', async () => {
    const slow = slowReadingPoller(4000);
    await slow.poller.poll(); // asked at 10 s, took 4 s: the next not before 10 s + 4 s / duty
    const next = 10_000 + 4000 / ACCOUNTING_DUTY;
    for (const at of [16_000, 20_000, next - 1]) {
      slow.clock.now = at;
      await slow.poller.poll();
    }
    expect(slow.reads.count).toBe(1);
    slow.clock.now = next;
    await slow.poller.poll();
    expect(slow.reads.count).toBe(2);
    const quick = slowReadingPoller(SLOW_READING_MS - 1);
    for (let i = 0; i < 5; i++) {
      quick.clock.now += 1000;
      await quick.poller.poll();
    }
    expect(quick.reads.count).toBe(5);
  });

  it('readSoon reads at once; asked for while a reading is in flight, one more reading follows it (not one per call)', async () => {
    const { poller, reads, applied } = slowReadingPoller(10);
    poller.readSoon();
    expect(reads.count).toBe(1); // asked for in the call
    for (let i = 0; i < 5; i++) poller.readSoon(); // end copies while that listing is on its way
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reads.count).toBe(2);
    expect(applied).toHaveLength(2);
    expect(applied[1][0].askedAt).toBeGreaterThan(applied[0][0].askedAt!); // asked for after the first
  });

  it('poll() called while one is in flight starts none and resolves once that one has applied its reading', async () => {
    const { poller, reads, applied } = slowReadingPoller(10);
    const first = poller.poll();
    const joined = poller.poll();
    await joined;
    expect(reads.count).toBe(1);
    expect(applied).toHaveLength(1); // applied when the joined call resolves, not later
    await first;
    await poller.poll(); // none in flight: a poll of its own
    expect(reads.count).toBe(2);
  });

  it('readSoon spaces the polls it asks for at least EARLY_READING_SPACING_MS apart (one timer, however many calls)', async () => {
    const { poller, reads, clock } = slowReadingPoller(1);
    await poller.poll();
    expect(reads.count).toBe(1);
    clock.now += 10; // 10 ms after that poll started
    for (let i = 0; i < 5; i++) poller.readSoon();
    expect(reads.count).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, EARLY_READING_SPACING_MS + 50));
    expect(reads.count).toBe(2);
    clock.now += EARLY_READING_SPACING_MS;
    poller.readSoon();
    poller.stop();
    expect(reads.count).toBe(3); // spaced enough: at once
    clock.now += 1;
    poller.readSoon();
    poller.stop(); // its timer goes
    await new Promise((resolve) => setTimeout(resolve, EARLY_READING_SPACING_MS + 50));
    expect(reads.count).toBe(3);
  });

  it("spaces tracker readings so that ovs-vswitchd's time building the listing stays within datapath.listing_share", async () => {
    // 40 ms of ovs-vswitchd's main thread per listing (5,000 entries measured 14-77 ms): at 0.5 %, one each 8 s.
    const p = slowReadingPoller(60, 40);
    await p.poller.poll();
    const next = 10_000 + 40 / DEFAULT_LISTING_SHARE;
    for (let at = 11_000; at < next; at += 1000) {
      p.clock.now = at;
      await p.poller.poll();
    }
    expect(p.reads.count).toBe(1); // port statistics every poll, the listing not
    expect(p.poller.readingFigures()).toEqual({ askedAt: 10_000, tookMs: 60, answerWaitMs: 40, spacingMs: 8000, spacedBy: 'ovs-vswitchd' });
    p.clock.now = next;
    await p.poller.poll();
    expect(p.reads.count).toBe(2);
    // A larger share spaces less: at 10 %, 400 ms, so every 1 s poll reads.
    const wide = slowReadingPoller(60, 40, 0.1);
    for (let i = 0; i < 3; i++) {
      wide.clock.now += 1000;
      await wide.poller.poll();
    }
    expect(wide.reads.count).toBe(3);
  });

  it('an early reading (readSoon) comes at once whatever the share says, and the regular readings after it wait for what it spent', async () => {
    const p = slowReadingPoller(10, 40); // spacing 8 s at 0.5 %
    await p.poller.poll();
    p.clock.now += 500;
    await p.poller.poll(true); // an end copy asks: at once
    p.clock.now += 500;
    await p.poller.poll(true); // and again (readSoon spaces them; the share does not hold them back)
    expect(p.reads.count).toBe(3);
    // The budget is overdrawn by two readings (80 ms at 0.5 %: 16 s): the regular polls read again only once it is back
    // to two readings' worth, later than the 8 s spacing alone would.
    const start = p.clock.now;
    let firstRegular: number | undefined;
    for (let i = 0; i < 30 && firstRegular === undefined; i++) {
      p.clock.now += 1000;
      await p.poller.poll();
      if (p.reads.count === 4) firstRegular = p.clock.now - start;
    }
    expect(firstRegular).toBeGreaterThan(8000);
    expect(firstRegular).toBeLessThanOrEqual(24_000);
  });

  it('the cap: a listing that cost more than its share of MAX_READING_SPACING_MS is read again after it, no later', async () => {
    const p = slowReadingPoller(10, 1000); // would want 200 s
    await p.poller.poll();
    p.clock.now = 10_000 + MAX_READING_SPACING_MS - 1; // asked for at 10 s
    await p.poller.poll();
    expect(p.reads.count).toBe(1);
    p.clock.now = 10_000 + MAX_READING_SPACING_MS;
    await p.poller.poll();
    expect(p.reads.count).toBe(2);
    expect(p.poller.readingFigures()).toMatchObject({ spacingMs: MAX_READING_SPACING_MS, spacedBy: 'cap' });
  });

  it('ReadingSchedule: the spacing it reports is when due() next says yes, also after an early reading overdrew', () => {
    // The first regular time due() says yes, searched ms by ms (the model's own sums are not repeated here).
    const firstDue = (s: ReadingSchedule, from: number): number => {
      let t = from;
      while (!s.due(t, false) && t < from + 2 * MAX_READING_SPACING_MS) t++;
      return t;
    };
    const s = new ReadingSchedule(0.005);
    // 20 ms of ovs-vswitchd at a 0.5 % share: one each 4 s.
    expect(s.record(0, { tookMs: 50, answerWaitMs: 20 })).toEqual({ spacingMs: 4000, bound: 'ovs-vswitchd' });
    expect(firstDue(s, 0)).toBe(4000);
    expect(s.record(4000, { tookMs: 50, answerWaitMs: 20 })).toEqual({ spacingMs: 4000, bound: 'ovs-vswitchd' });
    expect(firstDue(s, 4000)).toBe(8000);
    // An early reading 1 s after it: it overdraws the budget, so the next regular one is 7 s after it, not 4 s
    // (the formula beside the budget said 4 s here: the status and due() disagreed).
    expect(s.due(5000, true)).toBe(true);
    const afterEarly = s.record(5000, { tookMs: 50, answerWaitMs: 20 });
    expect(afterEarly).toEqual({ spacingMs: 7000, bound: 'ovs-vswitchd' });
    expect(firstDue(s, 5000)).toBe(12_000);
    // Not measured (flow accounting): every poll, no spacing.
    expect(new ReadingSchedule(0.005).record(0, { tookMs: 50 })).toEqual({ spacingMs: 0, bound: 'none' });
    // vadc took 4 s: 16 s by its duty; ovs-vswitchd 20 ms: 8 s by the share (a first reading saved nothing).
    const v = new ReadingSchedule(0.005);
    expect(v.record(0, { tookMs: 4000, answerWaitMs: 20 })).toEqual({ spacingMs: 4000 / ACCOUNTING_DUTY, bound: 'vadc' });
    expect(firstDue(v, 0)).toBe(4000 / ACCOUNTING_DUTY);
    // A listing that kept ovs-vswitchd 1 s would want 400 s: the cap holds it at 60 s.
    const c = new ReadingSchedule(0.005);
    expect(c.record(0, { tookMs: 300, answerWaitMs: 1000 })).toEqual({ spacingMs: MAX_READING_SPACING_MS, bound: 'cap' });
    expect(firstDue(c, 0)).toBe(MAX_READING_SPACING_MS);
  });

  it("keeps listings within the zone's close timeout: no ended connection leaves the tracker unread between two", async () => {
    // vadc's default policy (2 s) with 1 s polls: every poll reads, whatever the share would allow.
    expect(listingSpacingCap({ tcp_close: 2, tcp_time_wait: 2 }, 1000)).toBe(500);
    // OVS's own 30 s (ct_timeouts: {}), the shorter of the two, and the 60 s cap.
    expect(listingSpacingCap({}, 1000)).toBe(28_500);
    expect(listingSpacingCap({ tcp_close: 10, tcp_time_wait: 20 }, 2000)).toBe(7000);
    expect(listingSpacingCap({ tcp_close: 600, tcp_time_wait: 600 }, 1000)).toBe(MAX_READING_SPACING_MS);
    const p = slowReadingPoller(10, 40, undefined, () => listingSpacingCap({ tcp_close: 2, tcp_time_wait: 2 }, 1000)); // the share alone: one each 8 s
    for (let i = 0; i < 10; i++) {
      p.clock.now += 1000;
      await p.poller.poll();
    }
    expect(p.reads.count).toBe(10);
    expect(p.poller.readingFigures()).toMatchObject({ spacingMs: 500, spacedBy: 'cap' });
    // With a 10 s policy the share's 8 s holds: two listings in 10 polls.
    const q = slowReadingPoller(10, 40, undefined, () => listingSpacingCap({ tcp_close: 10, tcp_time_wait: 10 }, 1000));
    for (let i = 0; i < 10; i++) {
      q.clock.now += 1000;
      await q.poller.poll();
    }
    expect(q.reads.count).toBe(2);
  });

  it('listingSpacingLimit: a backstop (every service learns its ends from copies) is spaced up to a minute; anything that needs every end keeps the close timeout', () => {
    type S = { l4: 'tcp' | 'udp'; config: { decisions: 'controller' | 'datapath' } };
    const tcp: S = { l4: 'tcp', config: { decisions: 'controller' } };
    const limit = (services: S[], fromCopies = true) => listingSpacingLimit(
      services as unknown as ServiceState[], new TrackerAccounting(1, 2000, { fromCopies, keptMs: 2000 }), { tcp_close: 2, tcp_time_wait: 2 }, 1000,
    );
    expect(limit([tcp, tcp])).toBe(MAX_READING_SPACING_MS);
    expect(limit([])).toBe(MAX_READING_SPACING_MS);
    // Copies off; a datapath-decided service (its counts and outcomes); a UDP service: the cap (2 s less 1.5 polls).
    expect(limit([tcp], false)).toBe(500);
    expect(limit([tcp, { l4: 'tcp', config: { decisions: 'datapath' } }])).toBe(500);
    expect(limit([tcp, { l4: 'udp', config: { decisions: 'controller' } }])).toBe(500);
  });

  it('the limit is asked at each poll: a configuration that comes to need every end caps the next reading', async () => {
    let limit = MAX_READING_SPACING_MS;
    const p = slowReadingPoller(10, 40, undefined, () => limit); // the share alone: one each 8 s
    for (let i = 0; i < 4; i++) {
      p.clock.now += 1000;
      await p.poller.poll();
    }
    expect(p.reads.count).toBe(1);
    limit = 500;
    p.clock.now += 1000;
    await p.poller.poll();
    expect(p.reads.count).toBe(2);
  });

  it('start() polls at the interval of the moment: a reload that shortens feedback_interval holds from the next poll', () => {
    jest.useFakeTimers();
    try {
      let intervalMs = 2000;
      let polls = 0;
      const poller = new StatsPoller({ intervalMs: () => intervalMs } as unknown as ConstructorParameters<typeof StatsPoller>[0]);
      poller.start(() => {
        polls++;
        return Promise.resolve();
      });
      jest.advanceTimersByTime(4000);
      expect(polls).toBe(2);
      intervalMs = 500; // the reload: the timer armed at the last poll still runs its 2 s, then 500 ms each
      jest.advanceTimersByTime(2000);
      expect(polls).toBe(3);
      jest.advanceTimersByTime(2000);
      expect(polls).toBe(7);
      poller.stop();
      jest.advanceTimersByTime(10_000);
      expect(polls).toBe(7);
    } finally {
      jest.useRealTimers();
    }
  });

  it('pollIntervalFor: the smallest feedback_interval, at most 2 s', () => {
    expect(pollIntervalFor([])).toBe(2000);
    expect(pollIntervalFor([{ feedback_interval: 2 }, { feedback_interval: 0.5 }])).toBe(500);
    expect(pollIntervalFor([{ feedback_interval: 30 }])).toBe(2000);
  });

  it("status shows the tracker listing's cost and spacing, and nothing for flow accounting (no wait measured)", () => {
    expect(readingStatus(undefined)).toEqual({});
    expect(readingStatus({ askedAt: 5, tookMs: 3, spacingMs: 0, spacedBy: 'none' })).toEqual({});
    expect(readingStatus({ askedAt: 5, tookMs: 3, answerWaitMs: 1.5, spacingMs: 300, spacedBy: 'ovs-vswitchd' }))
      .toEqual({ reading: { at: 5, tookMs: 3, answerWaitMs: 1.5, spacingMs: 300, spacedBy: 'ovs-vswitchd' } });
  });
});
