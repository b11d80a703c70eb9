// The real-OVS benchmark: a private lab (one backend VM, two client namespaces), vadc's daemon as the
// controller, and the same load through the VIP (a packet-in or the select group each) and over pre-installed
// static NAT flows, side by side in one run: by turns in one phase (the default), or the static path first with
// the controller detached (the old measure). Also iperf3 via the VIP vs. direct, and a scaled test of many held
// connections (flow table vs. vadc's connection table).
import { sampleListings } from './listing-readings';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config';
import { serviceIds } from '../../src/app/service-ids';
import { connectionsOfService } from '../../src/flows/cookies';
import { serviceGroupId } from '../../src/flows/groups';
import { parseConntrackDump } from '../../src/flows/conntrack-dump';
import { VadcDaemon } from '../../src/daemon/daemon';
import { Lab, type LabHost } from '../../src/lab';
import { readPidfile, run as runCommand, sleep } from '../../src/lab/system';
import {
  countDumpedFlows, coverageDelta, cpuPercent, parseCoverage, extraOver, parseIperf3Json, perSecond, retryRefused, summarize, whilePending, type Distribution, type Iperf3Result,
} from './realovs-stats';
import {
  connectionTraces, multipartRequestTimes, readPcapng, splitTraces, type ConnectionTrace, type Pause, type TraceSplit,
} from './first-packet-trace';
import { packetInWaits, parsePerfSched, schedSplit, wakeupPlacement, type SchedSplit, type WakeupPlacement } from './sched-trace';
import { applyCpuPriority, autogroupNice, describeCpuPriority, setAutogroupNice, type CpuPriority } from './cpu-priority';
import { CpuShareGroups, type CpuShareKey, type CpuShares } from './cpu-shares';
import { parseClientReport, TCP_CLIENT_JS, TCP_SERVER_JS, type ClientOptions, type ClientReport } from './realovs-scripts';
import { CtSampler, ctTimeline, formatCtTimeline, type TimedConnect } from './ct-sampler';
import {
  connectCallSplit, counterDeltas, countTrackerWarnings, formatConnectCallSplit, parseNetstat, tupleFate, type CalledConnect, type ConnectCallSplit, type PortUse,
  type TupleFate,
} from './port-reuse';
import { attribute, attributedConnects, attributionSchedstatPaths, GcRecorder, type Attribution } from './packet-in-attribution';
import { chunkOrder, parsePmdCounters, schedstatCpuNs, synToGroupInRun, turnsThroughput, type ThroughputChunk, type TurnsThroughput } from './throughput-turns';
import { OvsProfiler } from './ovs-profile';
import { formatReadWaits, readWaits, watchReads } from './read-waits';
import { formatTailSteadiness, tailSteadiness, type TailSteadiness } from './tail-steadiness';
import { endCensus, formatCopyFate, parseCoverageCount, parseEndCopyMeter, type CopyCounters } from './copy-fate';

/** Lab name: its own subnet, namespaces vadc-perf-*, ports perf-*. */
export const PERF_LAB = 'perf';
const STATIC_COOKIE = '0x5eed';
/** synToGroup's bench flow (not vadc's cookie: vadc leaves it alone). */
const SYN_TO_GROUP_COOKIE = '0x5eee';
/** Connection flows (vadc cookie magic 0xadc0, kind 4) in ovs-ofctl cookie/mask syntax. */
const CONNECTION_COOKIES = 'cookie=0xadc0400000000000/0xfffff00000000000';
const SERVER_PORT = 8080;
/**
 * The static path of the latency phase: a second address beside the VIP (.99: VMs are .11 upward, clients .101
 * upward) whose connections static flows take to this server port on the backend, with vadc attached throughout.
 */
const STATIC_SERVER_PORT = 8090;
const STATIC_VIP_HOST = '.99';
/** The service the held connections go through (VIP port 81). */
const HOLD_SERVICE = 'hold';
const IPERF_PORT = 5201;
/** With pinVadc: vadc's thread's core, and the core of everything else the bench starts. */
const VADC_CORE = 1;
const OTHERS_CORE = 0;

export interface RealOvsOptions {
  runs: number;
  /** Short connections per phase (split over the two clients). */
  connections: number;
  /** Concurrent connections per client in the throughput phases. */
  concurrency: number;
  /** Sequential connections for the first-packet delay. */
  latencyConnections: number;
  /** iperf3's transfer time, s (0 = no iperf3 phase). */
  iperfSeconds: number;
  /** Concurrent held connections for the consistency check (0 = skip). */
  holdConnections: number;
  waitForHostMs: number;
  /** The daemon's statistics poll interval (flow stats of every connection flow + port stats), ms. */
  statsIntervalMs?: number;
  /** The daemon's NAT mode (config datapath.nat); default flows. */
  nat?: 'flows' | 'conntrack';
  /** Connection-end copies per second (config datapath.end_copies; 0 = off); default the config's default. */
  endCopies?: number;
  /** Flows mode's reply guard, SYN-ACKs per second (config datapath.reply_guard; 0 = off); default the config's default. */
  replyGuard?: number;
  /** Who decides each VIP service's connections (config `decisions`; datapath: OVS's select group, conntrack only); default controller. */
  decisions?: 'controller' | 'datapath';
  /** The VIP services' scheduler (default rr): e.g. wlc, whose connections' FINs are copied to vadc (endCopySides). */
  scheduler?: string;
  /**
   * Capture the latency phase (dumpcap on the client's and the backend's OVS ports and the OpenFlow connection) into
   * this directory and split each connection's first round trip; also the event-loop delay and GC pauses of vadc's
   * process (this one) over the phase. Off by default: the capture costs CPU on a small machine.
   */
  traceDir?: string;
  /**
   * vadc's thread's (this process's main thread's) scheduling once the lab and its servers are up: nice, SCHED_FIFO/RR
   * or a shorter EEVDF slice (bench/lib/cpu-priority.ts), reset on fork, so what the bench starts later keeps the
   * default. ovs-ctl starts ovs-vswitchd at -10 in installs; the lab at 0.
   */
  cpuPriority?: CpuPriority;
  /**
   * vadc's thread (this process's main thread) alone on core 1, and every process the bench starts (the lab's clients
   * and servers, dumpcap, perf) on core 0; ovs-vswitchd keeps both. A deployment that gives vadc a core of its own, on
   * a machine of two: what is left of the first-packet tail when the lab's own processes cannot take vadc's core.
   */
  pinVadc?: boolean;
  /**
   * vadc's thread on core 1 and nothing else moved (systemd's CPUAffinity= for vadc alone): its wakeups always land on
   * its own core, which the lab's processes and ovs-vswitchd may still take.
   */
  pinVadcOnly?: boolean;
  /**
   * The nice value of this process's autogroup (its session: vadc, the bench and the lab's clients and servers), once the
   * lab is up; ovs-vswitchd and other sessions keep theirs. With autogroups a thread's own nice weighs only inside it.
   */
  autogroupNice?: number;
  /** The nice value of the lab's ovs-vswitchd's autogroup (a session of its own: it daemonizes), once the lab is up. */
  ovsAutogroupNice?: number;
  /**
   * With traceDir: also record the kernel's scheduler events (perf record -a, sched_switch and sched_wakeup) over the
   * latency phase and tell, for each packet-in, whether vadc's thread was busy, waiting for a CPU or asleep when it
   * arrived, and who held the CPUs meanwhile.
   */
  sched?: boolean;
  /**
   * Sample the userspace tracker and ovs-vswitchd's threads every this many ms (0/undefined = off), with the conntrack
   * module's log at debug level (each clean-thread sweep), and time each latency connect: a timeline per run.
   */
  ctStatsMs?: number;
  /** The zone's timeout policy vadc sets (config datapath.ct_timeouts); undefined = the config's default. */
  ctTimeouts?: Record<string, number>;
  /**
   * The userspace tracker's clean-thread sweep interval (`dpctl/ct-set-sweep-interval`, OVS 3.2+; OVS's default 20 s):
   * expired connections stay in the table, and in every listing's walk on ovs-vswitchd's main thread, until swept.
   */
  ctSweepMs?: number;
  /** Wait this long before each run after the first, s (the tracker's and the backend's closed connections age meanwhile). */
  runGapS?: number;
  /**
   * Time each connect(2) call of the latency client (the client kernel's source-port search) and record the source port
   * of every connection the latency client's namespace makes (its throughput connects too): per run, the call's time,
   * the first-packet extra measured from the call's return, and the latency connects whose port was used shortly before.
   */
  connectCalls?: boolean;
  /**
   * The clients' ephemeral port range (their namespaces' net.ipv4.ip_local_port_range, e.g. [1024, 65535]), set once the lab
   * is up; undefined = the namespaces' default (32768-60999). The range in use is in the report either way.
   */
  clientPortRange?: [number, number];
  /**
   * Split the latency phase's slowest connects (bench/lib/packet-in-attribution.ts): the client reads vadc's,
   * ovs-vswitchd's main and its own thread's schedstat around each connect; vadc's GC pauses are recorded with their moments.
   */
  attribute?: boolean;
  /** Watch vadc's reads of the switch's socket over the throughput turns and the latency phase (read-waits.ts): each decision's wait in its read, and what the copies took of it. */
  readWaits?: boolean;
  /**
   * CPU weights by cgroup once the lab is up (bench/lib/cpu-shares.ts): vadc's process, ovs-vswitchd and the lab's clients
   * and servers (the latency client apart with probe) each in a cpu cgroup of its own with these cpu.shares; put back
   * and removed at the end.
   */
  cpuShares?: CpuShares;
  /**
   * How the new-connection throughput of the two paths is measured (docs/benchmarks.md, "Real OVS"): turns (default):
   * alternating chunks of VIP and static connections in one phase, vadc attached and both flow sets installed (the
   * static path to a second address, as in the latency phase); phases: the old measure, a static phase with the
   * controller detached (staticNatFlows) and then a VIP phase; both: the old phases and then the turns, each ratio.
   */
  throughput?: 'turns' | 'phases' | 'both';
  /** With turns: chunk pairs per run; each chunk is connections / pairs connections of one path. Default 3. */
  throughputPairs?: number;
  /** With turns: perf record (cpu-clock, call graphs) of ovs-vswitchd over each chunk into this directory: its self time per connection by path. */
  ovsProfileDir?: string;
  /**
   * A candidate pipeline for datapath decisions (issue 15), as a bench flow: a new connection's SYN (tcp_flags +syn-ack)
   * to the VIP:port goes from table 0 straight to the service's select group, skipping the first ct(nat) pass. on: every
   * run; abba: runs 2 and 3 of each 4 (ABBA against vadc's own pipeline in one bench). Needs decisions datapath.
   */
  synToGroup?: 'off' | 'on' | 'abba';
  log: (line: string) => void;
}

/** The latency phase seen from inside vadc's process (with traceDir). */
export interface ProcessView {
  /** perf_hooks.monitorEventLoopDelay over the phase (10 ms resolution: a timer every 10 ms is late by this), ms. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  gc: { count: number; totalMs: number; maxMs: number };
  /** vadc's own turn: the OpenFlow socket's last 'data' event before a write that carries a packet-out -> that write, us. */
  inTurnUs: Distribution;
}

export type LatencyTrace = TraceSplit & ProcessView & {
  pcap: string;
  /** With sched: vadc's thread at each packet-in; the data event's moment is from the bench's socket watch. */
  sched?: SchedSplit & {
    /** Packet-in on the wire -> the data event that read it (the last before its packet-out), us. */
    untilDataEventUs: Distribution;
    /** vadc's thread on a CPU -> the data event (work it did first), us. */
    onCpuBeforeDataEventUs: Distribution;
    /** The clock offset (realtime - monotonic) moved by this much over the phase, us. */
    offsetDriftUs: number;
    /** Where the wakeups of vadc's thread put it, for the packet-ins that found it asleep. */
    placement: WakeupPlacement;
  };
  /** ovs-vswitchd's coverage counters that moved over the phase (`ovs-appctl coverage/show` totals), largest first. */
  ovsCoverage: Array<[string, number]>;
};

export interface PhaseResult {
  connections: number;
  failed: number;
  perSecond: number;
  /** Connect times (us) of the sequential latency phase: VIP and static connections by turns, each path's own here. */
  connectUs: Distribution;
  /** Packet-ins the switch sent during the phase (null: no controller attached). */
  packetIns: number | null;
  /** Daemon (this process) CPU over the throughput phase, % of a core. */
  cpuPercent: number | null;
  /** Of the packet-ins, the copies of FIN/RST segments (datapath.end_copies); null: no controller attached. */
  endCopies: number | null;
  /** Of the packet-ins, those of connections already decided (retransmitted SYNs, segments that met a stale datapath entry). */
  repeats: number | null;
  /** Of the packet-ins, the SYN-ACKs flows mode's reply guard sent up. */
  guardedReplies: number | null;
}

export interface RunResult {
  static: PhaseResult;
  vip: PhaseResult;
  ratio: number;
  firstPacketExtraUs: { p50: number; p99: number; max: number };
  iperf: { direct: Iperf3Result; vip: Iperf3Result; ratio: number; packetInsMidTransfer: number; packetInsWholeTransfer: number };
  /** With traceDir: where the latency phase's time went. */
  trace?: LatencyTrace;
  /** With connectCalls: the client kernel's connect(2) call and the reused source ports of the latency phase. */
  connectCall?: ConnectCallSplit;
  /** With attribute: the slowest connects split by schedstat and GC. */
  attribution?: Attribution;
  /** Throughput by turns (the default measure): ratio above is its ratio. */
  turns?: TurnsThroughput;
  /** The latency phase's p99 extra with its spread (bootstrap, halves) and the share of VIP connects over the static p99. */
  tail?: TailSteadiness;
  /** The latency phase's CPU per connect of either path (by turns): vadc's process and ovs-vswitchd, us. */
  latencyCpu?: { vadcUsPerConnect: number; ovsUsPerConnect: number };
  /** Throughput by phases (the old measure; with throughput phases, ratio above is its ratio). */
  phases?: { staticPerSecond: number; vipPerSecond: number; ratio: number };
  /** The VIP's pipeline in this run: vadc's, or with synToGroup's bench flow. */
  pipeline: 'vadc' | 'syn-to-group';
}

export interface HoldResult {
  requested: number;
  held: number;
  failed: number;
  trackedByVadc: number;
  forwardFlows: number;
  reverseFlows: number;
  /** Conntrack mode: the tracker's ESTABLISHED TCP connections in vadc's zone. */
  trackerEstablished?: number;
  /**
   * The hold service's own: vadc's connections and (flows mode) its connection flows by the service's cookie. The
   * totals above also count connections of the earlier phases still inside their idle timeout.
   */
  holdService: { trackedByVadc: number; forwardFlows: number; reverseFlows: number };
  consistent: boolean;
}

export interface RealOvsReport {
  nat: 'flows' | 'conntrack';
  decisions: 'controller' | 'datapath';
  lab: { vip: string; backend: string; clients: string[]; clientPortRange: string; ovs: string };
  runs: RunResult[];
  hold: HoldResult | null;
}

const NOT_RUN: Iperf3Result = { receivedBps: NaN, sentBps: NaN, retransmits: NaN, seconds: 0 };
/** `iperfSeconds: 0`: no iperf3 phase; its figures print as '-'. */
const NO_IPERF: RunResult['iperf'] = { direct: NOT_RUN, vip: NOT_RUN, ratio: NaN, packetInsMidTransfer: NaN, packetInsWholeTransfer: NaN };

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`real-OVS bench: timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Static forward/reverse NAT for the one backend: what vadc installs per connection, but wildcarded, in a
 * table of its own (vadc's pipeline does not survive the controller's removal), everything else NORMAL.
 * The throughput phase's static path (controller detached).
 */
export function staticNatFlows(p: { vip: string; vipMac: string; vipPort: number; backend: LabHost; backendPort: number }): string[] {
  const { vip, vipMac, vipPort, backend, backendPort } = p;
  return [
    `table=0,priority=3000,cookie=${STATIC_COOKIE},tcp,nw_dst=${vip},tp_dst=${vipPort},actions=set_field:${backend.mac}->eth_dst,` +
      `set_field:${backend.ip}->ip_dst,set_field:${backendPort}->tcp_dst,output:${backend.ofport}`,
    `table=0,priority=3000,cookie=${STATIC_COOKIE},tcp,in_port=${backend.ofport},nw_src=${backend.ip},tp_src=${backendPort},` +
      `actions=set_field:${vipMac}->eth_src,set_field:${vip}->ip_src,set_field:${vipPort}->tcp_src,NORMAL`,
    `table=0,priority=2999,cookie=${STATIC_COOKIE},actions=NORMAL`,
  ];
}

/**
 * The latency phase's static path, beside vadc's pipeline while vadc is attached: connections to staticVip:vipPort are
 * translated to the backend's STATIC_SERVER_PORT by wildcarded flows above vadc's table 0 (no packet-in), the replies
 * from that port back to the static VIP and straight to each client's port. Only that server port's replies match,
 * so vadc's own connections to the backend are untouched.
 */
export function interleavedStaticFlows(p: { staticVip: string; vipMac: string; vipPort: number; backend: LabHost; clients: readonly LabHost[] }): string[] {
  const { staticVip, vipMac, vipPort, backend, clients } = p;
  return [
    `table=0,priority=3000,cookie=${STATIC_COOKIE},tcp,nw_dst=${staticVip},tp_dst=${vipPort},actions=set_field:${backend.mac}->eth_dst,` +
      `set_field:${backend.ip}->ip_dst,set_field:${STATIC_SERVER_PORT}->tcp_dst,output:${backend.ofport}`,
    ...clients.map((client) => `table=0,priority=3000,cookie=${STATIC_COOKIE},tcp,in_port=${backend.ofport},nw_src=${backend.ip},` +
      `tp_src=${STATIC_SERVER_PORT},nw_dst=${client.ip},actions=set_field:${vipMac}->eth_src,set_field:${client.mac}->eth_dst,` +
      `set_field:${staticVip}->ip_src,set_field:${vipPort}->tcp_src,output:${client.ofport}`),
  ];
}

function benchConfig(lab: Lab, vip: string, backend: LabHost, nat: 'flows' | 'conntrack', endCopies: number | undefined, decisions: 'controller' | 'datapath', replyGuard?: number,
  ctTimeouts?: Record<string, number>, scheduler = 'rr'): string {
  const service = (name: string, port: number, backendPort: number, idleTimeout: number, finTimeout?: number) => ({
    name, vip, protocol: 'tcp', port, scheduler, decisions, idle_timeout: idleTimeout, ...(finTimeout ? { fin_timeout: finTimeout } : {}),
    backends: [{ vnic: backend.port, ip: backend.ip, ports: [backendPort] }],
  });
  return stringify({
    controller: { listen: 'tcp:127.0.0.1:0', echo_interval: 5 },
    // Conntrack mode reads the lab's tracker through its private ovs-vswitchd.
    datapath: {
      nat, appctl: lab.vswitchdControlSocket, ...(endCopies !== undefined ? { end_copies: endCopies } : {}), ...(replyGuard !== undefined ? { reply_guard: replyGuard } : {}),
      ...(ctTimeouts !== undefined ? { ct_timeouts: ctTimeouts } : {}),
    },
    ovsdb: `unix:${lab.ovsdbSocket}`,
    services: [
      service('conn', 80, SERVER_PORT, 60, 1),
      // Held connections idle for the whole hold: a long idle timeout keeps their flows.
      service('hold', 81, SERVER_PORT, 600, 1),
      service('iperf', IPERF_PORT, IPERF_PORT, 60),
    ],
  });
}

/**
 * CLOCK_REALTIME minus CLOCK_MONOTONIC (hrtime, perf's `-k mono`), us: the moment Date.now() turns to the next ms, read
 * on the monotonic clock (spins up to 1 ms).
 */
function realtimeMinusMonotonicUs(): number {
  let best = { window: Infinity, offset: NaN };
  // The narrowest of a few tries: a preemption inside one widens its window.
  for (let i = 0; i < 5; i++) {
    const d0 = Date.now();
    let before = process.hrtime.bigint();
    let d = Date.now();
    while (d === d0) {
      before = process.hrtime.bigint();
      d = Date.now();
    }
    const after = process.hrtime.bigint();
    if (after - before < best.window) best = { window: Number(after - before), offset: d * 1000 - Number((before + after) / 2n) / 1000 };
  }
  return best.offset;
}

/** The threads of process root and of all its descendants (from /proc), to tell the bench's own processes from others'. */
function processTreeTids(root: number): Set<number> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const tids = new Set<number>();
  const walk = (pid: number) => {
    try {
      for (const t of readdirSync(`/proc/${pid}/task`)) tids.add(Number(t));
    } catch {
      // gone meanwhile
    }
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return tids;
}

/**
 * perf record of every CPU's sched_switch and sched_wakeup into `file`, until stop(); split() then reads vadc's thread
 * (this process's main thread) at each packet-in. `pairs` are the socket watch's [data event, packet-out write] moments
 * (hrtime): the write nearest each packet-out on the wire gives the data event that read its packet-in.
 */
async function startSchedRecord(file: string, core?: number): Promise<{ stop: () => Promise<void>; split: (vip: readonly ConnectionTrace[], pairs: ReadonlyArray<[bigint, bigint]>) => Promise<NonNullable<LatencyTrace['sched']>> }> {
  // taskset execs perf: the same pid, so stop()'s signal reaches perf.
  const child = spawn(core === undefined ? 'perf' : 'taskset', [...(core === undefined ? [] : ['-c', String(core), 'perf']), 'record', '-q', '-m', '4096', '-k', 'mono', '-e', 'sched:sched_switch', '-e', 'sched:sched_wakeup', '-a', '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await sleep(500);
  if (child.exitCode !== null) throw new Error(`perf record failed (exit ${child.exitCode}): ${stderr.trim()}`);
  const offsetStart = realtimeMinusMonotonicUs();
  let offsetEnd = offsetStart;
  // The bench's processes (vadc's thread pool, the lab's clients and servers, dumpcap), once the phase's client runs.
  let own = new Set<number>();
  const snapshot = setTimeout(() => (own = processTreeTids(process.pid)), 1000);
  return {
    stop: async () => {
      clearTimeout(snapshot);
      offsetEnd = realtimeMinusMonotonicUs();
      child.kill('SIGINT');
      await Promise.race([exited, sleep(20_000)]);
    },
    split: async (vip, pairs) => {
      const offset = (offsetStart + offsetEnd) / 2;
      const text = (await runCommand(['perf', 'script', '--ns', '-i', file], { timeoutMs: 300_000 })).stdout;
      const spans = vip.filter((t) => t.packetIn !== undefined && t.packetOut !== undefined).map((t) => ({ packetIn: t.packetIn!, packetOut: t.packetOut! }));
      const label = (tid: number, comm: string) => (own.has(tid) ? `bench's ${comm}` : comm);
      const events = parsePerfSched(text, offset);
      const waits = packetInWaits(events, process.pid, spans, label);
      // Each packet-out on the wire came from the write just before it: its data event read the packet-in.
      const writes = pairs.map(([read, write]) => ({ readUs: Number(read) / 1000 + offset, writeUs: Number(write) / 1000 + offset }));
      const untilData: number[] = [];
      const beforeData: number[] = [];
      for (const w of waits) {
        const pair = nearestBefore(writes, w.packetOutUs);
        if (!pair || pair.readUs < w.packetInUs - 50) continue;
        untilData.push(pair.readUs - w.packetInUs);
        if (Number.isFinite(w.untilOnCpuUs)) beforeData.push(pair.readUs - w.packetInUs - w.untilOnCpuUs);
      }
      return { ...schedSplit(waits), placement: wakeupPlacement(events, process.pid, spans), untilDataEventUs: summarize(untilData), onCpuBeforeDataEventUs: summarize(beforeData), offsetDriftUs: offsetEnd - offsetStart };
    },
  };
}

/** The write last before `us` (writes in time order), allowing 50 us for clock error. */
function nearestBefore(writes: ReadonlyArray<{ readUs: number; writeUs: number }>, us: number): { readUs: number; writeUs: number } | undefined {
  let found: { readUs: number; writeUs: number } | undefined;
  for (const w of writes) {
    if (w.writeUs > us + 50) break;
    found = w;
  }
  return found;
}

class Bench {
  private lab!: Lab;
  private daemon?: VadcDaemon;
  private target = '';
  private vip = '';
  private staticVip = '';
  private vipMac = '';
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-realovs-'));
  private readonly clientScript = path.join(this.dir, 'client.js');
  private readonly serverScript = path.join(this.dir, 'server.js');
  private runIndex = 0;
  private lastTrace?: LatencyTrace;
  private ct?: CtSampler;
  /** With ctStatsMs: the last latency phase's connects, timed. */
  private lastTimed: TimedConnect[] = [];
  /** With connectCalls: the source ports the latency client's namespace used, and the last latency phase's split. */
  private portHistory: PortUse[] = [];
  private lastCalls?: ConnectCallSplit;
  private lastAttribution?: Attribution;
  private lastTail?: TailSteadiness;
  private lastLatencyCpu?: { vadcUsPerConnect: number; ovsUsPerConnect: number };
  /** The session's autogroup nice before autogroupNice changed it (the session outlives the bench: set back at the end). */
  private autogroupNiceBefore?: number;
  private shareGroups?: CpuShareGroups;

  constructor(private readonly opts: RealOvsOptions) {
    writeFileSync(this.clientScript, TCP_CLIENT_JS);
    writeFileSync(this.serverScript, TCP_SERVER_JS);
  }

  async run(): Promise<RealOvsReport> {
    const { log } = this.opts;
    try {
      log('lab up (queued behind other labs on this host if needed) ...');
      this.lab = await Lab.up({ name: PERF_LAB, vms: 1, clients: 2, waitForHostMs: this.opts.waitForHostMs });
      const backend = this.lab.vms[0];
      this.vip = backend.ip.replace(/\.\d+$/, '.100');
      this.staticVip = backend.ip.replace(/\.\d+$/, STATIC_VIP_HOST);
      if (this.opts.cpuShares) this.shareGroups = await CpuShareGroups.apply(this.opts.cpuShares, { vadc: process.pid, ovs: this.vswitchdPid() }, log);
      if (this.opts.ctSweepMs !== undefined) log(`tracker sweep interval ${this.opts.ctSweepMs} ms: ${(await this.lab.appctl('dpctl/ct-set-sweep-interval', String(this.opts.ctSweepMs))).trim() || 'set'}`);
      await this.startServers(backend);
      if (this.shareGroups) log(`cpu shares, with the servers up: ${this.shareGroups.census()}`);
      if (this.opts.autogroupNice !== undefined) {
        this.autogroupNiceBefore = autogroupNice(process.pid);
        if (this.autogroupNiceBefore === undefined) throw new Error('--autogroup-nice: this session is the root autogroup (no line in /proc/self/autogroup), whose nice cannot be set; run the bench under setsid');
        log(`vadc's session's autogroup: ${setAutogroupNice(process.pid, this.opts.autogroupNice)}`);
      }
      if (this.opts.ovsAutogroupNice !== undefined) log(`ovs-vswitchd's autogroup: ${setAutogroupNice(this.vswitchdPid(), this.opts.ovsAutogroupNice)}`);
      if (this.opts.cpuPriority) log(`vadc's thread ${describeCpuPriority(this.opts.cpuPriority)}: ${await applyCpuPriority(process.pid, this.opts.cpuPriority)}`);
      // The main thread only (its thread id is the pid): libuv's and V8's threads keep both cores.
      if (this.opts.pinVadc || this.opts.pinVadcOnly) execFileSync('taskset', ['-p', '-c', String(VADC_CORE), String(process.pid)], { stdio: 'ignore' });
      const text = benchConfig(this.lab, this.vip, backend, this.opts.nat ?? 'flows', this.opts.endCopies, this.opts.decisions ?? 'controller', this.opts.replyGuard, this.opts.ctTimeouts, this.opts.scheduler);
      const config = parseConfig(text, 'real-OVS bench');
      this.vipMac = config.services[0].vip_mac;
      this.daemon = new VadcDaemon({ config, configText: text, statsIntervalMs: this.opts.statsIntervalMs ?? 1000 });
      [this.target] = await this.daemon.start();
      await this.attachController();
      // The same ARP answer vadc gives, fixed up front: the static phase has no controller to answer it.
      for (const client of this.lab.clients) {
        await this.lab.exec(client, ['ip', 'neigh', 'replace', this.vip, 'lladdr', this.vipMac, 'dev', 'eth0', 'nud', 'permanent']);
        await this.lab.exec(client, ['ip', 'neigh', 'replace', this.staticVip, 'lladdr', this.vipMac, 'dev', 'eth0', 'nud', 'permanent']);
      }
      const clientPortRange = await this.clientPortRange();
      log(`clients' ephemeral port range (net.ipv4.ip_local_port_range): ${clientPortRange}`);
      const ovs = await this.lab.ovsVersion();
      log(`OVS: ${ovs}`);
      await this.startCtStats(backend);
      const runs: RunResult[] = [];
      for (let run = 0; run < this.opts.runs; run++) {
        this.runIndex = run;
        this.lastTrace = undefined;
        this.lastCalls = undefined;
        this.lastAttribution = undefined;
        this.lastTail = undefined;
        this.lastLatencyCpu = undefined;
        if (run > 0 && this.opts.runGapS) {
          log(`run ${run + 1}/${this.opts.runs}: waiting ${this.opts.runGapS} s first (--run-gap-s) ...`);
          this.ct?.mark(`gap before run ${run + 1}`);
          await sleep(this.opts.runGapS * 1000);
        }
        const byPhases = (this.opts.throughput ?? 'turns') !== 'turns';
        if (byPhases) log(`run ${run + 1}/${this.opts.runs}: static NAT flows (no controller) ...`);
        this.ct?.mark(`run ${run + 1} static`);
        const oldStatic = byPhases ? await this.staticPhase(backend) : undefined;
        log(`run ${run + 1}/${this.opts.runs}: through the VIP (vadc)${(this.opts.throughput ?? 'turns') !== 'phases' ? ', then both paths by turns' : ''} ...`);
        this.ct?.mark(`run ${run + 1} VIP`);
        const pipeline = synToGroupInRun(this.opts.synToGroup ?? 'off', run) ? 'syn-to-group' : 'vadc';
        if (pipeline === 'syn-to-group') await this.addSynToGroup();
        const { turns, phasesPerSecond, ...vipPhase } = await this.vipPhase(backend).finally(() => this.lab.ofctl('del-flows', `cookie=${SYN_TO_GROUP_COOKIE}/-1`));
        const staticPhase = this.staticResult(oldStatic, turns);
        this.logCtTimeline(run);
        staticPhase.connectUs = vipPhase.staticConnectUs;
        staticPhase.failed += vipPhase.staticFailed;
        log(`run ${run + 1}/${this.opts.runs}: ${this.opts.iperfSeconds > 0 ? 'iperf3 direct and through the VIP ...' : 'iperf3 skipped (--iperf-seconds 0)'}`);
        const iperf = this.opts.iperfSeconds > 0 ? await this.iperf(backend) : NO_IPERF;
        const phases = oldStatic && phasesPerSecond !== undefined
          ? { staticPerSecond: oldStatic.perSecond, vipPerSecond: phasesPerSecond, ratio: phasesPerSecond / oldStatic.perSecond } : undefined;
        runs.push({
          static: staticPhase, vip: vipPhase, ratio: vipPhase.perSecond / staticPhase.perSecond, ...(turns ? { turns } : {}), ...(phases ? { phases } : {}), pipeline,
          firstPacketExtraUs: extraOver(vipPhase.connectUs, staticPhase.connectUs), iperf, ...(this.lastTrace ? { trace: this.lastTrace } : {}),
          ...(this.lastCalls ? { connectCall: this.lastCalls } : {}),
          ...(this.lastAttribution ? { attribution: this.lastAttribution } : {}),
          ...(this.lastTail ? { tail: this.lastTail } : {}), ...(this.lastLatencyCpu ? { latencyCpu: this.lastLatencyCpu } : {}),
        });
        log(`  static ${staticPhase.perSecond.toFixed(0)} conn/s, vip ${vipPhase.perSecond.toFixed(0)} conn/s; ` +
          `connect p99 ${staticPhase.connectUs.p99.toFixed(0)} vs ${vipPhase.connectUs.p99.toFixed(0)} us; iperf ratio ${iperf.ratio.toFixed(3)}`);
      }
      await this.stopCtStats();
      const hold = this.opts.holdConnections > 0 ? await this.holdPhase() : null;
      return { nat: this.opts.nat ?? 'flows', decisions: this.opts.decisions ?? 'controller', lab: { vip: this.vip, backend: `${backend.port} ${backend.ip}`, clients: this.lab.clients.map((c) => c.ip), clientPortRange, ovs }, runs, hold };
    } finally {
      await this.stopCtStats().catch(() => undefined);
      if (this.shareGroups) log(await this.shareGroups.restore().catch((err: Error) => `cpu shares: restoring failed: ${err.message} (see ${this.shareGroups!.hierarchy.root}/vadc-bench-${process.pid}-*)`));
      if (this.autogroupNiceBefore !== undefined) setAutogroupNice(process.pid, this.autogroupNiceBefore);
      await this.daemon?.stop().catch(() => undefined);
      await this.lab?.down().catch((err: Error) => log(`lab down failed: ${err.message} (run: vadc lab down --name ${PERF_LAB})`));
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /**
   * Sets the clients' ephemeral port range (with clientPortRange) and reads it back from each client's namespace: the
   * source ports a client has decide how soon it reuses a 4-tuple toward the one VIP:port (docs/benchmarks.md, issue 15).
   */
  private async clientPortRange(): Promise<string> {
    const ranges = new Set<string>();
    for (const client of this.lab.clients) {
      if (this.opts.clientPortRange) await this.lab.exec(client, ['sysctl', '-q', '-w', `net.ipv4.ip_local_port_range=${this.opts.clientPortRange.join(' ')}`]);
      ranges.add((await this.lab.exec(client, ['sysctl', '-n', 'net.ipv4.ip_local_port_range'])).stdout.trim().split(/\s+/).join('-'));
    }
    return [...ranges].join(', ');
  }

  private vswitchdPid(): number {
    const pid = readPidfile(path.join(this.lab.dir, 'ovs-vswitchd.pid'));
    if (pid === undefined) throw new Error('the lab\'s ovs-vswitchd has no pidfile');
    return pid;
  }

  private async startCtStats(backend: LabHost): Promise<void> {
    if (!this.opts.ctStatsMs) return;
    this.ct = new CtSampler({
      appctl: (...args) => this.lab.appctl(...args), vswitchdPid: this.vswitchdPid(), vswitchdLog: path.join(this.lab.dir, 'ovs-vswitchd.log'),
      backendNetns: backend.netns, clientNetns: this.lab.clients[0].netns, intervalMs: this.opts.ctStatsMs,
    });
    await this.ct.start();
  }

  /** Stops the sampler (once) and prints its samples: tracker size, backend TIME_WAIT, ovs-vswitchd's threads' CPU. */
  private async stopCtStats(): Promise<void> {
    const ct = this.ct;
    if (!ct) return;
    this.ct = undefined;
    const cleanups = await ct.stop();
    const t0 = ct.samples[0]?.atMs ?? 0;
    const cpu = (r: Record<string, number>) => Object.entries(r).filter(([, ms]) => ms >= 0.5).sort((a, b) => b[1] - a[1]).map(([k, ms]) => `${k} ${ms.toFixed(0)}`).join(', ');
    this.opts.log(`ct-stats: ${ct.samples.length} samples, ${cleanups.length} tracker sweeps logged (${cleanups.reduce((n, e) => n + e.entries, 0)} entries, ` +
      `longest ${Math.max(0, ...cleanups.map((e) => e.ms))} ms): ${cleanups.map((e) => `${e.entries} in ${e.ms} ms at ${((e.endMs - t0) / 1000).toFixed(1)} s`).join(', ')}; per sample: s, phase, tracker connections, backend / client TIME_WAIT, ovs-vswitchd threads' CPU ms\n` +
      ct.samples.map((s) => `  ${((s.atMs - t0) / 1000).toFixed(1)} ${s.phase}: ${s.nconns}, ${s.backendTimeWait} / ${s.clientTimeWait}; ${cpu(s.threadCpuMs)}`).join('\n'));
  }

  /** With ctStatsMs: the run's latency phase second by second against the tracker's sweeps. */
  private logCtTimeline(run: number): void {
    if (!this.ct) return;
    const slowUs = 5000;
    const t = ctTimeline(this.lastTimed, this.ct.samples, this.ct.cleanups(), { slowUs });
    this.opts.log(`  run ${run + 1} latency phase, per second (--ct-stats):\n${formatCtTimeline(t, slowUs)}`);
  }

  /**
   * With connectCalls: the latency phase's connect(2) calls and reused source ports (a previous use within 60 s, the
   * backend's TIME_WAIT), and the tracker's warnings in ovs-vswitchd's log so far; logged and kept for the run's result.
   */
  private splitConnectCalls(report: ClientReport, tcp?: TupleFate): void {
    const o = { slowUs: 5000, windowS: 60 };
    const connects = calledConnects(report);
    this.lastCalls = { ...connectCallSplit(connects, this.portHistory, o), ...(tcp ? { tcp } : {}) };
    this.portHistory.push(...connects.map((c) => ({ atMs: c.startMs, port: c.port, dst: c.path, phase: 'latency' })));
    let log = '';
    try {
      log = readFileSync(path.join(this.lab.dir, 'ovs-vswitchd.log'), 'utf8');
    } catch {
      // no log: counts of 0
    }
    const w = countTrackerWarnings(log);
    this.opts.log(`  run ${this.runIndex + 1} connect() calls and source ports (--connect-call):\n${formatConnectCallSplit(this.lastCalls, o)}\n` +
      `  ovs-vswitchd log so far: "Missing parent conn" ${w.missingParent}, "Unable to NAT" ${w.natExhausted}`);
  }

  /** The TCP counters of the backend's and the latency client's namespaces (/proc/net/netstat and snmp). */
  private async tcpCounters(backend: LabHost): Promise<{ backend: Map<string, number>; client: Map<string, number> }> {
    const read = async (host: LabHost) => parseNetstat((await this.lab.exec(host, ['cat', '/proc/net/netstat', '/proc/net/snmp'])).stdout);
    return { backend: await read(backend), client: await read(this.lab.clients[0]) };
  }

  /** The shell prefix that keeps a process the bench starts off vadc's core (with pinVadc), else nothing. */
  private get offVadcCore(): string {
    return this.opts.pinVadc ? `taskset -c ${OTHERS_CORE} ` : '';
  }

  /** With cpuShares: the shell prefix that puts a process the bench starts into its group (the load's unless said). */
  private intoGroup(key: CpuShareKey = 'load'): string {
    return this.shareGroups?.joinPrefix(key) ?? '';
  }

  private async startServers(backend: LabHost): Promise<void> {
    for (const port of [SERVER_PORT, STATIC_SERVER_PORT]) {
      const server = this.lab.spawn(backend, ['sh', '-c', `${this.intoGroup()}ulimit -n $(ulimit -Hn) && exec ${this.offVadcCore}node ${this.serverScript} ${port}`]);
      await new Promise<void>((resolve, reject) => {
        server.stdout?.once('data', () => resolve());
        server.once('exit', (code) => reject(new Error(`bench TCP server on ${port} exited (${code})`)));
      });
    }
    this.lab.spawn(backend, ['sh', '-c', `${this.intoGroup()}exec ${this.offVadcCore}iperf3 -s -p ${IPERF_PORT}`]);
    await sleep(300);
  }

  private switchUp(): boolean {
    const d = this.daemon!;
    // Synced: the switch answered the barrier after vadc's connect flows (a probe sent before met a table without them).
    const switches = d.status().switches;
    return switches.length === 1 && switches[0].flowsSyncedAt !== undefined && d.services().every((s) => s.backends.every((b) => b.ofport !== undefined));
  }

  private async attachController(): Promise<void> {
    await this.lab.setController(this.target);
    await waitFor(() => this.switchUp(), 20_000, 'the switch to connect and the backend to be located');
  }

  private packetIns(): number {
    return this.daemon!.status().switches[0]?.packetIns ?? 0;
  }

  /** The end-copy meter's counters, ovs-vswitchd's packet-in drop counters and vadc's copy count (copy-fate.ts). */
  private async copyCounters(): Promise<CopyCounters> {
    const meter = parseEndCopyMeter(await this.lab.ofctl('meter-stats'));
    const coverage = async (name: string) => parseCoverageCount(name, await this.lab.appctl('coverage/read-counter', name));
    return {
      meterIn: meter?.in ?? null, meterDropped: meter?.dropped ?? null, connQueueDropped: await coverage('rconn_overflow'),
      asyncQueueDropped: await coverage('packet_in_overflow'), received: this.serviceCount('endCopies'),
    };
  }

  /** The ends vadc's tables hold now (copy-fate.ts endCensus): half-closed entries older than 5 s are lost copies. */
  private endCensus(): string {
    const d = this.daemon!;
    const now = Date.now();
    const entries = d.app.serviceStates().flatMap((s) => s.lb.connections.export().map((r) => s.lb.connections.lookup(r)).filter((e) => e !== null));
    return endCensus(entries, now, 5000);
  }

  /** A per-service packet-in count, summed over the services. */
  private serviceCount(field: 'endCopies' | 'repeats' | 'guardedReplies'): number {
    return this.daemon!.status().services.reduce((n, s) => n + s[field], 0);
  }

  private clientArgv(o: ClientOptions, group: CpuShareKey = 'load'): string[] {
    return ['sh', '-c', `${this.intoGroup(group)}ulimit -n $(ulimit -Hn) && exec ${this.offVadcCore}node ${this.clientScript} '${JSON.stringify(o)}'`];
  }

  /** Runs the client in each client namespace at once; rate = all successes / the slowest client's time. */
  private async churn(port: number, phase: string, host = this.vip, connections = this.opts.connections): Promise<{ ok: number; failed: number; perSecond: number; elapsedMs: number }> {
    const per = Math.ceil(connections / this.lab.clients.length);
    const reports = await Promise.all(this.lab.clients.map(async (client, i) => {
      // connectCalls: the latency client's namespace (clients[0]) keeps its source ports for the latency phase's reuse count.
      const ports = this.opts.connectCalls && i === 0;
      const argv = this.clientArgv({ host, port, count: per, concurrency: this.opts.concurrency, timeoutMs: 5000, holdMs: 0, ...(ports ? { times: true, calls: true } : {}) });
      const result = await this.lab.exec(client, argv, { timeoutMs: 300_000 });
      const report = parseClientReport(result.stdout);
      if (ports) this.portHistory.push(...portUses(report, phase, host === this.staticVip ? 'static' : 'vip'));
      return report;
    }));
    const ok = reports.reduce((n, r) => n + r.ok, 0);
    const elapsedMs = Math.max(...reports.map((r) => r.elapsedMs));
    return { ok, failed: reports.reduce((n, r) => n + r.failed, 0), perSecond: perSecond(ok, elapsedMs), elapsedMs };
  }

  /**
   * The first-packet delay: latencyConnections through the VIP and as many through the static path, one after the
   * other by turns from one client, with vadc attached throughout, so both paths see the same moments of the machine
   * (measured as two phases minutes apart, the static path's own p99 moved by more than the difference looked for).
   */
  private async interleavedLatency(backend: LabHost): Promise<{ vip: number[]; static: number[]; vipFailed: number; staticFailed: number }> {
    await this.lab.addFlows(...interleavedStaticFlows({ staticVip: this.staticVip, vipMac: this.vipMac, vipPort: 80, backend, clients: this.lab.clients }));
    try {
      await this.probe(80, 'the latency phase\'s static path', this.staticVip);
      const argv = this.clientArgv({
        host: this.vip, port: 80, count: 2 * this.opts.latencyConnections, concurrency: 1, timeoutMs: 5000, holdMs: 0,
        targets: [{ host: this.vip, port: 80 }, { host: this.staticVip, port: 80 }], ...(this.ct || this.opts.connectCalls || this.opts.attribute ? { times: true } : {}),
        ...(this.opts.connectCalls ? { calls: true } : {}),
        ...(this.opts.attribute ? { schedstat: attributionSchedstatPaths(process.pid, this.vswitchdPid()) } : {}),
      }, 'probe');
      this.ct?.mark(`run ${this.runIndex + 1} latency`);
      const listings = this.daemon ? sampleListings(() => this.daemon?.status().datapath.reading) : undefined;
      const counters = this.opts.connectCalls ? await this.tcpCounters(backend) : undefined;
      const run = () => this.lab.exec(this.lab.clients[0], argv, { timeoutMs: 600_000 });
      const gc = this.opts.attribute ? new GcRecorder().start() : undefined;
      const watched = this.opts.readWaits ? this.watchSessionReads() : undefined;
      const ovs0 = this.vswitchdCpuNs();
      const vadc0 = process.cpuUsage();
      const report = parseClientReport((this.opts.traceDir ? await this.traced(backend, run) : await run()).stdout);
      const vadcCpu = process.cpuUsage(vadc0);
      const ovsUs = (this.vswitchdCpuNs() - ovs0) / 1000;
      if (watched) {
        watched.stop();
        this.opts.log(`  ${formatReadWaits(`run ${this.runIndex + 1} reads over the latency phase`, readWaits(watched.reads))}`);
      }
      if (listings) this.opts.log(`  run ${this.runIndex + 1} latency phase: ${listings.stop()}`);
      let tcp: TupleFate | undefined;
      if (counters) {
        const after = await this.tcpCounters(backend);
        this.opts.log(`  run ${this.runIndex + 1} TCP counters over the latency phase: backend ${counterDeltas(counters.backend, after.backend)}; ` +
          `latency client ${counterDeltas(counters.client, after.client)}`);
        tcp = tupleFate(counters, after);
      }
      if (gc) {
        const pauses = gc.stop();
        this.lastAttribution = attribute(attributedConnects(report, pauses), pauses, undefined, gc.newSpaceMB);
      }
      const [vip, statik] = report.connectUsByTarget ?? [[], []];
      // Both paths' connects by turns: what the phase cost vadc's process and ovs-vswitchd per connect of either path.
      const connects = vip.length + statik.length;
      this.lastLatencyCpu = { vadcUsPerConnect: (vadcCpu.user + vadcCpu.system) / connects, ovsUsPerConnect: ovsUs / connects };
      this.lastTail = tailSteadiness(vip, statik);
      this.opts.log(`  run ${this.runIndex + 1} latency phase: vadc's CPU ${this.lastLatencyCpu.vadcUsPerConnect.toFixed(0)} us and ovs-vswitchd's `
        + `${this.lastLatencyCpu.ovsUsPerConnect.toFixed(0)} us per connect (${connects}, both paths); ${formatTailSteadiness(this.lastTail)}`);
      this.lastTimed = timedConnects(report);
      if (this.opts.connectCalls) this.splitConnectCalls(report, tcp);
      const [vipFailed, staticFailed] = report.failedByTarget ?? [report.failed, 0];
      return { vip, static: statik, vipFailed, staticFailed };
    } finally {
      await this.lab.ofctl('del-flows', `cookie=${STATIC_COOKIE}/-1`);
    }
  }

  /**
   * Runs the latency phase under dumpcap (the client's and the backend's OVS ports, the OpenFlow connection on the
   * loopback) with vadc's process watched (event-loop delay, GC pauses), and keeps the split (lastTrace).
   */
  private async traced<T>(backend: LabHost, work: () => Promise<T>): Promise<T> {
    const dir = this.opts.traceDir!;
    mkdirSync(dir, { recursive: true });
    const pcap = path.join(dir, `latency-run${this.runIndex + 1}.pcapng`);
    const controllerPort = Number(this.target.split(':').pop());
    const client = this.lab.clients[0];
    const capture = spawn(this.opts.pinVadc ? 'taskset' : 'dumpcap', [...(this.opts.pinVadc ? ['-c', String(OTHERS_CORE), 'dumpcap'] : []), '-q', '-s', '0', '-i', 'lo', '-f', `tcp port ${controllerPort}`, '-i', client.port, '-f', 'tcp',
      '-i', backend.port, '-f', 'tcp', '-w', pcap], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => capture.once('exit', (code) => resolve(code)));
    let stderr = '';
    capture.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await waitFor(() => /Capturing on/.test(stderr) || capture.exitCode !== null, 10_000, 'dumpcap to start');
    await sleep(500); // all three interfaces open
    const pauses: Pause[] = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) pauses.push({ startUs: (performance.timeOrigin + e.startTime) * 1000, durationUs: e.duration * 1000 });
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    const turns = this.watchTurns();
    const coverageBefore = parseCoverage(await this.lab.appctl('coverage/show'));
    const perf = this.opts.sched ? await startSchedRecord(pcap.replace(/\.pcapng$/, '.sched.data'), this.opts.pinVadc ? OTHERS_CORE : undefined) : undefined;
    delay.enable();
    let result: T;
    try {
      result = await work();
    } finally {
      delay.disable();
      gcObserver.disconnect();
      turns.stop();
      await sleep(300);
      capture.kill('SIGINT');
      await Promise.race([exited, sleep(10_000)]);
      await perf?.stop();
    }
    if (capture.exitCode !== 0) throw new Error(`dumpcap failed (exit ${capture.exitCode}): ${stderr.trim()}`);
    const coverage = coverageDelta(coverageBefore, parseCoverage(await this.lab.appctl('coverage/show')));
    const packets = readPcapng(readFileSync(pcap));
    const traces = connectionTraces(packets, {
      clientIface: client.port, backendIface: backend.port, controllerPort, clientIp: client.ip, backendIp: backend.ip,
      paths: { [this.vip]: 'vip', [this.staticVip]: 'static' },
    });
    const split = splitTraces(traces, { pauses, statsRequests: multipartRequestTimes(packets, controllerPort) });
    const ms = (ns: number) => ns / 1e6;
    this.lastTrace = {
      ...split, pcap, ovsCoverage: coverage, ...(perf ? { sched: await perf.split(traces.filter((t) => t.path === 'vip'), turns.pairs) } : {}),
      eventLoopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      inTurnUs: summarize(turns.us),
      gc: { count: pauses.length, totalMs: pauses.reduce((n, p) => n + p.durationUs, 0) / 1000, maxMs: Math.max(0, ...pauses.map((p) => p.durationUs)) / 1000 },
    };
    return result;
  }

  /**
   * vadc's own turn on the switch's socket: from its last 'data' event to the next write that carries a packet-out
   * (the last data before it is the packet-in it answers; end copies and statistics replies get no packet-out).
   */
  private watchTurns(): { us: number[]; pairs: Array<[bigint, bigint]>; stop: () => void } {
    const socket = (this.daemon!.controller.switches()[0] as unknown as { socket: Socket }).socket;
    const us: number[] = [];
    const pairs: Array<[bigint, bigint]> = [];
    let readAt: bigint | undefined;
    const onData = () => { readAt = process.hrtime.bigint(); };
    socket.prependListener('data', onData);
    const write = socket.write;
    const OFPT_PACKET_OUT = 13;
    socket.write = function watched(this: Socket, chunk: unknown, ...rest: unknown[]) {
      if (readAt !== undefined && Buffer.isBuffer(chunk) && chunk[1] === OFPT_PACKET_OUT) {
        const now = process.hrtime.bigint();
        us.push(Number(now - readAt) / 1000);
        pairs.push([readAt, now]);
        readAt = undefined;
      }
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof socket.write;
    return {
      us,
      pairs,
      stop: () => {
        socket.removeListener('data', onData);
        socket.write = write;
      },
    };
  }

  /** vadc's reads of its one switch's socket (read-waits.ts). */
  private watchSessionReads(): ReturnType<typeof watchReads> {
    const session = this.daemon!.controller.switches()[0];
    return watchReads(session, (session as unknown as { socket: Socket }).socket);
  }

  /** One connection first: a path that does not work fails the run at once, with the flow table as evidence. */
  private async probe(port: number, what: string, host = this.vip): Promise<void> {
    const argv = this.clientArgv({ host, port, count: 1, concurrency: 1, timeoutMs: 3000, holdMs: 0 });
    const report = parseClientReport((await this.lab.exec(this.lab.clients[0], argv, { timeoutMs: 20_000 })).stdout);
    if (report.ok === 1) return;
    const flows = await this.lab.ofctl('dump-flows');
    throw new Error(`a test connection over ${what} failed; flow table:\n${flows}`);
  }

  private async staticPhase(backend: LabHost): Promise<PhaseResult> {
    await this.lab.setController('');
    await waitFor(() => this.daemon!.status().switches.length === 0, 10_000, 'the switch to drop the controller');
    await this.lab.addFlows(...staticNatFlows({ vip: this.vip, vipMac: this.vipMac, vipPort: 80, backend, backendPort: SERVER_PORT }));
    try {
      await this.probe(80, 'static NAT flows');
      const load = await this.churn(80, 'static churn');
      return {
        // connectUs: the latency phase's static path, measured by turns with the VIP's (vipPhase).
        connections: load.ok, failed: load.failed, perSecond: load.perSecond, connectUs: summarize([]),
        packetIns: null, cpuPercent: null, endCopies: null, repeats: null, guardedReplies: null,
      };
    } finally {
      await this.lab.ofctl('del-flows', `cookie=${STATIC_COOKIE}/-1`);
      await this.attachController();
    }
  }

  private async trackerSummary(): Promise<string> {
    const counts = new Map<string, number>();
    for (const e of parseConntrackDump(await this.lab.appctl('dpctl/dump-conntrack')).entries) {
      const key = `${e.zone}/${e.proto}/${e.state ?? '-'}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([k, n]) => `${k} ${n}`).join(', ') || 'empty';
  }

  private async vipPhase(backend: LabHost): Promise<PhaseResult & { staticConnectUs: Distribution; staticFailed: number; turns?: TurnsThroughput; phasesPerSecond?: number }> {
    await sleep(1500); // let the previous phase's connection flows finish their fin_timeout
    if (this.opts.nat === 'conntrack') this.opts.log(`  tracker before the VIP phase (zone/proto/state count): ${await this.trackerSummary()}`);
    await this.probe(80, 'the VIP (vadc)');
    const before = this.packetIns();
    const copiesBefore = this.serviceCount('endCopies');
    const fateBefore = await this.copyCounters();
    const repeatsBefore = this.serviceCount('repeats');
    const guardedBefore = this.serviceCount('guardedReplies');
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const kinds = new Map<string, number>();
    const onEvent = (e: { kind: string }) => kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    this.daemon!.bus.on('event', onEvent);
    const mode = this.opts.throughput ?? 'turns';
    const old = mode !== 'turns' ? await this.churn(80, 'VIP churn') : undefined;
    const turns = mode !== 'phases' ? await this.throughputByTurns(backend) : undefined;
    const load = turns
      ? { ok: (old?.ok ?? 0) + turns.vip.connections, failed: (old?.failed ?? 0) + turns.vip.failed, perSecond: turns.vip.perSecond }
      : old!;
    this.daemon!.bus.off('event', onEvent);
    const cpu = process.cpuUsage(cpu0);
    if (this.opts.nat === 'conntrack') this.opts.log(`  tracker after the VIP load: ${await this.trackerSummary()}; ${load.failed} failed`);
    this.opts.log(`  VIP load: ${load.ok} ok, ${load.failed} failed, ${this.packetIns() - before} packet-ins (end copies ${this.serviceCount('endCopies') - copiesBefore}, `
      + `repeats ${this.serviceCount('repeats') - repeatsBefore}, reply guard ${this.serviceCount('guardedReplies') - guardedBefore}); events ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
    // By turns: vadc's CPU over the VIP chunks alone (the static chunks' connections do not reach it).
    const cpuPct = turns ? turns.vip.vadcCpuPercent : cpuPercent(cpu.user + cpu.system, Date.now() - t0);
    const seq = await this.interleavedLatency(backend);
    this.opts.log(`  run ${this.runIndex + 1} (VIP load and latency phase) ${formatCopyFate(fateBefore, await this.copyCounters())}; ${this.endCensus()}`);
    return {
      staticConnectUs: summarize(seq.static), staticFailed: seq.staticFailed,
      connections: load.ok, failed: load.failed + seq.vipFailed, perSecond: load.perSecond, connectUs: summarize(seq.vip),
      packetIns: this.packetIns() - before, cpuPercent: cpuPct, endCopies: this.serviceCount('endCopies') - copiesBefore,
      repeats: this.serviceCount('repeats') - repeatsBefore, guardedReplies: this.serviceCount('guardedReplies') - guardedBefore,
      ...(turns ? { turns } : {}), ...(old ? { phasesPerSecond: old.perSecond } : {}),
    };
  }

  /** The static path's figures: by turns (with the old static phase's failures, if it ran too), else the old phase's. */
  private staticResult(old: PhaseResult | undefined, turns: TurnsThroughput | undefined): PhaseResult {
    if (!turns) return old!;
    return {
      connections: turns.static.connections, failed: turns.static.failed + (old?.failed ?? 0), perSecond: turns.static.perSecond, connectUs: summarize([]),
      packetIns: null, cpuPercent: null, endCopies: null, repeats: null, guardedReplies: null,
    };
  }

  /**
   * Throughput by turns: connections / pairs connections a chunk, VIP and static chunks as chunkOrder says, both flow
   * sets installed (vadc's pipeline for the VIP, interleavedStaticFlows for the static address), each chunk's
   * ovs-vswitchd CPU, vadc CPU and datapath counters read around it (and with ovsProfileDir a perf record of it).
   */
  private async throughputByTurns(backend: LabHost): Promise<TurnsThroughput> {
    const pairs = this.opts.throughputPairs ?? 3;
    const perChunk = Math.max(this.lab.clients.length, Math.round(this.opts.connections / pairs));
    await this.lab.addFlows(...interleavedStaticFlows({ staticVip: this.staticVip, vipMac: this.vipMac, vipPort: 80, backend, clients: this.lab.clients }));
    const profiler = this.opts.ovsProfileDir ? new OvsProfiler(this.opts.ovsProfileDir, this.vswitchdPid(), `run${this.runIndex + 1}`) : undefined;
    try {
      await this.probe(80, 'the static path by turns', this.staticVip);
      const chunks: ThroughputChunk[] = [];
      const watched = this.opts.readWaits ? this.watchSessionReads() : undefined;
      for (const [i, p] of chunkOrder(pairs).entries()) {
        await this.lab.appctl('dpif-netdev/pmd-stats-clear');
        const ovs0 = this.vswitchdCpuNs();
        const vadc0 = process.cpuUsage();
        const wall0 = performance.now();
        const stopProfile = await profiler?.start(`${i + 1}-${p}`, p);
        const load = await this.churn(80, `${p} chunk ${i + 1}`, p === 'vip' ? this.vip : this.staticVip, perChunk);
        await stopProfile?.();
        const vadc = process.cpuUsage(vadc0);
        chunks.push({
          path: p, ok: load.ok, failed: load.failed, elapsedMs: load.elapsedMs, wallMs: performance.now() - wall0, vadcCpuUs: vadc.user + vadc.system,
          ovsCpuUs: (this.vswitchdCpuNs() - ovs0) / 1000, datapath: parsePmdCounters(await this.lab.appctl('dpif-netdev/pmd-stats-show')),
        });
      }
      if (watched) {
        watched.stop();
        this.opts.log(`  ${formatReadWaits(`run ${this.runIndex + 1} reads over the turns`, readWaits(watched.reads))}`);
      }
      const t = turnsThroughput(chunks);
      this.opts.log(`  by turns: ${chunks.map((c) => `${c.path} ${c.ok} in ${c.elapsedMs.toFixed(0)} ms`).join(', ')}; ratio ${t.ratio.toFixed(3)}, pairs ${t.pairRatios.map((r) => r.toFixed(3)).join(' ')}`);
      // Chunk by chunk: a freshly started vadc's first connections cost it more (docs/benchmarks.md, copy17).
      const vadcUs = chunks.map((c) => (c.vadcCpuUs !== undefined && c.ok > 0 ? `${c.path} ${(c.vadcCpuUs / c.ok).toFixed(0)}` : `${c.path} -`));
      this.opts.log(`  vadc's CPU us per connection chunk by chunk: ${vadcUs.join(', ')}`);
      return profiler ? { ...t, profile: await profiler.split(t) } : t;
    } finally {
      await this.lab.ofctl('del-flows', `cookie=${STATIC_COOKIE}/-1`);
    }
  }

  /**
   * synToGroup's bench flow: the conn service's SYNs from table 0 straight to its select group, above vadc's SERVICE
   * flow (132 for a /32 VIP) and below its END_COPY band (140+: FIN/RST, never a SYN without ACK).
   */
  private async addSynToGroup(): Promise<void> {
    if (this.opts.decisions !== 'datapath') throw new Error('--syn-to-group needs --decisions datapath (the service\'s select group)');
    const group = serviceGroupId(serviceIds(this.daemon!.services().map((s) => s.name)).get('conn')!);
    await this.lab.addFlows(`table=0,priority=136,cookie=${SYN_TO_GROUP_COOKIE},tcp,nw_dst=${this.vip},tp_dst=80,tcp_flags=+syn-ack,actions=group:${group}`);
  }

  /** ovs-vswitchd's CPU so far, all its threads (schedstat), ns. */
  private vswitchdCpuNs(): number {
    const dir = `/proc/${this.vswitchdPid()}/task`;
    const texts: string[] = [];
    for (const tid of readdirSync(dir)) {
      try {
        texts.push(readFileSync(`${dir}/${tid}/schedstat`, 'utf8'));
      } catch {
        // the thread ended meanwhile
      }
    }
    return schedstatCpuNs(texts);
  }

  private async iperf(backend: LabHost): Promise<RunResult['iperf']> {
    const client = this.lab.clients[0];
    const iperf = (host: string) => retryRefused(async () => {
      const r = await this.lab.exec(client, ['iperf3', '-c', host, '-p', String(IPERF_PORT), '-t', String(this.opts.iperfSeconds), '-J'],
        { timeoutMs: (this.opts.iperfSeconds + 20) * 1000 });
      return parseIperf3Json(r.stdout);
    }, 3, 200, (err) => this.opts.log(`  iperf3 to ${host}: ${err.message} (the server between two tests has no listening socket); again in 200 ms`));
    // Events from the direct transfer on (an outlier ejection of the iperf service's port shows here).
    const events: string[] = [];
    const onEvent = (e: { kind: string; service?: string; message: string }) => events.push(`${e.kind}${e.service ? ` ${e.service}` : ''}: ${e.message}`);
    this.daemon!.bus.on('event', onEvent);
    let midStart = 0;
    let midEnd = 0;
    let before = 0;
    let kindsBefore: number[] = [];
    let vip: Iperf3Result;
    try {
      const direct = await iperf(backend.ip);
      before = this.packetIns();
      kindsBefore = [this.serviceCount('endCopies'), this.serviceCount('repeats'), this.serviceCount('guardedReplies')];
      // Mid-transfer window: after iperf3's control and data connections were set up, before it ends.
      vip = await whilePending(iperf(this.vip), async () => {
        await sleep(1500);
        midStart = this.packetIns();
        await sleep(Math.max(500, (this.opts.iperfSeconds - 2.5) * 1000));
        midEnd = this.packetIns();
      });
      return this.iperfResult(direct, vip, before, kindsBefore, midEnd - midStart, events);
    } catch (err) {
      // The evidence for why: what vadc saw and decided, and the switch's groups, at the failure.
      this.opts.log(`  iperf3 failed: ${(err as Error).message}\n  events since the direct transfer: ${events.join('; ') || 'none'}\n` +
        `  iperf service (decided by ${this.daemon!.app.decidedBy('iperf')}): ${JSON.stringify(this.daemon!.services().find((s) => s.name === 'iperf'))}\n` +
        `  groups:\n${await this.lab.ofctl('dump-groups').catch((e: Error) => e.message)}`);
      throw err;
    } finally {
      this.daemon!.bus.off('event', onEvent);
    }
  }

  private iperfResult(direct: Iperf3Result, vip: Iperf3Result, before: number, kindsBefore: number[], packetInsMidTransfer: number, events: string[]): RunResult['iperf'] {
    const [copies, repeats, guarded] = [this.serviceCount('endCopies'), this.serviceCount('repeats'), this.serviceCount('guardedReplies')].map((n, i) => n - kindsBefore[i]);
    this.opts.log(`  iperf3 through the VIP: ${this.packetIns() - before} packet-ins (end copies ${copies}, repeats ${repeats}, reply guard ${guarded}); ` +
      `events since the direct transfer: ${events.join('; ') || 'none'}`);
    return {
      direct, vip, ratio: vip.receivedBps / direct.receivedBps, packetInsMidTransfer, packetInsWholeTransfer: this.packetIns() - before,
    };
  }

  /** Connection flows in the switch: all, or one service's (by the service id in their cookie). */
  private async countConnectionFlows(service?: string): Promise<{ forward: number; reverse: number }> {
    let selector = CONNECTION_COOKIES;
    if (service !== undefined) {
      const { cookie, cookieMask } = connectionsOfService(serviceIds(this.daemon!.services().map((s) => s.name)).get(service)!);
      selector = `cookie=0x${cookie.toString(16)}/0x${cookieMask.toString(16)}`;
    }
    const counts = countDumpedFlows(await this.lab.ofctl('dump-flows', selector));
    return { forward: counts.byTable.get(1) ?? 0, reverse: counts.byTable.get(2) ?? 0 };
  }

  private async countTrackerConnections(): Promise<number> {
    const zone = this.daemon!.status().datapath.ctZone;
    return parseConntrackDump(await this.lab.appctl('dpctl/dump-conntrack', `zone=${zone}`)).entries.filter((e) => e.proto === 'tcp' && e.state === 'ESTABLISHED').length;
  }

  private async holdPhase(): Promise<HoldResult> {
    const { log } = this.opts;
    await sleep(2500);
    const per = Math.ceil(this.opts.holdConnections / this.lab.clients.length);
    log(`holding ${per * this.lab.clients.length} concurrent connections through the VIP ...`);
    const holdMs = 15_000;
    const children = this.lab.clients.map((client) => this.lab.spawn(client, this.clientArgv({
      host: this.vip, port: 81, count: per, concurrency: 64, timeoutMs: 10_000, holdMs,
    })));
    const outputs = children.map((child) => {
      let out = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      return { text: () => out, exited };
    });
    await waitFor(() => outputs.every((o) => o.text().includes('HELD ')), 300_000, 'all held connections to open');
    const heldCounts = outputs.map((o) => /HELD (\d+) (\d+)/.exec(o.text())!);
    const held = heldCounts.reduce((n, m) => n + Number(m[1]), 0);
    const failed = heldCounts.reduce((n, m) => n + Number(m[2]), 0);
    await sleep(1500); // the last flow-mods applied, the last flow stats read
    const flows = await this.countConnectionFlows();
    const trackedByVadc = this.daemon!.connections().length;
    const holdService = { trackedByVadc: this.daemon!.connections({ service: 'hold' }).length, ...await this.countConnectionFlows(HOLD_SERVICE) };
    // Conntrack mode: the datapath's own record of the connections is the tracker (vadc's zone, ESTABLISHED).
    const tracker = this.opts.nat === 'conntrack' ? await this.countTrackerConnections() : undefined;
    if (this.opts.nat === 'conntrack') log(`  tracker while held: ${await this.trackerSummary()}`);
    log(`  held ${held} (failed ${failed}); vadc tracks ${trackedByVadc}; flows forward ${flows.forward}, reverse ${flows.reverse}` +
      `${tracker !== undefined ? `; tracker established ${tracker}` : ''}; of the hold service: vadc ${holdService.trackedByVadc}, ` +
      `flows forward ${holdService.forward}, reverse ${holdService.reverse}`);
    await Promise.all(outputs.map((o) => o.exited));
    return {
      requested: per * this.lab.clients.length, held, failed, trackedByVadc, forwardFlows: flows.forward, reverseFlows: flows.reverse,
      ...(tracker !== undefined ? { trackerEstablished: tracker } : {}),
      holdService: { trackedByVadc: holdService.trackedByVadc, forwardFlows: holdService.forward, reverseFlows: holdService.reverse },
      consistent: tracker !== undefined ? trackedByVadc === tracker
        : trackedByVadc === flows.forward && flows.forward === flows.reverse && [holdService.trackedByVadc, holdService.forward, holdService.reverse].every((n) => n === held),
    };
  }
}

/** The latency client's connects with their start on the wall clock (target 0 the VIP, 1 the static path). */
function timedConnects(r: ClientReport): TimedConnect[] {
  if (r.t0EpochMs === undefined || !r.startUsByTarget || !r.connectUsByTarget) return [];
  const out: TimedConnect[] = [];
  r.startUsByTarget.forEach((starts, target) => starts.forEach((us, i) => out.push({
    startMs: r.t0EpochMs! + us / 1000, us: r.connectUsByTarget![target][i], path: target === 0 ? 'vip' : 'static',
  })));
  return out;
}

/** The source ports a client used (target 0: `first`, the VIP unless said), with their start on the wall clock; needs times and calls. */
function portUses(r: ClientReport, phase: string, first: 'vip' | 'static' = 'vip'): PortUse[] {
  if (r.t0EpochMs === undefined || !r.startUsByTarget || !r.portByTarget) return [];
  return r.startUsByTarget.flatMap((starts, target) => starts.map((us, i) => ({
    atMs: r.t0EpochMs! + us / 1000, port: r.portByTarget![target][i], dst: target === 0 ? first : 'static', phase,
  })));
}

/** The latency client's connects with their connect(2) call and source port (target 0 the VIP, 1 the static path). */
function calledConnects(r: ClientReport): CalledConnect[] {
  if (r.t0EpochMs === undefined || !r.startUsByTarget || !r.connectUsByTarget || !r.callUsByTarget || !r.callEndUsByTarget || !r.portByTarget) return [];
  return r.startUsByTarget.flatMap((starts, target) => starts.map((us, i) => ({
    startMs: r.t0EpochMs! + us / 1000, us: r.connectUsByTarget![target][i], callUs: r.callUsByTarget![target][i],
    callEndUs: r.callEndUsByTarget![target][i], port: r.portByTarget![target][i], path: target === 0 ? 'vip' as const : 'static' as const,
  })));
}

export function runRealOvsBench(opts: RealOvsOptions): Promise<RealOvsReport> {
  return new Bench(opts).run();
}
