import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  cgroupOf, cpuSharesConflict, CpuShareGroups, findCpuHierarchy, parseCpuShares, planCpuShares, sharesToWeight, staleGroups,
} from '../lib/cpu-shares';

// /proc/self/mounts of this project's machine (cgroup v1 with cpu on its own, a v2 mount without controllers beside it).
const V1_MOUNTS = `tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`;
const V2_MOUNTS = 'sysfs /sys sysfs rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n';

describe('parseCpuShares', () => {
  it('reads each key once, in any order', () => {
    expect(parseCpuShares('vadc=8192,ovs=8192,load=256')).toEqual({ vadc: 8192, ovs: 8192, load: 256 });
    expect(parseCpuShares(' load=2 , probe=262144')).toEqual({ load: 2, probe: 262144 });
  });

  it('refuses unknown keys by name, listing the known ones', () => {
    expect(() => parseCpuShares('vadc=8192,vms=256')).toThrow(/^--cpu-shares: unknown key "vms"; the keys are vadc \(.*\), ovs \(.*\), load \(.*\), probe \(.*\)$/);
  });

  it('refuses a repeated key, a value out of cpu.shares\' range and text of another form', () => {
    expect(() => parseCpuShares('vadc=1024,vadc=2048')).toThrow('--cpu-shares: vadc given twice in "vadc=1024,vadc=2048"');
    expect(() => parseCpuShares('ovs=1')).toThrow('--cpu-shares ovs=1: cpu.shares must be 2..262144');
    expect(() => parseCpuShares('ovs=262145')).toThrow('--cpu-shares ovs=262145: cpu.shares must be 2..262144');
    expect(() => parseCpuShares('vadc:8192')).toThrow('--cpu-shares must be KEY=N[,KEY=N...] with KEY one of vadc, ovs, load, probe, not "vadc:8192" in "vadc:8192"');
    expect(() => parseCpuShares('')).toThrow(/not "" in ""/);
    expect(() => parseCpuShares('vadc=-5')).toThrow(/not "vadc=-5"/);
  });
});

describe('sharesToWeight', () => {
  it('converts as systemd does (1024 -> 100), within 1..10000', () => {
    expect([1024, 8192, 256, 2, 100_000, 262_144].map(sharesToWeight)).toEqual([100, 800, 25, 1, 9765, 10_000]);
  });
});

describe('findCpuHierarchy', () => {
  it('takes the v1 mount whose options name cpu, alone or with cpuacct', () => {
    expect(findCpuHierarchy(V1_MOUNTS, () => { throw new Error('v2 not asked when v1 has cpu'); })).toEqual({ version: 1, root: '/sys/fs/cgroup/cpu' });
    expect(findCpuHierarchy('cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n', () => undefined)).toEqual({ version: 1, root: '/sys/fs/cgroup/cpu,cpuacct' });
  });

  it('takes a v2 mount only when its cgroup.controllers lists cpu', () => {
    expect(findCpuHierarchy(V2_MOUNTS, (root) => (root === '/sys/fs/cgroup' ? 'cpuset cpu io memory pids\n' : undefined))).toEqual({ version: 2, root: '/sys/fs/cgroup' });
    expect(findCpuHierarchy(V2_MOUNTS, () => 'cpuset io memory\n')).toBeUndefined();
    expect(findCpuHierarchy(V1_MOUNTS.replace('cgroup rw,relatime,cpu 0', 'cgroup rw,relatime,cpuset 0'), () => undefined)).toBeUndefined();
  });
});

describe('cgroupOf', () => {
  it('reads the cpu line of v1 and the 0:: line of v2', () => {
    const v1 = '9:name=systemd:/\n4:memory:/a/b\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/vadc-bench-7-ovs\n0::/\n';
    expect(cgroupOf(v1, 1)).toBe('/vadc-bench-7-ovs');
    expect(cgroupOf('3:cpu,cpuacct:/system.slice/vadc.service\n', 1)).toBe('/system.slice/vadc.service');
    expect(cgroupOf(v1, 2)).toBe('/');
    expect(cgroupOf('0::/machine.slice\n', 2)).toBe('/machine.slice');
    expect(() => cgroupOf('2:cpuacct:/\n', 1)).toThrow(/no cpu v1 line/);
  });
});

describe('planCpuShares', () => {
  it('makes one group per key given, in a fixed order: cpu.shares as given on v1, cpu.weight converted on v2', () => {
    const shares = { load: 256, vadc: 8192 };
    expect(planCpuShares(shares, { version: 1, root: '/sys/fs/cgroup/cpu' }, 42)).toEqual([
      { key: 'vadc', dir: '/sys/fs/cgroup/cpu/vadc-bench-42-vadc', file: 'cpu.shares', value: 8192 },
      { key: 'load', dir: '/sys/fs/cgroup/cpu/vadc-bench-42-load', file: 'cpu.shares', value: 256 },
    ]);
    expect(planCpuShares(shares, { version: 2, root: '/sys/fs/cgroup' }, 42)).toEqual([
      { key: 'vadc', dir: '/sys/fs/cgroup/vadc-bench-42-vadc', file: 'cpu.weight', value: 800 },
      { key: 'load', dir: '/sys/fs/cgroup/vadc-bench-42-load', file: 'cpu.weight', value: 25 },
    ]);
  });
});

describe('staleGroups', () => {
  it('names the bench groups whose bench is gone, nothing else', () => {
    const alive = (pid: number) => pid === 10;
    expect(staleGroups(['tasks', 'vadc-bench-10-vadc', 'vadc-bench-11-load', 'vadc-bench-11-ovs', 'system.slice', 'vadc-bench-x-load'], alive))
      .toEqual(['vadc-bench-11-load', 'vadc-bench-11-ovs']);
  });
});

describe('cpuSharesConflict', () => {
  const none = { autogroupNice: false, ovsAutogroupNice: false };
  it('refuses a real-time vadc thread and autogroup nice for a process that leaves the root group', () => {
    expect(cpuSharesConflict({ vadc: 8192 }, { ...none, prio: 'fifo:1' })).toMatch(/^--cpu-shares vadc=\.\.\. with --prio fifo:1: a real-time thread/);
    expect(cpuSharesConflict({ vadc: 8192 }, { ...none, autogroupNice: true })).toMatch(/--autogroup-nice/);
    expect(cpuSharesConflict({ ovs: 8192 }, { ...none, ovsAutogroupNice: true })).toMatch(/--ovs-autogroup-nice/);
  });

  it('lets through what does not clash', () => {
    expect(cpuSharesConflict({ vadc: 8192 }, { ...none, prio: 'nice:-5' })).toBeUndefined();
    expect(cpuSharesConflict({ ovs: 8192, load: 256 }, { ...none, prio: 'fifo:1', autogroupNice: true })).toBeUndefined();
    expect(cpuSharesConflict({ vadc: 8192 }, { ...none, ovsAutogroupNice: true })).toBeUndefined();
  });
});

/** Root with a writable cgroup v1 cpu hierarchy (this machine; not a container's read-only one, not v2: its root's subtree_control may be busy). */
function writableV1(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const h = findCpuHierarchy(readFileSync('/proc/self/mounts', 'utf8'), () => undefined);
  if (h?.version !== 1) return undefined;
  try {
    accessSync(h.root, constants.W_OK);
    return h.root;
  } catch {
    return undefined;
  }
}
const v1Root = writableV1();

(v1Root ? describe : describe.skip)('CpuShareGroups (root, cgroup v1 cpu)', () => {
  const cpuCgroup = (pid: number) => cgroupOf(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), 1);
  const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  const started = (child: ChildProcess) => new Promise((resolve) => child.once('spawn', resolve));
  const children: ChildProcess[] = [];
  afterEach(() => children.splice(0).forEach((c) => c.kill()));

  it('makes the groups with their shares, moves processes with their threads, puts a started shell into its group, and undoes it all', async () => {
    const home = cpuCgroup(process.pid);
    // Two stand-ins for vadc and ovs-vswitchd (this test must not move its own worker).
    const vadc = spawn(process.execPath, ['-e', 'console.log("up"); setTimeout(() => {}, 30000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const ovs = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(vadc, ovs);
    // Once node runs the script, its own threads (V8's and libuv's) exist.
    await Promise.all([new Promise((resolve) => vadc.stdout!.once('data', resolve)), started(ovs)]);
    const lines: string[] = [];
    const groups = await CpuShareGroups.apply({ vadc: 4096, ovs: 2048, load: 128 }, { vadc: vadc.pid!, ovs: ovs.pid! }, (l) => lines.push(l));
    const dir = (key: string) => path.join(v1Root!, `vadc-bench-${process.pid}-${key}`);
    let restored = false;
    try {
      expect(readFileSync(path.join(dir('vadc'), 'cpu.shares'), 'utf8').trim()).toBe('4096');
      expect(readFileSync(path.join(dir('load'), 'cpu.shares'), 'utf8').trim()).toBe('128');
      expect(cpuCgroup(vadc.pid!)).toBe(`/vadc-bench-${process.pid}-vadc`);
      expect(cpuCgroup(ovs.pid!)).toBe(`/vadc-bench-${process.pid}-ovs`);
      // Every thread of node went along (cgroup.procs moves the thread group), not only the main one.
      const numbers = (list: string[]) => list.filter(Boolean).map(Number).sort((a, b) => a - b);
      const threads = numbers(readdirSync(`/proc/${vadc.pid}/task`));
      expect(threads.length).toBeGreaterThan(1);
      expect(numbers(readFileSync(path.join(dir('vadc'), 'tasks'), 'utf8').split('\n'))).toEqual(threads);
      expect(cpuCgroup(process.pid)).toBe(home);
      expect(lines.join('\n')).toMatch(/cpu.shares=4096 for vadc's process .* \(systemd: CPUShares=4096 \/ CPUWeight=400\)/);
      // A shell with the prefix execs into the load group; probe has no group of its own here, so it goes with load.
      for (const key of ['load', 'probe'] as const) {
        const shell = spawn('sh', ['-c', `${groups.joinPrefix(key)}exec sleep 30`], { stdio: 'ignore' });
        children.push(shell);
        await started(shell);
        // In its group AND past the exec: the census names processes by comm, which stays "sh" until the exec.
        await waitUntil(() => cpuCgroup(shell.pid!) === `/vadc-bench-${process.pid}-load` && comm(shell.pid!) === 'sleep');
      }
      expect(groups.census()).toContain(`vadc-bench-${process.pid}-load: sleep 2`);
      const summary = await groups.restore();
      restored = true;
      expect(summary).toBe(`cpu shares: 2 processes moved back where they were, 2 others to ${home}; removed vadc-bench-${process.pid}-vadc, vadc-bench-${process.pid}-ovs, vadc-bench-${process.pid}-load`);
      expect([cpuCgroup(vadc.pid!), cpuCgroup(ovs.pid!), cpuCgroup(children[2].pid!)]).toEqual([home, home, home]);
      expect(['vadc', 'ovs', 'load'].filter((k) => existsSync(dir(k)))).toEqual([]);
    } finally {
      if (!restored) await groups.restore();
    }
  });

  it('sends a started shell back to the bench\'s own cgroup when its key has no group', async () => {
    const groups = await CpuShareGroups.apply({ ovs: 2048 }, {}, () => undefined);
    try {
      expect(groups.joinPrefix('load')).toBe(`echo $$ > /proc/${process.pid}/root${path.join(v1Root!, cpuCgroup(process.pid), 'cgroup.procs')} && `);
    } finally {
      await groups.restore();
    }
  });

  it('fails the shell when the write fails', async () => {
    const groups = await CpuShareGroups.apply({ load: 512 }, {}, () => undefined);
    await groups.restore(); // the group is gone: the prefix's write must stop the command
    const shell = spawn('sh', ['-c', `${groups.joinPrefix('load')}exec true`], { stdio: 'ignore' });
    expect(await new Promise((resolve) => shell.once('exit', resolve))).not.toBe(0);
  });
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}
