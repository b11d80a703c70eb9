/**
 * The `_Server` database (ovsdb-server(5), OVS 2.9+): one `Database` row per database the server hosts,
 * with its storage model, whether it is connected to its cluster, whether this server is the Raft
 * leader, the cluster/server ids and the log index it exposes. The session monitors the row of its
 * database on every connection and decides from it, as OVS's own clients do (lib/ovsdb-cs.c), whether
 * this member is usable. The decision is pure.
 */
import type { OvsdbMemberError } from './errors';
import { Row, Uuid, asSet } from './notation';

export const SERVER_DB = '_Server';
export const SERVER_MONITOR_ID = 'vadc-server';
export const SERVER_COLUMNS = ['name', 'model', 'connected', 'leader', 'cid', 'sid', 'index'];

export type StorageModel = 'standalone' | 'clustered' | 'relay';

/** The `_Server` row of one database, as the session reads it. */
export interface ServerDbInfo {
  name: string;
  model: StorageModel | 'unknown';
  /** A clustered database: in contact with a majority of its cluster (else it cannot be written, reads may be stale). */
  connected: boolean;
  /** This server is the Raft leader (always true for standalone, false for relay). */
  leader: boolean;
  clusterId?: string;
  serverId?: string;
  /** Raft log index exposed to clients; only grows on one server. */
  index?: number;
}

export type MemberProblem = OvsdbMemberError['problem'];

export type MemberVerdict = { usable: true } | { usable: false; problem: MemberProblem; reason: string };

export interface MemberRequirements {
  db: string;
  leaderOnly: boolean;
  /** Highest index seen so far on any member: a member behind it would show older data. */
  minIndex: number;
  /** The cluster first seen; a remote serving another cluster is refused. */
  clusterId?: string;
}

// Default-valued columns are left out of update2 rows, so absent reads as the column's default.
const optionalOne = (value: unknown): unknown => asSet(value as Row[string])[0];

/** Reads the row for `db` among the monitored `_Server.Database` rows. */
export function findServerDb(rows: ReadonlyMap<string, Row>, db: string): ServerDbInfo | undefined {
  for (const row of rows.values()) {
    if (row.name !== db) continue;
    const model = row.model;
    const cid = optionalOne(row.cid);
    const sid = optionalOne(row.sid);
    const index = optionalOne(row.index);
    return {
      name: db,
      model: model === 'standalone' || model === 'clustered' || model === 'relay' ? model : 'unknown',
      connected: row.connected === true,
      leader: row.leader === true,
      ...(cid instanceof Uuid ? { clusterId: cid.value } : {}),
      ...(sid instanceof Uuid ? { serverId: sid.value } : {}),
      ...(typeof index === 'number' ? { index } : {}),
    };
  }
  return undefined;
}

/**
 * Whether a member can serve this session: the database must exist; a clustered one must be connected
 * to its cluster, be the leader when `leaderOnly`, belong to the cluster seen before, and not be behind
 * the index already seen (it would show older data). Standalone and relay are judged by presence and
 * `connected` (a relay is connected when it reaches its source) — and `leaderOnly` refuses a relay,
 * which never is a leader.
 */
export function judgeMember(info: ServerDbInfo | undefined, req: MemberRequirements): MemberVerdict {
  if (!info) return { usable: false, problem: 'no-database', reason: `the server has no database ${req.db}` };
  if (info.model === 'clustered') {
    if (req.clusterId && info.clusterId && info.clusterId !== req.clusterId) {
      return { usable: false, problem: 'other-cluster', reason: `database ${req.db} belongs to cluster ${info.clusterId}, not ${req.clusterId}` };
    }
    if (!info.connected) {
      return { usable: false, problem: 'not-connected', reason: `clustered database ${req.db} is not connected to its cluster (no quorum?)` };
    }
    if (req.leaderOnly && !info.leader) {
      return { usable: false, problem: 'not-leader', reason: `clustered database ${req.db} is not the cluster leader here` };
    }
    if (info.index !== undefined && info.index < req.minIndex) {
      return { usable: false, problem: 'stale', reason: `clustered database ${req.db} is at index ${info.index}, behind ${req.minIndex} already seen` };
    }
    return { usable: true };
  }
  if (!info.connected) {
    return { usable: false, problem: 'not-connected', reason: `${info.model} database ${req.db} is not connected to its source` };
  }
  if (req.leaderOnly && !info.leader) {
    return { usable: false, problem: 'not-leader', reason: `${info.model} database ${req.db} does not accept leader-only clients` };
  }
  return { usable: true };
}
