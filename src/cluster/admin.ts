// The operator's side of the store: read the policy and the hosts' reports, and write policy changes that
// were checked first (what `vadc service|backend ... --cluster` and `vadc cluster status` use).
import { setTimeout as sleep } from 'node:timers/promises';
import {
  condition, OvsdbClient, OvsdbMemberError, OvsdbTransactionError, op, type Operation, type OperationResult, type OvsdbClientOptions, type Row,
  type TlsFiles,
} from '../ovsdb';
import { ClusterError } from './errors';
import { effectivePolicy, type EffectivePolicy } from './merge';
import { changeOperations, checkChange, type PolicyChange } from './policy-rows';
import {
  backendStatusRow, hostStatusRow, parseScope, policySnapshot, POLICY_TABLES, schemaVersionProblem, STATUS_TABLES, STORE_DB,
  type BackendStatusRow, type HostStatusRow, type NatMode, type PolicySnapshot,
} from './schema';

export interface AdminOptions {
  tls?: TlsFiles;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  session?: Partial<OvsdbClientOptions>;
  /** How long a command waits for the members to elect a leader before it gives up (default 5 s). */
  leaderWaitMs?: number;
}

const LEADER_POLL_MS = 250;

/**
 * Opens a session for a command: fails fast, with a message that says what is wrong with the store.
 * Commands talk to the Raft leader only: a follower that was just restarted can still be catching up and
 * would show an older policy (a remove then finds nothing to remove), while the leader has every committed
 * change. While no member is the leader (an election, members restarting, or quorum lost) the command
 * waits up to `leaderWaitMs` for one.
 */
export async function openStore(remotes: string, opts: AdminOptions = {}): Promise<OvsdbClient> {
  const deadline = Date.now() + (opts.leaderWaitMs ?? 5000);
  let client: OvsdbClient;
  for (;;) {
    try {
      client = await OvsdbClient.connect(remotes, {
        database: STORE_DB, leaderOnly: true, reconnect: false,
        requestTimeoutMs: opts.timeoutMs ?? 10_000, handshakeTimeoutMs: opts.timeoutMs ?? 10_000,
        ...(opts.tls ? { tls: opts.tls } : {}), ...opts.session,
      });
      break;
    } catch (err) {
      if (isElection(err) && Date.now() + LEADER_POLL_MS < deadline) {
        await sleep(LEADER_POLL_MS);
        continue;
      }
      throw describeStoreError(remotes, err);
    }
  }
  try {
    const schema = await client.getSchema(STORE_DB);
    const problem = schemaVersionProblem(schema.version);
    if (problem) throw new ClusterError('schema_version', `${remotes}: ${problem}`);
  } catch (err) {
    client.close();
    throw err;
  }
  return client;
}

/**
 * No member is the leader: an election is under way, or members just restarted that do not yet know the
 * cluster (they say "not connected" until they hear from a leader), or quorum is lost. Only time tells which.
 */
function isElection(err: unknown): boolean {
  return err instanceof OvsdbMemberError && (err.problem === 'not-leader' || err.problem === 'not-connected');
}

/** Turns a session failure into what the operator should do about it. */
export function describeStoreError(remotes: string, err: unknown): ClusterError {
  if (err instanceof ClusterError) return err;
  if (err instanceof OvsdbMemberError && err.problem === 'no-database') {
    return new ClusterError('not_vadc_store', `${remotes} serves no ${STORE_DB} database: not a vadc cluster store (vadc cluster up makes one; see docs/cluster.md)`);
  }
  if (err instanceof OvsdbMemberError && err.problem === 'not-connected') {
    return new ClusterError('no_quorum', `the cluster store ${remotes} has no quorum (read-only: a majority of its members is down): ${err.reason}`);
  }
  if (err instanceof OvsdbMemberError && err.problem === 'not-leader') {
    return new ClusterError('no_leader', `no member of the cluster store ${remotes} is its leader now (an election in progress, or a majority of its members down); try again: ${err.reason}`);
  }
  return new ClusterError('unreachable', `cannot use the cluster store ${remotes}: ${(err as Error).message}`);
}

export class ClusterAdmin {
  private constructor(private readonly client: OvsdbClient, readonly remotes: string) {}

  static async open(remotes: string, opts: AdminOptions = {}): Promise<ClusterAdmin> {
    return new ClusterAdmin(await openStore(remotes, opts), remotes);
  }

  close(): void {
    this.client.close();
  }

  /** The member this session talks to (leader, index, cluster id), when the store is clustered. */
  get member() {
    return this.client.member;
  }

  async snapshot(): Promise<PolicySnapshot> {
    const tables = await this.selectAll([...POLICY_TABLES]);
    return policySnapshot((t) => tables.get(t) ?? new Map());
  }

  async reports(): Promise<{ hosts: HostStatusRow[]; backends: BackendStatusRow[] }> {
    const tables = await this.selectAll([...STATUS_TABLES]);
    const list = <T>(t: string, f: (uuid: string, row: Row) => T) => [...(tables.get(t) ?? new Map())].map(([u, r]) => f(u, r));
    return { hosts: list('Host_Status', hostStatusRow), backends: list('Backend_Status', backendStatusRow) };
  }

  /** The effective policy of a host, as its daemon computes it from the same rows. */
  async effective(host: string, group?: string): Promise<EffectivePolicy> {
    return effectivePolicy(await this.snapshot(), { host, group });
  }

  /** Checks the change against every host's view of the policy, then writes it in one transaction. */
  async apply(change: PolicyChange, scope: string): Promise<void> {
    const [snapshot, { hosts }] = await Promise.all([this.snapshot(), this.reports()]);
    const problems = checkChange(snapshot, hosts, change, scope);
    if (problems.length) throw new ClusterError('invalid_policy', problems.map((p) => p.message).join('; '));
    try {
      const results = await this.transact(changeOperations(change, snapshot));
      const removed = results.reduce((n, r) => n + (r.count ?? 0), 0);
      if ((change.kind === 'remove-service' || change.kind === 'remove-backend') && removed === 0) {
        const what = change.kind === 'remove-service' ? `service ${change.name}` : `backend ${change.name} of ${change.service}`;
        throw new ClusterError('not_found', `no ${what} at ${change.scope} in the store`);
      }
    } catch (err) {
      if (err instanceof OvsdbTransactionError && err.serverError === 'constraint violation') {
        throw new ClusterError('exists', `${describeTarget(change)} is already in the store at ${scope}: remove it first`);
      }
      throw err instanceof ClusterError ? err : describeStoreError(this.remotes, err);
    }
  }

  /** Sets the cluster's name (and NAT mode) row; the one Cluster row is made on first use. */
  async setCluster(name: string, nat?: 'flows' | 'conntrack'): Promise<void> {
    await this.writeClusterRow(await this.snapshot(), { name, nat: nat ?? [] });
  }

  /**
   * Sets the NAT mode at a scope (undefined: unsets it there): the Cluster row, or the Host_Group / Host row of
   * that name, made on first use. Hosts whose file leaves datapath.nat to auto run it from their next start.
   */
  async setNat(scope: string, nat: NatMode | undefined): Promise<void> {
    const where = parseScope(scope);
    const snapshot = await this.snapshot();
    const value = { nat: nat ?? [] };
    if (where.kind === 'cluster') {
      await this.writeClusterRow(snapshot, value);
      return;
    }
    const table = where.kind === 'group' ? 'Host_Group' : 'Host';
    const exists = (where.kind === 'group' ? snapshot.groups : snapshot.hosts).some((r) => r.name === where.name);
    if (!exists && !nat) return;
    await this.transact([exists ? op.update(table, [condition('name', '==', where.name)], value) : op.insert(table, { name: where.name, ...value })]);
  }

  /** Updates the one Cluster row, or makes it (named 'vadc' unless `value` names it) when the store has none yet. */
  private async writeClusterRow(snapshot: PolicySnapshot, value: Row): Promise<void> {
    await this.transact([snapshot.cluster ? op.update('Cluster', [], value) : op.insert('Cluster', { name: 'vadc', ...value })]);
  }

  /**
   * One transaction on the store. A session that fails meanwhile (the member lost its leadership or its quorum and
   * closed it) is told as openStore tells it, not as a bare "connection closed"; a transaction error stays as it is.
   */
  private async transact(ops: Operation[]): Promise<OperationResult[]> {
    try {
      return await this.client.transact(STORE_DB, ops);
    } catch (err) {
      throw err instanceof OvsdbTransactionError ? err : describeStoreError(this.remotes, err);
    }
  }

  private async selectAll(tables: string[]): Promise<Map<string, Map<string, Row>>> {
    const results = await this.transact(tables.map((t) => op.select(t, [])));
    const out = new Map<string, Map<string, Row>>();
    tables.forEach((t, i) => {
      const rows = new Map<string, Row>();
      for (const row of results[i].rows ?? []) {
        const uuid = row._uuid;
        rows.set(Array.isArray(uuid) ? String(uuid[0]) : String(uuid), row);
      }
      out.set(t, rows);
    });
    return out;
  }
}

function describeTarget(change: PolicyChange): string {
  switch (change.kind) {
    case 'add-service': return `service ${change.service.name}`;
    case 'add-backend': return `backend ${change.backend.name} of ${change.backend.service}`;
    case 'remove-service': return `service ${change.name}`;
    default: return `backend ${change.name} of ${change.service}`;
  }
}
