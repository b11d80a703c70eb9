/**
 * OvsdbClient: one reconnecting OVSDB session over one or several remotes (a Raft cluster's members).
 * A connection (connection.ts) counts as connected only once its whole handshake succeeded: the `_Server` check
 * of the session's database (member-watch.ts, which also says which member a monitor must resume on), the schemas,
 * every monitor (monitor_cond_since where possible, live-monitor.ts) and every wanted lock (locks.ts); one that fails any step is closed before
 * the next attempt. While connected it follows the member's `_Server` row and moves on when the member
 * stops being usable. Attempts go round the remotes, then back off (remotes.ts). Events: `state` on every
 * change (chatty while retrying); `connected` when usable and `disconnected` once per outage.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../util/logger';
import { silentLogger } from '../util/logger';
import { OvsdbClosedError, OvsdbConnectionError, OvsdbError, OvsdbProtocolError, OvsdbRpcError, OvsdbUsageError } from './errors';
import type { ConnectedInfo, MonitorHandle, OvsdbClientEvents, OvsdbClientOptions, SessionState } from './client-types';
import { Connection, dropConnection, openConnection, toOvsdbError } from './connection';
import type { RequestOptions } from './jsonrpc';
import { IssueResult, LiveMonitor, MonitorBatchKind, MonitorListener, MonitorRequests } from './live-monitor';
import { LockChannel, LockKeeper, LockMethod, checkLockName } from './locks';
import type { RowChange } from './monitor';
import { Json, describe } from './notation';
import { Operation, OperationResult, decodeTransactResult } from './operations';
import { BackoffPolicy, DEFAULT_BACKOFF, backoffDelay, checkBackoffPolicy, parseRemotes, shuffled } from './remotes';
import { DatabaseSchema, parseSchema } from './schema';
import { LogPosition, MemberWatch } from './member-watch';
import { SERVER_MONITOR_ID, ServerDbInfo } from './server-db';
import type { OvsdbTarget } from './transport';

export type { MonitorRequests, MonitorTableRequest, MonitorListener, MonitorBatchKind, MonitorStats } from './live-monitor';
export type { OvsdbClientOptions, SessionState, ConnectedInfo, MonitorHandle, OvsdbClientEvents } from './client-types';
export type { LogPosition } from './member-watch';

/** How long a member that is in its cluster but behind is waited for on its connection (catchUpMs). */
export const DEFAULT_CATCH_UP_MS = 5_000;

interface Deferred {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class OvsdbClient extends EventEmitter<OvsdbClientEvents> {
  readonly remotes: readonly OvsdbTarget[];
  private readonly order: OvsdbTarget[];
  private readonly backoff: BackoffPolicy;
  private readonly logger: Logger;
  private readonly random: () => number;
  private conn: Connection | undefined;
  private current: SessionState = { kind: 'connecting', remote: '', since: Date.now(), failedRounds: 0 };
  private readonly monitors = new Map<string, LiveMonitor>();
  private readonly schemas = new Map<string, DatabaseSchema>();
  private readonly locks = new LockKeeper((kind, name, reason) => (kind === 'lockLost' ? this.emit(kind, name, reason ?? '') : this.emit(kind, name)));
  private readonly readyWaiters = new Set<Deferred>();
  private readonly abort = new AbortController();
  private nextMonitorId = 1;
  private userClosed = false;
  private everConnected = false;
  private outageReported = false;
  private lastError: OvsdbError | undefined;
  /** The `_Server` checks, when the session is for one database. */
  private readonly watch: MemberWatch | undefined;
  private firstRound: Deferred | undefined;
  private lastConnected: ConnectedInfo | undefined;
  private constructor(
    remotes: OvsdbTarget[],
    private readonly opts: OvsdbClientOptions,
  ) {
    super();
    this.remotes = remotes;
    this.watch = opts.database
      ? new MemberWatch(opts.database, opts.leaderOnly === true, opts.logPosition, opts.catchUpMs ?? DEFAULT_CATCH_UP_MS)
      : undefined;
    this.logger = opts.logger ?? silentLogger();
    this.random = opts.random ?? Math.random;
    this.backoff = checkBackoffPolicy({
      initialMs: opts.backoffInitialMs ?? DEFAULT_BACKOFF.initialMs,
      maxMs: opts.backoffMaxMs ?? Math.max(DEFAULT_BACKOFF.maxMs, opts.backoffInitialMs ?? 0),
      jitter: opts.backoffJitter ?? DEFAULT_BACKOFF.jitter,
    });
    this.order = opts.shuffleRemotes ? shuffled(remotes, this.random) : [...remotes];
  }

  /**
   * Starts a session over `remotes` ("unix:A,tcp:H:P,ssl:H:P") and returns at once; it connects in the
   * background and keeps trying until close(). Throws OvsdbTargetError for a malformed remote list.
   */
  static open(remotes: string, opts: OvsdbClientOptions = {}): OvsdbClient {
    const client = new OvsdbClient(parseRemotes(remotes), opts);
    void client.run();
    return client;
  }

  /**
   * Like open(), but resolves once connected and rejects (closing the client) with the last attempt's
   * error when the first round over all remotes fails — for commands that should fail fast.
   */
  static async connect(remotes: string, opts: OvsdbClientOptions = {}): Promise<OvsdbClient> {
    const client = new OvsdbClient(parseRemotes(remotes), opts);
    const first = new Promise<void>((resolve, reject) => (client.firstRound = { resolve, reject }));
    void client.run();
    try {
      await first;
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  get state(): SessionState {
    return this.current;
  }

  /** True only while a connection is usable: its handshake (checks, monitors, locks) fully succeeded. */
  get connected(): boolean {
    return this.conn?.live === true;
  }

  /** The `_Server` row of the member in use (leader, connected, index, cluster id), while connected. */
  get member(): ServerDbInfo | undefined {
    return this.conn?.live ? this.conn.member : undefined;
  }

  /**
   * The highest `_Server` index seen on any member and its cluster id (with `database` set, once a clustered
   * member was seen; else the `logPosition` option). Save it with data read through the session and pass it
   * back as `logPosition` after a restart: members behind it are then refused as they are now.
   */
  get logPosition(): LogPosition | undefined {
    return this.watch?.position;
  }

  /** Resolves when connected (at once if it is); rejects on close() or after `timeoutMs`. */
  ready(timeoutMs = 0): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.userClosed) return Promise.reject(new OvsdbClosedError('client closed'));
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Deferred = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (err) => (clearTimeout(timer), reject(err)),
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.readyWaiters.delete(waiter);
          reject(new OvsdbConnectionError(this.remotesText(), `not connected within ${timeoutMs} ms${this.lastErrorText()}`));
        }, timeoutMs);
      }
      this.readyWaiters.add(waiter);
    });
  }

  async listDbs(opts?: RequestOptions): Promise<string[]> {
    const result = await this.request('list_dbs', [], opts);
    if (!Array.isArray(result) || !result.every((n) => typeof n === 'string')) {
      throw new OvsdbProtocolError(`list_dbs reply is not a list of names: ${describe(result)}`);
    }
    return result;
  }

  async getSchema(db: string, opts?: RequestOptions): Promise<DatabaseSchema> {
    const schema = parseSchema(await this.request('get_schema', [db], opts));
    this.schemas.set(db, schema);
    return schema;
  }

  async transact(db: string, ops: Operation[], opts?: RequestOptions): Promise<OperationResult[]> {
    return decodeTransactResult(ops, await this.request('transact', [db, ...ops], opts));
  }

  async echo(payload: Json[] = [], opts?: RequestOptions): Promise<unknown> {
    return this.request('echo', payload, opts);
  }

  /**
   * Starts a monitor, kept across reconnections; resolves once its first rows are in (when the session
   * next connects, if it is not connected now). The listener gets the first rows, then every change.
   * Rejects if the server refuses the request (unknown table or column) or the client is closed.
   */
  async monitor(db: string, requests: MonitorRequests, listener: MonitorListener): Promise<MonitorHandle> {
    if (this.userClosed) throw new OvsdbClosedError('client closed');
    const schema = this.schemas.get(db) ?? { name: db, version: '', tables: {} };
    const live = new LiveMonitor(`vadc-monitor-${this.nextMonitorId++}`, db, requests, listener, schema);
    this.monitors.set(live.id, live);
    if (this.conn?.live) void this.issue(this.conn, live, false).catch(() => undefined);
    await live.loaded;
    return {
      id: live.id,
      db,
      rows: (table) => live.rows(table),
      stats: () => ({ ...live.stats }),
      cancel: async () => {
        this.monitors.delete(live.id);
        const conn = this.conn;
        if (conn?.live && live.issuedOn === conn.rpc) await conn.rpc.request('monitor_cancel', [live.id]).catch(() => undefined);
      },
    };
  }

  /**
   * Asks for lock `name` and keeps wanting it across reconnections until unlock(). Resolves true when
   * granted now; otherwise a "locked" event follows when it is. Locks live in one server process, so
   * with `database` set the session must be leaderOnly.
   */
  lock(name: string): Promise<boolean> {
    return this.takeLock(name, 'lock');
  }

  /** Takes lock `name` from its owner at once (the owner gets "stolen"). */
  steal(name: string): Promise<boolean> {
    return this.takeLock(name, 'steal');
  }

  async unlock(name: string): Promise<void> {
    checkLockName(name);
    await this.locks.release(this.conn?.live ? this.channel(this.conn) : undefined, name);
  }

  hasLock(name: string): boolean {
    return this.connected && this.locks.held(name);
  }

  /** Closes for good, at once, in any state: no reconnect; waiting calls fail with OvsdbClosedError. */
  close(): void {
    if (this.userClosed) return;
    this.userClosed = true;
    this.abort.abort();
    const conn = this.conn;
    this.conn = undefined;
    conn?.rpc.close('client closed');
    const closed = new OvsdbClosedError('client closed');
    for (const live of this.monitors.values()) live.settleFirstLoad(closed);
    for (const waiter of this.readyWaiters) waiter.reject(closed);
    this.readyWaiters.clear();
    this.firstRound?.reject(closed);
    this.monitors.clear();
    this.setState({ kind: 'closed', since: Date.now(), ...(this.lastError ? { lastError: this.lastError.message } : {}) });
  }

  // ------------------------------------------------------------------ the connection loop

  private get handshakeTimeoutMs(): number {
    return this.opts.handshakeTimeoutMs ?? 30_000;
  }

  private remotesText(): string {
    return this.remotes.map((t) => t.text).join(',');
  }

  private lastErrorText(): string {
    return this.lastError ? ` (last error: ${this.lastError.message})` : '';
  }

  private setState(state: SessionState): void {
    this.current = state;
    this.emit('state', state);
  }

  private async run(): Promise<void> {
    let next = 0;
    let failedRounds = 0;
    let freeTries = this.order.length;
    while (!this.userClosed) {
      const target = this.order[next++ % this.order.length];
      this.setState({ kind: 'connecting', remote: target.text, since: Date.now(), failedRounds, ...(this.lastError ? { lastError: this.lastError.message } : {}) });
      let conn: Connection;
      try {
        conn = await this.handshake(target);
      } catch (err) {
        if (this.userClosed) return;
        this.lastError = toOvsdbError(err);
        this.logger.warn('ovsdb: connection attempt failed', { remote: target.text, error: this.lastError.message });
        if (--freeTries > 0) continue;
        this.roundFailed();
        await this.pause(++failedRounds);
        freeTries = this.order.length;
        continue;
      }
      this.goLive(conn);
      const error = await conn.closed;
      if (this.userClosed) return;
      this.lastError = error ?? new OvsdbClosedError(`connection to ${target.text} closed`);
      if (this.opts.reconnect === false) {
        this.close();
        return;
      }
      // A connection that lived at least as long as the next pause would be was healthy: every remote gets
      // a free try again. One that died sooner counts as a failed round, so a server that accepts and then
      // drops us cannot make us reconnect in a tight loop.
      freeTries = this.order.length;
      if (Date.now() - conn.since >= backoffDelay(failedRounds + 1, { ...this.backoff, jitter: 0 })) failedRounds = 0;
      else await this.pause(++failedRounds);
    }
  }

  private async pause(failedRounds: number): Promise<void> {
    if (this.userClosed) return;
    const delay = backoffDelay(failedRounds, this.backoff, this.random);
    const lastError = (this.lastError as OvsdbError).message;
    this.setState({ kind: 'backoff', since: Date.now(), retryAt: Date.now() + delay, failedRounds, lastError });
    // close() aborts the signal, which ends the pause at once.
    await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  /** A whole round of remotes failed: the first time in an outage, tell listeners (once). */
  private roundFailed(): void {
    const error = this.lastError as OvsdbError;
    if (this.firstRound && !this.everConnected) {
      this.firstRound.reject(error);
      this.firstRound = undefined;
    }
    if (!this.outageReported) {
      this.outageReported = true;
      this.emit('disconnected', error);
    }
  }

  /** Opens a connection and runs every step that must succeed before it counts as connected. */
  private async handshake(target: OvsdbTarget): Promise<Connection> {
    const conn = await openConnection(target, this.opts, this.logger, this.abort.signal, {
      notification: (c, method, params) => this.onNotification(c, method, params),
      closed: (c, error) => this.onConnectionClosed(c, error),
    });
    const rpc = conn.rpc;
    this.conn = conn;
    try {
      if (this.userClosed) throw new OvsdbClosedError('client closed');
      if (this.watch) Object.assign(conn, await this.watch.start(rpc, target.text, this.handshakeTimeoutMs));
      const t = { timeoutMs: this.handshakeTimeoutMs };
      // The session's database must answer get_schema even before anything monitors it: a server that
      // errors everything is not "connected".
      const dbs = [...(this.opts.database ? [this.opts.database] : []), ...[...this.monitors.values()].map((m) => m.db)];
      for (const db of new Set(dbs)) {
        this.schemas.set(db, parseSchema(await rpc.request('get_schema', [db], t)));
      }
      // Monitors added while this runs are picked up by the loop (a Map iterates over late additions).
      let resumed = 0;
      let reloaded = 0;
      const resumeOnly = this.watch?.resumeOnly(target.text, conn.member);
      for (const live of this.monitors.values()) {
        const result = await this.issue(conn, live, true, resumeOnly);
        if (result?.resumed) resumed++;
        else if (result) reloaded++;
      }
      for (const name of this.locks.wanted()) await this.locks.ask(this.channel(conn), name, 'lock');
      if (rpc.closed) throw conn.dropError ?? rpc.closeReason ?? new OvsdbClosedError('closed during the handshake');
      conn.since = Date.now();
      this.lastConnected = { remote: target.text, ...(conn.member ? { member: conn.member } : {}), resumed, reloaded };
      return conn;
    } catch (err) {
      // Never leave a half-set-up connection open: its socket is closed before the next attempt.
      if (this.conn === conn) this.conn = undefined;
      this.watch?.handshakeFailed(target.text, err);
      rpc.close(`handshake failed: ${(err as Error).message}`);
      throw conn.dropError ?? err;
    }
  }

  private goLive(conn: Connection): void {
    conn.live = true;
    this.watch?.connected();
    this.everConnected = true;
    this.outageReported = false;
    this.firstRound?.resolve();
    this.firstRound = undefined;
    const info = this.lastConnected as ConnectedInfo;
    this.setState({ kind: 'connected', remote: conn.target.text, since: Date.now(), ...(conn.member ? { member: conn.member } : {}) });
    this.logger.info('ovsdb: connected', { remote: conn.target.text, leader: conn.member?.leader, resumed: info.resumed, reloaded: info.reloaded });
    this.emit('connected', info);
    for (const waiter of this.readyWaiters) waiter.resolve();
    this.readyWaiters.clear();
    // Monitors added after the handshake had passed them wait for no other connection.
    for (const live of this.monitors.values()) if (live.issuedOn !== conn.rpc) void this.issue(conn, live, false).catch(() => undefined);
  }

  /**
   * Issues one monitor on `conn` and delivers its changes. A monitor the server refuses before it ever
   * loaded is the caller's mistake: it is dropped and its monitor() call rejects. Any other failure is
   * thrown (during a handshake: the attempt fails; on a live connection: the connection is dropped).
   */
  private async issue(conn: Connection, live: LiveMonitor, inHandshake: boolean, resumeOnly?: string): Promise<IssueResult | undefined> {
    let result: IssueResult;
    try {
      const schema = this.schemas.get(live.db) ?? parseSchema(await conn.rpc.request('get_schema', [live.db], { timeoutMs: this.handshakeTimeoutMs }));
      this.schemas.set(live.db, schema);
      live.setSchema(schema);
      result = await live.issue(conn.rpc, conn.support, this.handshakeTimeoutMs, resumeOnly);
    } catch (err) {
      if (live.awaitingFirstLoad && err instanceof OvsdbRpcError && !conn.rpc.closed) {
        this.monitors.delete(live.id);
        live.settleFirstLoad(err);
        return undefined;
      }
      if (inHandshake || conn.rpc.closed) throw err;
      dropConnection(conn, err, this.logger);
      return undefined;
    }
    if (!this.monitors.has(live.id)) return result; // cancelled meanwhile
    this.deliver(live, result.changes, result.resumed ? 'resumed' : 'initial');
    live.settleFirstLoad();
    let queued: RowChange[][];
    try {
      queued = live.takeQueued();
    } catch (err) {
      if (inHandshake) throw err;
      dropConnection(conn, err, this.logger);
      return undefined;
    }
    for (const changes of queued) this.deliver(live, changes, 'update');
    return result;
  }

  private deliver(live: LiveMonitor, changes: RowChange[], kind: MonitorBatchKind): void {
    const error = live.deliver(changes, kind);
    if (error) this.emit('monitorError', error, live.id);
  }

  private async takeLock(name: string, method: LockMethod): Promise<boolean> {
    checkLockName(name);
    if (this.opts.database && this.opts.leaderOnly !== true) {
      throw new OvsdbUsageError(`lock "${name}": locks live in one server process, so a session for database ${this.opts.database} must be leaderOnly to take them`);
    }
    if (this.userClosed) throw new OvsdbClosedError('client closed');
    return this.locks.take(this.conn?.live ? this.channel(this.conn) : undefined, name, method);
  }

  private channel(conn: Connection): LockChannel {
    return {
      request: (method, params) => conn.rpc.request(method, params, { timeoutMs: this.handshakeTimeoutMs }),
      current: () => this.conn === conn,
    };
  }

  // ------------------------------------------------------------------ while connected

  private onNotification(conn: Connection, method: string, params: unknown[]): void {
    if (this.conn !== conn) return;
    try {
      if (method === 'update' || method === 'update2' || method === 'update3') {
        if (params[0] === SERVER_MONITOR_ID && conn.monitor) {
          conn.monitor.onNotification(method, params);
          // While queued behind the monitor reply the row is judged by MemberWatch.start, once applied.
          if (!conn.monitor.queuing) this.onServerRow(conn, conn.monitor);
          return;
        }
        const live = typeof params[0] === 'string' ? this.monitors.get(params[0]) : undefined;
        if (!live) return; // a monitor cancelled while the update was in flight
        this.deliver(live, live.onNotification(method, params), 'update');
      } else if (method === 'locked' && typeof params[0] === 'string') {
        this.locks.onLocked(params[0]);
      } else if (method === 'stolen' && typeof params[0] === 'string') {
        this.locks.onStolen(this.channel(conn), params[0]);
      } else if (method === 'monitor_canceled') {
        dropConnection(conn, new OvsdbClosedError(`the server cancelled monitor ${describe(params[0])}`), this.logger);
      }
    } catch (err) {
      // Wrong shapes from the server: drop the connection and rebuild from a fresh monitor.
      dropConnection(conn, err, this.logger);
    }
  }

  private onServerRow(conn: Connection, monitor: LiveMonitor): void {
    const before = conn.member;
    try {
      conn.member = this.watch?.judge(monitor, conn.target.text);
    } catch (err) {
      dropConnection(conn, err, this.logger);
      return;
    }
    const after = conn.member;
    if (conn.live && (before?.leader !== after?.leader || before?.connected !== after?.connected)) {
      this.setState({ kind: 'connected', remote: conn.target.text, since: Date.now(), ...(after ? { member: after } : {}) });
    }
  }

  private onConnectionClosed(conn: Connection, error: OvsdbError | undefined): void {
    if (this.conn === conn) this.conn = undefined;
    for (const live of this.monitors.values()) if (live.issuedOn === conn.rpc) live.issuedOn = undefined;
    this.locks.connectionLost(conn.target.text);
    if (!conn.live) return; // a failed handshake: the attempt reports it
    conn.live = false;
    if (this.userClosed) return;
    this.outageReported = true;
    this.logger.warn('ovsdb: disconnected', { remote: conn.target.text, error: error?.message });
    this.emit('disconnected', error);
  }

  private request(method: string, params: Json[], opts?: RequestOptions): Promise<unknown> {
    const conn = this.conn;
    if (!conn?.live) {
      return Promise.reject(new OvsdbClosedError(this.userClosed ? 'client closed' : `not connected to ${this.remotesText()}${this.lastErrorText()}`));
    }
    return conn.rpc.request(method, params, opts);
  }
}
