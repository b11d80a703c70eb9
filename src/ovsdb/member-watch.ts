/**
 * Watching one member's `_Server` row over a connection: the `_Server.Database` monitor (for the
 * session's database only) and the verdict on every change. What it has seen across members (the
 * highest index, the cluster id) is kept here, so a later member that is behind or belongs to another
 * cluster is refused.
 */
import { OvsdbMemberError, OvsdbRpcError } from './errors';
import type { JsonRpcSession } from './jsonrpc';
import { LiveMonitor } from './live-monitor';
import { condition } from './notation';
import { parseSchema } from './schema';
import { SERVER_COLUMNS, SERVER_DB, SERVER_MONITOR_ID, ServerDbInfo, findServerDb, judgeMember } from './server-db';

export class MemberWatch {
  private minIndex = 0;
  private clusterId: string | undefined;

  constructor(
    readonly db: string,
    readonly leaderOnly: boolean,
  ) {}

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
    await monitor.issue(rpc, { since: false }, timeoutMs);
    monitor.takeQueued();
    return { monitor, member: this.judge(monitor, remote) };
  }

  /** The member's row as the monitor holds it now; throws OvsdbMemberError when it cannot serve. */
  judge(monitor: LiveMonitor, remote: string): ServerDbInfo | undefined {
    const member = findServerDb(monitor.rows('Database'), this.db);
    const verdict = judgeMember(member, { db: this.db, leaderOnly: this.leaderOnly, minIndex: this.minIndex, clusterId: this.clusterId });
    if (!verdict.usable) throw new OvsdbMemberError(remote, verdict.problem, verdict.reason);
    if (member?.index !== undefined) this.minIndex = Math.max(this.minIndex, member.index);
    if (member?.clusterId) this.clusterId ??= member.clusterId;
    return member;
  }
}
