// The host lock that lets one lab run at a time: a lab being built, or another run of a lab of the same name, is
// waited for (never taken over, never reported as "already up"); only a dead owner with no lab is stale.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireHostLock, releaseHostLock } from '../../../src/lab/host-lock';
import { statePath } from '../../../src/lab/state';
import { deadPid, zombieProcess } from '../../helpers/zombie';

let tmp: string;
let lockFile: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vadc-lock-test-'));
  lockFile = path.join(tmp, 'host.lock');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

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

  it('takes over the lock of a zombie owner that left no lab: it exited, and runs nothing that could release it', async () => {
    const dir = path.join(tmp, 'lab');
    const z = await zombieProcess();
    try {
      own(dir, z.pid);
      await acquireHostLock('vadc', dir, 1000, lockFile);
      expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
    } finally {
      await z.stop();
    }
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

describe('host lock queue: first come, first served', () => {
  const labDir = (name: string) => path.join(tmp, name);
  const holder = () => JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { dir: string; pid: number };
  const tickets = () => fs.readdirSync(`${lockFile}.queue`);
  /** A ticket of another waiter, written as host-queue.ts writes them: `at` sorts it before the tickets taken now. */
  const ticketOf = (pid: number, name = 'other', at = Date.now() - 1000) => {
    fs.mkdirSync(`${lockFile}.queue`, { recursive: true });
    const file = path.join(`${lockFile}.queue`, `${String(at).padStart(15, '0')}-${String(pid).padStart(10, '0')}-000000`);
    fs.writeFileSync(file, JSON.stringify({ name, dir: labDir(name), pid }));
    return file;
  };

  it('waiters get the lock in the order they came, not in the order they happen to look after a release', async () => {
    own(labDir('running'), process.ppid); // a live lab holds it
    const order: string[] = [];
    const wait = (name: string) => acquireHostLock(name, labDir(name), 30_000, lockFile).then(() => order.push(name));
    const first = wait('first');
    // The others come later, so that their looks fall between the first's, and the lock goes just after one of the
    // first's looks: the next look is another's (with looks every 500 ms, as before the queue, it took the lock).
    await new Promise((r) => setTimeout(r, 130));
    const second = wait('second');
    await new Promise((r) => setTimeout(r, 60));
    const third = wait('third');
    expect(tickets()).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 360));
    fs.rmSync(lockFile);
    await Promise.race([first, second, third]);
    expect(order).toEqual(['first']);
    expect(holder().dir).toBe(labDir('first'));
    await new Promise((r) => setTimeout(r, 600)); // the others look several times meanwhile, and keep waiting
    expect(order).toEqual(['first']);
    releaseHostLock(labDir('first'), lockFile);
    await second;
    expect(holder().dir).toBe(labDir('second'));
    releaseHostLock(labDir('second'), lockFile);
    await third;
    expect(order).toEqual(['first', 'second', 'third']);
    expect(tickets()).toEqual([]);
  });

  it('a live waiter ahead keeps a free lock from a later one; its timeout names that waiter and leaves no ticket', async () => {
    const ahead = ticketOf(process.ppid, 'ahead');
    await expect(acquireHostLock('late', labDir('late'), 300, lockFile)).rejects.toMatchObject({
      code: 'host-busy',
      message: expect.stringContaining(`labs are waiting for the host ahead of this one (lab 'ahead' pid ${process.ppid})`),
    });
    expect(fs.existsSync(lockFile)).toBe(false);
    expect(tickets()).toEqual([path.basename(ahead)]);
  });

  it('the tickets of a dead waiter, and of one that stopped touching its ticket, do not block the queue', async () => {
    const dead = ticketOf(deadPid(), 'dead');
    const silent = ticketOf(process.ppid, 'silent', Date.now() - 500);
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(silent, old, old);
    await acquireHostLock('next', labDir('next'), 0, lockFile);
    expect(holder().dir).toBe(labDir('next'));
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.existsSync(silent)).toBe(false);
    expect(tickets()).toEqual([]);
  });

  it('a timeout behind a running lab names it and the waiters ahead', async () => {
    own(labDir('running'), process.ppid);
    ticketOf(process.ppid, 'ahead');
    await expect(acquireHostLock('late', labDir('late'), 0, lockFile)).rejects.toMatchObject({
      code: 'host-busy',
      message: expect.stringMatching(/^lab 'vadc' \(.*running\) is running.*; 1 more waiting ahead of this one \(lab 'ahead' pid \d+\)$/),
    });
  });
});
