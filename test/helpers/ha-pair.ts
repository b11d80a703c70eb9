// Controller HA on real Open vSwitch: two `vadc start` child processes for one lab bridge (the same config but for
// their listen addresses), the bridge pointed at both, and a client's traffic through the failure of the master.
// Shared by test/e2e/ha.e2e.ts and bench/failover.ts.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Lab, LabServer } from '../../src/lab';
import type { StatusSnapshot, VadcEvent } from '../../src/runtime/types';
import { switchSynced } from './switch-synced';
import { waitFor } from './until';

const ROOT = path.resolve(__dirname, '../..');
const RUN = path.join(ROOT, 'bin/run.js');
const CLI_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['NODE_ENV', 'VADC_TOKEN', 'VADC_API', 'VADC_CLUSTER'].includes(k)));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export function vipOf(lab: Lab): string {
  return lab.subnet.replace(/\.0\/\d+$/, '.100');
}

/** One vadc instance of the pair: a child process with its own OpenFlow port and control socket. */
export class Instance {
  child?: ChildProcess;
  log = '';
  /** Node flags and environment for the daemon's process only (not the CLI's): the resilience soak's memory probe. */
  daemonNode: { args: string[]; env: Record<string, string> } = { args: [], env: {} };
  constructor(public name: string, readonly ofPort: number, readonly socket: string, readonly configPath: string) {}

  get target(): string {
    return `tcp:127.0.0.1:${this.ofPort}`;
  }

  get pid(): number {
    return this.child!.pid!;
  }

  /** `timeoutMs`: for its control socket to answer (a loaded host starting a vadc that holds 100,000 connections takes longer). */
  async start(timeoutMs = 20_000): Promise<void> {
    this.log = '';
    const child = spawn(process.execPath, [...this.daemonNode.args, RUN, 'start', '--config', this.configPath, '--log-format', 'json'], { cwd: ROOT, env: { ...CLI_ENV, ...this.daemonNode.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child = child;
    await waitFor(async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${this.name} exited: ${this.log.slice(-2000)}`);
      return (await this.cli(['status'])).code === 0;
    }, timeoutMs, `${this.name}'s control socket`);
  }

  /** kill -9, or SIGTERM (a graceful stop); resolves when the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [RUN, ...args, '--api', `unix:${this.socket}`], { cwd: ROOT, env: CLI_ENV, timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  }

  async status(): Promise<StatusSnapshot> {
    const r = await this.cli(['status', '--json']);
    if (r.code !== 0) throw new Error(`${this.name}: vadc status exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as StatusSnapshot;
  }

  async events(): Promise<VadcEvent[]> {
    const r = await this.cli(['events', '--json', '--limit', '1000']);
    if (r.code !== 0) throw new Error(`${this.name}: vadc events exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as VadcEvent[];
  }
}

export { waitFor };

export interface Pair {
  /** `a` is the instance the switch made master at start-up, `b` its standby (see startPair). */
  a: Instance;
  b: Instance;
  /** The generation both named once start-up settled: 1 unless the election moved while they started. */
  generation: bigint;
  servers: LabServer[];
  dir: string;
  close(): Promise<void>;
}

/**
 * Writes the config an e2e test's vadc child runs with: one rr service `web` on the lab's VIP over the named VMs'
 * port 8080, the lab's OVSDB, an API socket, and the given election (`ha`, a YAML flow mapping) and extra
 * top-level lines (metrics, datapath, ...).
 */
export function writeDaemonConfig(lab: Lab, file: string, opts: { ofPort: number; apiSocket: string; vms: string[]; ha: string; extra?: string[] }): void {
  const backends = opts.vms.map((vm) => `      - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8080] }`).join('\n');
  writeFileSync(file, `controller: { listen: "tcp:127.0.0.1:${opts.ofPort}", echo_interval: 1, ha: ${opts.ha} }
ovsdb: unix:${lab.ovsdbSocket}
api: { listen: "unix:${opts.apiSocket}" }
${(opts.extra ?? []).map((line) => `${line}\n`).join('')}services:
  - name: web
    vip: ${vipOf(lab)}
    port: 80
    scheduler: rr
    idle_timeout: 60
    backends:
${backends}
`);
}

/**
 * Starts the pair (the first one started usually becomes master), points the bridge at both and waits until one is
 * master and the other its standby, at the switch and in their elections, with the same generation. On a loaded host
 * the election can move during start-up (the first one's heartbeat late while it starts: the second one outbids
 * it), so the pair is named by role, not by start order: `a` is the master, `b` the standby, and `generation` is
 * what they settled on. If start-up fails, both instances and the servers are stopped before the error is thrown
 * (left running they keep jest from exiting).
 * `extraYaml`: more top-level config, the same for both (a `cluster:` section makes them elect through the store).
 * `ownHaDirs`: each instance gets its own controller.ha.dir, as on two machines (the cluster election needs none).
 * `takeoverAfterMs`: controller.ha.takeover_after (the default 500 ms unless given).
 */
export async function startPair(lab: Lab, opts: { extraYaml?: string; ownHaDirs?: boolean; takeoverAfterMs?: number } = {}): Promise<Pair> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-ha-'));
  const servers: LabServer[] = [];
  const instances: Instance[] = [];
  const stopAll = async () => {
    for (const i of instances) await i.stop('SIGKILL').catch(() => undefined);
    await lab.setController('').catch(() => undefined);
    for (const s of servers) await s.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    servers.push(await lab.startHttpServer('vm1', 8080), await lab.startHttpServer('vm2', 8080));
    for (const name of ['a', 'b']) {
      const ofPort = await freePort();
      const socket = path.join(dir, `${name}.sock`);
      const configPath = path.join(dir, `${name}.yaml`);
      // The two files differ in controller.listen and api.listen only (and controller.ha.dir with ownHaDirs).
      const haDir = opts.ownHaDirs ? `${dir}/ha-${name}` : `${dir}/ha`;
      writeDaemonConfig(lab, configPath, { ofPort, apiSocket: socket, vms: ['vm1', 'vm2'], ha: `{ dir: "${haDir}"${opts.takeoverAfterMs ? `, takeover_after: ${opts.takeoverAfterMs}` : ''} }`, extra: opts.extraYaml ? [opts.extraYaml] : [] });
      instances.push(new Instance(name, ofPort, socket, configPath));
    }
    for (const i of instances) await i.start();
    await lab.vsctl('set-controller', lab.bridge, ...instances.map((i) => i.target));
    // What the gap depends on when a connection drops (docs/operators/run-a-pair.md).
    for (const c of await controllerRows(lab)) await lab.vsctl('set', 'Controller', c, 'inactivity_probe=1000', 'max_backoff=1000');
    let settled: { master: Instance; standby: Instance; generation: bigint } | undefined;
    await waitFor(async () => {
      settled = await masterAndStandby(instances[0], instances[1]);
      return settled !== undefined;
    }, 30_000, 'one master and one standby (at the switch and in the election, one generation)');
    const { master, standby, generation } = settled!;
    // Named by role: the tests' messages say "a" for the first master.
    master.name = 'a';
    standby.name = 'b';
    return { a: master, b: standby, generation, servers, dir, close: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** The two as master and standby if they agree on it (the switch's roles, their elections' roles, one generation) and the master's flows are in. */
async function masterAndStandby(x: Instance, y: Instance): Promise<{ master: Instance; standby: Instance; generation: bigint } | undefined> {
  let sx: StatusSnapshot;
  let sy: StatusSnapshot;
  try {
    [sx, sy] = [await x.status(), await y.status()];
  } catch {
    return undefined;
  }
  const [master, ms, standby, ss] = sx.ha?.role === 'master' ? [x, sx, y, sy] : [y, sy, x, sx];
  const ok = ms.ha?.role === 'master' && ss.ha?.role === 'standby' && ms.switches[0]?.role === 'master' && ss.switches[0]?.role === 'slave'
    && ms.ha.generation === ss.ha.generation && ms.switches[0].generation === ms.ha.generation
    && switchSynced({ switches: [ms.switches[0]] }); // the master's flows in (the standby's are withheld)
  return ok ? { master, standby, generation: BigInt(ms.ha!.generation) } : undefined;
}

async function controllerRows(lab: Lab): Promise<string[]> {
  const out = await lab.vsctl('--bare', '--columns=_uuid', 'list', 'Controller');
  return out.split(/\s+/).filter(Boolean);
}

/** The instance's role at the (one) switch; undefined while no switch is connected. */
export async function roleOf(i: Instance): Promise<string | undefined> {
  try {
    return (await i.status()).switches[0]?.role;
  } catch {
    return undefined;
  }
}

export interface TrafficReport {
  /**
   * Every new connection attempt: start (ms since epoch), how long to the answer (ms), whether it was answered, and
   * its client port (once connected).
   */
  attempts: [number, number, boolean, number?][];
  /** Held connections: how many, and how many of them failed a request at any time. */
  held: number;
  heldLost: number;
  heldRequests: number;
  /** The host that answered each held connection's first request (the lab server's name), by connection index. */
  heldOn: string[];
  /** Each held connection that failed: its index and when it first failed (ms since epoch). */
  lostAt: [number, number][];
}

/**
 * A client opens `held` keep-alive connections (a request on each every 200 ms) and a new connection every
 * `everyMs` (one HTTP request, then close), for `seconds`; resolves with what it saw.
 */
export function traffic(lab: Lab, client: string, opts: { held: number; everyMs: number; seconds: number }): { ready: Promise<void>; done: Promise<TrafficReport>; stop: () => void } {
  const vip = vipOf(lab);
  const script = `
    const http = require('http'); const net = require('net');
    const attempts = []; let heldRequests = 0; const lost = new Set(); let opened = 0; let started = false;
    const heldOn = []; const lostAt = [];
    const lose = (i) => { if (!lost.has(i)) { lost.add(i); lostAt.push([i, Date.now()]); } };
    for (let i = 0; i < ${opts.held}; i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      let first = true;
      const ask = () => http.get({ host: '${vip}', port: 80, path: '/', agent, timeout: 3000 }, (res) => {
        let body = '';
        res.on('data', (d) => { if (first) body += d; });
        res.on('end', () => { heldRequests++; if (first) { first = false; heldOn[i] = body.split(' ')[0]; if (++opened === ${opts.held}) go(); } });
      }).on('error', () => lose(i)).on('timeout', function () { lose(i); this.destroy(); });
      ask(); setInterval(ask, 200);
    }
    function go() {
      if (started) return; started = true; console.error('ready');
      const t = setInterval(() => {
        const t0 = Date.now();
        const s = net.connect(80, '${vip}');
        let done = false; let port;
        const end = (ok) => { if (done) return; done = true; attempts.push([t0, Date.now() - t0, ok, port]); s.destroy(); };
        s.setTimeout(2000, () => end(false));
        s.on('connect', () => { port = s.localPort; s.write('GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n'); });
        s.on('data', () => end(true));
        s.on('error', () => end(false));
      }, ${opts.everyMs});
      let ending = false;
      const end = () => { if (ending) return; ending = true; clearInterval(t); setTimeout(() => {
        // Exit once the report is written: a pipe takes ~64 KB at once, and process.exit drops the rest (a 30-min
        // soak's report is megabytes; it was cut off twice).
        process.stdout.write(JSON.stringify({ attempts, held: ${opts.held}, heldLost: lost.size, heldRequests, heldOn, lostAt }) + '\\n', () => process.exit(0));
      }, 2500); };
      setTimeout(end, ${opts.seconds * 1000});
      process.on('SIGUSR2', end);
    }`;
  const child = lab.spawn(client, ['node', '-e', script]);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('ready')) resolve();
    });
    child.once('exit', () => reject(new Error(`traffic ended before it was ready: ${err}`)));
  });
  ready.catch(() => undefined);
  // 'close', not 'exit': at 'exit' the child's stdout may still hold data (a 30-min soak's report is megabytes).
  const done = new Promise<TrafficReport>((resolve, reject) => {
    child.once('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as TrafficReport);
      } catch {
        reject(new Error(`traffic printed no report: ${out} ${err}`));
      }
    });
  });
  // Ends the traffic before its `seconds` (once it is ready): the report follows as at the end.
  const stop = () => void child.kill('SIGUSR2');
  return { ready, done, stop };
}

export interface GapFigures {
  /**
   * From the failure to the start of the first new connection from which on every attempt was answered within
   * 300 ms (a SYN nobody answered is retransmitted after 1 s, so this is when the new master answers packet-ins). A
   * stray attempt answered during the gap by a flow left from an earlier connection with the same 5-tuple does not
   * count as served again.
   */
  servedAgainMs: number;
  /** Attempts started after the failure that failed, and the worst connect-to-answer time among those started in the gap. */
  failedAfter: number;
  worstInGapMs: number;
  /** Attempts started 1.5 s after the failure or later that failed (a takeover that did not take). */
  failedLate: number;
}

const QUICK_MS = 300;

/**
 * A takeover's replay as the new master reported it (the takeover_replay event after `since`), and the attempts made
 * after `since` that were answered and whose SYN the replay decided (the new master placed them from the copy it held
 * as the standby, not from a retransmission).
 */
export async function replayAfter(next: Instance, report: TrafficReport, since: number): Promise<{ replayed: number; known: number; tooOld: number; answeredFromReplay: number }> {
  const event = (await next.events()).find((e) => e.kind === 'takeover_replay' && e.time >= since);
  if (!event) throw new Error(`${next.name} reported no takeover_replay after ${new Date(since).toISOString()}`);
  const data = event.data as { replayed: number; known: number; tooOld: number; clients: string[] };
  const ports = new Set(data.clients.map((c) => Number(c.slice(c.lastIndexOf(':') + 1))));
  const answeredFromReplay = report.attempts.filter(([t0, , ok, port]) => t0 >= since && ok && port !== undefined && ports.has(port)).length;
  return { replayed: data.replayed, known: data.known, tooOld: data.tooOld, answeredFromReplay };
}

export function gapFigures(report: TrafficReport, failedAt: number): GapFigures {
  const after = report.attempts.filter(([t0]) => t0 >= failedAt).sort((x, y) => x[0] - y[0]);
  let from = after.length;
  while (from > 0 && after[from - 1][2] && after[from - 1][1] < QUICK_MS) from--;
  const servedAgainMs = from < after.length ? after[from][0] - failedAt : Infinity;
  const inGap = after.slice(0, from);
  return {
    servedAgainMs,
    failedAfter: after.filter(([, , ok]) => !ok).length,
    worstInGapMs: Math.max(0, ...inGap.map(([, ms]) => ms)),
    failedLate: after.filter(([t0, , ok]) => t0 >= failedAt + 1500 && !ok).length,
  };
}
