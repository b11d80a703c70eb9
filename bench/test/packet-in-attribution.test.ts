import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  attribute, attributedConnects, causeOf, formatAttribution, GcRecorder, overlapUs, type AttributedConnect, type GcPause,
} from '../lib/packet-in-attribution';
import { parseClientReport, TCP_CLIENT_JS, type ClientReport } from '../lib/realovs-scripts';

const T0 = Date.parse('2026-12-06T21:00:00.000Z');

describe('packet-in attribution', () => {
  it('counts only the part of each GC pause inside the window', () => {
    const pauses: GcPause[] = [{ startMs: T0 + 1, ms: 2, kind: 'minor' }, { startMs: T0 + 10, ms: 0.5, kind: 'major' }];
    expect(overlapUs(T0, T0 + 2, pauses)).toBeCloseTo(1000);
    expect(overlapUs(T0 + 2.5, T0 + 10.25, pauses)).toBeCloseTo(500 + 250);
    expect(overlapUs(T0 + 4, T0 + 9, pauses)).toBe(0);
  });

  it('joins the client\'s schedstat deltas and start times to each connect, the VIP target first', () => {
    const report: ClientReport = {
      ok: 3, failed: 0, elapsedMs: 10, connectUs: [800, 300, 5000], t0EpochMs: T0,
      connectUsByTarget: [[800, 5000], [300]], startUsByTarget: [[0, 2000], [1000]],
      schedUsByTarget: [[[100, 10, 50, 5, 20, 1], [400, 3900, 60, 7, 25, 2]], [[0, 0, 40, 3, 18, 1]]],
    };
    const pauses: GcPause[] = [{ startMs: T0 + 3, ms: 1.5, kind: 'minor' }];
    const connects = attributedConnects(report, pauses);
    expect(connects).toEqual([
      { path: 'vip', startMs: T0, us: 800, gcUs: 0, threads: { vadc: { cpuUs: 100, waitUs: 10 }, ovs: { cpuUs: 50, waitUs: 5 }, client: { cpuUs: 20, waitUs: 1 } } },
      { path: 'vip', startMs: T0 + 2, us: 5000, gcUs: 1500, threads: { vadc: { cpuUs: 400, waitUs: 3900 }, ovs: { cpuUs: 60, waitUs: 7 }, client: { cpuUs: 25, waitUs: 2 } } },
      { path: 'static', startMs: T0 + 1, us: 300, gcUs: 0, threads: { vadc: { cpuUs: 0, waitUs: 0 }, ovs: { cpuUs: 40, waitUs: 3 }, client: { cpuUs: 18, waitUs: 1 } } },
    ]);
    expect(attributedConnects({ ...report, schedUsByTarget: undefined }, pauses)).toEqual([]);
  });

  it('puts a connect down to its largest part only when that part is a quarter of its excess', () => {
    const parts = { vadcWaitUs: 900, vadcBusyUs: 100, gcUs: 0, ovsWaitUs: 300, clientWaitUs: 0 };
    expect(causeOf(parts, 2000)).toBe('vadc waits for a CPU');
    expect(causeOf(parts, 4000)).toBe('not explained');
    expect(causeOf({ ...parts, ovsWaitUs: 1500 }, 2000)).toBe('ovs-vswitchd waits for a CPU');
    expect(causeOf({ ...parts, gcUs: 1800 }, 2000)).toBe('vadc GC');
    expect(causeOf(parts, -10)).toBe('not explained');
  });

  it('splits the slowest share of each path against the static median and vadc\'s usual CPU time', () => {
    const c = (path: 'vip' | 'static', us: number, vadc: [number, number], ovsWait: number, gcUs = 0): AttributedConnect => ({
      path, startMs: T0, us, gcUs, threads: { vadc: { cpuUs: vadc[0], waitUs: vadc[1] }, ovs: { cpuUs: 50, waitUs: ovsWait }, client: { cpuUs: 20, waitUs: 0 } },
    });
    // 100 VIP connects: 97 of 700 us, a slow one of vadc's wait, one of its GC, one of ovs-vswitchd's wait.
    const vip = [
      ...Array.from({ length: 97 }, () => c('vip', 700, [150, 5], 5)),
      c('vip', 4000, [160, 3200], 10), c('vip', 3000, [1900, 10], 10, 1700), c('vip', 2500, [150, 5], 1900),
    ];
    const statik = [...Array.from({ length: 99 }, () => c('static', 500, [0, 0], 5)), c('static', 2500, [0, 0], 1800)];
    const a = attribute([...vip, ...statik], [{ startMs: T0, ms: 1.7, kind: 'minor' }]);
    expect(a.staticP50Us).toBe(500);
    expect(a.vipMedian).toEqual({ vadcCpuUs: 150, vadcWaitUs: 5, ovsWaitUs: 5 });
    const [p99, p98] = a.vip;
    expect(p99).toMatchObject({ share: 0.01, connects: 1, fromUs: 4000, excessUs: 3500, causes: { 'vadc waits for a CPU': 1 } });
    expect(p98.connects).toBe(2);
    expect(p98.fromUs).toBe(3000);
    expect(p98.parts).toEqual({ vadcWaitUs: 3210, vadcBusyUs: 10 + 50, gcUs: 1700, ovsWaitUs: 20, clientWaitUs: 0 });
    expect(p98.causes).toEqual({ 'vadc waits for a CPU': 1, 'vadc GC': 1 });
    expect(a.static[0].causes).toEqual({ 'ovs-vswitchd waits for a CPU': 1 });
    expect(a.gc).toEqual({ pauses: 1, totalMs: 1.7, maxMs: 1.7, byKind: { minor: 1 } });
    const text = formatAttribution(a);
    expect(text).toContain('VIP slowest 1 % (1, from 4000 us): excess over the static median 3500 us');
    expect(text).toContain('static slowest 2 % (2, from 500 us)');
  });

  it('records this process\'s GC pauses with their moments and kinds', async () => {
    // The pauses' moments are on performance's clock (timeOrigin + startTime): Date.now() drifts from it over a long
    // process's life (a jest worker's: 32 ms once), so the bounds are read from the same clock.
    const clock = () => performance.timeOrigin + performance.now();
    const before = clock();
    const gc = new GcRecorder().start();
    // A collection forced, so that there is one whatever the worker's heap: allocation alone may fit its young
    // generation (none was recorded once in a jest worker).
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    await new Promise((r) => setTimeout(r, 50));
    const pauses = gc.stop();
    expect(pauses.length).toBeGreaterThan(0);
    for (const p of pauses) {
      expect(p.startMs).toBeGreaterThanOrEqual(before);
      expect(p.startMs).toBeLessThanOrEqual(clock());
      expect(['minor', 'major', 'incremental', 'weakcb', 'other']).toContain(p.kind);
    }
    expect(pauses.some((p) => p.kind === 'major')).toBe(true);
    expect(gc.newSpaceMB).toBeGreaterThan(0);
  });
});

describe('the latency client with schedstat', () => {
  let server: Server;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'attr-'));
    server = createServer((s) => s.once('data', () => s.end('k')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports each connect\'s CPU time and run-queue wait per file, with a sub-millisecond start on the wall clock', async () => {
    const script = path.join(dir, 'client.js');
    writeFileSync(script, TCP_CLIENT_JS);
    const port = (server.address() as { port: number }).port;
    const opts = {
      host: '127.0.0.1', port, count: 6, concurrency: 1, timeoutMs: 5000, holdMs: 0, times: true,
      targets: [{ host: '127.0.0.1', port }, { host: '127.0.0.1', port }],
      schedstat: [`/proc/${process.pid}/task/${process.pid}/schedstat`, '/proc/thread-self/schedstat'],
    };
    const before = Date.now();
    const stdout = await new Promise<string>((resolve, reject) => execFile('node', [script, JSON.stringify(opts)], (err, out) => (err ? reject(err) : resolve(out))));
    const r = parseClientReport(stdout);
    expect(r.ok).toBe(6);
    expect(r.t0EpochMs).toBeGreaterThanOrEqual(before - 5);
    expect(Number.isInteger(r.t0EpochMs)).toBe(false);
    expect(r.schedUsByTarget!.map((t) => t.length)).toEqual([3, 3]);
    for (const spans of r.schedUsByTarget!.flat()) {
      expect(spans).toHaveLength(4);
      for (const n of spans) expect(Number.isInteger(n) && n >= 0).toBe(true);
    }
    expect(attributedConnects(r, [])).toHaveLength(6);
  });

  it('fails at start when a schedstat file cannot be opened', async () => {
    const script = path.join(dir, 'client.js');
    writeFileSync(script, TCP_CLIENT_JS);
    const port = (server.address() as { port: number }).port;
    const opts = { host: '127.0.0.1', port, count: 1, concurrency: 1, timeoutMs: 5000, holdMs: 0, schedstat: ['/proc/0/task/0/schedstat'] };
    const err = await new Promise<Error | null>((resolve) => execFile('node', [script, JSON.stringify(opts)], (e) => resolve(e)));
    expect(err?.message).toMatch(/ENOENT/);
  });
});
