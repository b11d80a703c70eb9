import { HistoryLedger } from '../../../src/runtime/history';
import { RuntimeWithHistory } from '../../../src/runtime/with-history';
import { sampleRuntime } from '../api/fake-runtime';

describe('status history: the window and the per-backend ledger', () => {
  it('times state changes, counts down transitions and downtime from the first time the backend is up, keeps the peak', async () => {
    const rt = await sampleRuntime();
    let now = 1_000_000;
    const ledger = new HistoryLedger({ intervalMs: 1000, windowMs: 10_000 });
    // Starting: not located yet reads as down; that is no outage.
    rt.setHealth('web', 'v-vm2', 'down', 'vNIC not found');
    ledger.observe(rt.status(), now);
    now += 3000;
    rt.setHealth('web', 'v-vm2', 'up');
    ledger.observe(rt.status(), now);
    expect(ledger.figures('web', 'v-vm2', now)).toEqual({ stateSince: now, downTransitions: 0, downtimeMs: 0, maxConns: 1 });
    const upAt = now;

    now += 5000;
    rt.setHealth('web', 'v-vm2', 'down', 'HTTP 500');
    rt.patchBackend('web', 'v-vm2', { activeConns: 7, inactiveConns: 2 });
    ledger.observe(rt.status(), now);
    const downAt = now;
    now += 4000;
    // Still down: the downtime runs on between observations.
    expect(ledger.figures('web', 'v-vm2', now)).toEqual({ stateSince: downAt, downTransitions: 1, downtimeMs: 4000, maxConns: 9 });
    rt.setHealth('web', 'v-vm2', 'up');
    rt.patchBackend('web', 'v-vm2', { activeConns: 1, inactiveConns: 0 });
    ledger.observe(rt.status(), now);
    now += 10_000;
    expect(ledger.figures('web', 'v-vm2', now)).toEqual({ stateSince: downAt + 4000, downTransitions: 1, downtimeMs: 4000, maxConns: 9 });
    expect(ledger.figures('web', 'v-vm1', now)?.stateSince).toBeLessThan(upAt);
    expect(ledger.figures('web', 'nope', now)).toBeUndefined();
  });

  it('keeps a bounded window of columns; series that appear later are null before', async () => {
    const rt = await sampleRuntime();
    const ledger = new HistoryLedger({ intervalMs: 1000, windowMs: 5000 });
    for (let i = 0; i < 8; i++) {
      rt.patchBackend('web', 'v-vm1', { totalConns: 10 + i, bytes: 1000 * i });
      if (i === 6) await rt.addBackend('web', { vnic: 'v-vm3', ip: '10.0.0.13', ports: [8080] });
      ledger.record(rt.status(), 1000 * i);
    }
    const h = ledger.history(7000);
    expect(h.times).toEqual([3000, 4000, 5000, 6000, 7000]);
    const vm1 = h.backends.find((b) => b.backend === 'v-vm1')!;
    expect(vm1.total).toEqual([13, 14, 15, 16, 17]);
    expect(vm1.bytes).toEqual([3000, 4000, 5000, 6000, 7000]);
    expect(h.backends.find((b) => b.backend === 'v-vm3')!.total).toEqual([null, null, null, 0, 0]);
    expect(h.services[0].decisions).toEqual([15, 15, 15, 15, 15]);
    expect(h.switches[0].packetIns).toEqual([42, 42, 42, 42, 42]);
    expect(ledger.history(7000, 2000).times).toEqual([6000, 7000]);
    expect(() => new HistoryLedger({ intervalMs: 0, windowMs: 10 })).toThrow(RangeError);
  });

  it('keeps the window in storage made once per series: as many bytes after ten windows of samples as after the first sample', async () => {
    // The soak of issue 18 read the Map-per-sample window filling for 15 minutes (~1.1 KB a sample) as a creep.
    const rt = await sampleRuntime();
    const ledger = new HistoryLedger({ intervalMs: 1000, windowMs: 60_000 });
    ledger.record(rt.status(), 0);
    const first = ledger.windowBytes;
    // The times, and per service (2 figures), backend (7) and switch (3) a ring of 60 samples of 8 bytes.
    const backends = rt.status().services[0].backends.length;
    expect(first).toBe(60 * 8 * (1 + 2 + 7 * backends + 3));
    let t = 0;
    for (let i = 0; i < 600; i++) ledger.record(rt.status(), (t += 1000));
    expect(ledger.windowBytes).toBe(first);
    expect(ledger.history(t).times).toHaveLength(60);
    // A backend that joins adds its ring once; once it left and its last sample left the window, the ring goes.
    await rt.addBackend('web', { vnic: 'v-vm3', ip: '10.0.0.13', ports: [8080] });
    for (let i = 0; i < 100; i++) ledger.record(rt.status(), (t += 1000));
    expect(ledger.windowBytes).toBe(first + 60 * 8 * 7);
    await rt.removeBackend('web', 'v-vm3');
    for (let i = 0; i < 59; i++) ledger.record(rt.status(), (t += 1000));
    const vm3 = ledger.history(t).backends.find((b) => b.backend === 'v-vm3')!;
    expect(vm3.total[0]).toBe(0);
    expect(vm3.health.slice(1)).toEqual(Array(59).fill(null));
    ledger.record(rt.status(), (t += 1000));
    expect(ledger.history(t).backends.map((b) => b.backend)).not.toContain('v-vm3');
    expect(ledger.windowBytes).toBe(first);
  });

  it('the runtime wrapper adds the figures to every status and observes events as they happen', async () => {
    const rt = await sampleRuntime();
    let now = 5_000_000;
    const withHistory = new RuntimeWithHistory(rt, { intervalMs: 1000, windowMs: 60_000, now: () => now });
    withHistory.start();
    try {
      now += 2000;
      rt.setHealth('web', 'v-vm1', 'down', 'timed out'); // an event: observed at once
      const b = withHistory.service('web').backends.find((x) => x.id === 'v-vm1')!;
      expect(b.stateSince).toBe(now);
      expect(b.downTransitions).toBe(1);
      expect(withHistory.status().services[0].backends[0].maxConns).toBe(4);
      expect((await withHistory.drain('web', 'v-vm2')).downTransitions).toBe(0);
      expect(withHistory.history().times).toEqual([5_000_000]);
    } finally {
      withHistory.stop();
    }
  });
});
