// The real-OVS bench's --ct-stats: what the userspace connection tracker and ovs-vswitchd's threads did while the
// bench ran, sampled every second, and when each slow connect of the latency phase happened against it (issue 15:
// the third run's ~10 ms first-packet tail). The parsers and the timeline are pure; CtSampler does the reading.
import { readdirSync, readFileSync } from 'node:fs';
import { run as runCommand, sleep } from '../../src/lab/system';

/** One sample: counters read at `atMs` (epoch ms); deltas are since the previous sample. */
export interface CtSample {
  atMs: number;
  /** The bench's phase when read (run and phase, as marked). */
  phase: string;
  /** `dpctl/ct-get-nconns`: the tracker's connections, all zones. */
  nconns: number;
  /** CPU time of ovs-vswitchd's threads by name (digits dropped) since the previous sample, ms (schedstat). */
  threadCpuMs: Record<string, number>;
  /** The backend's TIME_WAIT sockets (its namespace's /proc/net/sockstat). */
  backendTimeWait: number;
  /** The latency phase's client's TIME_WAIT sockets. */
  clientTimeWait: number;
}

/** A sweep of the tracker's clean thread from ovs-vswitchd's log (conntrack at debug level). */
export interface CleanupEvent {
  /** When the log line was written (the sweep's end), epoch ms. */
  endMs: number;
  entries: number;
  ms: number;
}

/** A connect of the latency phase: when it started (epoch ms), how long it took (us), which path. */
export interface TimedConnect {
  startMs: number;
  us: number;
  path: 'vip' | 'static';
}

/** `cat /proc/PID/task/TID/schedstat`: time on a CPU, ns (the first field). */
export function parseSchedstat(text: string): number {
  const first = text.trim().split(/\s+/)[0];
  return /^\d+$/.test(first) ? Number(first) : NaN;
}

/** TCP TIME_WAIT sockets in /proc/net/sockstat (`TCP: inuse 5 orphan 0 tw 11 alloc 7 mem 1`). */
export function parseSockstatTimeWait(text: string): number {
  const m = /^TCP:.*\btw (\d+)/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** A thread's name without its number (`ct_clean3` -> `ct_clean`, `urcu2` -> `urcu`). */
export function threadKind(comm: string): string {
  return comm.trim().replace(/\d+$/, '') || comm.trim();
}

/**
 * The clean thread's sweeps in an ovs-vswitchd log:
 * `2026-12-06T18:40:01.123Z|00042|conntrack(ct_clean3)|DBG|conntrack cleanup 812 entries in 3 msec`.
 */
export function parseCleanupLog(text: string): CleanupEvent[] {
  const events: CleanupEvent[] = [];
  const re = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|[^|]*\|conntrack[^|]*\|DBG\|conntrack cleanup (\d+) entries in (\d+) msec$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) events.push({ endMs: Date.parse(m[1]), entries: Number(m[2]), ms: Number(m[3]) });
  return events;
}

export interface CtTimeline {
  bins: TimelineBin[];
  slowVip: number;
  slowVipDuringSweep: number;
  slowStatic: number;
  /** The slow VIP connects' times (ms, slowest first; at most 100) and when each started (s from the phase's start). */
  slowVipConnects: Array<{ atS: number; ms: number }>;
}

export interface TimelineBin {
  /** Seconds from the first connect of the phase (bin start). */
  fromS: number;
  vip: number;
  vipSlow: number;
  static: number;
  staticSlow: number;
  /** Sweeps that ended in the bin, their entries and their msec summed, and the longest. */
  cleanups: number;
  cleanedEntries: number;
  cleanupMs: number;
  longestCleanupMs: number;
  /** The last sample read in the bin (tracker size, backend TIME_WAIT), and ct_clean's CPU over the samples in it. */
  nconns: number;
  backendTimeWait: number;
  ctCleanCpuMs: number;
}

/**
 * The latency phase second by second (binS): connects and slow connects (> slowUs) of each path, the clean thread's
 * sweeps and CPU, the tracker's size; plus how many slow VIP connects started while a sweep ran (within `nearMs` of
 * one: the log's stamp is the sweep's end, its msec its length, both rounded to 1 ms).
 */
export function ctTimeline(connects: readonly TimedConnect[], samples: readonly CtSample[], cleanups: readonly CleanupEvent[],
  o: { slowUs: number; binS?: number; nearMs?: number }): CtTimeline {
  const binS = o.binS ?? 1;
  const nearMs = o.nearMs ?? 2;
  if (connects.length === 0) return { bins: [], slowVip: 0, slowVipDuringSweep: 0, slowStatic: 0, slowVipConnects: [] };
  const t0 = Math.min(...connects.map((c) => c.startMs));
  const t1 = Math.max(...connects.map((c) => c.startMs + c.us / 1000));
  const n = Math.max(1, Math.ceil((t1 - t0) / 1000 / binS));
  const bins: TimelineBin[] = Array.from({ length: n }, (_, i) => ({
    fromS: i * binS, vip: 0, vipSlow: 0, static: 0, staticSlow: 0, cleanups: 0, cleanedEntries: 0, cleanupMs: 0, longestCleanupMs: 0,
    nconns: NaN, backendTimeWait: NaN, ctCleanCpuMs: 0,
  }));
  const binOf = (ms: number) => Math.floor((ms - t0) / 1000 / binS);
  let slowVip = 0;
  let slowStatic = 0;
  let slowVipDuringSweep = 0;
  const slowVipConnects: CtTimeline['slowVipConnects'] = [];
  for (const c of connects) {
    const b = bins[Math.min(n - 1, binOf(c.startMs))];
    const slow = c.us > o.slowUs;
    if (c.path === 'vip') {
      b.vip++;
      if (slow) {
        b.vipSlow++;
        slowVip++;
        slowVipConnects.push({ atS: (c.startMs - t0) / 1000, ms: c.us / 1000 });
        const end = c.startMs + c.us / 1000;
        if (cleanups.some((e) => e.endMs - e.ms - nearMs <= end && c.startMs <= e.endMs + nearMs)) slowVipDuringSweep++;
      }
    } else {
      b.static++;
      if (slow) {
        b.staticSlow++;
        slowStatic++;
      }
    }
  }
  for (const e of cleanups) {
    const i = binOf(e.endMs);
    if (i < 0 || i >= n) continue;
    bins[i].cleanups++;
    bins[i].cleanedEntries += e.entries;
    bins[i].cleanupMs += e.ms;
    bins[i].longestCleanupMs = Math.max(bins[i].longestCleanupMs, e.ms);
  }
  for (const s of samples) {
    const i = binOf(s.atMs);
    if (i < 0 || i >= n) continue;
    bins[i].nconns = s.nconns;
    bins[i].backendTimeWait = s.backendTimeWait;
    bins[i].ctCleanCpuMs += s.threadCpuMs.ct_clean ?? 0;
  }
  slowVipConnects.sort((a, b) => b.ms - a.ms);
  return { bins, slowVip, slowVipDuringSweep, slowStatic, slowVipConnects: slowVipConnects.slice(0, 100) };
}

/** Each line of ctTimeline as text, and its summary line. */
export function formatCtTimeline(t: CtTimeline, slowUs: number): string {
  const f = (v: number) => (Number.isFinite(v) ? String(Math.round(v)) : '-');
  const lines = t.bins.map((b) => `  ${String(b.fromS).padStart(3)} s  vip ${f(b.vip)} slow ${f(b.vipSlow)}  static ${f(b.static)} slow ${f(b.staticSlow)}  ` +
    `tracker ${f(b.nconns)}  backend TIME_WAIT ${f(b.backendTimeWait)}  ct_clean CPU ${f(b.ctCleanCpuMs)} ms  ` +
    `sweeps ${b.cleanups} (${b.cleanedEntries} entries, ${b.cleanupMs} ms, longest ${b.longestCleanupMs} ms)`);
  return `${lines.join('\n')}\n  connects slower than ${slowUs} us: VIP ${t.slowVip} (${t.slowVipDuringSweep} of them overlapping a tracker sweep), static ${t.slowStatic}\n` +
    (t.slowVipConnects.length ? `  slow VIP connects, ms @ s into the phase (slowest first): ${t.slowVipConnects.map((c) => `${c.ms.toFixed(1)}@${c.atS.toFixed(2)}`).join(' ')}\n` : '');
}

/**
 * Samples the tracker and ovs-vswitchd every intervalMs from start() to stop(), with the conntrack module's log at
 * debug level (its clean thread then logs each sweep: entries and msec). Each sample costs three short processes
 * (ovs-appctl, ip netns exec); `dpctl/dump-conntrack` is not used (it would hold ovs-vswitchd's main thread).
 */
export class CtSampler {
  readonly samples: CtSample[] = [];
  private phase = 'start';
  private running = false;
  private loop?: Promise<void>;
  private lastCpuNs = new Map<number, number>();

  constructor(private readonly o: {
    appctl: (...args: string[]) => Promise<string>;
    vswitchdPid: number;
    vswitchdLog: string;
    backendNetns: string;
    clientNetns: string;
    intervalMs: number;
  }) {}

  async start(): Promise<void> {
    await this.o.appctl('vlog/set', 'conntrack:file:dbg');
    this.readThreadCpu();
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const next = Date.now() + this.o.intervalMs;
        await this.sample().catch(() => undefined);
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
  }

  mark(phase: string): void {
    this.phase = phase;
  }

  /** Stops sampling; the sweeps the log holds. */
  async stop(): Promise<CleanupEvent[]> {
    this.running = false;
    await this.loop;
    await this.o.appctl('vlog/set', 'conntrack:file:info').catch(() => undefined);
    return this.cleanups();
  }

  cleanups(): CleanupEvent[] {
    try {
      return parseCleanupLog(readFileSync(this.o.vswitchdLog, 'utf8'));
    } catch {
      return [];
    }
  }

  private async sample(): Promise<void> {
    const atMs = Date.now();
    const sockstat = (netns: string) => runCommand(['ip', 'netns', 'exec', netns, 'cat', '/proc/net/sockstat'], { allowFailure: true }).then((r) => r.stdout);
    const [nconns, backend, client] = await Promise.all([
      this.o.appctl('dpctl/ct-get-nconns').then((s) => Number(s.trim())), sockstat(this.o.backendNetns), sockstat(this.o.clientNetns),
    ]);
    this.samples.push({
      atMs, phase: this.phase, nconns, threadCpuMs: this.readThreadCpu(), backendTimeWait: parseSockstatTimeWait(backend), clientTimeWait: parseSockstatTimeWait(client),
    });
  }

  /** CPU ms of each ovs-vswitchd thread kind since the last reading. */
  private readThreadCpu(): Record<string, number> {
    const out: Record<string, number> = {};
    const dir = `/proc/${this.o.vswitchdPid}/task`;
    let tids: string[] = [];
    try {
      tids = readdirSync(dir);
    } catch {
      return out;
    }
    for (const tid of tids) {
      try {
        const kind = threadKind(readFileSync(`${dir}/${tid}/comm`, 'utf8'));
        const ns = parseSchedstat(readFileSync(`${dir}/${tid}/schedstat`, 'utf8'));
        const before = this.lastCpuNs.get(Number(tid)) ?? ns;
        this.lastCpuNs.set(Number(tid), ns);
        out[kind] = (out[kind] ?? 0) + (ns - before) / 1e6;
      } catch {
        // the thread ended meanwhile
      }
    }
    return out;
  }
}
