import { ChildProcess, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ElectionError, HostElection, electionVerdict, pairKey, type ElectionChange, type ElectionRecord } from '../../../src/daemon/host-election';
import { openFileLimit } from '../../../src/daemon/fd-budget';
import { silentLogger, type Logger } from '../../../src/util/logger';
import { openFds, setSoftFileLimit } from '../../helpers/fd-limit';
import { until } from '../../helpers/until';

const record = (over: Partial<ElectionRecord> = {}): ElectionRecord => ({ owner: 'other', pid: 4242, generation: '7', beatAt: 1000, ...over });
const facts = { now: 1200, me: 'me', holdLock: false, ownerAlive: true, staleMs: 500 };

describe('electionVerdict', () => {
  it('no record: the lock holder claims generation 1, anyone else waits for it', () => {
    expect(electionVerdict({ ...facts, record: undefined, holdLock: true })).toEqual({ role: 'standby', claim: { generation: 1n, reason: 'no master yet' } });
    expect(electionVerdict({ ...facts, record: undefined })).toEqual({ role: 'standby' });
  });
  it('the record names me: master', () => {
    expect(electionVerdict({ ...facts, record: record({ owner: 'me' }) })).toEqual({ role: 'master' });
  });
  it('a live master with a fresh heartbeat is followed, even by the lock holder', () => {
    expect(electionVerdict({ ...facts, record: record(), holdLock: true })).toEqual({ role: 'standby' });
  });
  it('the lock passed and the master is gone: claim the next generation at once', () => {
    expect(electionVerdict({ ...facts, record: record(), holdLock: true, ownerAlive: false })).toEqual({
      role: 'standby', claim: { generation: 8n, reason: 'the master other died' },
    });
    // without the lock, a dead owner is noticed by its heartbeat only
    expect(electionVerdict({ ...facts, record: record(), ownerAlive: false })).toEqual({ role: 'standby' });
  });
  it('a heartbeat older than the limit: the master hangs, claim', () => {
    expect(electionVerdict({ ...facts, now: 1501, record: record() }).claim).toEqual({ generation: 8n, reason: 'the master other has not beaten for 501 ms (limit 500 ms)' });
    expect(electionVerdict({ ...facts, now: 1500, record: record() }).claim).toBeUndefined();
  });
  it('a master that resigned is replaced at once', () => {
    expect(electionVerdict({ ...facts, record: record({ beatAt: 0 }) }).claim?.generation).toBe(8n);
  });
});

describe('pairKey', () => {
  const config = { controller: { listen: 'tcp:127.0.0.1:6653', echo_interval: 5 }, api: { listen: 'unix:/a.sock' }, services: [{ name: 'web' }] };
  it('ignores what differs between the two instances of a pair, nothing else', () => {
    const peer = { ...config, controller: { ...config.controller, listen: 'tcp:127.0.0.1:6654' }, api: { listen: 'unix:/b.sock' } };
    expect(pairKey(peer)).toBe(pairKey(config));
    expect(pairKey({ ...config, services: [{ name: 'other' }] })).not.toBe(pairKey(config));
  });
});

describe('HostElection (real files and flock)', () => {
  let dir: string;
  const running: HostElection[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-election-'));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((e) => e.stop())); // their lock children gone too
    rmSync(dir, { recursive: true, force: true });
  });

  function election(listen: string, changes: ElectionChange[]): HostElection {
    const e = new HostElection({ dir, key: 'k', listen, logger: silentLogger(), onChange: (c) => changes.push(c), beatMs: 50, staleMs: 400 });
    running.push(e);
    return e;
  }
  /** An election in a process of its own (beats of 50 ms, a 10 s heartbeat limit); `out` collects its changes' kinds. */
  function childElection(env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams & { out: string } {
    const script = `
      const { HostElection } = require(${JSON.stringify(path.join(__dirname, '../../../src/daemon/host-election'))});
      const e = new HostElection({ dir: ${JSON.stringify(dir)}, key: 'k', listen: 'child', logger: { info() {}, warn() {}, error() {}, debug() {}, log() {} },
        onChange: (c) => console.log(c.kind), beatMs: 50, staleMs: 10000 });
      e.start();`;
    const child = Object.assign(spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: path.join(__dirname, '../../..'), env }), { out: '' });
    child.stdout.on('data', (d: Buffer) => (child.out += d.toString()));
    child.stderr.resume();
    return child;
  }

  /** Kills a child election and resolves once it has exited (a child left running would outlive the test file). */
  async function killChild(child: ChildProcessWithoutNullStreams): Promise<void> {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')) await exited;
  }

  /** A lone instance, once master (start() gives the lock child up to 2 s; a loaded machine can take longer). */
  async function startedMaster(changes: ElectionChange[]): Promise<HostElection> {
    const a = election('tcp:127.0.0.1:1', changes);
    await a.start();
    await until(() => a.wanted().role === 'master', 'a to be master', 10_000);
    return a;
  }

  it('out of file descriptors the lock child cannot start: the election says so and goes on, with no exception', async () => {
    const errors: string[] = [];
    const logger = { info() {}, warn() {}, debug() {}, log() {}, error: (m: string) => void errors.push(m) } as unknown as Logger;
    const e = new HostElection({ dir, key: 'k', listen: 'tcp:127.0.0.1:1', logger, onChange: () => undefined, beatMs: 50, staleMs: 400 });
    running.push(e);
    const limit = openFileLimit();
    const filled: number[] = [];
    let started: Promise<void>;
    setSoftFileLimit(openFds() + 16);
    try {
      try {
        for (;;) filled.push(openSync('/dev/null', 'r'));
      } catch {
        // EMFILE: no file left
      }
      started = e.start(); // spawns the flock child now, synchronously, with no file left for its pipes
    } finally {
      for (const fd of filled) closeSync(fd);
      setSoftFileLimit(limit ?? 'unlimited');
    }
    await expect(started).resolves.toBeUndefined();
    expect(errors).toEqual([expect.stringMatching(/^election: cannot run flock \(util-linux\): .*EMFILE.*; only heartbeats detect a dead master$/)]);
    expect(() => e.stop()).not.toThrow();
  });

  /** The lock children of this test's elections that this process has a handle on. */
  function lockChildren(): ChildProcess[] {
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
    return handles.filter((h): h is ChildProcess => h instanceof ChildProcess && h.spawnargs[0] === 'flock' && h.spawnargs.some((a) => a.startsWith(dir)));
  }

  it('stop() resolves once the lock child has exited: a stopped daemon leaves no process behind', async () => {
    const a = await startedMaster([]);
    const children = lockChildren();
    expect(children.map((c) => c.pid)).toHaveLength(1);
    await a.stop();
    // Reaped: its exit was seen (the handle itself closes a loop turn later).
    expect({ exitCode: children[0].exitCode, signalCode: children[0].signalCode }).not.toEqual({ exitCode: null, signalCode: null });
  });

  it('stop() resolves when the lock child has already died on its own (killed from outside)', async () => {
    const a = await startedMaster([]);
    const [child] = lockChildren();
    const closed = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGKILL');
    await closed;
    const stopped = await Promise.race([a.stop().then(() => 'stopped'), new Promise((resolve) => setTimeout(resolve, 4000, 'still waiting'))]);
    expect(stopped).toBe('stopped');
  });

  it('a lone instance is master once its lock child holds the lock; a second one is standby and names it; a resignation hands over', async () => {
    const ca: ElectionChange[] = [];
    const cb: ElectionChange[] = [];
    const a = election('tcp:127.0.0.1:1', ca);
    await a.start();
    // start() gives the lock child 200 ms; a loaded machine can take longer to spawn it, then the next beat promotes.
    await until(() => a.wanted().role === 'master', 'a to be master', 10_000);
    expect(a.wanted()).toEqual({ role: 'master', generation: 1n });
    expect(ca).toEqual([{ kind: 'promoted', generation: 1n, reason: 'no master yet' }]);
    expect(a.mayWrite(Date.now())).toBe(true);
    const b = election('tcp:127.0.0.1:2', cb);
    await b.start();
    expect(b.wanted()).toEqual({ role: 'standby', generation: 1n });
    expect(b.status().peer).toBe(a.me);
    // Whose published configuration a promotion adopts: the live master b stood by for; a stood by for nobody.
    expect(b.status().stoodBy).toBe(a.me);
    expect(a.status().stoodBy).toBeUndefined();
    await until(() => a.status().peer === b.me, 'a to see b', 3000);
    a.stop();
    await until(() => b.wanted().role === 'master', 'b to take over', 3000);
    expect(b.wanted().generation).toBe(2n);
    expect(b.status().stoodBy).toBe(a.me);
    expect(cb).toEqual([{ kind: 'promoted', generation: 2n, reason: `the master ${a.me} resigned` }]);
  });

  it('a master killed with SIGKILL is noticed through the lock (not the heartbeat) and replaced', async () => {
    const child = childElection(process.env);
    await until(() => child.out.includes('promoted'), 'the child election to be master', 20_000);
    const cb: ElectionChange[] = [];
    const b = new HostElection({ dir, key: 'k', listen: 'tcp:127.0.0.1:2', logger: silentLogger(), onChange: (c) => cb.push(c), beatMs: 50, staleMs: 10000 });
    running.push(b);
    await b.start();
    expect(b.wanted().role).toBe('standby');
    const killed = killChild(child);
    // Well under the 10 s heartbeat limit, so only the lock can have told (1.5 s against a 2 s limit failed a full
    // run at load 10: the kill, the pipe, cat, flock and the next waiter's flock are five processes to schedule).
    await until(() => b.wanted().role === 'master', 'b to take over', 6000);
    expect(cb).toEqual([{ kind: 'promoted', generation: 2n, reason: `the master ${child.pid}@child died` }]);
    await killed;
  }, 30_000);

  it('the lock child runs no shell start-up files (bash with a socket for stdin and no SHLVL reads ~/.bashrc)', async () => {
    // Seconds of `pyenv init` in root's .bashrc ran each time the lock passed, so a kill -9 was noticed by the stale
    // heartbeat (500 ms) instead of the lock.
    const home = path.join(dir, 'home');
    mkdirSync(home);
    writeFileSync(path.join(home, '.bashrc'), `touch ${path.join(home, 'sourced')}\n`);
    // A process of its own: the lock child must inherit this environment (jest's process.env is the test's copy).
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, SHELL: '/bin/bash' };
    delete env.SHLVL; // as under systemd
    const child = childElection(env);
    try {
      await until(() => child.out.includes('promoted'), 'the child election to be master', 20_000);
    } finally {
      await killChild(child);
    }
    expect(existsSync(path.join(home, 'sourced'))).toBe(false);
  }, 30_000);

  // A master paused (SIGSTOP) between reading the record and writing its beat writes, on waking, its own old record
  // over the claim its standby made meanwhile.
  it('a paused master\'s late beat does not demote the master that claimed past it', async () => {
    const file = path.join(dir, 'vadc-k.json');
    writeFileSync(path.join(dir, 'vadc-k.claim-1'), '999999@old');
    writeFileSync(file, JSON.stringify({ owner: '999999@old', pid: 999999, generation: '1', beatAt: Date.now() - 10_000 }));
    const ca: ElectionChange[] = [];
    const a = await startedMaster(ca);
    expect(a.wanted().generation).toBe(2n);
    writeFileSync(file, JSON.stringify({ owner: '999999@old', pid: 999999, generation: '1', beatAt: Date.now() })); // the late beat
    a.check();
    expect(a.wanted()).toEqual({ role: 'master', generation: 2n });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ owner: a.me, generation: '2' });
    expect(ca.map((c) => c.kind)).toEqual(['promoted']);
    expect(a.status().stoodBy).toBeUndefined(); // a stale record found at start is no master it stood by for
  });

  it('a paused master whose late beat named it again is fenced by the later claim, and does not outbid it', async () => {
    const ca: ElectionChange[] = [];
    const a = await startedMaster(ca);
    const file = path.join(dir, 'vadc-k.json');
    const mine = JSON.parse(readFileSync(file, 'utf8')) as ElectionRecord;
    // While it was paused the standby claimed generation 2; then its late beat wrote generation 1 back.
    writeFileSync(path.join(dir, 'vadc-k.claim-2'), `${process.pid}@peer`);
    writeFileSync(file, JSON.stringify({ ...mine, owner: `${process.pid}@peer`, generation: '2', beatAt: Date.now() }));
    writeFileSync(file, JSON.stringify({ ...mine, beatAt: Date.now() }));
    // The switch demoted it for generation 2: it must not take 3 (the two would take turns at the switch).
    expect(a.outbid(2n)).toEqual({ outbid: false, reason: expect.any(String) });
    a.check();
    expect(a.wanted()).toEqual({ role: 'standby', generation: 2n });
    expect(a.mayWrite(Date.now())).toBe(false);
    expect(ca[ca.length - 1]).toMatchObject({ kind: 'fenced', generation: 2n, by: `${process.pid}@peer` });
  });

  it('a master that finds another named in the record is fenced and stops writing', async () => {
    const ca: ElectionChange[] = [];
    const a = await startedMaster(ca);
    const file = path.join(dir, 'vadc-k.json');
    const taken: ElectionRecord = { ...(JSON.parse(readFileSync(file, 'utf8')) as ElectionRecord), owner: 'intruder', generation: '5' };
    writeFileSync(file, JSON.stringify(taken));
    a.check();
    expect(a.wanted()).toEqual({ role: 'standby', generation: 5n });
    expect(a.mayWrite(Date.now())).toBe(false);
    expect(ca[1]).toMatchObject({ kind: 'fenced', generation: 5n, by: 'intruder' });
  });

  it('outbid: a master of record takes a generation past the switch\'s; a fenced one, or a fourth within a minute, does not', async () => {
    const ca: ElectionChange[] = [];
    const a = await startedMaster(ca);
    // The switch knows 41 (the election's files were removed while OVS ran on): 42, recorded and claimed.
    expect(a.outbid(41n)).toEqual({ outbid: true, generation: 42n });
    expect(a.wanted()).toEqual({ role: 'master', generation: 42n });
    const record = JSON.parse(readFileSync(path.join(dir, 'vadc-k.json'), 'utf8')) as ElectionRecord;
    expect(record).toMatchObject({ owner: a.me, generation: '42' });
    expect(ca[ca.length - 1]).toMatchObject({ kind: 'promoted', generation: 42n, reason: expect.stringContaining('the switch knew generation 41') });
    expect(a.outbid(50n)).toEqual({ outbid: true, generation: 51n });
    expect(a.outbid(60n)).toEqual({ outbid: true, generation: 61n });
    // A controller from another election keeps outbidding back: the fourth within a minute is refused.
    expect(a.outbid(70n)).toEqual({ outbid: false, reason: expect.stringContaining('3 outbids within 60 s') });
    expect(a.wanted().generation).toBe(61n);
    // The record names another master: never outbid it (it is this pair's peer, legitimately later).
    writeFileSync(path.join(dir, 'vadc-k.json'), JSON.stringify({ ...record, owner: 'peer', generation: '62' }));
    expect(a.outbid(62n)).toEqual({ outbid: false, reason: expect.any(String) });
    expect(a.wanted()).toEqual({ role: 'standby', generation: 62n });
  });

  // The lease (staleMs 400, beats of 50 ms: 300 ms) on a clock the test moves; the moves and the checks run in one
  // turn, so no beat runs between them.
  async function masterWithStandby(): Promise<{ a: HostElection; clock: { now: number }; file: string }> {
    const clock = { now: Date.now() };
    const a = new HostElection({ dir, key: 'k', listen: 'tcp:127.0.0.1:1', logger: silentLogger(), onChange: () => undefined, beatMs: 50, staleMs: 400, now: () => clock.now });
    running.push(a);
    await a.start();
    await until(() => a.wanted().role === 'master', 'a to be master', 10_000);
    writeFileSync(path.join(dir, 'vadc-k.standby'), JSON.stringify({ id: 'peer', at: clock.now }));
    await until(() => a.status().peer === 'peer', 'a to see the peer', 3000); // a beat read it
    await new Promise((r) => setTimeout(r, 120)); // and the next beats confirmed the lease at clock.now
    return { a, clock, file: path.join(dir, 'vadc-k.json') };
  }

  it('a master paused longer than the standby look-back writes nothing on waking when another took over meanwhile', async () => {
    const { a, clock, file } = await masterWithStandby();
    expect(a.mayWrite(clock.now)).toBe(true);
    // Paused 5 s (SIGSTOP): the standby took generation 2. The standby was last seen 5 s ago, before the pause.
    clock.now += 5000;
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as ElectionRecord), owner: 'peer', pid: process.pid, generation: '2', beatAt: clock.now }));
    expect(a.mayWrite(clock.now)).toBe(false);
    await until(() => a.wanted().role === 'standby', 'a to stand by', 3000); // and the election heard of it
  });

  it('a master whose beat came late (a busy event loop) keeps writing while the record still names it, and renews its beat', async () => {
    const { a, clock, file } = await masterWithStandby();
    clock.now += 450; // past the 300 ms lease, no beat in between
    expect(a.mayWrite(clock.now)).toBe(true);
    expect((JSON.parse(readFileSync(file, 'utf8')) as ElectionRecord).beatAt).toBe(clock.now);
    expect(a.wanted().role).toBe('master');
  });

  it('refuses a heartbeat that does not fit its lease', () => {
    expect(() => new HostElection({ dir, key: 'k', listen: 'x', logger: silentLogger(), onChange: () => undefined, beatMs: 300, staleMs: 500 }))
      .toThrow(ElectionError);
  });
});
