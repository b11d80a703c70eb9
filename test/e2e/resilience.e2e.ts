// Resilience on real Open vSwitch (issue 18): one `vadc start` process under steady traffic (held keep-alive
// connections plus a stream of new ones), in the NAT mode the suite runs in (resilience-conntrack.e2e.ts: conntrack).
//  - Soak: the process's RSS, heap, open fds and event-loop delay sampled through the run, memory right after a full
//    collection (test/helpers/memory-probe.js); no growth trend in the live heap, the buffers, RSS or fds from a
//    steady point on (the least-squares growth within its own noise and a floor, see the assertions), every connection
//    vadc tracked is forgotten once the traffic stops. CI runs 120 s; VADC_SOAK_SECONDS=10800 runs a long soak locally
//    (figures in docs/benchmarks.md).
//  - Chaos under load: while held and new connections run and `config apply` runs every second, ovsdb-server is
//    restarted, a backend's link flaps, vadc itself is SIGTERMed and restarted, and ovs-vswitchd is restarted: no held
//    connection lost where the datapath keeps it (every one on the backends that stay up, until ovs-vswitchd's
//    restart takes the datapath's state), every apply accepted, each link flap reported once, no crash, new
//    connections served again after the restart.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { VadcClient } from '../../src/api/client';
import { Lab, type LabServer } from '../../src/lab';
import { datapathYaml, e2eNatMode } from '../helpers/nat-mode';
import { freePort, Instance, sleep, traffic, vipOf, waitFor, writeDaemonConfig, type TrafficReport } from '../helpers/ha-pair';
import { switchSynced } from '../helpers/switch-synced';

const SOAK_SECONDS = Number(process.env.VADC_SOAK_SECONDS ?? 120);

let lab: Lab;
let vadc: Instance;
let servers: LabServer[] = [];
let dir: string;
let metricsPort: number;
let probeFile: string;

beforeAll(async () => {
  lab = await Lab.up({ name: 'soak', vms: 3, clients: 1, waitForHostMs: 600_000 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-resilience-'));
  servers = await Promise.all(['vm1', 'vm2', 'vm3'].map((vm) => lab.startHttpServer(vm, 8080)));
  const ofPort = await freePort();
  metricsPort = await freePort();
  const configPath = path.join(dir, 'vadc.yaml');
  writeDaemonConfig(lab, configPath, {
    ofPort, apiSocket: path.join(dir, 'api.sock'), vms: ['vm1', 'vm2', 'vm3'], ha: '{ election: none }',
    extra: [`metrics: { listen: "tcp:127.0.0.1:${metricsPort}" }`, datapathYaml(lab.vswitchdControlSocket)],
  });
  vadc = new Instance('vadc', ofPort, path.join(dir, 'api.sock'), configPath);
  // The memory probe: SIGUSR2 makes vadc run a full collection and write its memory figures (test/helpers/memory-probe.js).
  probeFile = path.join(dir, 'memory.jsonl');
  vadc.daemonNode = { args: ['--expose-gc', '-r', path.join(__dirname, '../helpers/memory-probe.js')], env: { VADC_MEMORY_PROBE: probeFile } };
  await vadc.start().catch((err: Error) => { throw new Error(`${err.message}\n${vadc.log.slice(-3000)}`); });
  await lab.setController(vadc.target);
  await waitFor(async () => {
    const s = await vadc.status().catch(() => undefined);
    return s !== undefined && switchSynced(s) && s.services[0].backends.every((b) => b.health === 'up');
  }, 30_000, 'the switch connected and the backends up');
}, 660_000);

afterAll(async () => {
  await vadc?.stop('SIGKILL');
  for (const s of servers) await s.stop().catch(() => undefined);
  await lab?.down();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

interface Sample {
  t: number; // s since the start
  rssMiB: number;
  heapMiB: number;
  fds: number;
  loopP99Ms: number;
  tracked: number; // connections vadc tracks
  // After a full collection (the memory probe): the live JS heap without V8's compiled code (its JIT goes on
  // compiling hot paths for minutes), that code, the memory outside the heap that JS objects hold (buffers), and RSS
  // without the young generation's committed size (V8 doubles it 1 -> 16 MiB per semi-space as the allocation rate
  // asks, at its own time: the last step alone adds 16 MiB of RSS, 95 -> 111 MiB at 37-46 s in a flows run).
  dataMiB: number;
  codeMiB: number;
  externalMiB: number;
  rssOutsideYoungMiB: number;
}

type ProbeReading = NodeJS.MemoryUsage & { codeBytes: number; newSpaceBytes: number };

/** vadc's memory right after a full garbage collection (see test/helpers/memory-probe.js). */
async function probeMemory(): Promise<ProbeReading> {
  const read = () => (existsSync(probeFile) ? readFileSync(probeFile, 'utf8').split('\n').filter(Boolean) : []);
  const before = read().length;
  vadc.signal('SIGUSR2');
  let lines: string[] = [];
  await waitFor(() => (lines = read()).length > before, 10_000, "vadc's memory probe (a full collection)");
  return JSON.parse(lines[before]) as ProbeReading;
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : NaN;
}

function scrape(): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: metricsPort, path: '/metrics', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

async function sample(started: number): Promise<Sample> {
  const pid = vadc.pid;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  const text = await scrape();
  const s = await vadc.status();
  const m = await probeMemory();
  return {
    t: Math.round((Date.now() - started) / 1000),
    rssMiB: rssKb / 1024,
    heapMiB: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    loopP99Ms: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
    tracked: s.services[0].backends.reduce((n, b) => n + b.activeConns + b.inactiveConns, 0),
    dataMiB: (m.heapUsed - m.codeBytes) / 2 ** 20,
    codeMiB: m.codeBytes / 2 ** 20,
    externalMiB: m.external / 2 ** 20,
    rssOutsideYoungMiB: (m.rss - m.newSpaceBytes) / 2 ** 20,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A figure's trend over the run: the least-squares line's growth from the first sample to the last, and that
 * growth's noise, 3 standard errors (from the residuals around the line: the collector's sawtooth, sockets coming and
 * going). Steady use has growth within its noise; a leak per connection (thousands in a run) grows past it.
 */
function trend(points: Array<[number, number]>): { growth: number; noise: number } {
  const n = points.length;
  const mt = points.reduce((a, [t]) => a + t, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const stt = points.reduce((a, [t]) => a + (t - mt) ** 2, 0);
  const slope = points.reduce((a, [t, y]) => a + (t - mt) * (y - my), 0) / stt;
  const residual = points.reduce((a, [t, y]) => a + (y - my - slope * (t - mt)) ** 2, 0) / Math.max(1, n - 2);
  const span = points[n - 1][0] - points[0][0];
  return { growth: slope * span, noise: 3 * Math.sqrt(residual / stt) * span };
}
const failedNew = (r: TrafficReport) => r.attempts.filter(([, , ok]) => !ok).length;

describe('resilience (real OVS, one vadc process)', () => {
  it(`soak: ${SOAK_SECONDS} s of held and new connections, no fd or heap growth, tracked connections forgotten after`, async () => {
    const started = Date.now();
    const run = traffic(lab, 'cl1', { held: 50, everyMs: 20, seconds: SOAK_SECONDS });
    await run.ready;
    const samples: Sample[] = [];
    const every = Math.max(5, Math.floor(SOAK_SECONDS / 24)) * 1000;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const s = await sample(started);
        samples.push(s);
        // Written as taken: jest prints console.log only at the end, and a long soak that fails late keeps its figures.
        process.stderr.write(`soak sample: ${JSON.stringify(s)}\n`);
        await sleep(every);
      }
    })();
    let report: TrafficReport;
    try {
      report = await run.done;
    } finally {
      // Also when the traffic fails: a sampler left running reads a stopped daemon's /proc entry after the test.
      sampling = false;
      await sampler;
    }
    // Every connection closed: vadc forgets them (end copies / the tracker), within the idle timeout at most.
    await waitFor(async () => (await sample(started)).tracked === 0, 90_000, 'vadc to forget the closed connections');
    await sleep(3000);
    const after = await sample(started);
    const warm = samples.slice(1, Math.max(2, Math.ceil(samples.length / 3)));
    const late = samples.slice(Math.floor((2 * samples.length) / 3));
    // The trend starts after the first 30 s: the connection table's and the buffers' growth steps and the hottest
    // code's compilation are behind (the data heap after a full collection moved 16.25 -> 16.52 MiB in them, then
    // within +-0.2 MiB, conntrack run of 2026-12-06 02:31).
    const steady = samples.filter((x) => x.t >= 30);
    expect(steady.length).toBeGreaterThanOrEqual(4);
    const trends = {
      rss: trend(steady.map((x) => [x.t, x.rssMiB])),
      heap: trend(steady.map((x) => [x.t, x.heapMiB])),
      fds: trend(steady.map((x) => [x.t, x.fds])),
      data: trend(steady.map((x) => [x.t, x.dataMiB])),
      code: trend(steady.map((x) => [x.t, x.codeMiB])),
      external: trend(steady.map((x) => [x.t, x.externalMiB])),
      rssOutsideYoung: trend(steady.map((x) => [x.t, x.rssOutsideYoungMiB])),
    };
    console.log([
      `soak ${SOAK_SECONDS} s: ${report.attempts.length} new connections (${failedNew(report)} failed), ${report.heldRequests} requests on ${report.held} held (${report.heldLost} lost)`,
      '   t s   RSS MiB  heap MiB   fds  loop p99 ms  tracked  data MiB  code MiB  ext MiB  RSS-young MiB',
      ...[...samples, after].map((s) => `${String(s.t).padStart(6)} ${s.rssMiB.toFixed(1).padStart(9)} ${s.heapMiB.toFixed(1).padStart(9)} ${String(s.fds).padStart(5)} ${s.loopP99Ms.toFixed(1).padStart(12)} ${String(s.tracked).padStart(8)} ${s.dataMiB.toFixed(2).padStart(9)} ${s.codeMiB.toFixed(2).padStart(9)} ${s.externalMiB.toFixed(2).padStart(8)} ${s.rssOutsideYoungMiB.toFixed(1).padStart(14)}`),
      `medians first third vs last third: RSS ${median(warm.map((s) => s.rssMiB)).toFixed(1)} -> ${median(late.map((s) => s.rssMiB)).toFixed(1)} MiB, heap ${median(warm.map((s) => s.heapMiB)).toFixed(1)} -> ${median(late.map((s) => s.heapMiB)).toFixed(1)} MiB`,
      `trend over the run (growth, noise = 3 standard errors): RSS ${trends.rss.growth.toFixed(1)} / ${trends.rss.noise.toFixed(1)} MiB, heap ${trends.heap.growth.toFixed(1)} / ${trends.heap.noise.toFixed(1)} MiB, fds ${trends.fds.growth.toFixed(1)} / ${trends.fds.noise.toFixed(1)}, data ${trends.data.growth.toFixed(2)} / ${trends.data.noise.toFixed(2)} MiB, code ${trends.code.growth.toFixed(2)} / ${trends.code.noise.toFixed(2)} MiB, external ${trends.external.growth.toFixed(2)} / ${trends.external.noise.toFixed(2)} MiB, RSS outside the young generation ${trends.rssOutsideYoung.growth.toFixed(1)} / ${trends.rssOutsideYoung.noise.toFixed(1)} MiB (${e2eNatMode()} mode)`,
    ].join('\n'));
    expect(report.heldLost).toBe(0);
    expect(failedNew(report)).toBeLessThanOrEqual(Math.ceil(report.attempts.length / 1000));
    expect(report.attempts.length).toBeGreaterThan(SOAK_SECONDS * 20); // the stream ran (50/s asked)
    // A leak of one fd per connection would be thousands; sockets and pipes come and go by a few.
    expect(after.fds).toBeLessThanOrEqual(samples[0].fds + 8);
    // A leak per connection (thousands of them) grows the heap's floor; the sawtooth of the collector does not.
    expect(median(late.map((s) => s.heapMiB))).toBeLessThan(median(warm.map((s) => s.heapMiB)) * 1.5 + 16);
    // No growth trend from the steady point on: each figure's least-squares growth within its noise (3 standard errors
    // from the residuals) plus a floor for what still grows without a leak. Measured after a full collection, so the
    // collector's sawtooth is not in it (sampled as it came, the heap's 23 -> 47 MiB swings made RSS grow 26 MiB in a
    // quiet 2-minute run, 2026-12-06 00:50, and the old assertion failed).
    //  - The data heap: +0.17 MiB (noise 0.23) in a steady run, a heap snapshot diff showing only V8's structures
    //    (feedback vectors, weak lists), nothing per connection; the floor 0.5 MiB. A Map that keeps ~370 bytes per new
    //    connection (planted in ConnectionTable.insert) grew it 1.49 MiB in 93 s and failed here (bound 0.67): a
    //    per-connection leak of ~150 bytes or more fails a 2-minute run (~4,000 new connections after 30 s). A structure
    //    that fills for longer than the run's first 30 s counts as growth: the status history's window did (~0.5 MiB
    //    over its first 15 minutes; a 30-minute run failed at +0.80 MiB, 2026-12-06) until it was made in one piece per
    //    series (src/runtime/history.ts); what is left is V8's code metadata and feedback, decelerating.
    //  - Buffers outside the heap: flat (+-0.15 MiB); the floor 1 MiB.
    //  - RSS outside the young generation: flat within ~1.5 MiB once the heap is collected; the floor 8 MiB (the
    //    allocator's arenas and V8's old-space pages are not returned at once).
    //  - fds: one per 20 s fails.
    expect(trends.data.growth).toBeLessThanOrEqual(trends.data.noise + 0.5);
    expect(trends.external.growth).toBeLessThanOrEqual(trends.external.noise + 1);
    expect(trends.rssOutsideYoung.growth).toBeLessThanOrEqual(trends.rssOutsideYoung.noise + 8);
    expect(trends.fds.growth).toBeLessThanOrEqual(trends.fds.noise + 4);
  }, (SOAK_SECONDS + 300) * 1000);

  it('chaos under load: config apply every second through an ovsdb-server restart, link flaps, a vadc SIGTERM + restart and an ovs-vswitchd restart', async () => {
    const vm3 = lab.host('vm3');
    // The traffic runs until it is stopped after the last step (300 s at most: the steps take ~25 s on a quiet machine,
    // ~2 min at load 20).
    const run = traffic(lab, 'cl1', { held: 30, everyMs: 50, seconds: 300 });
    await run.ready;
    const began = Date.now();
    const steps: string[] = [];
    const step = async (what: string, act: () => Promise<unknown>) => {
      const t0 = Date.now();
      await act();
      steps.push(`${what} at +${((t0 - began) / 1000).toFixed(1)} s: ${Date.now() - t0} ms`);
    };
    // A config apply of the running configuration every second (what `vadc config apply` sends: PUT /v1/config; the CLI
    // itself takes seconds to start on a loaded machine), through everything but vadc's own restart.
    const api = new VadcClient({ endpoint: `unix:${vadc.socket}` });
    const yaml = readFileSync(vadc.configPath, 'utf8');
    let applying = true;
    let paused = false;
    const applies = { ok: 0, failed: [] as string[] };
    const applier = (async () => {
      while (applying) {
        if (!paused) {
          await api.applyConfig(yaml).then(() => applies.ok++, (err: Error) => {
            if (!paused) applies.failed.push(err.message);
          });
        }
        await sleep(1000);
      }
    })();
    let flapEvents: string[] = [];
    let vswitchdAt = 0;
    try {
      await sleep(2000);
      await step('ovsdb-server restarted', () => lab.restartOvsdb());
      await sleep(2000);
      // A backend's link flapped: each flap reported once (one backend_down, one backend_up), not once per source
      // that saw it (OpenFlow port-status and OVSDB both do). Its own connections go with it, by design.
      const flaps = 5;
      const before = (await vadc.events()).length;
      await step(`${flaps} link flaps of ${vm3.port}`, async () => {
        for (let i = 0; i < flaps; i++) {
          await lab.setLinkUp('vm3', false);
          await sleep(500);
          await lab.setLinkUp('vm3', true);
          await sleep(500);
        }
        await waitFor(async () => (await vadc.status()).services[0].backends.find((b) => b.id === vm3.port)?.health === 'up', 20_000, 'vm3 up again');
      });
      flapEvents = (await vadc.events()).slice(before).filter((e) => e.backend === vm3.port).map((e) => e.kind);
      expect(flapEvents.filter((k) => k === 'backend_down')).toHaveLength(flaps);
      expect(flapEvents.filter((k) => k === 'backend_up')).toHaveLength(flaps);
      expect(vadc.child?.exitCode).toBeNull();
      await step('vadc SIGTERM and restart (until the switch is back)', async () => {
        paused = true;
        await vadc.stop('SIGTERM');
        await vadc.start();
        await waitFor(async () => switchSynced(await vadc.status()), 30_000, 'the switch back');
        paused = false;
      });
      await sleep(3000);
      // ovs-vswitchd restart: the userspace datapath's state (its flows, its connection tracker) goes with the process,
      // so held connections are not kept through it; new ones are served again once the switch reconnects.
      vswitchdAt = Date.now();
      await step('ovs-vswitchd restart (until the VIP answers)', async () => {
        await lab.restartVswitchd();
        await waitFor(async () => switchSynced(await vadc.status()), 30_000, 'the switch reconnected');
        await waitFor(async () => (await lab.httpGet('cl1', `http://${vipOf(lab)}/`, 2000).then(() => true, () => false)), 30_000, 'the VIP served again');
      });
      await sleep(3000);
    } finally {
      applying = false;
      await applier;
      run.stop();
    }
    const report = await run.done;
    const lostBefore = report.lostAt.filter(([, at]) => at < vswitchdAt);
    const lostOff = (on: string) => lostBefore.filter(([i]) => report.heldOn[i] === on).length;
    const hosts = [...new Set(report.heldOn)].sort();
    const servedAfter = report.attempts.filter(([t0, , ok]) => ok && t0 > vswitchdAt).length;
    console.log([
      `chaos (${e2eNatMode()} mode): ${steps.join('; ')}`,
      `  config apply: ${applies.ok} accepted, ${applies.failed.length} refused${applies.failed.length ? `: ${applies.failed.slice(0, 3).join(' | ')}` : ''}`,
      `  held: ${report.held} on ${hosts.map((h) => `${h} ${report.heldOn.filter((x) => x === h).length}`).join(', ')}; lost before the ovs-vswitchd restart: ${hosts.map((h) => `${h} ${lostOff(h)}`).join(', ')}; lost after it: ${report.lostAt.length - lostBefore.length}`,
      `  new connections: ${report.attempts.length} (${failedNew(report)} failed), ${servedAfter} answered after the ovs-vswitchd restart began; ${report.heldRequests} requests on the held ones`,
      `  link flap events of ${vm3.port}: ${flapEvents.join(' ')}`,
    ].join('\n'));
    // The datapath keeps established connections through all of it but a flap of their own backend and ovs-vswitchd's
    // restart: conntrack's tracker and the flows mode's connection flows are in ovs-vswitchd, vadc is not on their path.
    for (const host of hosts.filter((h) => h !== vm3.name)) expect([host, lostOff(host)]).toEqual([host, 0]);
    expect(hosts.length).toBe(3); // rr put held connections on every backend, so each one's count means something
    expect(applies.failed).toEqual([]);
    expect(applies.ok).toBeGreaterThanOrEqual(10);
    expect(servedAfter).toBeGreaterThan(0); // the traffic ran through the restart and was served after it
    expect(vadc.child?.exitCode).toBeNull();
  }, 420_000);
});
