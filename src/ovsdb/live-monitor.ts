/**
 * One monitor as the session keeps it across connections: its request, its replica of the rows, and the
 * id of the last transaction it has applied. On every (re)connection it is issued again, with the best
 * method the server has:
 *  - monitor_cond_since (OVS 2.12+) with the last transaction id: when the server still has that
 *    transaction in its history (found=true) it sends only what changed since, applied as ordinary
 *    updates; otherwise (found=false: standalone servers always, clusters after compaction or a long
 *    outage) it sends everything, which is diffed against the replica;
 *  - monitor_cond, then plain monitor: everything, diffed against the replica.
 * Either way the listener sees only the real adds, updates and deletes.
 */
import { OvsdbError, OvsdbMemberError, OvsdbProtocolError, OvsdbRpcError } from './errors';
import type { JsonRpcSession } from './jsonrpc';
import { MonitorReplica, RowChange } from './monitor';
import { Condition, Json, Row, describe, encodeCondition } from './notation';
import type { DatabaseSchema } from './schema';

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Updates the server may send before the monitor reply has been applied are queued; this many is abuse. */
export const MAX_EARLY_UPDATES = 10_000;

export interface MonitorTableRequest {
  /** Columns to receive; all columns when omitted. */
  columns?: string[];
  /** monitor_cond condition; ignored (all rows) when the server only has plain monitor. */
  where?: Condition[];
}

export type MonitorRequests = Record<string, MonitorTableRequest>;

export type MonitorMethod = 'monitor_cond_since' | 'monitor_cond' | 'monitor';

/**
 * 'initial': the first contents, or a full snapshot after a reconnect diffed against the rows held
 * (only real differences); 'resumed': what changed while disconnected, from monitor_cond_since;
 * 'update': a change notified while connected.
 */
export type MonitorBatchKind = 'initial' | 'resumed' | 'update';

export type MonitorListener = (changes: RowChange[], kind: MonitorBatchKind) => void;

export interface MonitorStats {
  /** The method used on the current (or last) connection. */
  method?: MonitorMethod;
  /** Id of the last transaction applied (monitor_cond_since only; the zero uuid when unknown). */
  lastTxnId: string;
  /** Full snapshots received (the first load included). */
  fullLoads: number;
  /** Reconnections resumed from the last transaction id (found=true). */
  resumes: number;
  /** Update notifications applied. */
  updates: number;
}

/** What one connection's server turned out to support; shared by the monitors issued on it. */
export interface MethodSupport {
  since?: boolean;
  cond?: boolean;
}

export interface IssueResult {
  method: MonitorMethod;
  resumed: boolean;
  /** The changes the reply made to the replica (for a full load: the difference from what was held). */
  changes: RowChange[];
}

const isUnknownMethod = (err: unknown): boolean => err instanceof OvsdbRpcError && err.serverError === 'unknown method';

export class LiveMonitor {
  readonly replica: MonitorReplica;
  readonly stats: MonitorStats = { lastTxnId: ZERO_UUID, fullLoads: 0, resumes: 0, updates: 0 };
  /** The connection this monitor is live on; undefined while it waits for one. */
  issuedOn: JsonRpcSession | undefined;
  /** Settles when the first rows are in (or the monitor is refused or closed before that). */
  readonly loaded: Promise<void>;
  private settleLoaded: ((err?: Error) => void) | undefined;
  private early: [method: string, params: unknown[]][] | undefined;

  constructor(
    readonly id: string,
    readonly db: string,
    readonly requests: MonitorRequests,
    readonly listener: MonitorListener,
    schema: DatabaseSchema,
  ) {
    this.replica = new MonitorReplica(schema, Object.keys(requests));
    this.loaded = new Promise<void>((resolve, reject) => (this.settleLoaded = (err) => (err ? reject(err) : resolve())));
    this.loaded.catch(() => undefined); // a caller may never await it
  }

  /** Still waiting for its first rows. */
  get awaitingFirstLoad(): boolean {
    return this.settleLoaded !== undefined;
  }

  /** Settles `loaded`: with no error once the first rows are in, else rejected with `err`. */
  settleFirstLoad(err?: Error): void {
    this.settleLoaded?.(err);
    this.settleLoaded = undefined;
  }

  /**
   * Hands changes to the listener. The first load is delivered even when empty (the caller learns it
   * is loaded); other batches only with changes. Returns what the listener threw, if anything.
   */
  deliver(changes: RowChange[], kind: MonitorBatchKind): Error | undefined {
    if (changes.length === 0 && !(kind === 'initial' && this.stats.fullLoads === 1)) return undefined;
    try {
      this.listener(changes, kind);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  /** A new schema (the database was converted): the rows are reloaded in full. */
  setSchema(schema: DatabaseSchema): void {
    if (this.replica.setSchema(schema)) this.stats.lastTxnId = ZERO_UUID;
  }

  /**
   * Sends the monitor request on `rpc` and applies the reply to the replica. Updates that arrive right
   * behind the reply (the server may send them in the same read) stay queued until takeQueued().
   * Rejects with the server's error (the replica is unchanged then). With `resumeOnly` (the remote's name)
   * a monitor that has loaded before must resume: found=false rejects with OvsdbMemberError `no-history`,
   * the replica unchanged, so that the caller can look for a member that still has the last transaction.
   */
  async issue(rpc: JsonRpcSession, support: MethodSupport, timeoutMs: number, resumeOnly?: string): Promise<IssueResult> {
    this.early = [];
    this.issuedOn = undefined;
    try {
      const result = await this.request(rpc, support, timeoutMs, resumeOnly);
      this.issuedOn = rpc;
      return result;
    } catch (err) {
      this.early = undefined;
      throw err;
    }
  }

  /** True from the request until takeQueued(): notifications are being queued, the replica is not current. */
  get queuing(): boolean {
    return this.early !== undefined;
  }

  /** Applies the updates queued behind the monitor reply; one batch of changes per notification. */
  takeQueued(): RowChange[][] {
    const queued = this.early ?? [];
    this.early = undefined;
    return queued.map(([method, params]) => this.applyNotification(method, params));
  }

  private async request(rpc: JsonRpcSession, support: MethodSupport, timeoutMs: number, resumeOnly: string | undefined): Promise<IssueResult> {
    const opts = { timeoutMs };
    if (support.since !== false) {
      try {
        const reply = await rpc.request('monitor_cond_since', [this.db, this.id, this.condRequests(), this.stats.lastTxnId], opts);
        support.since = true;
        return this.applySinceReply(reply, resumeOnly);
      } catch (err) {
        if (!isUnknownMethod(err)) throw err;
        support.since = false;
      }
    }
    if (support.cond !== false) {
      try {
        const reply = await rpc.request('monitor_cond', [this.db, this.id, this.condRequests()], opts);
        support.cond = true;
        return this.applyFull(reply, 'update2', 'monitor_cond', ZERO_UUID);
      } catch (err) {
        if (!isUnknownMethod(err)) throw err;
        support.cond = false;
      }
    }
    const plain: Record<string, Json> = {};
    for (const [table, req] of Object.entries(this.requests)) plain[table] = req.columns ? { columns: req.columns } : {};
    const reply = await rpc.request('monitor', [this.db, this.id, plain], opts);
    return this.applyFull(reply, 'update', 'monitor', ZERO_UUID);
  }

  private condRequests(): Record<string, Json> {
    const out: Record<string, Json> = {};
    for (const [table, req] of Object.entries(this.requests)) {
      out[table] = {
        ...(req.columns ? { columns: req.columns } : {}),
        ...(req.where ? { where: req.where.map(encodeCondition) } : {}),
      };
    }
    return out;
  }

  /** ovsdb-server(7) 4.1.15: [found, last-txn-id, table-updates2]. */
  private applySinceReply(reply: unknown, resumeOnly: string | undefined): IssueResult {
    if (!Array.isArray(reply) || reply.length !== 3 || typeof reply[0] !== 'boolean' || typeof reply[1] !== 'string') {
      throw new OvsdbProtocolError(`monitor_cond_since reply is not [found, last-txn-id, updates]: ${describe(reply)}`);
    }
    const [found, lastTxnId, updates] = reply as [boolean, string, unknown];
    if (!found && resumeOnly !== undefined && this.stats.fullLoads > 0) {
      throw new OvsdbMemberError(resumeOnly, 'no-history', `it has not got transaction ${this.stats.lastTxnId}, the last one monitor ${this.id} applied (behind, or its history no longer reaches back)`);
    }
    // found=true on the very first load means "nothing since the zero id": still a full load.
    if (!found || this.stats.fullLoads === 0) return this.applyFull(updates, 'update2', 'monitor_cond_since', lastTxnId);
    const changes = this.replica.applyUpdate2(updates);
    this.stats.lastTxnId = lastTxnId;
    this.stats.method = 'monitor_cond_since';
    this.stats.resumes++;
    return { method: 'monitor_cond_since', resumed: true, changes };
  }

  private applyFull(initial: unknown, format: 'update' | 'update2', method: MonitorMethod, lastTxnId: string): IssueResult {
    const changes = this.replica.reset(initial, format);
    this.stats.lastTxnId = lastTxnId;
    this.stats.method = method;
    this.stats.fullLoads++;
    return { method, resumed: false, changes };
  }

  /**
   * An update/update2/update3 notification for this monitor. Returns the changes to deliver ([] while
   * the monitor reply is still pending: the notification is queued). Throws OvsdbProtocolError on
   * wrong shapes; the replica may then be half-updated, so the last transaction id is forgotten and the
   * next connection reloads everything.
   */
  onNotification(method: string, params: unknown[]): RowChange[] {
    if (this.early) {
      if (this.early.length >= MAX_EARLY_UPDATES) {
        throw new OvsdbProtocolError(`more than ${MAX_EARLY_UPDATES} updates before the reply to monitor ${this.id}`);
      }
      this.early.push([method, params]);
      return [];
    }
    return this.applyNotification(method, params);
  }

  private applyNotification(method: string, params: unknown[]): RowChange[] {
    try {
      let changes: RowChange[];
      if (method === 'update3') {
        if (typeof params[1] !== 'string') throw new OvsdbProtocolError(`update3 without a last-txn-id: ${describe(params[1])}`);
        changes = this.replica.applyUpdate2(params[2]);
        this.stats.lastTxnId = params[1];
      } else if (method === 'update2') {
        changes = this.replica.applyUpdate2(params[1]);
      } else {
        changes = this.replica.applyUpdate(params[1]);
      }
      this.stats.updates++;
      return changes;
    } catch (err) {
      this.stats.lastTxnId = ZERO_UUID;
      throw err instanceof OvsdbError ? err : new OvsdbProtocolError(String(err));
    }
  }

  rows(table: string): ReadonlyMap<string, Row> {
    return this.replica.rows(table);
  }
}
