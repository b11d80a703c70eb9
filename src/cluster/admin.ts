// The operator's side of the store: read the policy and the hosts' reports, and write policy changes that
// were checked first (what `vadc service|backend ... --cluster` and `vadc cluster status` use).
import {
  OvsdbClient, OvsdbMemberError, OvsdbTransactionError, op, type OvsdbClientOptions, type Row, type TlsFiles,
} from '../ovsdb';
import { ClusterError } from './errors';
import { effectivePolicy, type EffectivePolicy } from './merge';
import { changeOperations, checkChange, type PolicyChange } from './policy-rows';
import {
  backendStatusRow, hostStatusRow, policySnapshot, POLICY_TABLES, schemaVersionProblem, STATUS_TABLES, STORE_DB,
  type BackendStatusRow, type HostStatusRow, type PolicySnapshot,
} from './schema';

export interface AdminOptions {
  tls?: TlsFiles;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  session?: Partial<OvsdbClientOptions>;
}

/** Opens a session for a command: fails fast, with a message that says what is wrong with the store. */
export async function openStore(remotes: string, opts: AdminOptions = {}): Promise<OvsdbClient> {
  let client: OvsdbClient;
  try {
    client = await OvsdbClient.connect(remotes, {
      database: STORE_DB, reconnect: false, requestTimeoutMs: opts.timeoutMs ?? 10_000, handshakeTimeoutMs: opts.timeoutMs ?? 10_000,
      ...(opts.tls ? { tls: opts.tls } : {}), ...opts.session,
    });
  } catch (err) {
    throw describeStoreError(remotes, err);
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

/** Turns a session failure into what the operator should do about it. */
export function describeStoreError(remotes: string, err: unknown): ClusterError {
  if (err instanceof ClusterError) return err;
  if (err instanceof OvsdbMemberError && err.problem === 'no-database') {
    return new ClusterError('not_vadc_store', `${remotes} serves no ${STORE_DB} database: not a vadc cluster store (vadc cluster up makes one; see docs/cluster.md)`);
  }
  if (err instanceof OvsdbMemberError && err.problem === 'not-connected') {
    return new ClusterError('no_quorum', `the cluster store ${remotes} has no quorum (read-only: a majority of its members is down): ${err.reason}`);
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
      const results = await this.client.transact(STORE_DB, changeOperations(change, snapshot));
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
    const row: Row = { name, nat: nat ?? [] };
    const snapshot = await this.snapshot();
    await this.client.transact(STORE_DB, [snapshot.cluster ? op.update('Cluster', [], row) : op.insert('Cluster', row)]);
  }

  private async selectAll(tables: string[]): Promise<Map<string, Map<string, Row>>> {
    const results = await this.client.transact(STORE_DB, tables.map((t) => op.select(t, [])));
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
