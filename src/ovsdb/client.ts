/**
 * OvsdbClient: list_dbs, get_schema, transact, monitor (monitor_cond/update2 when the server has it,
 * else monitor), monitor_cancel, lock/steal/unlock and echo over one JsonRpcSession, with reconnect and
 * exponential backoff. After a reconnect every active monitor is re-issued and its replica reset, so
 * subscribers see the rows that changed or vanished while the connection was down.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../util/logger';
import { silentLogger } from '../util/logger';
import { OvsdbClosedError, OvsdbError, OvsdbProtocolError, OvsdbRpcError } from './errors';
import { JsonRpcOptions, JsonRpcSession, RequestOptions } from './jsonrpc';
import { MonitorReplica, RowChange } from './monitor';
import { Condition, Json, Row, describe, encodeCondition, isPlainObject } from './notation';
import { Operation, OperationResult, decodeTransactResult } from './operations';
import { DatabaseSchema, parseSchema } from './schema';
import { OvsdbTarget, TlsFiles, openStream, parseTarget } from './transport';

export interface OvsdbClientOptions extends JsonRpcOptions {
  tls?: TlsFiles;
  connectTimeoutMs?: number;
  /** Reconnect after the connection drops (default true). The first connect never retries. */
  reconnect?: boolean;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  logger?: Logger;
}

export interface MonitorTableRequest {
  /** Columns to receive; all columns when omitted. */
  columns?: string[];
  /** monitor_cond condition; ignored (all rows) when the server only has plain monitor. */
  where?: Condition[];
}

export type MonitorRequests = Record<string, MonitorTableRequest>;

/** 'initial' batches come from a (re)issued monitor, 'update' from the server's notifications. */
export type MonitorListener = (changes: RowChange[], kind: 'initial' | 'update') => void;

export interface MonitorHandle {
  readonly id: string;
  readonly db: string;
  rows(table: string): ReadonlyMap<string, Row>;
  cancel(): Promise<void>;
}

interface ActiveMonitor {
  id: string;
  db: string;
  requests: MonitorRequests;
  listener: MonitorListener;
  replica: MonitorReplica;
  format: 'update' | 'update2';
  /**
   * Updates that arrive before the monitor's reply has been applied (the server may send them right
   * behind the reply, in the same chunk) wait here; undefined once the initial rows are in.
   */
  early?: [method: string, params: unknown[]][];
}

export interface OvsdbClientEvents {
  connected: [];
  disconnected: [error: OvsdbError | undefined];
  /** A monitor could not be re-issued after a reconnect, or a listener threw. */
  monitorError: [error: Error, monitorId: string];
  locked: [lockName: string];
  stolen: [lockName: string];
}

export class OvsdbClient extends EventEmitter<OvsdbClientEvents> {
  private session: JsonRpcSession | undefined;
  private readonly monitors = new Map<string, ActiveMonitor>();
  private readonly schemas = new Map<string, DatabaseSchema>();
  private supportsMonitorCond: boolean | undefined;
  private nextMonitorId = 1;
  private userClosed = false;
  private reconnectTimer?: NodeJS.Timeout;
  private backoffMs: number;
  private readonly logger: Logger;

  private constructor(
    readonly target: OvsdbTarget,
    private readonly opts: OvsdbClientOptions,
  ) {
    super();
    this.logger = opts.logger ?? silentLogger();
    this.backoffMs = opts.backoffInitialMs ?? 200;
  }

  /** Connects to 'unix:PATH' | 'tcp:HOST:PORT' | 'ssl:HOST:PORT'; rejects with OvsdbConnectionError. */
  static async connect(target: string, opts: OvsdbClientOptions = {}): Promise<OvsdbClient> {
    const client = new OvsdbClient(parseTarget(target), opts);
    client.attach(await openStream(client.target, opts.tls, opts.connectTimeoutMs ?? 10_000));
    return client;
  }

  get connected(): boolean {
    return this.session !== undefined && !this.session.closed;
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

  /** Returns true when the lock was granted now; otherwise a "locked" event follows when it is. */
  async lock(name: string, method: 'lock' | 'steal' = 'lock'): Promise<boolean> {
    const result = await this.request(method, [name]);
    return isPlainObject(result) && result.locked === true;
  }

  async unlock(name: string): Promise<void> {
    await this.request('unlock', [name]);
  }

  /** Starts a monitor; the listener first gets the initial rows, then every change. */
  async monitor(db: string, requests: MonitorRequests, listener: MonitorListener): Promise<MonitorHandle> {
    const schema = this.schemas.get(db) ?? (await this.getSchema(db));
    const active: ActiveMonitor = {
      id: `vadc-monitor-${this.nextMonitorId++}`,
      db,
      requests,
      listener,
      replica: new MonitorReplica(schema, Object.keys(requests)),
      format: 'update2',
    };
    this.monitors.set(active.id, active);
    try {
      await this.issueMonitor(active);
    } catch (err) {
      this.monitors.delete(active.id);
      throw err;
    }
    return {
      id: active.id,
      db,
      rows: (table) => active.replica.rows(table),
      cancel: async () => {
        this.monitors.delete(active.id);
        if (this.connected) await this.request('monitor_cancel', [active.id]);
      },
    };
  }

  /** Closes for good: no reconnect; outstanding requests fail with OvsdbClosedError. */
  close(): void {
    this.userClosed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.session?.close('closed by client');
    this.session = undefined;
    this.monitors.clear();
  }

  private request(method: string, params: Json[], opts?: RequestOptions): Promise<unknown> {
    if (!this.session || this.session.closed) {
      return Promise.reject(new OvsdbClosedError(this.userClosed ? 'client closed' : `not connected to ${this.target.text}`));
    }
    return this.session.request(method, params, opts);
  }

  private async issueMonitor(active: ActiveMonitor): Promise<void> {
    active.early = [];
    const session = this.session;
    await this.requestMonitor(active);
    if (this.session !== session || !session) return; // the connection dropped meanwhile; reconnect re-issues
    const queued = active.early ?? [];
    active.early = undefined;
    for (const [method, params] of queued) this.applyUpdate(session, active, method, params);
  }

  /** Sends monitor_cond (or monitor, if the server lacks it), resets the replica and delivers the initial rows. */
  private async requestMonitor(active: ActiveMonitor): Promise<void> {
    if (this.supportsMonitorCond !== false) {
      const condRequests: Record<string, Json> = {};
      for (const [table, req] of Object.entries(active.requests)) {
        condRequests[table] = {
          ...(req.columns ? { columns: req.columns } : {}),
          ...(req.where ? { where: req.where.map(encodeCondition) } : {}),
        };
      }
      try {
        const initial = await this.request('monitor_cond', [active.db, active.id, condRequests], { timeoutMs: 0 });
        this.supportsMonitorCond = true;
        active.format = 'update2';
        this.deliver(active, active.replica.reset(initial, 'update2'), 'initial');
        return;
      } catch (err) {
        if (!(err instanceof OvsdbRpcError && err.serverError === 'unknown method')) throw err;
        this.supportsMonitorCond = false;
      }
    }
    const plainRequests: Record<string, Json> = {};
    for (const [table, req] of Object.entries(active.requests)) {
      plainRequests[table] = req.columns ? { columns: req.columns } : {};
    }
    const initial = await this.request('monitor', [active.db, active.id, plainRequests], { timeoutMs: 0 });
    active.format = 'update';
    this.deliver(active, active.replica.reset(initial, 'update'), 'initial');
  }

  private deliver(active: ActiveMonitor, changes: RowChange[], kind: 'initial' | 'update'): void {
    if (changes.length === 0 && kind === 'update') return;
    try {
      active.listener(changes, kind);
    } catch (err) {
      this.emit('monitorError', err as Error, active.id);
    }
  }

  private onNotification(session: JsonRpcSession, method: string, params: unknown[]): void {
    if (method === 'update' || method === 'update2') {
      const active = typeof params[0] === 'string' ? this.monitors.get(params[0]) : undefined;
      if (!active) return; // a monitor cancelled while the update was in flight
      if (active.early) active.early.push([method, params]);
      else this.applyUpdate(session, active, method, params);
    } else if ((method === 'locked' || method === 'stolen') && typeof params[0] === 'string') {
      this.emit(method, params[0]);
    }
  }

  private applyUpdate(session: JsonRpcSession, active: ActiveMonitor, method: string, params: unknown[]): void {
    try {
      const changes =
        method === 'update2' ? active.replica.applyUpdate2(params[1]) : active.replica.applyUpdate(params[1]);
      this.deliver(active, changes, 'update');
    } catch (err) {
      // Wrong shapes from the server: drop the connection and rebuild state from a fresh monitor.
      this.onSessionClosed(session, err instanceof OvsdbError ? err : new OvsdbProtocolError(String(err)));
      session.close(`bad ${method} notification: ${(err as Error).message}`);
    }
  }

  private attach(stream: import('node:stream').Duplex): void {
    const session = new JsonRpcSession(stream, { ...this.opts, logger: this.logger });
    this.session = session;
    // A server answering with a different server must be asked again whether it has monitor_cond.
    this.supportsMonitorCond = undefined;
    session.on('notification', (method, params) => this.onNotification(session, method, params));
    session.on('close', (error) => this.onSessionClosed(session, error));
  }

  private onSessionClosed(session: JsonRpcSession, error: OvsdbError | undefined): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.logger.warn('ovsdb: disconnected', { target: this.target.text, error: error?.message });
    this.emit('disconnected', error);
    if (!this.userClosed && this.opts.reconnect !== false) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.backoffMaxMs ?? 8_000);
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    if (this.userClosed) return;
    try {
      const stream = await openStream(this.target, this.opts.tls, this.opts.connectTimeoutMs ?? 10_000);
      if (this.userClosed) {
        stream.destroy();
        return;
      }
      this.attach(stream);
      for (const db of new Set([...this.monitors.values()].map((m) => m.db))) await this.getSchema(db);
      for (const active of this.monitors.values()) await this.issueMonitor(active);
      this.backoffMs = this.opts.backoffInitialMs ?? 200;
      this.logger.info('ovsdb: reconnected', { target: this.target.text });
      this.emit('connected');
    } catch (err) {
      this.logger.warn('ovsdb: reconnect failed', { target: this.target.text, error: (err as Error).message });
      if (this.session && !this.session.closed) {
        // Connected but re-monitoring failed: report it and start over on a fresh connection.
        for (const active of this.monitors.values()) this.emit('monitorError', err as Error, active.id);
        this.session.close('re-monitor failed');
      } else if (!this.session) {
        this.scheduleReconnect();
      }
    }
  }
}
