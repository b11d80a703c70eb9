// Open vSwitch's userspace datapath always makes a tap device named 'ovs-netdev', so only one
// ovs-vswitchd with netdev bridges can run per network namespace (a second one fails with
// "creating tap device failed: Device or resource busy"). Labs therefore take a host-wide lock and
// later ones wait for it (or fail with a clear error when not asked to wait).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NETDEV_DATAPATH_DEVICE } from './commands';
import { LabError } from './errors';
import { dropTicket, takeTicket, touchTicket, waitersAhead, type Waiter } from './host-queue';
import { statePath } from './state';
import { isAlive, linkExists, pathWithSbin, pidsNamed, readCmdline, run, sleep } from './system';

export const HOST_LOCK_FILE = path.join(os.tmpdir(), 'vadc-lab-host.lock');

type LockOwner = Waiter;

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

/** A lock file younger than this may be one its writer has created but not yet filled in. */
const UNREADABLE_GRACE_MS = 5000;

/** How often a waiter looks at the lock and the queue again. */
const POLL_MS = 250;

/**
 * Takes the lock for the lab in `dir`. Waits up to `waitMs` while another lab holds it: one whose creating
 * process is alive (it may still be building the lab, before its state file exists, or be another run of a lab
 * of the same name), or one whose state file says it is up. A lock is stale, and taken over, only when its
 * owner died without leaving a lab (no state file; a zombie owner counts as dead: the lock is the file and its
 * pid, which an exited process can no longer release), or it stayed unreadable past a short grace. Waiters take it
 * in the order they came (host-queue.ts): only one with no live waiter ahead of it tries.
 */
export async function acquireHostLock(name: string, dir: string, waitMs: number, lockFile = HOST_LOCK_FILE): Promise<void> {
  const deadline = Date.now() + waitMs;
  const mine: LockOwner = { name, dir, pid: process.pid };
  const ticket = takeTicket(lockFile, mine);
  try {
    for (;;) {
      touchTicket(ticket, mine);
      const ahead = waitersAhead(ticket);
      const owner = ahead.length === 0 ? tryLock(lockFile, mine) : liveOwner(lockFile);
      if (owner === 'taken') return;
      if (owner === 'again') continue;
      if (owner === 'being-written') {
        await sleep(100);
        continue;
      }
      // A lab of this name left up by a process that is gone (e.g. `vadc lab up`): it must be taken down first.
      if (owner && owner.dir === dir && (owner.pid === process.pid || (labUp(owner) && !isAlive(owner.pid)))) {
        throw new LabError('exists', `lab '${name}' is already up in ${dir}`);
      }
      if (Date.now() >= deadline) throw busy(owner, ahead);
      await sleep(POLL_MS);
    }
  } finally {
    dropTicket(ticket);
  }
}

const labUp = (owner: LockOwner): boolean => fs.existsSync(statePath(owner.dir));

/**
 * Takes the lock if it is free or stale: 'taken'; 'again' at once when it went, or was stale and removed;
 * 'being-written' while it is unreadable within its grace; else its live owner.
 */
function tryLock(lockFile: string, mine: LockOwner): 'taken' | 'again' | 'being-written' | LockOwner {
  try {
    fs.writeFileSync(lockFile, JSON.stringify(mine), { flag: 'wx' });
    return 'taken';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const owner = readOwner(lockFile);
  if (owner === 'none') return 'again';
  if (owner === undefined) {
    if (Date.now() - lockAge(lockFile) < UNREADABLE_GRACE_MS) return 'being-written';
    fs.rmSync(lockFile, { force: true });
    return 'again';
  }
  if (!labUp(owner) && !isAlive(owner.pid)) {
    fs.rmSync(lockFile, { force: true });
    return 'again';
  }
  return owner;
}

/** The lock's owner as a waiter behind others sees it (it leaves stale locks to the first waiter). */
function liveOwner(lockFile: string): LockOwner | undefined {
  const owner = readOwner(lockFile);
  return owner === 'none' ? undefined : owner;
}

function busy(owner: LockOwner | undefined, ahead: Waiter[]): LabError {
  const queue = ahead.length === 0 ? '' : `; ${ahead.length} more waiting ahead of this one (${describeWaiters(ahead)})`;
  if (owner) {
    return new LabError(
      'host-busy',
      `lab '${owner.name}' (${owner.dir}) is running, and Open vSwitch's userspace datapath allows one ` +
        `ovs-vswitchd per host: run 'vadc lab down --name ${owner.name}' first${queue}`,
    );
  }
  return new LabError(
    'host-busy',
    `labs are waiting for the host ahead of this one (${describeWaiters(ahead)}), and Open vSwitch's userspace ` +
      'datapath allows one ovs-vswitchd per host: wait longer (--wait)',
  );
}

const describeWaiters = (waiters: Waiter[]): string => waiters.map((w) => `lab '${w.name}' pid ${w.pid}`).join(', ');

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
