// Open vSwitch's userspace datapath always makes a tap device named 'ovs-netdev', so only one
// ovs-vswitchd with netdev bridges can run per network namespace (a second one fails with
// "creating tap device failed: Device or resource busy"). Labs therefore take a host-wide lock and
// later ones wait for it (or fail with a clear error when not asked to wait).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LabError } from './errors';
import { statePath } from './state';
import { sleep } from './system';

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

/**
 * Takes the lock for the lab in `dir`. A lock whose lab has no state file any more is stale (its lab was
 * removed by hand or never got going) and is taken over. Waits up to `waitMs` for a live owner.
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
    if (owner === undefined || !fs.existsSync(statePath(owner.dir))) {
      // Stale: only remove it if it is still the same file content we judged.
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (owner.dir === dir) throw new LabError('exists', `lab '${name}' is already up in ${dir}`);
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

export function releaseHostLock(dir: string, lockFile = HOST_LOCK_FILE): void {
  const owner = readOwner(lockFile);
  if (owner !== 'none' && (owner === undefined || owner.dir === dir)) fs.rmSync(lockFile, { force: true });
}
