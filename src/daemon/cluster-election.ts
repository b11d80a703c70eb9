// Controller HA of a cluster host (docs/operators/run-a-pair.md): the instances of a pair elect their master through
// the cluster store, the way ovn-northd's active/standby does (RFC 7047 4.1.8-4.1.10): each asks for the OVSDB lock
// `vadc_pair_KEY` on the Raft leader; the server grants it to one session and queues the others, and tells the
// next one "locked" the moment the holder's session ends (a dead master's socket closes at once).
//
// The generation id (the OpenFlow fencing token) is a counter in the pair's Controller_Pair row: whoever gets the
// lock claims by one transaction that asserts the lock, waits for the generation it saw and writes generation + 1
// and its name. Raft orders those transactions, so every claim gets a larger id than any before it, whichever
// member leads and whichever instance claims. (The Raft term would not do: it does not change when the lock passes
// between instances without a leader change, and `_Server` does not show it.)
//
// Locks are not replicated: they live in the leader's process. A leader change or a reconnect loses the lock; the
// session asks again on its next connection (leader-only, following the leader). A master whose lock went with its
// connection stays master meanwhile: the other instance can only become master by claiming a larger generation, and
// then every switch demotes this one. A hung master (SIGSTOP) keeps its session open, so the master also beats the
// row (under the lock); a standby that sees no beat for `staleMs` by its own clock steals the lock and claims.
import {
  ELECTION_TABLES, pairRow, STORE_DB, type PairRow,
} from '../cluster';
import {
  condition, OvsdbClient, OvsdbTransactionError, op, type OvsdbClientOptions, type Row, type TlsFiles,
} from '../ovsdb';
import type { WantedRole } from '../controller/role';
import type { Logger } from '../util/logger';
import type { ControllerElection, ElectionChange, ElectionStatus } from './election';
import { generationPast, OutbidBudget, type OutbidVerdict } from './outbid';
import { MAX_PUBLISHED_BYTES, parsePublished, type PairConfigChannel, type PublishedConfig } from './pair-config';

export interface ClusterElectionFacts {
  now: number;
  me: string;
  role: 'master' | 'standby';
  /** Our generation (a standby follows the row's). */
  generation: bigint;
  /** The store session is usable (connected to the leader). */
  connected: boolean;
  holdLock: boolean;
  row: PairRow | undefined;
  /** When this instance last saw the row's beat change, or (re)connected: its own clock, so hosts' clocks may differ. */
  beatSeenAt: number;
  staleMs: number;
}

export type ClusterElectionStep =
  /** We hold the lock and the row does not name us with our generation: take the next generation. */
  | { do: 'claim'; generation: bigint; reason: string }
  /** Master of record, lock held: heartbeat. */
  | { do: 'beat' }
  /** The master of record has not beaten for too long (hung): take the lock from it. */
  | { do: 'steal'; reason: string }
  /** We were master and the row names another claim: stand by. */
  | { do: 'fenced'; by: string; reason: string }
  | { do: 'wait' };

/** The pure rule of the cluster election: given what the store shows, what this instance does now. */
export function clusterElectionStep(f: ClusterElectionFacts): ClusterElectionStep {
  const r = f.row;
  const ours = r !== undefined && r.master === f.me && r.generation === f.generation;
  if (!f.connected) return { do: 'wait' };
  if (f.holdLock) {
    if (f.role === 'master' && ours) return { do: 'beat' };
    const reason = !r ? 'no master yet' : r.master === f.me ? 'the lock came back to this instance' : `the lock passed from ${r.master}`;
    return { do: 'claim', generation: (r?.generation ?? 0n) + 1n, reason };
  }
  if (f.role === 'master') {
    if (r && !ours) return { do: 'fenced', by: r.master, reason: `generation ${f.generation} is over: the store names ${r.master} with generation ${r.generation}` };
    return { do: 'wait' }; // our lock went with a connection; nobody else has claimed
  }
  const silent = f.now - f.beatSeenAt;
  if (silent > f.staleMs) {
    return { do: 'steal', reason: r ? `the master ${r.master} has not beaten for ${silent} ms (limit ${f.staleMs} ms)` : `the lock holder has not claimed for ${silent} ms` };
  }
  return { do: 'wait' };
}

export interface ClusterElectionOptions {
  remotes: string;
  key: string;
  listen: string;
  api?: string;
  staleMs: number;
  /** Heartbeat interval (default staleMs / 5): each is one Raft transaction. */
  beatMs?: number;
  logger: Logger;
  onChange: (change: ElectionChange) => void;
  now?: () => number;
  tls?: TlsFiles;
  session?: Partial<OvsdbClientOptions>;
  /** How long start() waits for a first verdict when the store does not answer (default 3000 ms). */
  startWaitMs?: number;
}

/** OVSDB lock names are ids; the pair key is hex. */
export function pairLockName(key: string): string {
  return `vadc_pair_${key}`;
}

const TABLE = ELECTION_TABLES[0];
/** A publication the store refused is tried again after this long; the heartbeats go on meanwhile. */
const CONFIG_RETRY_MS = 1000;
/** A standby writes its name on the row this often, for the master's status (not under the lock). */
const STANDBY_WRITE_MS = 1000;

export class ClusterElection implements ControllerElection {
  readonly me: string;
  /**
   * Where the master publishes its configuration for the standby (./pair-config.ts): the pair's row in the store
   * (column `config`), so the two instances share it wherever each runs.
   */
  readonly configChannel: PairConfigChannel;
  /** A publication not yet in the store (written under the lock by the master of record). */
  private pendingConfig?: string;
  /** The row's `config` as last handed to the standby's reader. */
  private configRead?: string;
  /** When the store last refused a publication: the heartbeats go first until CONFIG_RETRY_MS has passed. */
  private configFailedAt = -Infinity;
  private readonly lockName: string;
  private readonly beatMs: number;
  private readonly leaseMs: number;
  private readonly now: () => number;
  private client?: OvsdbClient;
  private role: 'master' | 'standby' = 'standby';
  private generation = 0n;
  private row?: PairRow;
  /** The master this instance last stood by for (ElectionStatus.stoodBy). */
  private stoodBy?: string;
  private beatSeenAt: number;
  private confirmedAt = -Infinity;
  /** The last tick that ran while the store was unreachable: the master was awake through the outage. */
  private outageAwakeAt = -Infinity;
  private standbyWrittenAt = -Infinity;
  private busy = false;
  private timer?: NodeJS.Timeout;
  /** A steal verdict judged again once this turn's I/O is read (tick). */
  private stealRecheck?: NodeJS.Immediate;
  private stopped = false;
  private firstVerdict?: () => void;
  private readonly outbids = new OutbidBudget();
  /** A generation to take past a switch's at the next beat (outbid), with why. */
  private outbidTo?: { generation: bigint; reason: string };

  constructor(private readonly opts: ClusterElectionOptions) {
    this.me = `${process.pid}@${opts.listen}`;
    const where = `the cluster store's Controller_Pair row ${opts.key} (column config)`;
    this.configChannel = {
      where,
      publish: (doc) => this.publishConfig(JSON.stringify(doc), where),
      read: () => this.readConfig(where),
    };
    this.lockName = pairLockName(opts.key);
    this.beatMs = opts.beatMs ?? Math.max(20, Math.floor(opts.staleMs / 5));
    // The standby steals only after staleMs without seeing a beat that committed after we sent it.
    this.leaseMs = opts.staleMs - this.beatMs;
    this.now = opts.now ?? Date.now;
    this.beatSeenAt = this.now();
  }

  async start(): Promise<void> {
    const client = OvsdbClient.open(this.opts.remotes, {
      database: STORE_DB, leaderOnly: true, logger: this.opts.logger, ...(this.opts.tls ? { tls: this.opts.tls } : {}), ...this.opts.session,
    });
    this.client = client;
    client.on('connected', (info) => {
      this.beatSeenAt = this.now(); // what we saw before the outage says nothing about the master now
      this.opts.logger.info(`election: cluster store ${info.remote} answers (lock ${this.lockName})`);
      this.tick();
    });
    client.on('locked', () => this.tick());
    client.on('stolen', () => this.tick());
    client.on('lockLost', (_name, reason) => {
      if (this.role === 'master') this.opts.logger.warn(`election: the pair's lock went with the store connection (${reason}); master until another instance claims`);
      this.tick();
    });
    client.on('monitorError', (err) => this.opts.logger.error(`election: cannot watch ${TABLE} in the cluster store (${err.message}); is the store's schema older than this vadc's? (ovsdb-client convert REMOTE schema/vadc.ovsschema)`));
    const first = new Promise<void>((resolve) => (this.firstVerdict = resolve));
    void client.monitor(STORE_DB, { [TABLE]: {} }, (changes) => {
      for (const c of changes) {
        if (c.table !== TABLE) continue;
        const next = c.new ? pairRow(c.uuid, c.new) : undefined;
        if (next && next.key !== this.opts.key) continue;
        if (!next && this.row?.uuid !== c.uuid) continue;
        if (next && (next.beat !== this.row?.beat || next.master !== this.row?.master || next.generation !== this.row?.generation)) this.beatSeenAt = this.now();
        this.row = next;
      }
      this.tick();
    }).catch(() => undefined);
    void client.lock(this.lockName).catch((err: Error) => this.opts.logger.error(`election: lock ${this.lockName}: ${err.message}`));
    this.timer = setInterval(() => this.tick(), this.beatMs);
    const wait = this.opts.startWaitMs ?? 3000;
    const waited = await Promise.race([first.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), wait).unref())]);
    if (!waited) this.opts.logger.warn(`election: no verdict from the cluster store (${this.opts.remotes}) within ${wait} ms; standing by until it answers`);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearImmediate(this.stealRecheck);
    // Closing the session releases the lock at once: the standby is told "locked" and claims.
    this.client?.close();
  }

  wanted(): WantedRole {
    return { role: this.role, generation: this.generation };
  }

  /**
   * A master writes while its last heartbeat committed within the lease, or while it stays awake through a store
   * outage (no standby can claim without the store, and a claim fences us at the switches anyway). One that was
   * paused writes nothing on waking before a heartbeat commits. Alone (no standby seen lately), always.
   */
  mayWrite(now: number): boolean {
    if (this.role !== 'master') return false;
    if (!this.standbyRecent(now)) return true;
    return now - Math.max(this.confirmedAt, this.outageAwakeAt) < this.leaseMs;
  }

  status(): ElectionStatus {
    const r = this.row;
    // Standing by: the row names the master (and the API it published), unless it still names this instance.
    const master = this.role === 'standby' && r && r.master !== this.me ? r : undefined;
    const peer = this.role === 'standby' ? master?.master : this.standbyRecent(this.now()) ? r?.standby : undefined;
    const masterApi = master?.api;
    return {
      election: 'cluster', role: this.role, generation: this.generation.toString(), instance: this.me, ...(peer ? { peer } : {}), ...(masterApi ? { masterApi } : {}),
      ...(this.stoodBy ? { stoodBy: this.stoodBy } : {}), key: this.opts.key, where: `cluster store ${this.opts.remotes}`,
    };
  }

  check(): void {
    this.tick();
  }

  outbid(switchGeneration: bigint): OutbidVerdict {
    const r = this.row;
    const ours = r !== undefined && r.master === this.me && r.generation === this.generation;
    if (this.stopped || this.role !== 'master' || !ours || !this.client?.hasLock(this.lockName)) {
      return { outbid: false, reason: 'this instance is not master of record holding the pair\'s lock' };
    }
    const generation = generationPast(switchGeneration, this.generation);
    if (generation === undefined) return { outbid: false, reason: `the switch's generation ${switchGeneration} leaves no later one the store's integer can hold` };
    const spent = this.outbids.take(this.now());
    if (spent) return { outbid: false, reason: spent };
    // Claimed like any generation: asserting the lock, and only over the row's generation as we saw it.
    this.outbidTo = { generation, reason: `the switch knew generation ${switchGeneration}, which this election never issued (the pair came from another election?): taking ${generation}` };
    this.tick();
    return { outbid: true, generation };
  }

  private standbyRecent(now: number): boolean {
    const r = this.row;
    return r?.standby !== undefined && r.standby !== this.me && now - r.standbyAt < Math.max(4 * STANDBY_WRITE_MS, 4 * this.opts.staleMs);
  }

  /** `ioRead`: called after the poll phase of this turn (setImmediate), so what waited on the socket is read. */
  private tick(ioRead = false): void {
    const client = this.client;
    if (this.stopped || !client || this.busy) return;
    const now = this.now();
    const connected = client.connected;
    if (!connected) this.outageAwakeAt = now;
    const step = clusterElectionStep({
      now, me: this.me, role: this.role, generation: this.generation, connected, holdLock: client.hasLock(this.lockName), row: this.row,
      beatSeenAt: this.beatSeenAt, staleMs: this.opts.staleMs,
    });
    if (this.role === 'standby' && this.row && step.do !== 'claim') this.generation = this.row.generation; // a standby follows the master's
    if (connected && (this.role === 'master' || this.row)) this.firstVerdict?.();
    switch (step.do) {
      case 'claim':
        void this.run(() => this.claim(step.generation, step.reason));
        break;
      case 'beat': {
        const outbid = this.outbidTo;
        this.outbidTo = undefined;
        const config = this.pendingConfig;
        if (outbid) void this.run(() => this.claim(outbid.generation, outbid.reason));
        else if (config !== undefined && now - this.configFailedAt >= CONFIG_RETRY_MS) void this.run(() => this.writeConfig(config, now));
        else if (now - this.confirmedAt >= this.beatMs / 2) void this.run(() => this.beat(now));
        break;
      }
      case 'steal':
        // Silence as this instance has read it. After a stall of its own (GC, a loaded host) its interval tick runs
        // before the poll phase reads the beats waiting on its socket (Node runs timers first): judge again after that
        // read, so a real silence waits one turn of the event loop more, and a stall of ours steals nothing.
        if (!ioRead) {
          this.stealRecheck ??= setImmediate(() => {
            this.stealRecheck = undefined;
            this.tick(true);
          });
          break;
        }
        this.opts.logger.warn(`election: ${step.reason}; taking the lock`);
        this.beatSeenAt = now; // one steal per silence
        void this.run(async () => {
          await client.steal(this.lockName);
        });
        break;
      case 'fenced':
        this.becomeStandby(step.by, step.reason);
        break;
      case 'wait':
        if (this.role === 'standby' && connected && this.row && this.row.master !== this.me) this.stoodBy = this.row.master;
        if (this.role === 'standby' && connected && this.row && now - this.standbyWrittenAt >= STANDBY_WRITE_MS) {
          this.standbyWrittenAt = now;
          void this.run(() => this.writeStandby(now));
        }
        break;
    }
  }

  /** One store request at a time; the next tick decides again with what it changed. */
  private async run(work: () => Promise<void>): Promise<void> {
    this.busy = true;
    try {
      await work();
    } catch (err) {
      if (!this.stopped) this.opts.logger.debug(`election: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private where(): ReturnType<typeof condition>[] {
    return [condition('key', '==', this.opts.key)];
  }

  private async claim(generation: bigint, reason: string): Promise<void> {
    const seen = this.row;
    const now = this.now();
    const row: Row = { generation: Number(generation), master: this.me, api: this.opts.api ?? [], beat: now };
    const ops = [
      op.assert(this.lockName),
      // The generation we saw is still the store's: claims never share one, even if our view was behind.
      seen
        ? op.wait(TABLE, [...this.where(), condition('generation', '==', Number(seen.generation))], ['generation'], '==', [{ generation: Number(seen.generation) }], 0)
        : op.wait(TABLE, this.where(), ['key'], '==', [], 0),
      seen ? op.update(TABLE, this.where(), row) : op.insert(TABLE, { key: this.opts.key, ...row, standby: [], standby_at: 0 }),
    ];
    try {
      await this.client!.transact(STORE_DB, ops);
    } catch (err) {
      if (err instanceof OvsdbTransactionError) {
        this.opts.logger.debug(`election: claim of generation ${generation} refused (${err.message}); looking again`);
        return;
      }
      throw err;
    }
    this.row = { uuid: seen?.uuid ?? '', key: this.opts.key, generation, master: this.me, api: this.opts.api, beat: now, standby: seen?.standby, standbyAt: seen?.standbyAt ?? 0, config: seen?.config };
    this.role = 'master';
    this.generation = generation;
    this.confirmedAt = now;
    this.firstVerdict?.();
    this.opts.onChange({ kind: 'promoted', generation, reason });
  }

  private async beat(now: number): Promise<void> {
    const where = [...this.where(), condition('master', '==', this.me), condition('generation', '==', Number(this.generation))];
    try {
      const [, updated] = await this.client!.transact(STORE_DB, [op.assert(this.lockName), op.update(TABLE, where, { beat: now })]);
      if (updated.count === 1) this.confirmedAt = now;
    } catch (err) {
      // "not owner": the lock is gone; the "stolen" notification or the row tells the next tick who has it.
      if (!(err instanceof OvsdbTransactionError)) throw err;
    }
  }

  private publishConfig(json: string, where: string): void {
    if (this.role !== 'master') return; // only the master of record writes the row (a claim may make this one it)
    if (Buffer.byteLength(json) > MAX_PUBLISHED_BYTES) {
      this.opts.logger.error(`election: the configuration to publish is ${Buffer.byteLength(json)} bytes, more than the ${MAX_PUBLISHED_BYTES} ${where} may hold: not published`);
      return;
    }
    this.pendingConfig = json;
    this.tick();
  }

  private readConfig(where: string): PublishedConfig | undefined {
    const json = this.row?.config;
    if (json === undefined || json === this.configRead) return undefined;
    this.configRead = json;
    const doc = parsePublished(json);
    if (!doc) this.opts.logger.error(`election: ${where} is not a configuration vadc published: ignored`);
    return doc;
  }

  /** The master of record writes its publication under the lock; a refusal leaves it pending for the next tick. */
  private async writeConfig(json: string, now: number): Promise<void> {
    const where = [...this.where(), condition('master', '==', this.me), condition('generation', '==', Number(this.generation))];
    try {
      const [, updated] = await this.client!.transact(STORE_DB, [op.assert(this.lockName), op.update(TABLE, where, { config: json })]);
      if (updated.count === 1 && this.pendingConfig === json) this.pendingConfig = undefined;
      this.configFailedAt = -Infinity;
    } catch (err) {
      if (!(err instanceof OvsdbTransactionError)) throw err;
      // Lost the lock (the next tick sees it), or a store older than schema 1.2.0 (no `config` column): said once.
      if (this.configFailedAt === -Infinity || now - this.configFailedAt > 60_000) {
        this.opts.logger.error(`election: cannot publish the configuration to the standby in the store (${err.message}); is the store's schema older than 1.2.0? (ovsdb-client convert REMOTE schema/vadc.ovsschema)`);
      }
      this.configFailedAt = now;
    }
  }

  private async writeStandby(now: number): Promise<void> {
    await this.client!.transact(STORE_DB, [op.update(TABLE, this.where(), { standby: this.me, standby_at: now })]);
  }

  private becomeStandby(by: string, reason: string): void {
    this.role = 'standby';
    this.outbidTo = undefined;
    this.confirmedAt = -Infinity;
    if (this.row) this.generation = this.row.generation;
    this.beatSeenAt = this.now();
    this.opts.onChange({ kind: 'fenced', generation: this.generation, by, reason });
  }
}
