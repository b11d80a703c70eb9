// The real-OVS bench's --attribute (issue 15): where the slowest first packets' time went, without a capture. The
// latency client reads vadc's thread's, ovs-vswitchd's main thread's and its own schedstat around every connect (CPU
// time and run-queue wait over the connect); vadc's process records its GC pauses with their moments. Each connect
// of the slowest 1 % and 2 % through the VIP is then split into what those explain. Pure but for GcRecorder.
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { ClientReport } from './realovs-scripts';

/** The threads read around each connect, in the client's schedstat order. */
export const ATTRIBUTED_THREADS = ['vadc', 'ovs', 'client'] as const;
export type AttributedThread = typeof ATTRIBUTED_THREADS[number];

/** The schedstat files of ATTRIBUTED_THREADS: vadc's main thread, ovs-vswitchd's main thread (it polls the non-PMD
 * ports, sends the packet-ins and runs the packet-outs), the latency client's own thread. */
export function attributionSchedstatPaths(vadcPid: number, vswitchdPid: number): string[] {
  return [`/proc/${vadcPid}/task/${vadcPid}/schedstat`, `/proc/${vswitchdPid}/task/${vswitchdPid}/schedstat`, '/proc/thread-self/schedstat'];
}

/**
 * A thread over one connect. schedstat's CPU time of a thread that is running when read lags (the kernel adds to it when
 * the thread leaves the CPU or at a tick); its run-queue wait is added when a wait ends, so a wakeup's wait that ended
 * before the connect completed is counted.
 */
export interface ThreadSpan {
  /** Time on a CPU over the connect, us. */
  cpuUs: number;
  /** Time runnable but waiting for a CPU over the connect, us. */
  waitUs: number;
}

export interface GcPause {
  /** Epoch ms (performance.timeOrigin + the entry's startTime). */
  startMs: number;
  ms: number;
  kind: 'minor' | 'major' | 'incremental' | 'weakcb' | 'other';
}

export interface AttributedConnect {
  path: 'vip' | 'static';
  /** Epoch ms. */
  startMs: number;
  us: number;
  threads: Record<AttributedThread, ThreadSpan>;
  /** GC pause time of vadc's process inside the connect, us. */
  gcUs: number;
}

/** The client's report with schedUsByTarget joined to the GC pauses (target 0 the VIP, 1 the static path). */
export function attributedConnects(r: ClientReport, pauses: readonly GcPause[]): AttributedConnect[] {
  if (r.t0EpochMs === undefined || !r.startUsByTarget || !r.connectUsByTarget || !r.schedUsByTarget) return [];
  const out: AttributedConnect[] = [];
  r.connectUsByTarget.forEach((times, target) => times.forEach((us, i) => {
    const startMs = r.t0EpochMs! + r.startUsByTarget![target][i] / 1000;
    const flat = r.schedUsByTarget![target][i] ?? [];
    const threads = Object.fromEntries(ATTRIBUTED_THREADS.map((name, k) => [name, { cpuUs: flat[2 * k] ?? NaN, waitUs: flat[2 * k + 1] ?? NaN }])) as Record<AttributedThread, ThreadSpan>;
    out.push({ path: target === 0 ? 'vip' : 'static', startMs, us, threads, gcUs: overlapUs(startMs, startMs + us / 1000, pauses) });
  }));
  return out;
}

/** GC pause time inside [fromMs, toMs], us. */
export function overlapUs(fromMs: number, toMs: number, pauses: readonly GcPause[]): number {
  let ms = 0;
  for (const p of pauses) ms += Math.max(0, Math.min(toMs, p.startMs + p.ms) - Math.max(fromMs, p.startMs));
  return ms * 1000;
}

/** What a connect's excess over the static path's median is put down to: the largest part, if it is at least a quarter. */
export type Cause = 'vadc waits for a CPU' | 'vadc busy (its CPU time)' | 'vadc GC' | 'ovs-vswitchd waits for a CPU' | 'client waits for a CPU' | 'not explained';

export interface Parts {
  vadcWaitUs: number;
  /** vadc's CPU time over the connect above its median over all VIP connects (its usual turn), GC excluded. */
  vadcBusyUs: number;
  gcUs: number;
  ovsWaitUs: number;
  clientWaitUs: number;
}

export interface GroupAttribution {
  /** The group: the slowest `share` of the path's connects. */
  share: number;
  connects: number;
  /** The fastest connect of the group (the percentile's value), us. */
  fromUs: number;
  /** Sum over the group of each connect's time above the static path's median, us. */
  excessUs: number;
  /** Sums over the group, us. */
  parts: Parts;
  /** Connects by their largest part. */
  causes: Partial<Record<Cause, number>>;
}

export interface Attribution {
  vipConnects: number;
  staticConnects: number;
  staticP50Us: number;
  /** The medians over all VIP connects: vadc's CPU and wait, ovs-vswitchd's wait, us. */
  vipMedian: { vadcCpuUs: number; vadcWaitUs: number; ovsWaitUs: number };
  vip: GroupAttribution[];
  /** The slowest static connects (no packet-in): what the machine does to a connect without vadc. */
  static: GroupAttribution[];
  gc: { pauses: number; totalMs: number; maxMs: number; byKind: Partial<Record<GcPause['kind'], number>>; newSpaceMB?: number };
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** A connect's parts (us) against the usual vadc CPU time per VIP connect. */
export function partsOf(c: AttributedConnect, usualVadcCpuUs: number): Parts {
  return {
    vadcWaitUs: c.threads.vadc.waitUs,
    vadcBusyUs: Math.max(0, c.threads.vadc.cpuUs - c.gcUs - usualVadcCpuUs),
    gcUs: c.gcUs,
    ovsWaitUs: c.threads.ovs.waitUs,
    clientWaitUs: c.threads.client.waitUs,
  };
}

/** The largest part of a connect's excess, if it is at least a quarter of it. */
export function causeOf(parts: Parts, excessUs: number): Cause {
  const named: Array<[Cause, number]> = [
    ['vadc waits for a CPU', parts.vadcWaitUs], ['vadc busy (its CPU time)', parts.vadcBusyUs], ['vadc GC', parts.gcUs],
    ['ovs-vswitchd waits for a CPU', parts.ovsWaitUs], ['client waits for a CPU', parts.clientWaitUs],
  ];
  const [cause, us] = named.reduce((a, b) => (b[1] > a[1] ? b : a));
  return excessUs > 0 && us >= excessUs / 4 ? cause : 'not explained';
}

function group(connects: readonly AttributedConnect[], share: number, staticP50Us: number, usualVadcCpuUs: number): GroupAttribution {
  const n = Math.max(1, Math.ceil(connects.length * share));
  const slowest = [...connects].sort((a, b) => b.us - a.us).slice(0, n);
  const parts: Parts = { vadcWaitUs: 0, vadcBusyUs: 0, gcUs: 0, ovsWaitUs: 0, clientWaitUs: 0 };
  const causes: GroupAttribution['causes'] = {};
  let excessUs = 0;
  for (const c of slowest) {
    const p = partsOf(c, usualVadcCpuUs);
    for (const k of Object.keys(parts) as Array<keyof Parts>) parts[k] += p[k];
    const excess = c.us - staticP50Us;
    excessUs += Math.max(0, excess);
    const cause = causeOf(p, excess);
    causes[cause] = (causes[cause] ?? 0) + 1;
  }
  return { share, connects: slowest.length, fromUs: slowest.length ? slowest[slowest.length - 1].us : NaN, excessUs, parts, causes };
}

/** The slowest `shares` of each path's connects split into parts; the GC pauses over the phase. */
export function attribute(connects: readonly AttributedConnect[], pauses: readonly GcPause[], shares: readonly number[] = [0.01, 0.02], newSpaceMB?: number): Attribution {
  const vip = connects.filter((c) => c.path === 'vip');
  const statik = connects.filter((c) => c.path === 'static');
  const staticP50Us = median(statik.map((c) => c.us));
  const vadcCpuUs = median(vip.map((c) => c.threads.vadc.cpuUs));
  const byKind: Attribution['gc']['byKind'] = {};
  for (const p of pauses) byKind[p.kind] = (byKind[p.kind] ?? 0) + 1;
  return {
    vipConnects: vip.length, staticConnects: statik.length, staticP50Us,
    vipMedian: { vadcCpuUs, vadcWaitUs: median(vip.map((c) => c.threads.vadc.waitUs)), ovsWaitUs: median(vip.map((c) => c.threads.ovs.waitUs)) },
    vip: vip.length ? shares.map((s) => group(vip, s, staticP50Us, vadcCpuUs)) : [],
    static: statik.length ? shares.map((s) => group(statik, s, staticP50Us, vadcCpuUs)) : [],
    gc: { pauses: pauses.length, totalMs: pauses.reduce((n, p) => n + p.ms, 0), maxMs: Math.max(0, ...pauses.map((p) => p.ms)), byKind, ...(newSpaceMB !== undefined ? { newSpaceMB } : {}) },
  };
}

const us = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '-');

export function formatAttribution(a: Attribution): string {
  const row = (path: string, g: GroupAttribution) => {
    const p = g.parts;
    const causes = Object.entries(g.causes).sort((x, y) => y[1] - x[1]).map(([c, n]) => `${c} ${n}`).join(', ');
    return `  ${path} slowest ${(g.share * 100).toFixed(0)} % (${g.connects}, from ${us(g.fromUs)} us): excess over the static median ${us(g.excessUs)} us in all; ` +
      `vadc waiting for a CPU ${us(p.vadcWaitUs)}, vadc busy beyond its usual turn ${us(p.vadcBusyUs)}, GC ${us(p.gcUs)}, ovs-vswitchd main thread ` +
      `waiting ${us(p.ovsWaitUs)}, client waiting ${us(p.clientWaitUs)}; by largest part: ${causes}`;
  };
  const kinds = Object.entries(a.gc.byKind).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  return `attribution (--attribute; schedstat around each connect): ${a.vipConnects} VIP / ${a.staticConnects} static connects, static median ` +
    `${us(a.staticP50Us)} us; VIP medians: vadc CPU ${us(a.vipMedian.vadcCpuUs)} us, vadc waiting ${us(a.vipMedian.vadcWaitUs)} us, ovs-vswitchd waiting ` +
    `${us(a.vipMedian.ovsWaitUs)} us; vadc's GC over the phase: ${a.gc.pauses} pauses (${kinds}), ${a.gc.totalMs.toFixed(1)} ms, longest ${a.gc.maxMs.toFixed(2)} ms` +
    `${a.gc.newSpaceMB !== undefined ? ` (semi-space ${a.gc.newSpaceMB.toFixed(1)} MB at the start)` : ''}\n` +
    `${a.vip.map((g) => row('VIP', g)).join('\n')}\n${a.static.map((g) => row('static', g)).join('\n')}`;
}

const GC_KINDS: Record<number, GcPause['kind']> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** This process's GC pauses with their moments, from start() until stop(). */
export class GcRecorder {
  readonly pauses: GcPause[] = [];
  /** The young generation's capacity when start() was called (V8's new_space: one semi-space), MB. */
  newSpaceMB = NaN;
  /** When start() was called, on the pauses' clock: an entry of a collection that began before it is not ours. */
  private startedMs = Infinity;
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // Node queues a collection's entry after it ends, so one that began before start() can arrive after it (44 ms
      // before, once, in a busy jest worker).
      if (performance.timeOrigin + e.startTime < this.startedMs) continue;
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      this.pauses.push({ startMs: performance.timeOrigin + e.startTime, ms: e.duration, kind: (kind !== undefined && GC_KINDS[kind]) || 'other' });
    }
  });

  start(): this {
    this.newSpaceMB = (getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? NaN) / 2 ** 20;
    this.startedMs = performance.timeOrigin + performance.now();
    this.observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  stop(): GcPause[] {
    this.observer.disconnect();
    return this.pauses;
  }
}
