// CPU weights by cgroup for the real-OVS bench (`--cpu-shares vadc=N,ovs=N,load=N[,probe=N]`): what an operator gets
// from systemd's CPUShares=/CPUWeight= for vadc.service and ovs-vswitchd.service against the VMs' slice. One cpu cgroup
// per key under the cpu controller's root (cgroup v1's cpu.shares; v2's cpu.weight, converted as systemd does), vadc's
// and ovs-vswitchd's processes moved in with all their threads (cgroup.procs), and the processes the bench starts in the
// lab's namespaces (the clients and servers: the VMs) joining theirs by a shell prefix before they exec. Everything goes
// back and the groups are removed at the end. A task in a child cpu cgroup is out of its session's autogroup: the
// weights decide against the other sessions' autogroups (1024 each at nice 0).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sleep } from '../../src/lab/system';

export const CPU_SHARE_KEYS = ['vadc', 'ovs', 'load', 'probe'] as const;
export type CpuShareKey = (typeof CPU_SHARE_KEYS)[number];
export type CpuShares = Partial<Record<CpuShareKey, number>>;

const MEANING: Record<CpuShareKey, string> = {
  vadc: 'vadc\'s process (the bench\'s own, all threads)',
  ovs: 'the lab\'s ovs-vswitchd (all threads)',
  load: 'the lab\'s clients and servers (the VMs)',
  probe: 'the latency phase\'s client (else with load)',
};

/** `vadc=8192,ovs=8192,load=256`: each key once, cpu.shares 2..262144 (v1's range); unknown keys refused by name. */
export function parseCpuShares(text: string): CpuShares {
  const shares: CpuShares = {};
  for (const part of text.split(',')) {
    const m = /^\s*([a-z-]+)=(\d+)\s*$/.exec(part);
    if (!m) throw new Error(`--cpu-shares must be KEY=N[,KEY=N...] with KEY one of ${CPU_SHARE_KEYS.join(', ')}, not ${JSON.stringify(part)} in ${JSON.stringify(text)}`);
    const key = m[1] as CpuShareKey;
    if (!CPU_SHARE_KEYS.includes(key)) throw new Error(`--cpu-shares: unknown key ${JSON.stringify(m[1])}; the keys are ${CPU_SHARE_KEYS.map((k) => `${k} (${MEANING[k]})`).join(', ')}`);
    if (shares[key] !== undefined) throw new Error(`--cpu-shares: ${key} given twice in ${JSON.stringify(text)}`);
    const n = Number(m[2]);
    if (n < 2 || n > 262_144) throw new Error(`--cpu-shares ${key}=${n}: cpu.shares must be 2..262144 (1024 = a nice-0 task's weight)`);
    shares[key] = n;
  }
  return shares;
}

/** systemd's CPUShares= -> CPUWeight= (cgroup_cpu_shares_to_weight): shares * 100 / 1024, within 1..10000. */
export function sharesToWeight(shares: number): number {
  return Math.min(10_000, Math.max(1, Math.floor((shares * 100) / 1024)));
}

export interface CpuHierarchy {
  version: 1 | 2;
  /** The mount point of the hierarchy with the cpu controller. */
  root: string;
}

/**
 * The hierarchy with the cpu controller from /proc/self/mounts' text: a v1 mount whose options name `cpu`, else the v2
 * mount whose cgroup.controllers (read by controllersOf) lists cpu; undefined when neither exists.
 */
export function findCpuHierarchy(mounts: string, controllersOf: (root: string) => string | undefined): CpuHierarchy | undefined {
  const lines = mounts.split('\n').map((l) => l.split(' ')).filter((f) => f.length >= 4);
  const v1 = lines.find((f) => f[2] === 'cgroup' && f[3].split(',').includes('cpu'));
  if (v1) return { version: 1, root: v1[1] };
  const v2 = lines.find((f) => f[2] === 'cgroup2' && (controllersOf(f[1]) ?? '').split(/\s+/).includes('cpu'));
  return v2 ? { version: 2, root: v2[1] } : undefined;
}

/** A process's cgroup in hierarchy h from /proc/PID/cgroup's text (v1: the line whose controllers include cpu; v2: `0::`). */
export function cgroupOf(text: string, version: 1 | 2): string {
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (version === 1 ? m[2].split(',').includes('cpu') : m[1] === '0' && m[2] === '') return m[3];
  }
  throw new Error(`no cpu ${version === 1 ? 'v1 line (N:...cpu...:/path)' : 'v2 line (0::/path)'} in ${JSON.stringify(text.slice(0, 200))}`);
}

export interface ShareGroup {
  key: CpuShareKey;
  dir: string;
  file: 'cpu.shares' | 'cpu.weight';
  value: number;
}

/** The groups to make, in CPU_SHARE_KEYS order: `vadc-bench-TAG-KEY` under the hierarchy's root, with the file and value to write. */
export function planCpuShares(shares: CpuShares, h: CpuHierarchy, tag: string | number): ShareGroup[] {
  return CPU_SHARE_KEYS.filter((key) => shares[key] !== undefined).map((key) => ({
    key, dir: path.join(h.root, `vadc-bench-${tag}-${key}`),
    file: h.version === 1 ? 'cpu.shares' as const : 'cpu.weight' as const,
    value: h.version === 1 ? shares[key]! : sharesToWeight(shares[key]!),
  }));
}

/** Groups left by a bench that died (`vadc-bench-PID-KEY` whose PID is gone), from the root's entries. */
export function staleGroups(entries: readonly string[], alive: (pid: number) => boolean): string[] {
  return entries.filter((e) => {
    const m = /^vadc-bench-(\d+)-([a-z]+)$/.exec(e);
    return m !== null && !alive(Number(m[1]));
  });
}

const readProcs = (dir: string) => readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
const threadCount = (pid: number) => readdirSync(`/proc/${pid}/task`).length;
const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
};

/** Moves every process out of dir into target (a process may fork meanwhile: until dir is empty), then removes dir. */
async function emptyAndRemove(dir: string, target: string): Promise<number> {
  let moved = 0;
  for (let attempt = 0; ; attempt++) {
    const pids = readProcs(dir);
    if (pids.length === 0) {
      try {
        rmdirSync(dir);
        return moved;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 50) throw err;
      }
    }
    for (const pid of pids) {
      try {
        writeFileSync(path.join(target, 'cgroup.procs'), String(pid));
        moved++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // exited meanwhile
      }
    }
    if (attempt >= 50) throw new Error(`${dir}: still has processes ${readProcs(dir).join(', ')} after 50 attempts`);
    await sleep(20);
  }
}

/** The groups of one bench run: made and filled by apply(), emptied and removed by restore(). */
export class CpuShareGroups {
  /** Processes moved in by pid, with the cgroup (under the root) each came from. */
  private readonly origins = new Map<number, string>();

  private constructor(readonly hierarchy: CpuHierarchy, readonly groups: ShareGroup[], private readonly home: string, private readonly log: (line: string) => void) {}

  /**
   * Finds the cpu hierarchy, removes groups of dead benches, makes one group per key with its weight (read back), and
   * moves the given processes (vadc's, ovs-vswitchd's) into theirs. Undoes what it did if a step fails.
   */
  static async apply(shares: CpuShares, processes: Partial<Record<CpuShareKey, number>>, log: (line: string) => void): Promise<CpuShareGroups> {
    const h = findCpuHierarchy(readFileSync('/proc/self/mounts', 'utf8'), (root) => {
      try {
        return readFileSync(path.join(root, 'cgroup.controllers'), 'utf8');
      } catch {
        return undefined;
      }
    });
    if (!h) throw new Error('--cpu-shares: no cgroup hierarchy with the cpu controller in /proc/self/mounts (v1 cpu or v2 with cpu in cgroup.controllers)');
    for (const stale of staleGroups(readdirSync(h.root), (pid) => existsSync(`/proc/${pid}`))) {
      const moved = await emptyAndRemove(path.join(h.root, stale), h.root);
      log(`cpu shares: removed ${stale}, left by a bench that is gone (${moved} processes moved to the root)`);
    }
    const home = cgroupOf(readFileSync('/proc/self/cgroup', 'utf8'), h.version);
    const groups = new CpuShareGroups(h, planCpuShares(shares, h, process.pid), home, log);
    try {
      if (h.version === 2) writeFileSync(path.join(h.root, 'cgroup.subtree_control'), '+cpu');
      for (const g of groups.groups) {
        mkdirSync(g.dir);
        writeFileSync(path.join(g.dir, g.file), String(g.value));
        const readBack = readFileSync(path.join(g.dir, g.file), 'utf8').trim();
        log(`cpu shares (cgroup v${h.version}, ${h.root}): ${path.basename(g.dir)} ${g.file}=${readBack} for ${MEANING[g.key]}` +
          ` (systemd: CPUShares=${shares[g.key]} / CPUWeight=${sharesToWeight(shares[g.key]!)})`);
      }
      for (const key of ['vadc', 'ovs'] as const) {
        const pid = processes[key];
        if (pid !== undefined && shares[key] !== undefined) groups.move(key, pid);
      }
    } catch (err) {
      await groups.restore().catch((e: Error) => log(`cpu shares: undoing after a failure failed too: ${e.message}`));
      throw err;
    }
    return groups;
  }

  private group(key: CpuShareKey): ShareGroup | undefined {
    return this.groups.find((g) => g.key === key);
  }

  /** Moves pid (all its threads) into key's group and logs it. */
  move(key: CpuShareKey, pid: number): void {
    const g = this.group(key);
    if (!g) throw new Error(`cpu shares: no group for ${key}`);
    this.origins.set(pid, cgroupOf(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), this.hierarchy.version));
    writeFileSync(path.join(g.dir, 'cgroup.procs'), String(pid));
    this.log(`cpu shares: ${comm(pid)} (pid ${pid}, ${threadCount(pid)} threads) from ${this.origins.get(pid)} into ${path.basename(g.dir)}`);
  }

  /**
   * The shell prefix (before `exec`) that puts the shell, and so what it execs, into key's group, or back into the
   * bench's own original cgroup when key has no group (a child would otherwise inherit vadc's). The path goes through
   * /proc/BENCH/root: `ip netns exec` mounts a sysfs of its own over /sys, hiding the cgroup mounts. The write fails the
   * command (&&) if it fails.
   */
  joinPrefix(key: CpuShareKey): string {
    const dir = (this.group(key) ?? (key === 'probe' ? this.group('load') : undefined))?.dir ?? path.join(this.hierarchy.root, this.home);
    const procs = path.join(dir, 'cgroup.procs');
    return `echo $$ > /proc/${process.pid}/root${procs} && `;
  }

  /** Each group's processes now, by command name: `vadc-bench-1-load: node 2, iperf3 1`. */
  census(): string {
    return this.groups.map((g) => {
      const counts = new Map<string, number>();
      for (const pid of readProcs(g.dir)) counts.set(comm(pid), (counts.get(comm(pid)) ?? 0) + 1);
      return `${path.basename(g.dir)}: ${[...counts].map(([c, n]) => `${c} ${n}`).join(', ') || 'empty'}`;
    }).join('; ');
  }

  /** Moves the processes moved in back where they were, the rest (their children) to the bench's original cgroup, and removes the groups. */
  async restore(): Promise<string> {
    for (const [pid, origin] of this.origins) {
      try {
        writeFileSync(path.join(this.hierarchy.root, origin, 'cgroup.procs'), String(pid));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
    let others = 0;
    const removed: string[] = [];
    for (const g of this.groups) {
      if (!existsSync(g.dir)) continue;
      others += await emptyAndRemove(g.dir, path.join(this.hierarchy.root, this.home));
      removed.push(path.basename(g.dir));
    }
    return `cpu shares: ${this.origins.size} processes moved back where they were, ${others} others to ${this.home}; removed ${removed.join(', ') || 'nothing'}`;
  }
}

/**
 * Why --cpu-shares cannot go with another of the bench's scheduling flags, or undefined: a real-time thread cannot join a
 * cpu cgroup without cpu.rt_runtime_us (CONFIG_RT_GROUP_SCHED gives new groups 0), and an autogroup's nice weighs only
 * for tasks in the root cpu cgroup.
 */
export function cpuSharesConflict(shares: CpuShares, other: { prio?: string; autogroupNice: boolean; ovsAutogroupNice: boolean }): string | undefined {
  if (shares.vadc !== undefined && other.prio !== undefined && /^(fifo|rr):/.test(other.prio.trim())) {
    return `--cpu-shares vadc=... with --prio ${other.prio}: a real-time thread cannot join a cpu cgroup whose cpu.rt_runtime_us is 0 (a new group's); use one or the other`;
  }
  if (shares.vadc !== undefined && other.autogroupNice) return '--cpu-shares vadc=... with --autogroup-nice: an autogroup\'s nice weighs only for tasks in the root cpu cgroup, and vadc would leave it';
  if (shares.ovs !== undefined && other.ovsAutogroupNice) return '--cpu-shares ovs=... with --ovs-autogroup-nice: an autogroup\'s nice weighs only for tasks in the root cpu cgroup, and ovs-vswitchd would leave it';
  return undefined;
}
