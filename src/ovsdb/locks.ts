/**
 * The locks a session wants (RFC 7047 4.1.8-4.1.10), kept across connections (pure bookkeeping).
 *
 * ovsdb-server keeps locks in the memory of one server process: they are not replicated through Raft.
 * Contenders for a cluster-wide lock (ovn-northd's active/standby) must therefore all talk to the
 * leader, so a session that takes locks on a database must be leader-only. A wanted lock is asked for
 * again on every new connection (like OVS's ovsdb-cs), with "lock": the server queues the session and
 * notifies "locked" when it is its turn. Losing the connection loses the lock.
 *
 * Server rules (ovsdb/server.c): "steal" takes the lock at once and the previous owner gets "stolen";
 * an owner that had used "lock" stays queued and is notified "locked" again when the thief releases it;
 * one that had used "steal" is dropped from the queue but must still "unlock" before asking again.
 */
import { OvsdbUsageError } from './errors';
import { Json, isPlainObject } from './notation';

export type LockMethod = 'lock' | 'steal';

/** RFC 7047 <id>: the server refuses other lock names. */
const LOCK_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_LOCK_NAME = 256;

export function checkLockName(name: string): string {
  if (typeof name !== 'string' || !LOCK_NAME.test(name) || name.length > MAX_LOCK_NAME) {
    throw new OvsdbUsageError(`lock name ${JSON.stringify(name)} is not an identifier ([A-Za-z_][A-Za-z0-9_]*, at most ${MAX_LOCK_NAME} characters)`);
  }
  return name;
}

interface Wanted {
  /** How it was last asked for on the current connection. */
  method: LockMethod;
  held: boolean;
}

export class LockSet {
  private readonly wanted = new Map<string, Wanted>();

  names(): string[] {
    return [...this.wanted.keys()];
  }

  has(name: string): boolean {
    return this.wanted.has(name);
  }

  held(name: string): boolean {
    return this.wanted.get(name)?.held === true;
  }

  method(name: string): LockMethod | undefined {
    return this.wanted.get(name)?.method;
  }

  want(name: string, method: LockMethod): void {
    const entry = this.wanted.get(name);
    if (entry) entry.method = method;
    else this.wanted.set(name, { method, held: false });
  }

  /** The server granted it; true when that is news (emit "locked"). Ignored for locks no longer wanted. */
  granted(name: string): boolean {
    const entry = this.wanted.get(name);
    if (!entry || entry.held) return false;
    entry.held = true;
    return true;
  }

  /** Another client stole it; true when it was held (emit "stolen"). */
  stolen(name: string): boolean {
    const entry = this.wanted.get(name);
    if (!entry?.held) return false;
    entry.held = false;
    return true;
  }

  /** No longer wanted; returns whether it was wanted at all (so the server must be told). */
  release(name: string): boolean {
    return this.wanted.delete(name);
  }

  /** The connection is gone: every lock it held is lost. Returns their names; all stay wanted, as "lock". */
  connectionLost(): string[] {
    const lost: string[] = [];
    for (const [name, entry] of this.wanted) {
      if (entry.held) lost.push(name);
      entry.held = false;
      entry.method = 'lock';
    }
    return lost;
  }
}

/** The connection a LockKeeper talks through: requests with the session's timeout, and whether it is still in use. */
export interface LockChannel {
  request(method: string, params: Json[]): Promise<unknown>;
  current(): boolean;
}

export type LockEventKind = 'locked' | 'stolen' | 'lockLost';

/** The wanted locks and the protocol around them, for one session; events go out through `emit`. */
export class LockKeeper {
  private readonly set = new LockSet();

  constructor(private readonly emit: (kind: LockEventKind, name: string, reason?: string) => void) {}

  wanted(): string[] {
    return this.set.names();
  }

  held(name: string): boolean {
    return this.set.held(name);
  }

  /** Wants `name` from now on; asks through `channel` when connected. True when granted now. */
  async take(channel: LockChannel | undefined, name: string, method: LockMethod): Promise<boolean> {
    const alreadyWanted = this.set.has(name);
    if (alreadyWanted && method === 'lock') return this.set.held(name);
    this.set.want(name, method);
    if (!channel) return false;
    // The server refuses a second lock/steal for a name until it is unlocked.
    if (alreadyWanted) await channel.request('unlock', [name]);
    return this.ask(channel, name, method);
  }

  /** Sends lock/steal for a wanted lock (also on each new connection). */
  async ask(channel: LockChannel, name: string, method: LockMethod): Promise<boolean> {
    const result = await channel.request(method, [name]);
    const locked = isPlainObject(result) && result.locked === true;
    if (locked && channel.current() && this.set.granted(name)) this.emit('locked', name);
    return locked;
  }

  async release(channel: LockChannel | undefined, name: string): Promise<void> {
    if (this.set.release(name) && channel) await channel.request('unlock', [name]);
  }

  /** The server's "locked" notification. */
  onLocked(name: string): void {
    if (this.set.granted(name)) this.emit('locked', name);
  }

  /** The server's "stolen" notification. A lock taken with "steal" is dropped from the server's queue: queue again. */
  onStolen(channel: LockChannel, name: string): void {
    if (!this.set.stolen(name)) return;
    this.emit('stolen', name);
    if (this.set.method(name) !== 'steal') return;
    this.set.want(name, 'lock');
    void channel
      .request('unlock', [name])
      .then(() => (this.set.has(name) && channel.current() ? this.ask(channel, name, 'lock') : false))
      .catch(() => undefined);
  }

  connectionLost(remote: string): void {
    for (const name of this.set.connectionLost()) this.emit('lockLost', name, `connection to ${remote} lost`);
  }
}
