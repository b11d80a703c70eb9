// A host's link to the cluster store: one session that reads the policy and the other hosts' reports from any
// member (monitors resumed across member failures), and one leader session that holds the host's name as an
// OVSDB lock and publishes this host's report. Emits the policy snapshot on every change; never forgets the
// last one because the store went away (the caller keeps serving it).
import { EventEmitter } from 'node:events';
import {
  condition, OvsdbClient, OvsdbTransactionError, op, type ConnectedInfo, type LogPosition, type OvsdbClientOptions, type Row,
  type RowChange, type SessionState, type TlsFiles,
} from '../ovsdb';
import type { Logger } from '../util/logger';
import { describeStoreError } from './admin';
import { ClusterError } from './errors';
import {
  backendStatusRow, policySnapshot, POLICY_TABLES, schemaVersionProblem, STORE_DB,
  type BackendStatusRow, type PolicySnapshot,
} from './schema';

export interface ClusterStoreOptions {
  remotes: string;
  host: string;
  tls?: TlsFiles;
  logger?: Logger;
  /** Session settings beyond the defaults (tests and the benchmark shorten the backoff). */
  session?: Partial<OvsdbClientOptions>;
  /**
   * Where the reader got to before (saved with the policy cache): members of that cluster behind it are not read
   * from, so a restarted host never goes back to an older policy than the one it serves from its cache.
   */
  logPosition?: LogPosition;
  /** false: read only (the simulated hosts of the benchmark); default true. */
  publish?: boolean;
  /**
   * Asked when the host's lock is held by another session: true when this instance has a controller pair peer
   * (controller.ha), which has the same host name, so its holding the lock is expected, not a conflict. This one
   * publishes once the lock passes to it.
   */
  pairedHost?: () => boolean;
}

/** What this host reports about itself (Host_Status, without the host column). */
export interface HostReport {
  instance: string;
  version: string;
  group?: string;
  nat: string;
  uplink?: string;
  started: number;
  reported: number;
  policy: string;
  services: number;
  problems: string[];
}

/** What this host reports about one backend whose vNIC it has (Backend_Status, without the host column). */
export interface BackendReport {
  service: string;
  backend: string;
  vnic: string;
  mac?: string;
  linkUp: boolean;
  health: BackendStatusRow['health'];
  reason: string;
  queueMeasure?: number;
  rate?: number;
  updated: number;
}

export interface ClusterStoreEvents {
  policy: [snapshot: PolicySnapshot];
  reports: [rows: BackendStatusRow[]];
  /** The store cannot be used as it is (not vadc's, wrong schema version, our host name held by another vadc). */
  problem: [error: ClusterError];
  connected: [info: ConnectedInfo];
  disconnected: [reason: string];
  /** This host's report is written again (its name's lock is held). */
  publishing: [];
}

/** OVSDB lock names are ids: the host name in hex after a prefix (host names may hold '.' and '-'). */
export function hostLockName(host: string): string {
  return `vadc_host_${Buffer.from(host, 'utf8').toString('hex')}`;
}

const reportKey = (service: string, backend: string) => `${service}\u0000${backend}`;

export class ClusterStore extends EventEmitter<ClusterStoreEvents> {
  private readonly reader: OvsdbClient;
  private readonly writer?: OvsdbClient;
  private readonly lockName: string;
  private readonly rows = new Map<string, Map<string, Row>>();
  private monitoring = false;
  private versionOk = false;
  private closed = false;
  private wantHost?: HostReport;
  private wantBackends = new Map<string, BackendReport>();
  /** What our last successful publish left in the store (after a lock is (re)gained: read back first). */
  private written?: { host: boolean; backends: Map<string, BackendReport> };
  private flushing?: Promise<void>;
  private flushAgain = false;

  constructor(private readonly opts: ClusterStoreOptions) {
    super();
    const base: OvsdbClientOptions = {
      database: STORE_DB, shuffleRemotes: true, logger: opts.logger, ...(opts.tls ? { tls: opts.tls } : {}), ...opts.session,
    };
    this.lockName = hostLockName(opts.host);
    this.reader = OvsdbClient.open(opts.remotes, { ...base, ...(opts.logPosition ? { logPosition: opts.logPosition } : {}) });
    this.reader.on('connected', (info) => void this.onReaderConnected(info));
    this.reader.on('disconnected', (err) => this.emit('disconnected', describeStoreError(opts.remotes, err).message));
    if (opts.publish !== false) {
      this.writer = OvsdbClient.open(opts.remotes, { ...base, leaderOnly: true });
      this.writer.on('locked', () => {
        this.written = undefined;
        this.emit('publishing');
        this.flush();
      });
      this.writer.on('connected', () => void this.checkLock());
    }
  }

  get state(): SessionState {
    return this.reader.state;
  }

  /** Reading the policy works (a member with quorum answers and the schema fits). */
  get connected(): boolean {
    return this.reader.connected && this.versionOk;
  }

  /** This host's report can be written (the leader answers and our name's lock is held). */
  get writable(): boolean {
    return this.writer?.hasLock(this.lockName) ?? false;
  }

  get member() {
    return this.reader.member;
  }

  /** The reader's position in the store's log (the highest `_Server` index seen, with the cluster id). */
  get logPosition(): LogPosition | undefined {
    return this.reader.logPosition;
  }

  /** The other hosts' backend reports as last seen (kept through an outage). */
  backendReports(): BackendStatusRow[] {
    return [...(this.rows.get('Backend_Status') ?? new Map())].map(([uuid, row]) => backendStatusRow(uuid, row));
  }

  /** Sets what this host reports; written now if the lock is held, else when it is. */
  publish(host: HostReport, backends: readonly BackendReport[]): void {
    this.wantHost = host;
    this.wantBackends = new Map(backends.map((b) => [reportKey(b.service, b.backend), b]));
    this.flush();
  }

  close(): void {
    this.closed = true;
    this.reader.close();
    this.writer?.close();
  }

  // ------------------------------------------------------------------ reading

  private async onReaderConnected(info: ConnectedInfo): Promise<void> {
    try {
      const schema = await this.reader.getSchema(STORE_DB);
      const problem = schemaVersionProblem(schema.version);
      this.versionOk = problem === undefined;
      if (problem) {
        this.emit('problem', new ClusterError('schema_version', `${this.opts.remotes}: ${problem}; the last policy stays in force`));
        return;
      }
      this.emit('connected', info);
      if (!this.monitoring) await this.startMonitors();
    } catch (err) {
      if (!this.closed) this.opts.logger?.warn(`cluster store: ${(err as Error).message}`);
    }
  }

  private async startMonitors(): Promise<void> {
    this.monitoring = true;
    const policy = Object.fromEntries(POLICY_TABLES.map((t) => [t, {}]));
    await this.reader.monitor(STORE_DB, policy, (changes) => {
      this.apply(changes);
      this.emit('policy', policySnapshot((t) => this.rows.get(t) ?? new Map()));
    });
    await this.reader.monitor(STORE_DB, { Backend_Status: {} }, (changes) => {
      this.apply(changes);
      this.emit('reports', this.backendReports());
    });
  }

  private apply(changes: RowChange[]): void {
    for (const c of changes) {
      const table = this.rows.get(c.table) ?? new Map<string, Row>();
      this.rows.set(c.table, table);
      if (c.new) table.set(c.uuid, c.new);
      else table.delete(c.uuid);
    }
  }

  // ------------------------------------------------------------------ publishing

  private async checkLock(): Promise<void> {
    if (!this.writer || this.closed) return;
    try {
      const granted = await this.writer.lock(this.lockName);
      if (!granted && !this.closed && this.opts.pairedHost?.()) {
        this.opts.logger?.info(`cluster store: host name ${this.opts.host} is published by the other instance of this controller pair (lock ${this.lockName}); this one publishes when the lock passes to it`);
      } else if (!granted && !this.closed) {
        this.emit('problem', new ClusterError('bad_input',
          `host name ${this.opts.host} is held by another vadc in the cluster store (lock ${this.lockName}): this one serves the policy but does not publish its status until the other goes`));
      }
    } catch (err) {
      if (!this.closed) this.opts.logger?.debug(`cluster store lock: ${(err as Error).message}`);
    }
  }

  private flush(): void {
    if (!this.writer || this.closed || !this.wantHost) return;
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
      if (this.flushAgain) {
        this.flushAgain = false;
        this.flush();
      }
    });
  }

  private async write(): Promise<void> {
    const writer = this.writer!;
    if (!writer.hasLock(this.lockName) || !this.wantHost) return;
    const host = this.opts.host;
    try {
      if (!this.written) this.written = await this.readBack();
      // What this transaction writes: a publish() while it is in flight replaces wantBackends, and that newer
      // report is written by the next flush, so it must not be recorded as written now.
      const writing = this.wantBackends;
      const ops = [op.assert(this.lockName), ...this.operations(host)];
      await writer.transact(STORE_DB, ops);
      this.written = { host: true, backends: new Map(writing) };
    } catch (err) {
      // A constraint violation means our picture of the store was wrong: read it back before the next write.
      if (err instanceof OvsdbTransactionError) this.written = undefined;
      if (!this.closed) this.opts.logger?.debug(`cluster store publish: ${(err as Error).message}`);
    }
  }

  /** This host's rows as the store has them now (after a lock is (re)gained, or a failed write). */
  private async readBack(): Promise<{ host: boolean; backends: Map<string, BackendReport> }> {
    const where = [condition('host', '==', this.opts.host)];
    const [hosts, backends] = await this.writer!.transact(STORE_DB, [op.select('Host_Status', where, ['host']), op.select('Backend_Status', where)]);
    const map = new Map<string, BackendReport>();
    for (const row of backends.rows ?? []) {
      const r = backendStatusRow('', row);
      map.set(reportKey(r.service, r.backend), { ...r });
    }
    return { host: (hosts.rows ?? []).length > 0, backends: map };
  }

  private operations(host: string) {
    const report = this.wantHost!;
    const hostRow: Row = {
      host, instance: report.instance, version: report.version, group: report.group ?? [], nat: report.nat, uplink: report.uplink ?? [],
      started: report.started, reported: report.reported, policy: report.policy, services: report.services, problems: report.problems.slice(0, 64),
    };
    const ops = [this.written!.host ? op.update('Host_Status', [condition('host', '==', host)], hostRow) : op.insert('Host_Status', hostRow)];
    const where = (b: { service: string; backend: string }) => [condition('host', '==', host), condition('service', '==', b.service), condition('backend', '==', b.backend)];
    for (const [key, old] of this.written!.backends) if (!this.wantBackends.has(key)) ops.push(op.delete('Backend_Status', where(old)));
    for (const [key, b] of this.wantBackends) {
      const before = this.written!.backends.get(key);
      const row: Row = {
        host, service: b.service, backend: b.backend, vnic: b.vnic, mac: b.mac ?? [], link_up: b.linkUp, health: b.health, reason: b.reason,
        queue_measure: b.queueMeasure ?? [], rate: b.rate ?? [], updated: b.updated,
      };
      if (!before) ops.push(op.insert('Backend_Status', row));
      else if (!sameReport(before, b)) ops.push(op.update('Backend_Status', where(b), row));
    }
    return ops;
  }
}

/** Equal for publishing purposes (the time of the report alone is no reason to write). */
function sameReport(a: BackendReport, b: BackendReport): boolean {
  return a.vnic === b.vnic && a.mac === b.mac && a.linkUp === b.linkUp && a.health === b.health && a.reason === b.reason
    && a.queueMeasure === b.queueMeasure && a.rate === b.rate;
}
