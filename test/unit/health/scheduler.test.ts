import { CheckScheduler, type CheckResult, type CheckSpec, type Checker } from '../../../src/health';

const SPEC: CheckSpec = { kind: 'tcp', host: '127.0.0.1', port: 80, timeoutMs: 500 };
const PASS: CheckResult = { ok: true, reason: 'connected', output: '', durationMs: 1 };

/** A checker whose calls stay pending until the test settles them; records concurrency as it goes. */
function controlledChecker() {
  const pending: Array<{ host: string; port: number; signal?: AbortSignal; settle: (r: CheckResult) => void }> = [];
  const perTarget = new Map<number, number>();
  let maxOverall = 0;
  let maxPerTarget = 0;
  let calls = 0;
  const checker: Checker = (spec, signal) => {
    calls++;
    const port = spec.kind === 'script' ? 0 : spec.port;
    perTarget.set(port, (perTarget.get(port) ?? 0) + 1);
    maxPerTarget = Math.max(maxPerTarget, perTarget.get(port) ?? 0);
    return new Promise((resolve) => {
      const entry = {
        host: spec.kind === 'script' ? '' : spec.host,
        port,
        signal,
        settle: (r: CheckResult) => {
          if (!pending.includes(entry)) return;
          pending.splice(pending.indexOf(entry), 1);
          perTarget.set(port, (perTarget.get(port) ?? 1) - 1);
          resolve(r);
        },
      };
      pending.push(entry);
      // Like the real checkers: an abort settles the check at once.
      signal?.addEventListener('abort', () => entry.settle({ ok: false, reason: 'aborted', output: '', durationMs: 0 }));
      maxOverall = Math.max(maxOverall, pending.length);
    });
  };
  return { checker, pending, stats: () => ({ calls, maxOverall, maxPerTarget }) };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('CheckScheduler', () => {
  it('runs each check at its interval and feeds every result', async () => {
    const results: string[] = [];
    const checker: Checker = async () => PASS;
    const s = new CheckScheduler({ concurrency: 4, jitter: 0, checker, onResult: (id, r) => results.push(`${id}:${r.reason}`) });
    s.add({ id: 'web/vm1:80', spec: SPEC, intervalMs: 1000 });
    await jest.advanceTimersByTimeAsync(3500);
    expect(results).toEqual(['web/vm1:80:connected', 'web/vm1:80:connected', 'web/vm1:80:connected', 'web/vm1:80:connected']);
    await s.stop();
  });

  it('never runs two checks of one target at once, even when a check outlasts the interval', async () => {
    const c = controlledChecker();
    const s = new CheckScheduler({ concurrency: 4, jitter: 0, checker: c.checker, onResult: () => undefined });
    s.add({ id: 'a', spec: SPEC, intervalMs: 100 });
    await jest.advanceTimersByTimeAsync(1000);
    expect(c.stats()).toMatchObject({ calls: 1, maxPerTarget: 1 });
    c.pending[0].settle(PASS);
    await jest.advanceTimersByTimeAsync(100);
    expect(c.stats()).toMatchObject({ calls: 2, maxPerTarget: 1 });
    await s.stop();
  });

  it('bounds the checks in flight over all targets', async () => {
    const c = controlledChecker();
    const s = new CheckScheduler({ concurrency: 2, jitter: 0, checker: c.checker, onResult: () => undefined });
    for (let port = 1; port <= 5; port++) s.add({ id: `t${port}`, spec: { ...SPEC, port }, intervalMs: 100 });
    await jest.advanceTimersByTimeAsync(10);
    expect(c.pending.length).toBe(2);
    while (c.pending.length) {
      c.pending[0].settle(PASS);
      await jest.advanceTimersByTimeAsync(0);
    }
    expect(c.stats()).toMatchObject({ calls: 5, maxOverall: 2 });
    await s.stop();
  });

  it('spreads waits by the jitter', async () => {
    const times: number[] = [];
    const randoms = [0, 1, 0, 1, 0];
    const s = new CheckScheduler({
      concurrency: 1,
      jitter: 0.2,
      checker: async () => PASS,
      random: () => randoms.shift() ?? 0.5,
      onResult: () => times.push(Date.now()),
    });
    const start = Date.now();
    s.add({ id: 'a', spec: SPEC, intervalMs: 1000 });
    await jest.advanceTimersByTimeAsync(3000);
    // first run after 0 (random 0); then 1200 (random 1: +20%), then 800 (random 0: -20%), then 1200.
    expect(times.map((t) => t - start)).toEqual([0, 1200, 2000]);
    await s.stop();
  });

  it('stops cleanly: aborts checks in flight, drops their results, schedules nothing more', async () => {
    const c = controlledChecker();
    const results: string[] = [];
    const s = new CheckScheduler({ concurrency: 2, jitter: 0, checker: c.checker, onResult: (id) => results.push(id) });
    s.add({ id: 'a', spec: SPEC, intervalMs: 100 });
    await jest.advanceTimersByTimeAsync(1);
    const inFlight = c.pending[0];
    const stopped = s.stop();
    expect(inFlight.signal?.aborted).toBe(true);
    await stopped;
    await jest.advanceTimersByTimeAsync(1000);
    expect(results).toEqual([]);
    expect(c.stats().calls).toBe(1);
    expect(() => s.add({ id: 'b', spec: SPEC, intervalMs: 100 })).toThrow(/stopped/);
  });

  it('turns a checker that throws into a failed result instead of stopping', async () => {
    const results: CheckResult[] = [];
    const s = new CheckScheduler({ concurrency: 1, jitter: 0, checker: async () => { throw new Error('boom'); }, onResult: (_id, r) => results.push(r) });
    s.add({ id: 'a', spec: SPEC, intervalMs: 100 });
    await jest.advanceTimersByTimeAsync(150);
    expect(results.map((r) => r.reason)).toEqual(['check failed to run: boom', 'check failed to run: boom']);
    await s.stop();
  });

  it('rejects bad targets with a clear error', () => {
    const s = new CheckScheduler({ concurrency: 1, onResult: () => undefined });
    expect(() => s.add({ id: 'a', spec: SPEC, intervalMs: 0 })).toThrow(/a: intervalMs must be > 0/);
    expect(() => s.add({ id: 'a', spec: { ...SPEC, port: 0 }, intervalMs: 100 })).toThrow(/port/);
    expect(() => new CheckScheduler({ concurrency: 0, onResult: () => undefined })).toThrow(/concurrency/);
  });
});
