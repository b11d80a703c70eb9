// Many concurrent live connections through real OVS and a `vadc start` process (issue 15, scale): clients spread
// over namespaces and processes open and hold N connections through one VIP; then vadc's count, the tracker's
// (conntrack mode) or the switch's connection flows (flows mode), `vadc status` and what the clients and servers
// hold are read side by side, with vadc's RSS and CPU; then vadc is stopped (SIGTERM) and started again and the
// time until it tracks them all again is measured.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Lab, type LabHost } from '../../src/lab';
import { sleep } from '../../src/lab/system';
import type { StatusSnapshot } from '../../src/runtime/types';
import { freePort, Instance, vipOf, waitFor } from '../../test/helpers/ha-pair';
import { HOLD_CLIENT_JS, HOLD_SERVER_JS, lastCountLine } from './realovs-scripts';
import { countDumpedFlows, parseCtStats } from './realovs-stats';

export const LIVE_LAB = 'live';
const SERVER_PORT = 8080;
const VIP_PORT = 80;
/** Connection flows (vadc cookie magic 0xadc0, kind 4) in ovs-ofctl cookie/mask syntax. */
const CONNECTION_COOKIES = 'cookie=0xadc0400000000000/0xfffff00000000000';
/** A client namespace's ephemeral ports: 64,000 per (client address, VIP, port) instead of Linux's 28,232. */
const PORT_RANGE = '1024 65023';
/**
 * Descriptors one client or server process may use: the soft limit goes up to the hard one (20,000 here). Raising
 * the hard limit needs CAP_SYS_RESOURCE, which this sandbox's root lacks (CapEff without bit 24), so connections
 * are spread over enough processes instead; a few hundred descriptors are left for Node itself.
 */
export const CONNECTIONS_PER_PROCESS = 19_000;

export interface LiveOptions {
  connections: number;
  /** Client namespaces (one address each). */
  clients: number;
  /** Client processes per namespace. */
  processes: number;
  /** Backend VMs (one server process each). */
  vms: number;
  /** Connects in flight per client process. */
  concurrency: number;
  /** undefined: the config's default (`auto`: conntrack when ovs-vswitchd's socket is reachable). */
  nat?: 'flows' | 'conntrack';
  /** Who picks each new connection's backend: vadc on a packet-in (controller), or OVS's select group (datapath). */
  decisions: 'controller' | 'datapath';
  /** Restart vadc (SIGTERM + start) under the held connections and time the recovery. */
  restart: boolean;
  waitForHostMs: number;
  /** How long the opening may take before the bench gives up, ms. */
  openTimeoutMs: number;
  /** Where vadc's log (both processes) is written at the end. */
  vadcLogFile: string;
  log: (line: string) => void;
}

/** One reading of every count, taken back to back. */
export interface LiveCounts {
  clientsOpen: number;
  serversOpen: number;
  /** Connections vadc tracks, from `vadc status` (active + inactive over the service's backends). */
  vadcStatus: number;
  /** Conntrack mode: the tracker's connections in vadc's zone (ct-stats-show), and of them TCP ESTABLISHED. */
  trackerTotal?: number;
  trackerEstablished?: number;
  /** Flows mode: connection flows in the switch, forward (table 1) and reverse (table 2). */
  forwardFlows?: number;
  reverseFlows?: number;
}

export interface LiveReport {
  nat: string;
  decisions: 'controller' | 'datapath';
  natReason: string;
  requested: number;
  opened: number;
  failed: number;
  openSeconds: number;
  held: LiveCounts;
  agree: boolean;
  vadcRssMiB: number;
  vadcPeakRssMiB: number;
  /** vadc's CPU while only holding (its statistics poll reads the tracker or the flows), % of a core. */
  vadcIdleCpuPercent: number;
  /** The userspace tracker's limit (dpctl/ct-get-maxconns). */
  trackerMaxConns: number;
  /** `vadc status` calls that failed (timed out) while holding, and the slowest that answered, ms. */
  statusFailures: number;
  slowestStatusMs: number;
  restart?: {
    stopMs: number;
    /** From the start of the new process: its control socket answers, the switch is back, every connection tracked. */
    readyMs: number;
    switchMs: number;
    restoredMs: number;
    after: LiveCounts;
    agree: boolean;
    vadcRssMiB: number;
  };
}

function configText(lab: Lab, ofPort: number, apiSocket: string, nat: LiveOptions['nat'], decisions: LiveOptions['decisions']): string {
  const backends = lab.vms.map((vm) => `      - { vnic: ${vm.port}, ip: ${vm.ip}, ports: [${SERVER_PORT}] }`).join('\n');
  return `controller: { listen: "tcp:127.0.0.1:${ofPort}", echo_interval: 5, ha: { election: none } }
ovsdb: unix:${lab.ovsdbSocket}
api: { listen: "unix:${apiSocket}" }
datapath: { appctl: ${lab.vswitchdControlSocket}${nat ? `, nat: ${nat}` : ''} }
services:
  - name: hold
    vip: ${vipOf(lab)}
    port: ${VIP_PORT}
    scheduler: rr
    decisions: ${decisions}
    # Held connections stay idle for the whole run; flows mode must not idle them out.
    idle_timeout: 3600
    backends:
${backends}
`;
}

function trackedIn(status: StatusSnapshot): number {
  return status.services.reduce((n, s) => n + s.backends.reduce((m, b) => m + b.activeConns + b.inactiveConns, 0), 0);
}

/** A process's resident set now and at its peak, MiB. */
function rssMiB(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** A process's CPU time so far (user + system), ms; /proc counts it in USER_HZ ticks, 100 a second on Linux. */
function cpuMs(pid: number): number {
  // After the command name and its parenthesis: state, then utime and stime are the 12th and 13th fields.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

class LiveBench {
  private lab!: Lab;
  private vadc!: Instance;
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-live-'));
  private readonly clientScript = path.join(this.dir, 'hold-client.js');
  private readonly serverScript = path.join(this.dir, 'hold-server.js');
  private readonly clientOut: { child: ChildProcess; text: string }[] = [];
  private readonly serverOut: { child: ChildProcess; text: string }[] = [];
  private ctStatsShown = false;
  private statusFailures = 0;
  /** vadc's log (JSON lines) of the processes stopped so far. */
  private earlierLogs = '';
  private slowestStatusMs = 0;

  constructor(private readonly opts: LiveOptions) {
    for (const [what, n] of [['client process', opts.connections / (opts.clients * opts.processes)], ['backend VM', opts.connections / opts.vms]] as const) {
      if (n > CONNECTIONS_PER_PROCESS) {
        throw new Error(`${Math.ceil(n)} connections per ${what} is more than ${CONNECTIONS_PER_PROCESS} (the per-process descriptor limit): use more clients/processes or VMs`);
      }
    }
    writeFileSync(this.clientScript, HOLD_CLIENT_JS);
    writeFileSync(this.serverScript, HOLD_SERVER_JS);
  }

  async run(): Promise<LiveReport> {
    const { log } = this.opts;
    try {
      log(`lab up: ${this.opts.vms} VMs, ${this.opts.clients} clients (queued behind other labs on this host if needed) ...`);
      this.lab = await Lab.up({ name: LIVE_LAB, vms: this.opts.vms, clients: this.opts.clients, waitForHostMs: this.opts.waitForHostMs });
      for (const vm of this.lab.vms) await this.startServer(vm);
      for (const client of this.lab.clients) {
        await this.lab.exec(client, ['sysctl', '-q', '-w', `net.ipv4.ip_local_port_range=${PORT_RANGE}`]);
      }
      const ofPort = await freePort();
      const configPath = path.join(this.dir, 'vadc.yaml');
      writeFileSync(configPath, configText(this.lab, ofPort, path.join(this.dir, 'api.sock'), this.opts.nat, this.opts.decisions));
      this.vadc = new Instance('vadc', ofPort, path.join(this.dir, 'api.sock'), configPath);
      await this.vadc.start();
      await this.lab.setController(this.vadc.target);
      // A restarted controller is found again within a second, not OVS's default backoff of up to 8 s.
      await this.lab.vsctl('set', 'controller', this.lab.bridge, 'max_backoff=1000');
      await waitFor(async () => {
        const s = await this.vadc.status();
        return s.switches.length === 1 && s.services[0].backends.every((b) => b.ofport !== undefined);
      }, 30_000, 'the switch connected and the backends located');
      const first = await this.vadc.status();
      log(`vadc: NAT by ${first.datapath.nat} (${first.datapath.reason})`);
      const trackerMaxConns = Number((await this.lab.appctl('dpctl/ct-get-maxconns')).trim());

      const open = await this.openAll();
      log(`opened ${open.opened} (failed ${open.failed}) in ${open.seconds.toFixed(1)} s; letting vadc's statistics poll catch up ...`);
      const held = await this.settledCounts(first.datapath.nat, first.datapath.ctZone);
      const rss = rssMiB(this.vadc.pid);
      const cpu0 = cpuMs(this.vadc.pid);
      await sleep(10_000);
      const idleCpu = ((cpuMs(this.vadc.pid) - cpu0) / 10_000) * 100;
      log(`held: ${JSON.stringify(held)}; vadc RSS ${rss.now.toFixed(0)} MiB (peak ${rss.peak.toFixed(0)}), CPU while holding ${idleCpu.toFixed(1)} %`);

      const report: LiveReport = {
        nat: first.datapath.nat, decisions: this.opts.decisions, natReason: first.datapath.reason, requested: this.opts.connections, opened: open.opened, failed: open.failed,
        openSeconds: open.seconds, held, agree: agree(held), vadcRssMiB: rss.now, vadcPeakRssMiB: rss.peak, vadcIdleCpuPercent: idleCpu, trackerMaxConns,
        statusFailures: 0, slowestStatusMs: 0,
      };
      if (this.opts.restart) report.restart = await this.restart(held, first.datapath.nat, first.datapath.ctZone);
      return { ...report, statusFailures: this.statusFailures, slowestStatusMs: this.slowestStatusMs };
    } finally {
      for (const c of [...this.clientOut, ...this.serverOut]) c.child.kill('SIGTERM');
      await this.vadc?.stop('SIGTERM').catch(() => undefined);
      if (this.vadc) {
        writeFileSync(this.opts.vadcLogFile, this.earlierLogs + this.vadc.log);
        log(`vadc's log: ${this.opts.vadcLogFile}`);
      }
      await this.lab?.down().catch((err: Error) => log(`lab down failed: ${err.message} (run: vadc lab down --name ${LIVE_LAB})`));
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private spawnCounted(host: LabHost, script: string, arg: string, into: { child: ChildProcess; text: string }[]): { child: ChildProcess; text: string } {
    const child = this.lab.spawn(host, ['sh', '-c', `ulimit -n $(ulimit -Hn) && exec node ${script} '${arg}'`]);
    const entry = { child, text: '' };
    // Keep only the tail: the count lines come every second for the whole run.
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (entry.text = (entry.text + d).slice(-4096)));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => this.opts.log(`  ${host.name}: ${d.trim()}`));
    into.push(entry);
    return entry;
  }

  private async startServer(vm: LabHost): Promise<void> {
    await this.lab.exec(vm, ['sysctl', '-q', '-w', 'net.core.somaxconn=8192', 'net.ipv4.tcp_max_syn_backlog=8192']);
    const entry = this.spawnCounted(vm, this.serverScript, String(SERVER_PORT), this.serverOut);
    await waitFor(() => entry.text.includes('ready'), 20_000, `the hold server on ${vm.name}`);
  }

  private async openAll(): Promise<{ opened: number; failed: number; seconds: number }> {
    const { clients, processes, connections, concurrency } = this.opts;
    const procs = clients * processes;
    const t0 = Date.now();
    let left = connections;
    for (let i = 0; i < procs; i++) {
      const count = Math.ceil(left / (procs - i));
      left -= count;
      const arg = JSON.stringify({ host: vipOf(this.lab), port: VIP_PORT, count, concurrency, timeoutMs: 10_000 });
      this.spawnCounted(this.lab.clients[i % clients], this.clientScript, arg, this.clientOut);
    }
    let lastLog = Date.now();
    await waitFor(() => {
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        this.opts.log(`  ${this.clientOut.filter((c) => lastCountLine(c.text, 'HELD')).length}/${procs} client processes done; servers hold ${this.serversOpen()}`);
      }
      for (const c of this.clientOut) if (c.child.exitCode !== null) throw new Error(`a client process exited (${c.child.exitCode}): ${c.text.slice(-300)}`);
      return this.clientOut.every((c) => lastCountLine(c.text, 'HELD'));
    }, this.opts.openTimeoutMs, 'every client process to open its connections');
    const seconds = (Date.now() - t0) / 1000;
    const held = this.clientOut.map((c) => lastCountLine(c.text, 'HELD')!);
    return { opened: held.reduce((n, h) => n + h[0], 0), failed: held.reduce((n, h) => n + h[1], 0), seconds };
  }

  private serversOpen(): number {
    return this.serverOut.reduce((n, s) => n + (lastCountLine(s.text, 'SERVING')?.[0] ?? 0), 0);
  }

  /**
   * `vadc status`, tried up to 5 times: while vadc reads a large tracker listing its control API can miss the CLI's
   * timeout. Failed tries and the slowest answer are reported.
   */
  private async status(): Promise<StatusSnapshot> {
    for (let attempt = 1; ; attempt++) {
      const t0 = Date.now();
      try {
        const status = await this.vadc.status();
        this.slowestStatusMs = Math.max(this.slowestStatusMs, Date.now() - t0);
        return status;
      } catch (err) {
        this.statusFailures++;
        this.opts.log(`  vadc status failed after ${Date.now() - t0} ms (try ${attempt}): ${(err as Error).message.split('\n')[0]}`);
        if (attempt === 5) throw err;
      }
    }
  }

  private async counts(nat: string, zone: number | undefined): Promise<LiveCounts> {
    const status = await this.status();
    const counts: LiveCounts = {
      clientsOpen: this.clientOut.reduce((n, c) => n + (lastCountLine(c.text, 'OPEN')?.[0] ?? 0), 0),
      serversOpen: this.serversOpen(),
      vadcStatus: trackedIn(status),
    };
    if (nat === 'conntrack') {
      const text = await this.lab.appctl('dpctl/ct-stats-show', `zone=${zone}`, 'verbose');
      if (!this.ctStatsShown) this.opts.log(`  ct-stats-show zone=${zone} verbose, first reading:\n${text.trimEnd()}`);
      this.ctStatsShown = true;
      const stats = parseCtStats(text);
      counts.trackerTotal = stats.total;
      counts.trackerEstablished = stats.tcpStates.get('ESTABLISHED') ?? 0;
    } else {
      const flows = countDumpedFlows(await this.lab.ofctl('dump-flows', CONNECTION_COOKIES));
      counts.forwardFlows = flows.byTable.get(1) ?? 0;
      counts.reverseFlows = flows.byTable.get(2) ?? 0;
    }
    return counts;
  }

  /**
   * Reads every 3 s until every count agrees, or until they have not changed for 15 s: vadc's count moves only when
   * it reads the tracker or the flows, and a slow reading (100,000 entries: seconds) spaces the next by four times its
   * length (StatsPoller's ACCOUNTING_DUTY), so two equal readings 3 s apart said "settled" while vadc had not read
   * the tracker since the opening ended (2026-12-06: 83,939 of 100,000 "held", all 100,000 one reading later).
   */
  private async settledCounts(nat: string, zone: number | undefined): Promise<LiveCounts> {
    const unchangedFor = 15_000;
    const t0 = Date.now();
    let previous = await this.counts(nat, zone);
    let since = Date.now();
    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      if (agree(previous)) {
        this.opts.log(`  every count agrees ${((Date.now() - t0) / 1000).toFixed(1)} s after the first reading`);
        return previous;
      }
      await sleep(3000);
      const now = await this.counts(nat, zone);
      this.opts.log(`  counts: ${JSON.stringify(now)}`);
      if (JSON.stringify(now) !== JSON.stringify(previous)) since = Date.now();
      else if (Date.now() - since >= unchangedFor) return now;
      previous = now;
    }
    return previous;
  }

  private async restart(before: LiveCounts, nat: string, zone: number | undefined): Promise<NonNullable<LiveReport['restart']>> {
    const { log } = this.opts;
    log('vadc: SIGTERM ...');
    const t0 = Date.now();
    await this.vadc.stop('SIGTERM');
    const stopMs = Date.now() - t0;
    this.earlierLogs += this.vadc.log;
    const t1 = Date.now();
    await this.vadc.start(120_000);
    const readyMs = Date.now() - t1;
    let switchMs = NaN;
    let restoredMs = NaN;
    // What it must track again: every connection the datapath carries (the clients hold the same, checked above).
    const target = before.trackerTotal ?? before.forwardFlows ?? before.clientsOpen;
    let tracked = 0;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      const s = await this.vadc.status().catch(() => undefined);
      if (!s) this.statusFailures++;
      if (s && Number.isNaN(switchMs) && s.switches.length === 1) switchMs = Date.now() - t1;
      tracked = s ? trackedIn(s) : tracked;
      if (tracked >= target) {
        restoredMs = Date.now() - t1;
        break;
      }
      await sleep(100);
    }
    if (Number.isNaN(restoredMs)) log(`  the restarted vadc tracks ${tracked} of ${target} after 120 s`);
    log(`vadc restarted: stopped in ${stopMs} ms; new process ready ${readyMs} ms, switch back ${switchMs} ms, ${target} tracked ${restoredMs} ms after its start`);
    const after = await this.settledCounts(nat, zone);
    const rss = rssMiB(this.vadc.pid);
    log(`after the restart: ${JSON.stringify(after)}; vadc RSS ${rss.now.toFixed(0)} MiB`);
    return { stopMs, readyMs, switchMs, restoredMs, after, agree: agree(after), vadcRssMiB: rss.now };
  }
}

/** Every count the same: clients, servers, vadc's status and the datapath's own record. */
export function agree(c: LiveCounts): boolean {
  const datapath = c.trackerEstablished !== undefined ? [c.trackerTotal, c.trackerEstablished] : [c.forwardFlows, c.reverseFlows];
  return [c.serversOpen, c.vadcStatus, ...datapath].every((n) => n === c.clientsOpen);
}

export function runLiveConnectionsBench(opts: LiveOptions): Promise<LiveReport> {
  return new LiveBench(opts).run();
}
