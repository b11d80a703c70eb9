// `vadc cluster status`: each member's own view (its _Server row: in the cluster, leader, log index), and, when
// the store has quorum, every host's last report. Members are asked one by one, so a dead one shows as such.
import { OvsdbClient, findServerDb, op, parseRemotes, SERVER_DB, type Row, type TlsFiles } from '../ovsdb';
import { ClusterAdmin } from './admin';
import type { BackendStatusRow, HostStatusRow } from './schema';
import { STORE_DB } from './schema';

export interface MemberView {
  remote: string;
  reachable: boolean;
  error?: string;
  model?: string;
  /** In contact with a majority (clustered) */
  connected?: boolean;
  leader?: boolean;
  index?: number;
  serverId?: string;
  clusterId?: string;
}

export interface ClusterStatusView {
  remotes: string;
  members: MemberView[];
  leader?: string;
  /** False when no member with quorum answered: the store is read-only (hosts keep their last policy). */
  writable: boolean;
  hosts?: Array<HostStatusRow & { backends: BackendStatusRow[] }>;
  hostsError?: string;
}

export async function memberView(remote: string, tls: TlsFiles | undefined, timeoutMs: number): Promise<MemberView> {
  let client: OvsdbClient | undefined;
  try {
    client = await OvsdbClient.connect(remote, { reconnect: false, requestTimeoutMs: timeoutMs, handshakeTimeoutMs: timeoutMs, connectTimeoutMs: timeoutMs, ...(tls ? { tls } : {}) });
    const [result] = await client.transact(SERVER_DB, [op.select('Database', [])]);
    const rows = new Map<string, Row>((result.rows ?? []).map((r, i) => [String(i), r]));
    const info = findServerDb(rows, STORE_DB);
    if (!info) return { remote, reachable: true, error: `serves no ${STORE_DB} database` };
    return {
      remote, reachable: true, model: info.model, connected: info.connected, leader: info.leader, index: info.index,
      serverId: info.serverId, clusterId: info.clusterId,
    };
  } catch (err) {
    return { remote, reachable: false, error: (err as Error).message };
  } finally {
    client?.close();
  }
}

export async function clusterStatus(remotes: string, opts: { tls?: TlsFiles; timeoutMs?: number } = {}): Promise<ClusterStatusView> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const members = await Promise.all(parseRemotes(remotes).map((t) => memberView(t.text, opts.tls, timeoutMs)));
  const view: ClusterStatusView = {
    remotes, members, leader: members.find((m) => m.leader && m.model === 'clustered')?.remote ?? members.find((m) => m.leader)?.remote,
    writable: members.some((m) => m.reachable && m.connected),
  };
  try {
    const admin = await ClusterAdmin.open(remotes, { tls: opts.tls, timeoutMs });
    try {
      const { hosts, backends } = await admin.reports();
      view.hosts = hosts.sort((a, b) => a.host.localeCompare(b.host)).map((h) => ({ ...h, backends: backends.filter((b) => b.host === h.host) }));
    } finally {
      admin.close();
    }
  } catch (err) {
    view.hostsError = (err as Error).message;
  }
  return view;
}
