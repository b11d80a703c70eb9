// Open vSwitch's userspace datapath always makes a tap device named 'ovs-netdev', so only one
// ovs-vswitchd with netdev bridges can run per network namespace (a second one fails with
// "creating tap device failed: Device or resource busy"). Labs therefore take a host-wide lock and
// later ones wait for it (or fail with a clear error when not asked to wait).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NETDEV_DATAPATH_DEVICE } from './commands';
import { LabError } from './errors';
import { statePath } from './state';
import { linkExists, pathWithSbin, pidsNamed, readCmdline, run, sleep } from './system';

export const HOST_LOCK_FILE = path.join(os.tmpdir(), 'vadc-lab-host.lock');

interface LockOwner {
  name: string;
  dir: string;
  pid: number;
}

export function parseLockOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (typeof owner.name === 'string' && typeof owner.dir === 'string' && typeof owner.pid === 'number') {
      return owner as LockOwner;
    }
  } catch {
    // unreadable owner: treated as stale below
  }
  return undefined;
}

function readOwner(lockFile: string): LockOwner | undefined | 'none' {
  try {
    return parseLockOwner(fs.readFileSync(lockFile, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw err;
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock file younger than this may be one its writer has created but not yet filled in. */
const UNREADABLE_GRACE_MS = 5000;

/**
 * Takes the lock for the lab in `dir`. Waits up to `waitMs` while another lab holds it: one whose creating
 * process is alive (it may still be building the lab, before its state file exists, or be another run of a lab
 * of the same name), or one whose state file says it is up. A lock is stale, and taken over, only when its
 * owner died without leaving a lab (no state file), or it stayed unreadable past a short grace.
 */
export async function acquireHostLock(name: string, dir: string, waitMs: number, lockFile = HOST_LOCK_FILE): Promise<void> {
  const deadline = Date.now() + waitMs;
  const mine: LockOwner = { name, dir, pid: process.pid };
  for (;;) {
    try {
      fs.writeFileSync(lockFile, JSON.stringify(mine), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(lockFile);
    if (owner === 'none') continue;
    if (owner === undefined) {
      if (Date.now() - lockAge(lockFile) >= UNREADABLE_GRACE_MS) fs.rmSync(lockFile, { force: true });
      else await sleep(100);
      continue;
    }
    const labUp = fs.existsSync(statePath(owner.dir));
    if (!labUp && !alive(owner.pid)) {
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    // A lab of this name left up by a process that is gone (e.g. `vadc lab up`): it must be taken down first.
    if (owner.dir === dir && (owner.pid === process.pid || (labUp && !alive(owner.pid)))) {
      throw new LabError('exists', `lab '${name}' is already up in ${dir}`);
    }
    if (Date.now() >= deadline) {
      throw new LabError(
        'host-busy',
        `lab '${owner.name}' (${owner.dir}) is running, and Open vSwitch's userspace datapath allows one ` +
          `ovs-vswitchd per host: run 'vadc lab down --name ${owner.name}' first`,
      );
    }
    await sleep(500);
  }
}

/** When the lock file was last written (ms since the epoch); 0 when it is gone. */
function lockAge(lockFile: string): number {
  try {
    return fs.statSync(lockFile).mtimeMs;
  } catch {
    return 0;
  }
}

export function releaseHostLock(dir: string, lockFile = HOST_LOCK_FILE): void {
  const owner = readOwner(lockFile);
  if (owner !== 'none' && (owner === undefined || owner.dir === dir)) fs.rmSync(lockFile, { force: true });
}

/**
 * An ovs-vswitchd that is no lab's (a system OVS, or one a test started by hand) may hold the userspace
 * datapath device; ours could then not make its bridge. Wait for it, or say who holds it.
 */
export async function waitForFreeDatapathDevice(deadline: number): Promise<void> {
  for (;;) {
    if (!(await linkExists(NETDEV_DATAPATH_DEVICE))) return;
    const owners = pidsNamed('ovs-vswitchd');
    if (owners.length === 0) {
      // Left behind by an ovs-vswitchd that exited: remove it so ours can make it anew.
      await run(['ip', 'link', 'del', NETDEV_DATAPATH_DEVICE], { env: pathWithSbin(), allowFailure: true });
      return;
    }
    if (Date.now() >= deadline) {
      const who = owners.map((pid) => `pid ${pid}: ${readCmdline(pid) ?? '?'}`).join('; ');
      throw new LabError(
        'host-busy',
        `another ovs-vswitchd owns the userspace datapath device '${NETDEV_DATAPATH_DEVICE}' (${who}); ` +
          'Open vSwitch allows one per host: stop it, or wait for it (--wait)',
      );
    }
    await sleep(500);
  }
}
