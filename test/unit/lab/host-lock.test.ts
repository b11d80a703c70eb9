// The host lock that lets one lab run at a time: a lab being built, or another run of a lab of the same name, is
// waited for (never taken over, never reported as "already up"); only a dead owner with no lab is stale.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireHostLock, releaseHostLock } from '../../../src/lab/host-lock';
import { statePath } from '../../../src/lab/state';

let tmp: string;
let lockFile: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-lock-test-'));
  lockFile = path.join(tmp, 'host.lock');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

const own = (dir: string, pid: number) => fs.writeFileSync(lockFile, JSON.stringify({ name: 'vadc', dir, pid }));

describe('host lock', () => {
  it('waits for a live owner still building its lab (no state file yet), even for the same lab name', async () => {
    const dir = path.join(tmp, 'lab');
    own(dir, process.ppid);
    await expect(acquireHostLock('vadc', dir, 600, lockFile)).rejects.toMatchObject({ code: 'host-busy' });
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid).toBe(process.ppid);
  });

  it('takes over the lock of a dead owner that left no lab, and refuses when a dead owner left its lab up', async () => {
    const dir = path.join(tmp, 'lab');
    own(dir, deadPid());
    await acquireHostLock('vadc', dir, 0, lockFile);
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
    releaseHostLock(dir, lockFile);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(statePath(dir), '{}');
    own(dir, deadPid());
    await expect(acquireHostLock('vadc', dir, 0, lockFile)).rejects.toMatchObject({ code: 'exists' });
  });

  it('leaves a just-created, still empty lock file to its writer; an old unreadable one is stale', async () => {
    const dir = path.join(tmp, 'lab');
    fs.writeFileSync(lockFile, '');
    const waiting = acquireHostLock('vadc', dir, 10_000, lockFile);
    await new Promise((r) => setTimeout(r, 300));
    own(path.join(tmp, 'other'), process.ppid); // the writer filled it in: a live owner, waited for
    fs.rmSync(lockFile); // ... that then finished
    await waiting;
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
    releaseHostLock(dir, lockFile);
    fs.writeFileSync(lockFile, 'not json');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lockFile, old, old);
    await acquireHostLock('vadc', dir, 0, lockFile);
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
  });
});
