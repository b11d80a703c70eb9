import type { AccountingInput, LoadBalancerApp, SwitchBatch } from '../../../src/app';
import type { Controller } from '../../../src/controller';
import type { AccountingReader } from '../../../src/daemon/accounting-readers';
import type { HealthBridge } from '../../../src/daemon/health-bridge';
import { StatsPoller } from '../../../src/daemon/stats-poller';
import type { Logger } from '../../../src/util/logger';

describe('StatsPoller', () => {
  it('hands the app the time the accounting reading was asked for, not only when it arrived', async () => {
    let clock = 10_000;
    const applied: [AccountingInput, number][] = [];
    // A listing that takes 4 s to arrive (the tracker's 100,000 connections).
    const reader: AccountingReader = {
      forRestore: () => Promise.reject(new Error('not used')),
      poll: () => {
        clock += 4000;
        return Promise.resolve({ source: 'tracker', entries: [] });
      },
      close: () => undefined,
    };
    const app = {
      applyAccounting: (input: AccountingInput, now: number): SwitchBatch[] => {
        applied.push([input, now]);
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
      controller, app, reader, health: { updateLoads: () => undefined } as unknown as HealthBridge, deliver: () => undefined, logger, now: () => clock,
    });
    await poller.poll();
    expect(applied).toHaveLength(1);
    expect(applied[0][0].askedAt).toBe(10_000);
    expect(applied[0][1]).toBe(14_000);
  });
});
