/**
 * Watching one member's `_Server` row over a connection: the `_Server.Database` monitor (for the
 * session's database only) and the verdict on every change. What it has seen across members (the
 * highest index, the cluster id) is kept here, so a later member that is behind or belongs to another
 * cluster is refused. A member that is in its cluster but behind (`stale`) is given `catchUpMs` to
 * catch up on the same connection before it is refused: right after a leader change every follower is
 * behind until the new leader's first commit, and waiting there resumes the monitors as soon as that
 * lands, where dropping it would pause a whole backoff (during which the server's short transaction
 * history may move past the session's last transaction). Which members a reconnecting session's monitors must
 * resume on, and when one is reloaded from instead, is decided here too (resumeOnly).
 */
import { OvsdbClosedError, OvsdbMemberError, OvsdbRpcError } from './errors';
import type { JsonRpcSession } from './jsonrpc';
import { LiveMonitor } from './live-monitor';
import { condition } from './notation';
import { parseSchema } from './schema';
import { SERVER_COLUMNS, SERVER_DB, SERVER_MONITOR_ID, ServerDbInfo, findServerDb, judgeMember } from './server-db';

/** A position in one cluster's log: the highest `_Server` index seen there (kept across restarts by callers). */
export interface LogPosition {
  clusterId: string;
  index: number;
}

export class MemberWatch {
  private minIndex = 0;
  private clusterId: string | undefined;
  /**
   * Members that answered found=false to a monitor's resume during this outage. Each is passed over once:
   * another member may still have the last transaction (this one is behind, or was restarted and keeps a
   * shorter history); asked again once catchUpMs has passed since the outage's first found=false
   * (noHistorySince), it is taken with a full reload (nobody had it: the history moved on).
   */
  private readonly noHistory = new Set<string>();
  /**
   * When a member first answered found=false in this outage. Until catchUpMs after it, every member is asked to
   * resume again, not reloaded from: right after a leader's death its last commits can be in the followers' logs
   * but not applied (their commit index comes with the next leader's first commit), so both followers answer
   * found=false for a transaction the session has seen, and have it a moment later (seen on a real 3-member cluster,
   * 2026-12-06). History that truly moved on (compaction, a long outage) is reloaded once the time is up.
   */
  private noHistorySince: number | undefined;

  /**
   * `seed`: a position saved earlier (a restarted host's policy cache). It applies to members of that
   * cluster only: a store made anew (another cluster id, its indexes starting again) is not held to it.
   */
  constructor(
    readonly db: string,
    readonly leaderOnly: boolean,
    private seed?: LogPosition,
    readonly catchUpMs = 0,
  ) {}

  /** The highest index seen and the cluster it belongs to (undefined before a clustered member was seen). */
  get position(): LogPosition | undefined {
    if (this.clusterId === undefined) return this.seed;
    return { clusterId: this.clusterId, index: this.minIndex };
  }

  /**
   * Starts the `_Server` monitor on `rpc` and judges the member. Resolves with the monitor and the row
   * (both undefined on a server without `_Server` — before OVS 2.9, or not ovsdb-server — which is used
   * as it is, like OVS clients do). Throws OvsdbMemberError when the member cannot serve.
   */
  async start(rpc: JsonRpcSession, remote: string, timeoutMs: number): Promise<{ monitor?: LiveMonitor; member?: ServerDbInfo }> {
    let schemaJson: unknown;
    try {
      schemaJson = await rpc.request('get_schema', [SERVER_DB], { timeoutMs });
    } catch (err) {
      if (err instanceof OvsdbRpcError) return {};
      throw err;
    }
    const schema = parseSchema(schemaJson);
    const columns = SERVER_COLUMNS.filter((c) => schema.tables.Database?.columns[c] !== undefined);
    const monitor = new LiveMonitor(SERVER_MONITOR_ID, SERVER_DB, { Database: { columns, where: [condition('name', '==', this.db)] } }, () => undefined, schema);
    // Until the caller holds the monitor, its updates are fed here (queued behind the reply, then applied).
    let changed: (() => void) | undefined;
    const onNotification = (method: string, params: unknown[]): void => {
      if (params[0] !== SERVER_MONITOR_ID) return;
      monitor.onNotification(method, params);
      changed?.();
    };
    rpc.on('notification', onNotification);
    try {
      await monitor.issue(rpc, { since: false }, timeoutMs);
      monitor.takeQueued();
      const deadline = Date.now() + this.catchUpMs;
      for (;;) {
        try {
          return { monitor, member: this.judge(monitor, remote) };
        } catch (err) {
          const left = deadline - Date.now();
          if (!(err instanceof OvsdbMemberError && err.problem === 'stale') || left <= 0 || rpc.closed) throw err;
          // Behind but in its cluster: wait for its next `_Server` change (its index growing), then judge again.
          await new Promise<void>((resolve) => {
            const done = (): void => {
              clearTimeout(timer);
              rpc.off('close', done);
              changed = undefined;
              resolve();
            };
            const timer = setTimeout(done, left);
            rpc.once('close', done);
            changed = done;
          });
          if (rpc.closed) throw rpc.closeReason ?? new OvsdbClosedError(`${remote} closed while catching up`);
        }
      }
    } finally {
      rpc.off('notification', onNotification);
    }
  }

  /**
   * The remote a handshake's monitors must resume on (found=true), or undefined when they may reload: on a cluster
   * member a monitor must resume unless this member was passed over for it already and the catch-up time since the
   * outage's first found=false is over.
   */
  resumeOnly(remote: string, member: ServerDbInfo | undefined, now = Date.now()): string | undefined {
    if (member?.model !== 'clustered') return undefined;
    const catchingUp = this.noHistorySince !== undefined && now - this.noHistorySince < this.catchUpMs;
    return !this.noHistory.has(remote) || catchingUp ? remote : undefined;
  }

  /** A handshake with `remote` failed with `err`: a found=false passes the member over (resumeOnly). */
  handshakeFailed(remote: string, err: unknown, now = Date.now()): void {
    if (err instanceof OvsdbMemberError && err.problem === 'no-history') {
      this.noHistory.add(remote);
      this.noHistorySince ??= now;
    }
  }

  /** The session is connected: the outage is over, and with it the members passed over in it. */
  connected(): void {
    this.noHistory.clear();
    this.noHistorySince = undefined;
  }

  /** The member's row as the monitor holds it now; throws OvsdbMemberError when it cannot serve. */
  judge(monitor: LiveMonitor, remote: string): ServerDbInfo | undefined {
    const member = findServerDb(monitor.rows('Database'), this.db);
    if (this.seed && member?.model === 'clustered' && member.clusterId) {
      if (member.clusterId === this.seed.clusterId) {
        this.minIndex = Math.max(this.minIndex, this.seed.index);
        this.clusterId ??= member.clusterId;
      }
      this.seed = undefined;
    }
    const verdict = judgeMember(member, { db: this.db, leaderOnly: this.leaderOnly, minIndex: this.minIndex, clusterId: this.clusterId });
    if (!verdict.usable) throw new OvsdbMemberError(remote, verdict.problem, verdict.reason);
    if (member?.index !== undefined) this.minIndex = Math.max(this.minIndex, member.index);
    if (member?.clusterId) this.clusterId ??= member.clusterId;
    return member;
  }
}
