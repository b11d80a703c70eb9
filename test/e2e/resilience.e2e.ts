// Resilience on real Open vSwitch (issue 18): one `vadc start` process under steady traffic (held keep-alive
// connections plus a stream of new ones).
//  - Soak: the process's RSS, heap, open fds and event-loop delay sampled through the run; no fd or heap growth,
//    every connection vadc tracked is forgotten once the traffic stops. CI runs 120 s; VADC_SOAK_SECONDS=1800 runs
//    the long soak locally (figures in docs/benchmarks.md).
//  - Chaos: ovsdb-server restarted, a backend's link flapped every second, `config apply` every second, vadc itself
//    SIGTERMed and restarted, ovs-vswitchd restarted: no held connection lost where the datapath keeps them, the
//    process never crashes, each link flap reported once.
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { Lab, type LabServer } from '../../src/lab';
import { freePort, Instance, sleep, traffic, vipOf, waitFor, writeDaemonConfig, type TrafficReport } from '../helpers/ha-pair';

const SOAK_SECONDS = Number(process.env.VADC_SOAK_SECONDS ?? 120);

let lab: Lab;
let vadc: Instance;
let servers: LabServer[] = [];
let dir: string;
let metricsPort: number;

beforeAll(async () => {
  lab = await Lab.up({ name: 'soak', vms: 3, clients: 1, waitForHostMs: 600_000 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-resilience-'));
  servers = await Promise.all(['vm1', 'vm2', 'vm3'].map((vm) => lab.startHttpServer(vm, 8080)));
  const ofPort = await freePort();
  metricsPort = await freePort();
  const configPath = path.join(dir, 'vadc.yaml');
  writeDaemonConfig(lab, configPath, {
    ofPort, apiSocket: path.join(dir, 'api.sock'), vms: ['vm1', 'vm2', 'vm3'], ha: '{ election: none }',
    extra: [`metrics: { listen: "tcp:127.0.0.1:${metricsPort}" }`, `datapath: { appctl: ${lab.vswitchdControlSocket} }`],
  });
  vadc = new Instance('vadc', ofPort, path.join(dir, 'api.sock'), configPath);
  await vadc.start();
  await lab.setController(vadc.target);
  await waitFor(async () => {
    const s = await vadc.status().catch(() => undefined);
    return s !== undefined && s.switches.length === 1 && s.services[0].backends.every((b) => b.health === 'up');
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
  return {
    t: Math.round((Date.now() - started) / 1000),
    rssMiB: rssKb / 1024,
    heapMiB: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    loopP99Ms: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
    tracked: s.services[0].backends.reduce((n, b) => n + b.activeConns + b.inactiveConns, 0),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
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
    console.log([
      `soak ${SOAK_SECONDS} s: ${report.attempts.length} new connections (${failedNew(report)} failed), ${report.heldRequests} requests on ${report.held} held (${report.heldLost} lost)`,
      '   t s   RSS MiB  heap MiB   fds  loop p99 ms  tracked',
      ...[...samples, after].map((s) => `${String(s.t).padStart(6)} ${s.rssMiB.toFixed(1).padStart(9)} ${s.heapMiB.toFixed(1).padStart(9)} ${String(s.fds).padStart(5)} ${s.loopP99Ms.toFixed(1).padStart(12)} ${String(s.tracked).padStart(8)}`),
      `medians first third vs last third: RSS ${median(warm.map((s) => s.rssMiB)).toFixed(1)} -> ${median(late.map((s) => s.rssMiB)).toFixed(1)} MiB, heap ${median(warm.map((s) => s.heapMiB)).toFixed(1)} -> ${median(late.map((s) => s.heapMiB)).toFixed(1)} MiB`,
    ].join('\n'));
    expect(report.heldLost).toBe(0);
    expect(failedNew(report)).toBeLessThanOrEqual(Math.ceil(report.attempts.length / 1000));
    expect(report.attempts.length).toBeGreaterThan(SOAK_SECONDS * 20); // the stream ran (50/s asked)
    // A leak of one fd per connection would be thousands; sockets and pipes come and go by a few.
    expect(after.fds).toBeLessThanOrEqual(samples[0].fds + 8);
    // A leak per connection (thousands of them) grows the heap's floor; the sawtooth of the collector does not.
    expect(median(late.map((s) => s.heapMiB))).toBeLessThan(median(warm.map((s) => s.heapMiB)) * 1.5 + 16);
  }, (SOAK_SECONDS + 300) * 1000);

  it('chaos: ovsdb-server restart, config apply every second, vadc SIGTERM + restart under traffic; link flaps; ovs-vswitchd restart', async () => {
    const run = traffic(lab, 'cl1', { held: 20, everyMs: 50, seconds: 30 });
    await run.ready;
    const steps: string[] = [];
    const step = async (what: string, act: () => Promise<unknown>) => {
      const t0 = Date.now();
      await act();
      steps.push(`${what}: ${Date.now() - t0} ms`);
    };
    await sleep(1000);
    await step('ovsdb-server restarted', () => lab.restartOvsdb());
    await sleep(2000);
    await step('config apply x3, one a second', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await vadc.cli(['config', 'apply', vadc.configPath]);
        if (r.code !== 0) throw new Error(`config apply exited ${r.code}: ${r.stderr}`);
        await sleep(1000);
      }
    });
    const applied = (await vadc.events()).filter((e) => e.kind === 'config_applied').length;
    expect(vadc.child?.exitCode).toBeNull();
    await step('vadc SIGTERM and restart (until the switch is back)', async () => {
      await vadc.stop('SIGTERM');
      await vadc.start();
      await waitFor(async () => (await vadc.status()).switches.length === 1, 30_000, 'the switch back');
    });
    const report = await run.done;
    console.log(`chaos: ${steps.join('; ')}\n  ${report.attempts.length} new connections (${failedNew(report)} failed: new connections wait for vadc while it restarts), ${report.heldRequests} requests on ${report.held} held (${report.heldLost} lost)`);
    // conntrack keeps established connections through every one of these; vadc is not on their path.
    expect(report.heldLost).toBe(0);
    expect(applied).toBe(3);

    // A backend's link flapped: each flap reported once (one backend_down, one backend_up), not once per source
    // that saw it (OpenFlow port-status and OVSDB both do). Its own connections go with it, by design.
    const flaps = 5;
    const vm3 = lab.host('vm3').port;
    const before = (await vadc.events()).length;
    for (let i = 0; i < flaps; i++) {
      await lab.setLinkUp('vm3', false);
      await sleep(500);
      await lab.setLinkUp('vm3', true);
      await sleep(500);
    }
    await waitFor(async () => (await vadc.status()).services[0].backends.find((b) => b.id === vm3)?.health === 'up', 20_000, 'vm3 up again');
    const ofVm3 = (await vadc.events()).slice(before).filter((e) => e.backend === vm3);
    console.log(`link flaps of ${vm3}: ${ofVm3.map((e) => e.kind).join(' ')}`);
    expect(ofVm3.filter((e) => e.kind === 'backend_down').length).toBe(flaps);
    expect(ofVm3.filter((e) => e.kind === 'backend_up').length).toBe(flaps);

    // ovs-vswitchd restart: the userspace datapath's tracker is gone, so held connections are not kept; new ones
    // are served again once the switch reconnects.
    const restartedAt = Date.now();
    await lab.restartVswitchd();
    await waitFor(async () => (await vadc.status()).switches.length === 1, 30_000, 'the switch reconnected');
    await waitFor(async () => (await lab.httpGet('cl1', `http://${vipOf(lab)}/`, 2000).then(() => true, () => false)), 30_000, 'the VIP served again');
    console.log(`ovs-vswitchd restart: the VIP answered again ${Date.now() - restartedAt} ms after the restart began`);
    expect(vadc.child?.exitCode).toBeNull();
  }, 240_000);
});
