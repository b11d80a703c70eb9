// Operator experience end to end: `vadc start` as a child process (what operators run) serving a real
// Open vSwitch lab, and every operator command run as `node bin/run.js ...` against it, with real
// traffic through the VIP; the control API (auth, bad requests), the metrics endpoint and the
// dashboard in headless Chromium against the same daemon. Needs `npx tsc -p tsconfig.build.json` first.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BackendStatsRow } from '../../src/api/stats';
import { ApiContract } from '../helpers/contract';
import { startContractProxy, type ContractProxy } from '../helpers/contract-proxy';
import { parseOpenMetrics, promtoolFindings } from '../helpers/metrics-lint';
import { Lab, type LabServer } from '../../src/lab';
import type { BackendStatus, ConnectionStatus, FlowStatus, ServiceStatus, StatusSnapshot, VadcEvent } from '../../src/runtime/types';
import { waitFor as waitForLogged } from '../helpers/until';
import { switchSynced } from '../helpers/switch-synced';

const ROOT = path.resolve(__dirname, '../..');
const RUN = path.join(ROOT, 'bin/run.js');
const CHROMIUM = process.env.VADC_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'ops-e2e-token-0123456789abcdef';
// The environment operators have: jest's NODE_ENV=test would put oclif in development mode (a warning
// about TypeScript sources on every command).
const CLI_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_ENV' && k !== 'VADC_TOKEN' && k !== 'VADC_API'));

let lab: Lab;
let tmp: string;
let configPath: string;
let statePath: string;
let socket: string;
let ofPort: number;
let apiPort: number;
let metricsPort: number;
let vip: string;
let daemon: ChildProcess | undefined;
let daemonLog = '';
// The CLI talks to the daemon through this proxy, which checks every response against docs/openapi.yaml.
let proxy: ContractProxy;
const contract = new ApiContract();
const directProblems: string[] = [];
const servers = new Map<string, LabServer>();

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as operators do: a separate node process talking to the daemon's control socket. */
function execCli(file: string, argv: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(file, argv, { cwd: ROOT, timeout: 30_000, env: CLI_ENV }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function vadc(args: string[], api: string | null = `unix:${proxy.socketPath}`): Promise<CliResult> {
  return execCli(process.execPath, [RUN, ...args, ...(api === null ? [] : ['--api', api])]);
}

async function vadcOk(args: string[]): Promise<string> {
  const r = await vadc(args);
  if (r.code !== 0) throw new Error(`vadc ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function vadcJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await vadcOk([...args, '--json'])) as T;
}

/** `waitFor` with the daemon's log tail when it times out. */
const waitFor = (cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string) =>
  waitForLogged(cond, timeoutMs, what, { pollMs: 100, detail: () => `daemon log tail:\n${daemonLog.slice(-3000)}` });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

const vnic = (vm: string) => lab.host(vm).port;
const ipOf = (vm: string) => lab.host(vm).ip;

const noVswitchd = () => path.join(tmp, 'no-vswitchd.ctl');

function configYaml(vms: string[], extra = ''): string {
  const backends = vms.map((vm) => `      - { vnic: ${vnic(vm)}, ip: ${ipOf(vm)}, ports: [8080] }`).join('\n');
  return `# ops e2e
controller: { listen: "tcp:127.0.0.1:${ofPort}", echo_interval: 1, ha: { dir: ${path.join(tmp, 'ha')} } }
# datapath.nat is left at its default (auto); no ovs-vswitchd answers at this socket, so vadc runs flows mode
datapath: { appctl: ${noVswitchd()} }
ovsdb: unix:${lab.ovsdbSocket}
api: { listen: "tcp:127.0.0.1:${apiPort}", token: "${TOKEN}" }
metrics: { listen: "tcp:127.0.0.1:${metricsPort}" }
services:
  - name: web
    vip: ${vip}
    port: 80
    scheduler: rr
    idle_timeout: 60
    fin_timeout: 1
    health: { type: http, path: /, interval: 0.5, timeout: 0.4, rise: 1, fall: 1 }
${extra}    backends:
${backends}
`;
}

/**
 * What systemd's service manager would receive on NOTIFY_SOCKET (Type=notify): a unix datagram socket bound by
 * Python (Node.js has none), printing each message on one line.
 */
let notifications = '';
let receiver: ChildProcess | undefined;
function notifyReceiver(sock: string): ChildProcess {
  rmSync(sock, { force: true });
  const child = spawn('/usr/bin/python3', ['-u', '-c', `
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(${JSON.stringify(sock)})
print('bound')
while True: print(s.recv(4096).decode().replace('\\n', '|'))`]);
  child.stdout?.on('data', (d: Buffer) => (notifications += d.toString()));
  return child;
}

async function startDaemon(): Promise<void> {
  daemonLog = '';
  notifications = '';
  const notifySock = path.join(tmp, 'notify.sock');
  receiver?.kill();
  receiver = notifyReceiver(notifySock);
  await waitFor(() => notifications.includes('bound'), 10_000, 'the notify socket');
  const child = spawn(process.execPath, [RUN, 'start', '--config', configPath, '--api-socket', socket, '--state', statePath, '--log-format', 'json'], {
    cwd: ROOT, env: { ...CLI_ENV, NOTIFY_SOCKET: notifySock }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (daemonLog += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (daemonLog += d.toString()));
  daemon = child;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`vadc start exited ${child.exitCode}: ${daemonLog}`);
    return existsSync(socket) && (await vadc(['status'])).code === 0;
  }, 20_000, 'the control socket');
  // Readiness as systemd sees it: READY=1 once the API listens.
  await waitFor(() => /^READY=1\|STATUS=serving /m.test(notifications), 10_000, 'READY=1 on NOTIFY_SOCKET');
  await lab.setController(`tcp:127.0.0.1:${ofPort}`);
  await waitFor(async () => switchSynced(await vadcJson<StatusSnapshot>(['status'])), 20_000, 'the switch to connect');
}

async function stopDaemon(): Promise<void> {
  const child = daemon;
  daemon = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
  await waitFor(() => /^STOPPING=1\|STATUS=stopping/m.test(notifications), 5_000, 'STOPPING=1 on NOTIFY_SOCKET');
}

async function web(): Promise<ServiceStatus> {
  return vadcJson<ServiceStatus>(['service', 'show', 'web']);
}

async function backendOf(id: string): Promise<BackendStatus | undefined> {
  return (await web()).backends.find((b) => b.id === id);
}

async function waitHealth(ids: string[], health: BackendStatus['health']): Promise<void> {
  await waitFor(async () => {
    const svc = await web();
    return ids.every((id) => svc.backends.find((b) => b.id === id)?.health === health);
  }, 20_000, `${ids.join(', ')} to be ${health}`);
}

/** One fresh HTTP connection through the VIP from a client; the body names the VM that answered. */
async function request(client = 'cl1'): Promise<string> {
  const answer = await lab.httpGet(client, `http://${vip}/`);
  expect(answer.status).toBe(200);
  return answer.body.trim().split(' ')[0];
}

/**
 * A client holding `count` keep-alive connections through the VIP, each asking every 100 ms, for
 * `seconds`. It prints one line per connection when it has its first answer ("open PORT VM") and a
 * JSON summary at the end.
 */
function holdConnections(client: string, count: number, seconds: number): { child: ChildProcess; opened: Promise<Map<number, string>>; done: Promise<{ ok: number; failed: number; perPort: Record<string, string[]> }> } {
  const script = `
    const http = require('http');
    let ok = 0, failed = 0; const perPort = {};
    const timers = [];
    for (let i = 0; i < ${count}; i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      let announced = false;
      const tick = () => http.get({ host: '${vip}', port: 80, path: '/', agent, timeout: 2000 }, (res) => {
        const local = res.socket.localPort; let body = '';
        res.on('data', (d) => body += d);
        res.on('end', () => {
          ok++; const vm = body.trim().split(' ')[0];
          (perPort[local] ??= []).includes(vm) || perPort[local].push(vm);
          if (!announced) { announced = true; console.log('open ' + local + ' ' + vm); }
        });
      }).on('error', () => failed++);
      tick(); timers.push(setInterval(tick, 100));
    }
    setTimeout(() => { timers.forEach(clearInterval); console.log(JSON.stringify({ ok, failed, perPort })); process.exit(0); }, ${seconds * 1000});`;
  const child = lab.spawn(client, ['node', '-e', script]);
  let out = '';
  const opened = new Map<number, string>();
  let resolveOpened!: (m: Map<number, string>) => void;
  const openedPromise = new Promise<Map<number, string>>((r) => (resolveOpened = r));
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    for (const m of out.matchAll(/^open (\d+) (\S+)$/gm)) opened.set(Number(m[1]), m[2]);
    if (opened.size === count) resolveOpened(opened);
  });
  const done = new Promise<{ ok: number; failed: number; perPort: Record<string, string[]> }>((resolve, reject) => {
    child.on('exit', () => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`holding client printed no summary: ${out}`));
      }
    });
  });
  return { child, opened: openedPromise, done };
}

/** A request to a tcp listener; responses of the control API listener are checked against the contract. */
function httpRequest(port: number, method: string, urlPath: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => {
        if (port === apiPort || urlPath === '/metrics') {
          directProblems.push(...contract.problems({ method, path: urlPath, status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: text }));
        }
        resolve({ status: res.statusCode ?? 0, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Prometheus text exposition -> sample name{labels} -> value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

beforeAll(async () => {
  lab = await Lab.up({ name: 'ops', vms: 3, clients: 1, waitForHostMs: 600_000 });
  vip = lab.subnet.replace(/\.0\/\d+$/, '.100');
  for (const vm of ['vm1', 'vm2', 'vm3']) servers.set(vm, await lab.startHttpServer(vm, 8080));
  tmp = mkdtempSync(path.join(os.tmpdir(), 'vadc-ops-'));
  configPath = path.join(tmp, 'vadc.yaml');
  statePath = path.join(tmp, 'vadc.state.yaml');
  socket = path.join(tmp, 'vadc.sock');
  [ofPort, apiPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(configPath, configYaml(['vm1', 'vm2']));
  proxy = await startContractProxy(path.join(tmp, 'proxy.sock'), socket, contract);
  await startDaemon();
  await waitHealth([vnic('vm1'), vnic('vm2')], 'up');
}, 660_000);

afterAll(async () => {
  await stopDaemon();
  receiver?.kill();
  await proxy?.close();
  for (const s of servers.values()) await s.stop().catch(() => undefined);
  await lab?.down();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe('vadc operator commands against a running daemon (child process) in the lab', () => {
  it('status, service list/show, stats, flows and events report the real traffic (text and --json)', async () => {
    const before = (await web()).decisions;
    const answered: string[] = [];
    for (let i = 0; i < 6; i++) answered.push(await request());
    expect(answered.sort()).toEqual(['vm1', 'vm1', 'vm1', 'vm2', 'vm2', 'vm2']);

    const status = await vadcJson<StatusSnapshot>(['status']);
    const svc = status.services.find((s) => s.name === 'web')!;
    expect(svc.decisions - before).toBe(6);
    expect(svc.backends.map((b) => [b.id, b.health, b.totalConns])).toEqual([[vnic('vm1'), 'up', 3], [vnic('vm2'), 'up', 3]]);
    expect(status.switches[0].dpid).toBe(lab.datapathId);
    expect(status.switches[0].packetIns).toBeGreaterThanOrEqual(6);
    expect(status.ovsdb.connected).toBe(true);
    expect(status.datapath).toEqual({ nat: 'flows', reason: `datapath.nat: auto, and ovs-vswitchd's unixctl socket is not reachable: ${noVswitchd()}: ENOENT` });
    const statusText = await vadcOk(['status']);
    expect(statusText).toContain(lab.datapathId);
    expect(statusText).toContain('NAT by flows');
    expect(statusText).toContain(`why: datapath.nat: auto, and ovs-vswitchd's unixctl socket is not reachable: ${noVswitchd()}: ENOENT`);
    expect(statusText).toMatch(new RegExp(`${vnic('vm1')}.*up`));

    const list = await vadcJson<ServiceStatus[]>(['service', 'list']);
    expect(list.map((s) => [s.name, s.vip, s.port, s.scheduler])).toEqual([['web', vip, 80, 'rr']]);
    expect(await vadcOk(['service', 'list'])).toMatch(new RegExp(`web\\s.*${vip.replace(/\./g, '\\.')}`));
    const show = await vadcOk(['service', 'show', 'web']);
    expect(show).toContain(vnic('vm2'));
    expect(show).toContain(`${ipOf('vm2')}`);

    // Packets and bytes come from flow statistics (live flows, plus removed flows' final counts).
    let rows: BackendStatsRow[] = [];
    await waitFor(async () => {
      rows = await vadcJson<BackendStatsRow[]>(['stats']);
      return rows.every((r) => r.packets > 0);
    }, 10_000, 'per-backend packet counts');
    expect(rows.map((r) => [r.service, r.backend, r.total])).toEqual([['web', vnic('vm1'), 3], ['web', vnic('vm2'), 3]]);
    expect(rows.every((r) => r.bytes > r.packets * 40)).toBe(true); // at least the IP+TCP headers of each packet
    expect(await vadcOk(['stats'])).toMatch(new RegExp(`web\\s+${vnic('vm1')}\\s+up`));
    const watched = (await vadcOk(['stats', '--watch', '--count', '2', '--interval', '1', '--json'])).trim().split('\n').map((l) => JSON.parse(l) as BackendStatsRow[]);
    expect(watched).toHaveLength(2);
    expect(watched[0][0].connsPerSec).toBeUndefined();
    expect(typeof watched[1][0].connsPerSec).toBe('number');

    const flows = await vadcJson<FlowStatus[]>(['flows']);
    expect(flows.length).toBeGreaterThan(0);
    expect(flows.every((f) => f.dpid === lab.datapathId)).toBe(true);
    expect(flows.some((f) => f.match.includes(vip))).toBe(true);
    const flowsText = await vadcOk(['flows']);
    expect(flowsText).toContain(vip);

    const events = await vadcJson<VadcEvent[]>(['events', '--limit', '50']);
    expect(events.some((e) => e.kind === 'switch_up' && e.dpid === lab.datapathId)).toBe(true);
    expect(await vadcOk(['events'])).toMatch(/switch_up/);
  });

  it('conns lists the connections a client holds open, with the backend that answers each', async () => {
    // Held well past the checks below: a connection's end reaches vadc within milliseconds (FIN copies), so a hold
    // that ended while the wait for 'active' ran at load ~10 left `vadc conns` with nothing to list.
    const held = holdConnections('cl1', 2, 20);
    const opened = await held.opened;
    const clientIp = lab.host('cl1').ip;
    // A connection counts as active (established) once flow statistics show replies, as IPVS counts
    // ESTABLISHED: that is the next statistics poll.
    let conns: ConnectionStatus[] = [];
    await waitFor(async () => {
      conns = await vadcJson<ConnectionStatus[]>(['conns', '--service', 'web']);
      return [...opened.keys()].every((port) => conns.some((c) => c.client === `${clientIp}:${port}` && c.state === 'active'));
    }, 10_000, 'the held connections to show as active');
    for (const [port, vm] of opened) {
      const conn = conns.find((c) => c.client === `${clientIp}:${port}`);
      expect(conn).toBeDefined();
      expect(conn!.backend).toBe(vnic(vm));
      expect(conn!.destination).toBe(`${ipOf(vm)}:8080`);
      expect(conn!.vip).toBe(`${vip}:80`);
    }
    const text = await vadcOk(['conns']);
    for (const [port, vm] of opened) expect(text).toMatch(new RegExp(`${clientIp}:${port}\\s.*${vnic(vm)}`));
    const result = await held.done;
    expect(result.failed).toBe(0);
  });

  it('backend add/weight/drain/enable/remove and service add/remove change the live daemon', async () => {
    const added = await vadcJson<BackendStatus>(['backend', 'add', 'web', vnic('vm3'), '--ip', ipOf('vm3'), '--port', '8080', '--weight', '2']);
    expect([added.id, added.weight]).toEqual([vnic('vm3'), 2]);
    await waitHealth([vnic('vm3')], 'up');
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) seen.add(await request());
    expect(seen.has('vm3')).toBe(true);

    const weighted = await vadcJson<BackendStatus>(['backend', 'weight', 'web', vnic('vm3'), '5']);
    expect(weighted.weight).toBe(5);
    expect(await vadcOk(['backend', 'weight', 'web', vnic('vm3'), '1'])).toContain(vnic('vm3'));

    const drained = await vadcJson<BackendStatus>(['backend', 'drain', 'web', vnic('vm1')]);
    expect(['draining', 'drained']).toContain(drained.health);
    await waitFor(async () => (await backendOf(vnic('vm1')))?.health === 'drained', 10_000, 'vm1 drained');
    for (let i = 0; i < 4; i++) expect(await request()).not.toBe('vm1');
    const enabled = await vadcJson<BackendStatus>(['backend', 'enable', 'web', vnic('vm1')]);
    expect(enabled.weight).toBeGreaterThan(0);
    await waitHealth([vnic('vm1')], 'up');

    const removed = await vadc(['backend', 'remove', 'web', vnic('vm3')]);
    expect(removed.code).toBe(0);
    expect((await web()).backends.map((b) => b.id)).toEqual([vnic('vm1'), vnic('vm2')]);

    const svcAdded = await vadcJson<ServiceStatus>(['service', 'add', 'alt', '--vip', vip, '--port', '8080', '--scheduler', 'rr', '--backend', `${vnic('vm2')}=${ipOf('vm2')}:8080`]);
    expect([svcAdded.name, svcAdded.port, svcAdded.backends.map((b) => b.id)]).toEqual(['alt', 8080, [vnic('vm2')]]);
    await waitFor(async () => (await vadcJson<ServiceStatus>(['service', 'show', 'alt'])).backends[0].ofport !== undefined, 10_000, 'alt backend located');
    const viaAlt = await lab.httpGet('cl1', `http://${vip}:8080/`);
    expect(viaAlt.body).toMatch(/^vm2 8080/);
    expect((await vadc(['service', 'remove', 'alt'])).code).toBe(0);
    expect((await vadcJson<ServiceStatus[]>(['service', 'list'])).map((s) => s.name)).toEqual(['web']);
    const gone = await vadc(['service', 'show', 'alt']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr.trim().split('\n')).toHaveLength(1);
  }, 90_000);

  it('config validate/show, and a runtime change survives a daemon restart; an edited file wins over stale state', async () => {
    const shown = await vadcOk(['config', 'show']);
    expect(shown).toContain(`vip: ${vip}`);
    expect(shown).not.toContain(TOKEN); // secrets are never echoed
    // validate reads the file only: it needs no daemon.
    const valid = await vadc(['config', 'validate', configPath], null);
    expect(valid.code).toBe(0);
    const badPath = path.join(tmp, 'bad.yaml');
    writeFileSync(badPath, configYaml(['vm1']).replace('port: 80', 'port: 99999'));
    const invalid = await vadc(['config', 'validate', badPath], null);
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toMatch(/services\[0\]\.port/);

    await vadcOk(['backend', 'add', 'web', vnic('vm3'), '--ip', ipOf('vm3'), '--port', '8080']);
    expect(readFileSync(statePath, 'utf8')).toContain(vnic('vm3'));
    expect(readFileSync(statePath, 'utf8')).not.toContain(TOKEN); // the state file holds no secret ...
    expect(statSync(statePath).mode & 0o777).toBe(0o600); // ... and is the daemon's alone
    await stopDaemon();
    await startDaemon();
    expect((await web()).backends.map((b) => b.id)).toEqual([vnic('vm1'), vnic('vm2'), vnic('vm3')]);
    const restored = await vadcJson<VadcEvent[]>(['events', '--limit', '50']);
    expect(restored.some((e) => e.kind === 'state_loaded')).toBe(true);

    // The operator edits the file: it is newer than the runtime state, so it wins.
    writeFileSync(configPath, configYaml(['vm2', 'vm3']));
    await stopDaemon();
    await startDaemon();
    expect((await web()).backends.map((b) => b.id)).toEqual([vnic('vm2'), vnic('vm3')]);
    const events = await vadcJson<VadcEvent[]>(['events', '--limit', '50']);
    expect(events.some((e) => e.kind === 'state_ignored')).toBe(true);
    await waitHealth([vnic('vm2'), vnic('vm3')], 'up');
  }, 90_000);

  it('config apply hot-reloads new backends: a held keep-alive stream stays up, new connections follow the file', async () => {
    const held = holdConnections('cl1', 1, 5);
    const [[, streamVm]] = [...(await held.opened)];
    const others = ['vm1', 'vm2', 'vm3'].filter((vm) => vm !== streamVm);
    // The new file drops the stream's backend entirely.
    writeFileSync(configPath, configYaml(others));
    const applied = JSON.parse(await vadcOk(['config', 'apply', configPath, '--json'])) as { changed: string[] };
    expect(applied.changed.length).toBeGreaterThan(0);
    expect((await web()).backends.map((b) => b.id).sort()).toEqual(others.map(vnic).sort());
    await waitHealth(others.map(vnic), 'up');
    const fresh = new Set<string>();
    for (let i = 0; i < 4; i++) fresh.add(await request());
    expect([...fresh].sort()).toEqual(others.sort());
    const result = await held.done;
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(30);
    expect(Object.values(result.perPort)).toEqual([[streamVm]]);
  }, 60_000);

  it('events --follow streams new events for a bounded time', async () => {
    const id = (await web()).backends[0].id;
    await vadcOk(['backend', 'drain', 'web', id]);
    await waitFor(async () => (await backendOf(id))?.health === 'drained', 10_000, `${id} drained`);
    const follower = spawn(process.execPath, [RUN, 'events', '--follow', '--count', '1', '--limit', '1', '--json', '--api', `unix:${proxy.socketPath}`], { cwd: ROOT, env: CLI_ENV });
    let out = '';
    follower.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exitCode = new Promise<number | null>((resolve) => follower.on('exit', (code) => resolve(code)));
    // The backlog line arrives over the stream, so once it is printed the follower sees new events.
    await waitFor(() => out.includes('\n'), 15_000, 'the follower to print its backlog');
    await vadcOk(['backend', 'enable', 'web', id]);
    expect(await exitCode).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as VadcEvent);
    expect(lines).toHaveLength(2); // one from the backlog, one streamed
    expect(lines[1]).toMatchObject({ kind: 'backend_enabled', service: 'web', backend: id });
  }, 40_000);
});

describe('the control API, metrics and dashboard of the real daemon', () => {
  it('the metrics listener serves exposition text that matches the real traffic', async () => {
    for (let i = 0; i < 4; i++) await request();
    const scrape = await httpRequest(metricsPort, 'GET', '/metrics');
    expect(scrape.status).toBe(200);
    const samples = parseExposition(scrape.text);
    const svc = await web();
    const status = await vadcJson<StatusSnapshot>(['status']);
    for (const b of svc.backends) {
      expect(samples.get(`vadc_backend_up{service="web",backend="${b.id}"}`)).toBe(1);
      expect(samples.get(`vadc_backend_connections_total{service="web",backend="${b.id}"}`)).toBe(b.totalConns);
    }
    expect(samples.get('vadc_scheduler_decisions_total{service="web"}')).toBe(svc.decisions);
    const packetIns = samples.get(`vadc_switch_packet_ins_total{dpid="${lab.datapathId}"}`)!;
    expect(packetIns).toBeGreaterThanOrEqual(4);
    expect(packetIns).toBeLessThanOrEqual(status.switches[0].packetIns);
    expect(samples.get(`vadc_switch_connected{dpid="${lab.datapathId}"}`)).toBe(1);
    expect(samples.get('vadc_decision_latency_seconds_count')).toBeGreaterThanOrEqual(4);
    // The scrape listener is read-only.
    expect((await httpRequest(metricsPort, 'GET', '/v1/status')).status).toBe(404);

    // Valid for Prometheus's own linter and for an OpenMetrics parser (what Prometheus asks for by default).
    expect(promtoolFindings(scrape.text)).toEqual([]);
    const om = await httpRequest(metricsPort, 'GET', '/metrics', { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' });
    const families = parseOpenMetrics(om.text);
    const health = families.find((f) => f.name === 'vadc_backend_health')!;
    expect(health.type).toBe('stateset');
    for (const b of svc.backends) {
      expect(health.samples.filter((s) => s.labels.backend === b.id && s.value === 1).map((s) => s.labels.vadc_backend_health)).toEqual([b.health]);
    }
    expect(families.find((f) => f.name === 'vadc_datapath')?.samples[0].labels.nat).toBe('flows');
    expect(families.find((f) => f.name === 'process_cpu_seconds')?.type).toBe('counter');
  });

  it('tcp API: missing or bad token -> 401; bad request -> 400 naming the field; no daemon or no permission -> one line, non-zero exit', async () => {
    expect((await httpRequest(apiPort, 'GET', '/v1/status')).status).toBe(401);
    const bad = await httpRequest(apiPort, 'GET', '/v1/status', { authorization: 'Bearer not-the-token-at-all' });
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.text)).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await httpRequest(apiPort, 'GET', '/v1/status', auth)).status).toBe(200);
    const body = JSON.stringify({ vnic: vnic('vm1'), ip: '10.0.0.300', ports: [8080] });
    const invalid = await httpRequest(apiPort, 'POST', '/v1/services/web/backends', { ...auth, 'content-type': 'application/json' }, body);
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.text).error.message).toMatch(/\bip\b/);

    const viaCli = await vadc(['status'], `tcp:127.0.0.1:${apiPort}`);
    expect(viaCli.code).not.toBe(0);
    expect(viaCli.stderr.trim().split('\n')).toHaveLength(1);
    expect(viaCli.stderr).toMatch(/token/i);

    const missing = await vadc(['status'], `unix:${path.join(tmp, 'nobody.sock')}`);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/not reachable at unix:.*nobody\.sock.*vadc start/);

    // An unprivileged user cannot open the control socket (mode 0660, in a private directory).
    const denied = await execCli('runuser', ['-u', 'nobody', '--', process.execPath, RUN, 'status', '--api', `unix:${socket}`]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr.trim().split('\n')).toHaveLength(1);
    expect(denied.stderr).toMatch(/permission denied on vadc daemon at unix:.*EACCES/);
  });

  it('the dashboard in headless Chromium: rates on a time axis after real traffic, a drain from the page, a backend going down', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: this test must not pass without a browser`);
    const profile = mkdtempSync(path.join(os.tmpdir(), 'vadc-ops-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (err) => pageErrors.push(err.message));
      await page.goto(`http://127.0.0.1:${apiPort}/?token=${TOKEN}`);
      const svc = await web();
      for (const b of svc.backends) await page.locator(`[data-backend="web/${b.id}"] [data-health="up"]`).waitFor({ timeout: 15_000 });
      expect(await page.locator('#nat').textContent()).toBe('NAT flows');
      expect(await page.locator(`#switches tr[data-dpid="${lab.datapathId}"]`).count()).toBe(1);
      // Real traffic over a few status samples (one every 2 s): held connections and fresh ones.
      const held = holdConnections('cl1', 3, 6);
      await held.opened;
      for (let i = 0; i < 6; i++) await request();
      const firstId = svc.backends[0].id;
      const rateCell = page.locator(`[data-backend="web/${firstId}"] [data-field="rate"]`);
      await waitFor(async () => Number(await rateCell.getAttribute('data-value')) > 0, 15_000, 'a new-connection rate on the page');
      const activeLine = page.locator(`[data-chart="web/active"] polyline[data-series="${firstId}"]`);
      await waitFor(async () => ((await activeLine.getAttribute('points').catch(() => null)) ?? '').split(' ').length >= 3, 15_000, 'three samples on the active-connections plot');
      expect((await held.done).failed).toBe(0);
      // The time axis is the daemon's wall clock, shared by every chart.
      const ticks = await page.locator('[data-chart="web/conns"] .x-axis text').evaluateAll((ns) => ns.map((n) => [n.textContent, Number(n.getAttribute('data-time'))] as [string, number]));
      expect(ticks.length).toBeGreaterThan(0);
      for (const [text, t] of ticks) {
        expect(text).toMatch(/^\d\d:\d\d:\d\d$/);
        expect(Math.abs(Date.now() - t)).toBeLessThan(15 * 60_000);
      }
      expect(Number(await page.locator('[data-backend="web/' + firstId + '"] [data-field="rate"]').getAttribute('data-value'))).toBeGreaterThan(0);

      // A drain from the page reaches the daemon (through the API, with the page's cookie) and back.
      await page.locator(`[data-backend="web/${firstId}"] button[data-action="drain"]`).click();
      await waitFor(async () => ['draining', 'drained'].includes((await backendOf(firstId))?.health ?? ''), 10_000, `${firstId} draining after the click`);
      await page.locator(`[data-backend="web/${firstId}"] [data-health="drained"]`).waitFor({ timeout: 15_000 });
      await page.locator(`[data-backend="web/${firstId}"] button[data-action="enable"]`).click();
      await page.locator(`[data-backend="web/${firstId}"] [data-health="up"]`).waitFor({ timeout: 15_000 });

      const victim = svc.backends[svc.backends.length - 1].id;
      const victimVm = ['vm1', 'vm2', 'vm3'].find((vm) => vnic(vm) === victim)!;
      await servers.get(victimVm)!.stop();
      servers.delete(victimVm);
      await page.locator(`[data-backend="web/${victim}"] [data-health="down"]`).waitFor({ timeout: 20_000 });
      await page.locator(`[data-backend="web/${victim}"] [data-field="check"][data-ok="false"]`).waitFor({ timeout: 10_000 });
      await page.locator('#events li[data-kind="backend_down"]').first().waitFor({ timeout: 10_000 });
      expect(await page.locator(`[data-backend="web/${svc.backends[0].id}"] [data-health]`).getAttribute('data-health')).toBe('up');
      // A test run leaves tracked files alone: the screenshot goes to a temp file unless VADC_SCREENSHOT names
      // one (VADC_SCREENSHOT=docs/img/dashboard.png refreshes the picture in the docs).
      const shot = process.env.VADC_SCREENSHOT ? path.resolve(ROOT, process.env.VADC_SCREENSHOT) : path.join(tmp, 'dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(existsSync(shot)).toBe(true);
      console.log(`dashboard screenshot: ${shot}`);
      expect(pageErrors).toEqual([]);
      expect((await backendOf(victim))?.health).toBe('down');
      // The daemon's own log (JSON under a non-TTY) says the same, with service and backend fields.
      const logged = daemonLog.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      // (Another backend may have flapped earlier under load: look for the victim's line.)
      expect(logged.find((l) => l.kind === 'backend_down' && l.backend === victim)).toMatchObject({ level: 'warn', service: 'web', backend: victim });
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('the API contract (docs/openapi.yaml, generated from the zod schemas)', () => {
  it('every control API response this suite saw, through the CLI or directly, validated against it', () => {
    expect(proxy.problems).toEqual([]);
    expect(directProblems).toEqual([]);
    // Enough traffic to mean something: every CLI call above went through the proxy.
    expect(proxy.checked()).toBeGreaterThan(50);
    const ops = new Set([...contract.seen].map((s) => s.split(' ')[0]));
    for (const op of ['status', 'listServices', 'getService', 'addService', 'removeService', 'addBackend', 'removeBackend', 'setWeight', 'drain', 'enable', 'connections', 'flows', 'events', 'getConfig', 'applyConfig', 'metrics']) {
      expect([op, ops.has(op)]).toEqual([op, true]);
    }
  });
});
