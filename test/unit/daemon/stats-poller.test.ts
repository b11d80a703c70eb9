import type { AccountingInput, LoadBalancerApp, SwitchBatch } from '../../../src/app';
import type { Controller } from '../../../src/controller';
import type { AccountingReader } from '../../../src/daemon/accounting-readers';
import type { HealthBridge } from '../../../src/daemon/health-bridge';
import { ACCOUNTING_DUTY, EARLY_READING_SPACING_MS, SLOW_READING_MS, StatsPoller } from '../../../src/daemon/stats-poller';
import type { Logger } from '../../../src/util/logger';

/** A poller whose accounting reading takes `readMs` of the clock; what the app was given, and the reads asked for. */
function slowReadingPoller(readMs: number) {
  const clock = { now: 10_000 };
  const applied: [AccountingInput, number][] = [];
  const reads = { count: 0 };
  const reader: AccountingReader = {
    forRestore: () => Promise.reject(new Error('not used')),
    poll: () => {
      reads.count++;
      clock.now += readMs;
      return Promise.resolve({ source: 'tracker', entries: [] });
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
    controller, app, reader, health: { updateLoads: () => undefined } as unknown as HealthBridge, deliver: () => undefined, logger, now: () => clock.now,
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
});
