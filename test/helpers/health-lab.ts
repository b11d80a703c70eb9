// Shared harness of the health/failover end-to-end tests: a real vadc daemon in-process against the
// lab's Open vSwitch, real servers in VM namespaces and real clients in client namespaces.
import type { ChildProcess } from 'node:child_process';
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import type { Lab, LabServer } from '../../src/lab';
import type { BackendStatus, VadcEvent } from '../../src/runtime/types';
import { datapathYaml } from './nat-mode';
import { waitFor } from './until';
import { switchSynced } from './switch-synced';

/** The VIP: .100 of the lab's own subnet (its clients have no route elsewhere). */
export function vipOf(lab: Lab): string {
  return lab.subnet.replace(/\.0\/\d+$/, '.100');
}

export { waitFor };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The application servers a test starts and stops on its lab's VMs, one per VM and port: HTTP, or a UDP echo. */
export class LabServers {
  private readonly running = new Map<string, LabServer>();

  constructor(private readonly lab: () => Lab, private readonly kind: 'http' | 'udp-echo' = 'http') {}

  async start(vm: string, port: number): Promise<void> {
    const key = `${vm}:${port}`;
    if (this.running.has(key)) return;
    this.running.set(key, await (this.kind === 'http' ? this.lab().startHttpServer(vm, port) : this.lab().startUdpEchoServer(vm, port)));
  }

  async stop(vm: string, port: number): Promise<void> {
    const key = `${vm}:${port}`;
    await this.running.get(key)?.stop();
    this.running.delete(key);
  }

  /** Every server still running (teardown: one that fails to stop does not keep the others up). */
  async stopAll(): Promise<void> {
    for (const s of this.running.values()) await s.stop().catch(() => undefined);
    this.running.clear();
  }
}

/** An `outlier_ejected` event of backend `id` (of its software port `port` when given). */
export const outlierEjected = (id: string, port?: number) => (e: VadcEvent) =>
  e.kind === 'outlier_ejected' && e.backend === id && (port === undefined || e.data?.port === port);

/** A daemon under test plus every event it reported, in order. */
export class DaemonUnderTest {
  readonly events: VadcEvent[] = [];

  private constructor(readonly daemon: VadcDaemon, private readonly lab: Lab) {
    daemon.bus.on('event', (e: VadcEvent) => this.events.push(e));
  }

  /** Starts vadc with `services` (YAML list items) and points the lab's bridge at it. */
  /** `listingShare`: datapath.listing_share (the tracker listing's spacing; default the config's). */
  static async start(lab: Lab, services: string, opts: { waitLocated?: string[]; listingShare?: number } = {}): Promise<DaemonUnderTest> {
    const datapath = datapathYaml(lab.vswitchdControlSocket);
    const text = `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
${opts.listingShare === undefined ? datapath : datapath.replace(/ }$/, `, listing_share: ${opts.listingShare} }`)}
ovsdb: unix:${lab.ovsdbSocket}
services:
${services}`;
    const daemon = new VadcDaemon({ config: parseConfig(text, 'health e2e'), configText: text, statsIntervalMs: 250, healthSourceAddress: lab.localIp });
    const under = new DaemonUnderTest(daemon, lab);
    const [target] = await daemon.start();
    await lab.setController(target);
    await waitFor(() => switchSynced(daemon.status()), 15_000, 'the switch to connect');
    for (const id of opts.waitLocated ?? []) {
      await waitFor(() => daemon.services().some((s) => s.backends.some((b) => b.id === id && b.ofport !== undefined)), 15_000, `${id} located`);
    }
    return under;
  }

  backend(service: string, id: string): BackendStatus {
    const found = this.daemon.service(service).backends.find((b) => b.id === id);
    if (!found) throw new Error(`service ${service} has no backend ${id}`);
    return found;
  }

  async waitHealth(service: string, id: string, health: BackendStatus['health'], timeoutMs = 10_000): Promise<void> {
    try {
      await waitFor(() => this.backend(service, id).health === health, timeoutMs, `${service}/${id} to be ${health}`);
    } catch (err) {
      // Say where it is stuck, with the events that concern it, so a failure explains itself.
      const b = this.backend(service, id);
      const story = this.events.filter((e) => e.backend === id || e.backend === b.vnic).slice(-8).map((e) => `${e.kind}: ${e.message}`);
      throw new Error(`${(err as Error).message}; it is ${b.health} (${b.healthReason ?? 'no reason'}); its last events:\n  ${story.join('\n  ')}`);
    }
  }

  /** The first event (from index `from` on) that matches; waits for it. */
  async waitEvent(match: (e: VadcEvent) => boolean, timeoutMs: number, what: string, from = 0): Promise<VadcEvent> {
    let found: VadcEvent | undefined;
    await waitFor(() => (found = this.events.slice(from).find(match)) !== undefined, timeoutMs, `event: ${what}`);
    return found!;
  }

  /**
   * Stops vadc and removes its connection flows (cookie kind 4), so the next test's daemon does not re-track
   * this test's connections; the pipeline flows stay, as they do across a real restart.
   */
  async stop(): Promise<void> {
    await this.daemon.stop();
    await this.lab.ofctl('del-flows', 'cookie=0xadc0400000000000/0xfffff00000000000');
  }
}

/** One fresh connection to the VIP from a client; returns the answering VM's name and port ("vm1 8080"). */
export async function fetchVia(lab: Lab, client: string, port = 80): Promise<string> {
  const answer = await lab.httpGet(client, `http://${vipOf(lab)}:${port}/`, 3000);
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status} from ${vipOf(lab)}:${port}`);
  return answer.body.trim();
}

/** `count` fresh connections in a row; the answering VM names. */
export async function fetchMany(lab: Lab, client: string, count: number, port = 80): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) names.push((await fetchVia(lab, client, port)).split(' ')[0]);
  return names;
}

/** How a TCP connect to the VIP ends from a client: 'connected', an error code (ECONNREFUSED, ...) or 'timeout'. */
export async function connectOutcome(lab: Lab, client: string, port: number): Promise<string> {
  const result = await lab.exec(client, ['node', '-e', `
    const s = require('net').connect(${port}, '${vipOf(lab)}');
    const t = setTimeout(() => { console.log('timeout'); process.exit(0); }, 3000);
    s.on('connect', () => { console.log('connected'); process.exit(0); });
    s.on('error', (e) => { clearTimeout(t); console.log(e.code); process.exit(0); });`]);
  return result.stdout.trim();
}

export interface StreamReport {
  ok: number;
  failed: number;
  /** "localPort body" of every answer: one entry = one TCP connection to one backend all along. */
  answers: string[];
}

/**
 * A keep-alive HTTP stream from a client: one request every 100 ms over one TCP connection, until
 * stop() (SIGTERM) — then it reports what it saw. `first` resolves with the first answer's body.
 */
export function keepAliveStream(lab: Lab, client: string): { first: Promise<string>; stop: () => Promise<StreamReport> } {
  const script = `
    const http = require('http'); const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let ok = 0, failed = 0; const answers = new Set(); let announced = false;
    const tick = () => http.get({ host: '${vipOf(lab)}', port: 80, path: '/', agent, timeout: 2000 }, (res) => {
      let body = ''; const local = res.socket.localPort;
      res.on('data', (d) => body += d);
      res.on('end', () => { ok++; answers.add(local + ' ' + body.trim()); if (!announced) { announced = true; console.error('first ' + body.trim()); } });
    }).on('error', () => failed++);
    const timer = setInterval(tick, 100);
    process.on('SIGTERM', () => { clearInterval(timer); agent.destroy(); console.log(JSON.stringify({ ok, failed, answers: [...answers] })); process.exit(0); });`;
  const child = lab.spawn(client, ['node', '-e', script]);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const first = new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      const m = /first (.+)/.exec(d.toString());
      if (m) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error('the stream ended before its first answer')));
  });
  first.catch(() => undefined);
  return {
    first,
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(out) as StreamReport;
    },
  };
}

/**
 * `count` TCP connections to the VIP held open (each made one keep-alive request, so they are
 * established); `bodies` resolves with their answers; release() closes them all (FIN).
 */
export function heldConnections(lab: Lab, client: string, count: number): { bodies: Promise<string[]>; release: () => Promise<void> } {
  const script = `
    const http = require('http'); const agent = new http.Agent({ keepAlive: true, maxSockets: ${count} });
    const bodies = [];
    for (let i = 0; i < ${count}; i++) http.get({ host: '${vipOf(lab)}', port: 80, path: '/', agent }, (res) => {
      let body = ''; res.on('data', (d) => body += d);
      res.on('end', () => { bodies.push(body.trim()); if (bodies.length === ${count}) console.log(JSON.stringify(bodies)); });
    }).on('error', (e) => { console.error(e.message); process.exit(1); });
    // An agent's idle keep-alive sockets do not keep Node running: without this timer the process would
    // exit (closing the "held" connections) as soon as the last answer arrived.
    const alive = setInterval(() => {}, 1000);
    process.on('SIGTERM', () => { clearInterval(alive); agent.destroy(); setTimeout(() => process.exit(0), 200); });`;
  const child: ChildProcess = lab.spawn(client, ['node', '-e', script]);
  const bodies = new Promise<string[]>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as string[]);
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', () => reject(new Error(`held connections ended early: ${err.trim()}`)));
  });
  bodies.catch(() => undefined);
  return {
    bodies,
    release: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
