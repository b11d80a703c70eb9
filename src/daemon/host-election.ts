// Host-local election of the master among vadc instances that serve the same configuration (controller HA,
// docs/operators/run-a-pair.md). Three files per pair, in one directory:
//   KEY.lock        held (flock, through a small `flock` child process) by one instance; the kernel releases it the
//                   instant that instance dies, and the waiting one learns it at once;
//   KEY.json        the record: the master's id, pid, generation (the OpenFlow fencing token) and heartbeat time;
//   KEY.claim-GEN   created exclusively by whoever takes generation GEN (its id inside), so two claimants never share
//                   one; the latest claim outranks an older record (a paused master's late beat, below).
// A master that dies is replaced as soon as the lock passes; one that hangs (SIGSTOP, a stalled event loop) when its
// heartbeat is older than `staleMs`; a master that finds the record names another wins nothing back: it is fenced.
// Beside them, KEY.config.json: the configuration the master runs, for its standby (./pair-config.ts).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { WantedRole } from '../controller/role';
import type { Logger } from '../util/logger';
import { processRuns } from '../util/proc-stat';
import type { ControllerElection, ElectionChange, ElectionStatus } from './election';
import { generationPast, OutbidBudget, type OutbidVerdict } from './outbid';
import { INSTANCE_PATHS, type PairConfigChannel } from './pair-config';

export type { ElectionChange, ElectionStatus } from './election';

export interface ElectionRecord {
  /** The master's instance id (pid and OpenFlow listen target). */
  owner: string;
  pid: number;
  /** Decimal: the generation id the master asks the switches for MASTER with. */
  generation: string;
  /** Wall-clock ms of the master's last heartbeat; 0 when it resigned. */
  beatAt: number;
  /** The master's control API, for `vadc status` on its peer. */
  api?: string;
}

export interface ElectionFacts {
  now: number;
  me: string;
  record: ElectionRecord | undefined;
  /** This instance holds KEY.lock. */
  holdLock: boolean;
  /** The record's pid is a live process (not gone, not a zombie). */
  ownerAlive: boolean;
  staleMs: number;
}

export type ElectionVerdict =
  | { role: 'master'; claim?: undefined }
  | { role: 'standby'; claim?: { generation: bigint; reason: string } }
  /** The record names another master: a master that reads this was fenced. */
  | { role: 'standby'; claim?: undefined };

/** The pure rule: given the files' facts, is this instance master, should it claim, or stay standby? */
export function electionVerdict(f: ElectionFacts): ElectionVerdict {
  const r = f.record;
  if (r && r.owner === f.me) return { role: 'master' };
  const next = r ? BigInt(r.generation) + 1n : 1n;
  if (!r) return f.holdLock ? { role: 'standby', claim: { generation: next, reason: 'no master yet' } } : { role: 'standby' };
  if (r.beatAt === 0) return { role: 'standby', claim: { generation: next, reason: `the master ${r.owner} resigned` } };
  if (f.holdLock && !f.ownerAlive) return { role: 'standby', claim: { generation: next, reason: `the master ${r.owner} died` } };
  const age = f.now - r.beatAt;
  if (age > f.staleMs) return { role: 'standby', claim: { generation: next, reason: `the master ${r.owner} has not beaten for ${age} ms (limit ${f.staleMs} ms)` } };
  return { role: 'standby' };
}

/**
 * The pairing key: the configuration without what is each instance's own (INSTANCE_PATHS: listen addresses, HA,
 * API and log settings). The daemon passes its file's configuration, not the runtime changes on top of it.
 */
export function pairKey(config: unknown): string {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  for (const p of INSTANCE_PATHS) {
    const parent = p.slice(0, -1).reduce<Record<string, unknown> | undefined>((o, k) => o?.[k] as Record<string, unknown> | undefined, copy);
    if (parent) delete parent[p[p.length - 1]];
  }
  return createHash('sha256').update(JSON.stringify(copy)).digest('hex').slice(0, 16);
}

export interface HostElectionOptions {
  dir: string;
  key: string;
  /** This instance: its OpenFlow listen target names it to its peer. */
  listen: string;
  api?: string;
  beatMs?: number;
  staleMs?: number;
  /** A master writes only while its last confirmed heartbeat is younger than this (default staleMs / 2). */
  leaseMs?: number;
  logger: Logger;
  onChange: (change: ElectionChange) => void;
  now?: () => number;
  /** Where the master publishes its configuration for the standby (KEY.config.json beside the record, ./pair-config.ts). */
  configChannel?: PairConfigChannel;
}

const DEFAULT_BEAT_MS = 100;
export const DEFAULT_STALE_MS = 500;

export class ElectionError extends Error {
  override readonly name = 'ElectionError';
}

export class HostElection implements ControllerElection {
  readonly me: string;
  private readonly base: string;
  private readonly beatMs: number;
  private readonly staleMs: number;
  private readonly leaseMs: number;
  private readonly now: () => number;
  private role: 'master' | 'standby' = 'standby';
  private generation = 0n;
  private confirmedAt = -Infinity;
  /** reconfirm() found the record names another master; it reads again only after the next beat. */
  private reconfirmRefused = false;
  private lastRecord?: ElectionRecord;
  private lockChild?: ChildProcessByStdio<Writable, Readable, null>;
  private holdLock = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private standbySeen?: { id: string; at: number };
  /** The master this instance last stood by for (ElectionStatus.stoodBy). */
  private stoodBy?: string;
  private readonly outbids = new OutbidBudget();
  readonly configChannel?: PairConfigChannel;

  constructor(private readonly opts: HostElectionOptions) {
    this.me = `${process.pid}@${opts.listen}`;
    this.base = path.join(opts.dir, `vadc-${opts.key}`);
    this.configChannel = opts.configChannel;
    this.beatMs = opts.beatMs ?? DEFAULT_BEAT_MS;
    this.staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
    this.leaseMs = opts.leaseMs ?? this.staleMs - 2 * this.beatMs;
    this.now = opts.now ?? Date.now;
    if (this.beatMs * 2 > this.leaseMs) {
      throw new ElectionError(`a heartbeat every ${this.beatMs} ms does not fit a lease of ${this.leaseMs} ms (takeover after ${this.staleMs} ms): the takeover limit must be at least 4 heartbeats`);
    }
  }

  /** Starts competing; resolves once the first verdict is known (a lone instance is master by then). */
  async start(): Promise<void> {
    try {
      mkdirSync(this.opts.dir, { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new ElectionError(`controller.ha.dir ${this.opts.dir}: cannot create it: ${(err as Error).message}`);
    }
    const firstLock = this.waitForLock();
    // A lone instance gets the lock at once, as soon as the `flock` child runs: give it up to 2 s before the first
    // verdict (200 ms was too short for the child to start on a loaded machine, and a lone instance came up as a
    // standby until its first heartbeat). Only a second instance, whose lock is held by its master, waits it all.
    // Cleared when the lock came first: a pending 2 s timer kept a stopped election's process alive that long.
    let patience: NodeJS.Timeout | undefined;
    await Promise.race([firstLock, new Promise((r) => (patience = setTimeout(r, 2000)))]);
    clearTimeout(patience);
    this.tick();
    this.timer = setInterval(() => this.tick(), this.beatMs);
  }

  /**
   * Resigns (a graceful stop): the record says so and the lock is released, so a standby takes over at once.
   * Resolves once the lock child has exited (a stopped daemon leaves no process of its own behind).
   */
  stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.role === 'master') {
      const record = this.readCurrent();
      if (record?.owner === this.me) this.writeRecord({ ...record, beatAt: 0 });
    }
    return this.releaseLock();
  }

  wanted(): WantedRole {
    return { role: this.role, generation: this.generation };
  }

  /**
   * A master may write while its heartbeat was confirmed within the lease, so that one that was paused writes
   * nothing on waking before it has read the record again. Alone (no standby seen lately) the lease does not apply:
   * nobody can have taken over, and the switches' generation check still fences a late one.
   */
  mayWrite(now: number): boolean {
    if (this.role !== 'master') return false;
    if (!this.leaseApplies() || now - this.confirmedAt < this.leaseMs) return true;
    return this.reconfirm(now);
  }

  /**
   * Whether a standby was seen lately as of the last confirmation. Judged then, not now: a master paused for
   * longer than the look-back would otherwise find its standby "gone" on waking and write before reading the record.
   */
  private leaseApplies(): boolean {
    return this.standbySeen !== undefined && this.confirmedAt - this.standbySeen.at < this.staleMs * 4;
  }

  /**
   * The lease ran out before the next beat confirmed it: the event loop was late (a loaded host), or this process
   * was paused. The record says which: still ours, the beat is written and the lease renewed now (what the beat
   * would do), so a busy master does not drop the packet-ins of that moment; another's, nothing is written and the
   * election hears of it on the next turn. Read once per beat at most.
   */
  private reconfirm(now: number): boolean {
    if (this.reconfirmRefused) return false;
    const record = this.readCurrent();
    if (record?.owner === this.me && BigInt(record.generation) === this.generation) {
      this.writeRecord({ ...record, beatAt: now, api: this.opts.api });
      this.confirmedAt = now;
      return true;
    }
    this.reconfirmRefused = true;
    setImmediate(() => this.check());
    return false;
  }

  private standbyRecent(now: number): boolean {
    return this.standbySeen !== undefined && now - this.standbySeen.at < this.staleMs * 4;
  }

  status(): ElectionStatus {
    const peer = this.role === 'standby'
      ? this.lastRecord?.owner
      : this.standbyRecent(this.now()) ? this.standbySeen?.id : undefined;
    const masterApi = this.role === 'standby' ? this.lastRecord?.api : undefined;
    return {
      election: 'host', role: this.role, generation: this.generation.toString(), instance: this.me, ...(peer ? { peer } : {}), ...(masterApi ? { masterApi } : {}),
      ...(this.stoodBy ? { stoodBy: this.stoodBy } : {}), key: this.opts.key, where: this.opts.dir,
    };
  }

  /** Re-reads the record now (a switch said another controller took over). */
  check(): void {
    if (!this.stopped) this.tick();
  }

  outbid(switchGeneration: bigint): OutbidVerdict {
    if (this.stopped || this.role !== 'master') return { outbid: false, reason: 'this instance is not master of its election' };
    const record = this.readCurrent();
    if (record?.owner !== this.me || BigInt(record.generation) !== this.generation) {
      this.tick();
      return { outbid: false, reason: 'the election record names another master' };
    }
    const generation = generationPast(switchGeneration, this.generation);
    if (generation === undefined) return { outbid: false, reason: `the switch's generation ${switchGeneration} leaves no later one this election can take` };
    const spent = this.outbids.take(this.now());
    if (spent) return { outbid: false, reason: spent };
    const claimed = this.claim(generation, `the switch knew generation ${switchGeneration}, which this election never issued (its files were lost?): taking ${generation}`, this.now());
    return claimed ? { outbid: true, generation } : { outbid: false, reason: `generation ${generation} was claimed by another instance` };
  }

  private tick(): void {
    if (this.stopped) return;
    this.reconfirmRefused = false;
    const now = this.now();
    const record = this.readCurrent();
    this.lastRecord = record;
    const verdict = electionVerdict({ now, me: this.me, record, holdLock: this.holdLock, ownerAlive: record ? processRuns(record.pid) : false, staleMs: this.staleMs });
    if (this.role === 'master') {
      if (verdict.role === 'master' && record && BigInt(record.generation) === this.generation) {
        this.writeRecord({ ...record, beatAt: now, api: this.opts.api });
        this.confirmedAt = now;
        return;
      }
      this.becomeStandby(record);
      return;
    }
    this.beatAsStandby(now);
    if (record && verdict.role !== 'master') this.generation = BigInt(record.generation); // a standby follows the master's
    if (record && verdict.role === 'standby' && !verdict.claim) this.stoodBy = record.owner; // a live master
    if (verdict.role === 'master') {
      // The record names us but we are standby: a restart of ours reused it (same pid and listen). Claim anew.
      this.claim(BigInt(record!.generation) + 1n, 'the record names this instance', now);
    } else if (verdict.claim) {
      this.claim(verdict.claim.generation, verdict.claim.reason, now);
    }
  }

  private claim(generation: bigint, reason: string, now: number): boolean {
    // Written aside and linked into place: the claim appears with its owner in it, or not at all (link fails EEXIST).
    const tmp = `${this.base}.claim.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, this.me);
      linkSync(tmp, `${this.base}.claim-${generation}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false; // another instance took this generation first
      this.opts.logger.error(`election: cannot claim generation ${generation}: ${(err as Error).message}`);
      return false;
    } finally {
      rmSync(tmp, { force: true });
    }
    this.writeRecord({ owner: this.me, pid: process.pid, generation: generation.toString(), beatAt: now, api: this.opts.api });
    this.role = 'master';
    this.generation = generation;
    this.confirmedAt = now;
    this.cleanClaims(generation);
    this.opts.onChange({ kind: 'promoted', generation, reason });
    return true;
  }

  private becomeStandby(record: ElectionRecord | undefined): void {
    const by = record?.owner ?? 'nobody (the record is gone)';
    const was = this.generation;
    this.role = 'standby';
    if (record) this.stoodBy = record.owner;
    this.confirmedAt = -Infinity;
    if (record) this.generation = BigInt(record.generation);
    // Give the lock back so that the new master's death is noticed by whoever waits next.
    void this.releaseLock();
    if (!this.stopped) void this.waitForLock();
    this.opts.onChange({ kind: 'fenced', generation: this.generation, by, reason: `generation ${was} is over: the record names ${by}${record ? ` with generation ${record.generation}` : ''}` });
  }

  /** A standby tells the master it is there (KEY.standby: its id and time), for status. */
  private beatAsStandby(now: number): void {
    try {
      writeFileSync(`${this.base}.standby`, JSON.stringify({ id: this.me, at: now }));
    } catch {
      // status only
    }
  }

  /**
   * The record as the latest claim allows. A master's beat reads the record and writes it back; paused between the
   * two (SIGSTOP), it writes on waking the record of a generation its standby has claimed past meanwhile, and the
   * new master would read its predecessor named, stand by, and the two would take turns outbidding each other at
   * the switch. A claim file is never rewritten, so a claim later than the record's generation wins: its owner is
   * master, and the record follows at its next beat. Its heartbeat counts from the claim or the late write,
   * whichever came last: a standby gives it the usual limit to beat again (a dead one is still noticed by the lock).
   */
  private readCurrent(): ElectionRecord | undefined {
    const record = this.readRecord();
    const claim = this.latestClaim();
    if (!claim || (record && BigInt(record.generation) >= claim.generation)) return record;
    let writtenAt = 0;
    try {
      writtenAt = statSync(`${this.base}.json`).mtimeMs;
    } catch {
      // no record: the claim's time
    }
    return { owner: claim.owner, pid: Number.parseInt(claim.owner, 10), generation: claim.generation.toString(), beatAt: Math.max(claim.at, writtenAt) };
  }

  /** The highest KEY.claim-GEN: its generation, owner and when it was made. */
  private latestClaim(): { generation: bigint; owner: string; at: number } | undefined {
    const prefix = `vadc-${this.opts.key}.claim-`;
    let latest: bigint | undefined;
    try {
      for (const name of readdirSync(this.opts.dir)) {
        const gen = name.startsWith(prefix) ? name.slice(prefix.length) : '';
        if (/^\d+$/.test(gen) && (latest === undefined || BigInt(gen) > latest)) latest = BigInt(gen);
      }
      if (latest === undefined) return undefined;
      const file = `${this.base}.claim-${latest}`;
      return { generation: latest, owner: readFileSync(file, 'utf8'), at: statSync(file).mtimeMs };
    } catch {
      return undefined; // removed meanwhile (cleanClaims keeps the latest two): the record stands
    }
  }

  private readRecord(): ElectionRecord | undefined {
    let text: string;
    try {
      text = readFileSync(`${this.base}.json`, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const r = JSON.parse(text) as ElectionRecord;
      if (typeof r.owner === 'string' && typeof r.pid === 'number' && /^\d+$/.test(r.generation) && typeof r.beatAt === 'number') {
        if (this.role === 'master') this.readStandby();
        return r;
      }
    } catch {
      // fall through
    }
    this.opts.logger.warn(`election: ${this.base}.json is not a record vadc wrote; treating it as absent`);
    return undefined;
  }

  private readStandby(): void {
    try {
      const s = JSON.parse(readFileSync(`${this.base}.standby`, 'utf8')) as { id: string; at: number };
      if (s.id !== this.me) this.standbySeen = s;
    } catch {
      // none
    }
  }

  private writeRecord(record: ElectionRecord): void {
    const tmp = `${this.base}.json.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(record));
      renameSync(tmp, `${this.base}.json`);
    } catch (err) {
      this.opts.logger.error(`election: cannot write ${this.base}.json: ${(err as Error).message}`);
    }
  }

  private cleanClaims(generation: bigint): void {
    const prefix = `vadc-${this.opts.key}.claim-`;
    try {
      for (const name of readdirSync(this.opts.dir)) {
        if (name.startsWith(prefix) && BigInt(name.slice(prefix.length)) < generation - 1n) rmSync(path.join(this.opts.dir, name), { force: true });
      }
    } catch {
      // tidiness only
    }
  }

  /**
   * Waits for KEY.lock in a `flock` child that holds it while our stdin pipe is open: when this process dies, the
   * pipe closes, the child exits and the kernel gives the lock to the next waiter. Resolves when we hold it.
   */
  private waitForLock(): Promise<void> {
    return new Promise((resolve) => {
      // `/bin/sh -c`, not flock's `-c`: that runs $SHELL, and bash whose stdin is a socket (Node's pipes are) with no
      // SHLVL (a systemd unit) takes itself for an rsh command and sources ~/.bashrc first: seconds of `pyenv init`
      // on a loaded host, while the lock passed at once (a kill -9 then waited for the stale heartbeat instead).
      const child = spawn('flock', ['-x', `${this.base}.lock`, '/bin/sh', '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'ignore'] });
      this.lockChild = child;
      child.on('error', (err) => this.opts.logger.error(`election: cannot run flock (util-linux): ${err.message}; only heartbeats detect a dead master`));
      // Out of file descriptors (EMFILE) spawn returns a child without pipes and says so on 'error' only.
      if (!hasPipes(child)) return;
      child.stdin.on('error', () => undefined);
      child.stdout.on('data', () => {
        if (this.lockChild !== child) return;
        this.holdLock = true;
        resolve();
        // The master may have just died: decide now, not at the next beat. The kernel releases a dying process's
        // lock before the process is gone from /proc, so look again shortly.
        this.check();
        for (const ms of [5, 15, 40, 100]) setTimeout(() => this.check(), ms).unref();
      });
      child.on('exit', () => {
        if (this.lockChild === child) this.holdLock = false;
      });
    });
  }

  /**
   * Resolves once the lock child has exited and its pipes closed (its `cat` ends on our stdin's end): at once on
   * SIGTERM; after LOCK_CHILD_KILL_MS it is killed and its pipes destroyed.
   */
  private releaseLock(): Promise<void> {
    const child = this.lockChild;
    this.lockChild = undefined;
    this.holdLock = false;
    if (!child || child.pid === undefined) return Promise.resolve();
    // A child that died on its own (killed from outside) has emitted 'close' already: waiting for it would never end.
    const exited = child.exitCode !== null || child.signalCode !== null;
    if (exited && (child.stdout === null || child.stdout.destroyed)) return Promise.resolve();
    let bound: NodeJS.Timeout | undefined;
    const closed = new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      bound = setTimeout(() => {
        child.kill('SIGKILL');
        child.stdout?.destroy();
        resolve(); // bounded whatever the child does
      }, LOCK_CHILD_KILL_MS);
    });
    if (hasPipes(child)) child.stdin.end();
    child.kill();
    return closed.finally(() => clearTimeout(bound));
  }
}

/** How long the lock child has to exit on SIGTERM before SIGKILL (it is flock, then cat: it exits at once). */
const LOCK_CHILD_KILL_MS = 2000;

/** Whether spawn gave the child its pipes (it does not when the process is out of file descriptors). */
function hasPipes(child: { stdin: unknown; stdout: unknown }): boolean {
  return child.stdin !== undefined && child.stdin !== null && child.stdout !== undefined && child.stdout !== null;
}
