/**
 * An in-memory OVSDB "Raft cluster" for unit tests: one shared database and transaction history, served
 * by several members, each a real unix-socket listener with its own `_Server` row (leader, connected,
 * index), its own locks (locks live in one server process, as in ovsdb-server), and switches for what
 * it supports (monitor_cond_since, monitor_cond, _Server) and how it misbehaves. It speaks enough of
 * RFC 7047 and ovsdb-server(7) for the session: get_schema, list_dbs, echo, transact (insert, select, update,
 * delete, wait, comment, assert), monitor / monitor_cond / monitor_cond_since with update/update2/update3,
 * monitor_cancel, lock/steal/unlock with locked/stolen. Inserts may name their rows (uuid-name) for later
 * operations of the same transaction, conditions may test `_uuid`, and a member can be told to fail its next
 * transactions (failTransacts), as ovsdb-server does with a per-operation error.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import {
  DatabaseSchema,
  JsonStreamParser,
  NamedUuid,
  Row,
  Uuid,
  asMap,
  asSet,
  atomKey,
  columnKind,
  decodeCondition,
  decodeRow,
  encodeRow,
  encodeValue,
  normalizeRow,
  parseSchema,
  uuid,
  valuesEqual,
  type Json,
  type OvsdbValue,
} from '../../../src/ovsdb';

export const ZERO = '00000000-0000-0000-0000-000000000000';

export const TEST_SCHEMA = {
  name: 'Cluster_Test',
  version: '1.0.0',
  tables: {
    Item: {
      columns: {
        seq: { type: 'integer' },
        name: { type: 'string' },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
        attrs: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
      isRoot: true,
    },
  },
};

const SERVER_SCHEMA = {
  name: '_Server',
  version: '1.2.0',
  tables: {
    Database: {
      columns: {
        name: { type: 'string' },
        model: { type: { key: { type: 'string', enum: ['set', ['clustered', 'relay', 'standalone']] } } },
        connected: { type: 'boolean' },
        leader: { type: 'boolean' },
        schema: { type: { key: 'string', min: 0 } },
        cid: { type: { key: 'uuid', min: 0 } },
        sid: { type: { key: 'uuid', min: 0 } },
        index: { type: { key: 'integer', min: 0 } },
      },
    },
  },
};

type RowChangeMap = Map<string, Map<string, { old?: Row; new?: Row }>>;
type Msg = { id?: unknown; method?: string; params?: unknown[] };

interface MonitorSpec {
  db: string;
  version: 1 | 2 | 3;
  tables: Record<string, { columns?: string[]; where?: unknown[] }>;
}

const DEFAULTS: Record<string, OvsdbValue> = { integer: 0, real: 0, string: '', boolean: false };

export class FakeCluster {
  readonly schema: DatabaseSchema;
  readonly cid = randomUUID();
  readonly rows = new Map<string, Map<string, Row>>();
  history: { id: string; changes: RowChangeMap }[] = [];
  lastTxnId = ZERO;
  index = 10;
  readonly members: FakeMember[] = [];

  /** `rawSchema` is the database served (its name included); only get_schema and monitors use others than TEST_SCHEMA. */
  constructor(dir: string, count: number, readonly historyLimit = 100, readonly rawSchema: { name: string } = TEST_SCHEMA) {
    this.schema = parseSchema(rawSchema as Json);
    for (const table of Object.keys(this.schema.tables)) this.rows.set(table, new Map());
    for (let i = 0; i < count; i++) this.members.push(new FakeMember(this, i, join(dir, `m${i}-${randomUUID().slice(0, 8)}.sock`)));
    this.members[0].leader = true;
  }

  remotes(): string {
    return this.members.map((m) => `unix:${m.path}`).join(',');
  }

  async start(): Promise<this> {
    await Promise.all(this.members.map((m) => m.start()));
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
  }

  setLeader(i: number): void {
    this.members.forEach((m, j) => (m.leader = i === j));
    this.members.forEach((m) => m.serverRowChanged());
  }

  forgetHistory(): void {
    this.history = [];
  }

  /** Commits row changes as one transaction and tells every monitor on every member. */
  commit(changes: RowChangeMap): string {
    for (const [table, rows] of changes) {
      for (const [uuid, change] of rows) {
        if (change.new) this.rows.get(table)?.set(uuid, change.new);
        else this.rows.get(table)?.delete(uuid);
      }
    }
    const id = randomUUID();
    this.lastTxnId = id;
    this.index++;
    this.history.push({ id, changes });
    if (this.history.length > this.historyLimit) this.history.shift();
    for (const member of this.members) member.notifyCommit(changes, id);
    return id;
  }

  insert(row: Row): string {
    const uuid = randomUUID();
    this.commit(new Map([['Item', new Map([[uuid, { new: this.fill('Item', row) }]])]]));
    return uuid;
  }

  update(uuid: string, row: Row): void {
    const old = this.rows.get('Item')?.get(uuid) as Row;
    this.commit(new Map([['Item', new Map([[uuid, { old, new: { ...old, ...normalizeRow(row, this.schema.tables.Item) } }]])]]));
  }

  delete(uuid: string): void {
    const old = this.rows.get('Item')?.get(uuid) as Row;
    this.commit(new Map([['Item', new Map([[uuid, { old }]])]]));
  }

  fill(table: string, row: Row): Row {
    const full: Row = {};
    for (const [column, type] of Object.entries(this.schema.tables[table].columns)) {
      full[column] = columnKind(type) === 'map' ? new Map() : columnKind(type) === 'set' ? [] : DEFAULTS[type.key];
    }
    return { ...full, ...normalizeRow(row, this.schema.tables[table]) };
  }

  /** Changes since transaction `since`, merged per row; undefined when it is not in the history. */
  changesSince(since: string): RowChangeMap | undefined {
    const at = this.history.findIndex((t) => t.id === since);
    if (at < 0) return undefined;
    const merged: RowChangeMap = new Map();
    for (const txn of this.history.slice(at + 1)) {
      for (const [table, rows] of txn.changes) {
        const out = merged.get(table) ?? new Map();
        merged.set(table, out);
        for (const [uuid, change] of rows) {
          const prior = out.get(uuid);
          out.set(uuid, { ...(prior ? (prior.old ? { old: prior.old } : {}) : change.old ? { old: change.old } : {}), ...(change.new ? { new: change.new } : {}) });
        }
      }
    }
    return merged;
  }

  /** table-updates2 for `changes` as `spec` sees them; initial=true words inserts as "initial". */
  encodeUpdates(spec: MonitorSpec, changes: RowChangeMap, initial = false): Record<string, Json> {
    const out: Record<string, Record<string, Json>> = {};
    for (const [table, req] of Object.entries(spec.tables)) {
      const matches = (row: Row | undefined): boolean => row !== undefined && (req.where ?? []).every((c) => this.holds(row, c));
      for (const [uuid, change] of changes.get(table) ?? []) {
        const wasIn = matches(change.old);
        const isIn = matches(change.new);
        const pick = (row: Row): Row => Object.fromEntries(Object.entries(row).filter(([c]) => !req.columns || req.columns.includes(c)));
        let update: Json | undefined;
        if (spec.version === 1) {
          if (isIn) update = { ...(wasIn ? { old: encodeRow(pick(change.old as Row)) } : {}), new: encodeRow(pick(change.new as Row)) };
          else if (wasIn) update = { old: encodeRow(pick(change.old as Row)) };
        } else if (isIn && !wasIn) {
          update = { [initial ? 'initial' : 'insert']: this.nonDefault(table, pick(change.new as Row)) };
        } else if (wasIn && !isIn) {
          update = { delete: null };
        } else if (isIn && wasIn) {
          const diff = this.diff(table, pick(change.old as Row), pick(change.new as Row));
          if (Object.keys(diff).length > 0) update = { modify: diff };
        }
        if (update !== undefined) (out[table] ??= {})[uuid] = update;
      }
    }
    return out;
  }

  holds(row: Row, json: unknown, table = 'Item'): boolean {
    const c = decodeCondition(json);
    const equal = c.column === '_uuid'
      ? valuesEqual(row._uuid, c.value)
      : valuesEqual(row[c.column], normalizeRow({ [c.column]: c.value }, this.schema.tables[table])[c.column]);
    return c.fn === '==' ? equal : c.fn === '!=' ? !equal : true;
  }

  /** Like ovsdb-server, rows on the wire leave out columns that hold their default. */
  private nonDefault(table: string, row: Row): Record<string, Json> {
    const empty = this.fill(table, {});
    return encodeRow(Object.fromEntries(Object.entries(row).filter(([c, v]) => !valuesEqual(v, empty[c]))));
  }

  /** ovsdb-server(7) 4.1.14 column differences. */
  private diff(table: string, old: Row, now: Row): Record<string, Json> {
    const out: Record<string, Json> = {};
    for (const [column, type] of Object.entries(this.schema.tables[table].columns)) {
      if (!(column in now) || valuesEqual(old[column], now[column])) continue;
      const kind = columnKind(type);
      if (kind === 'scalar' || type.max === 1) {
        out[column] = encodeValue(now[column]);
      } else if (kind === 'set') {
        const a = new Map(asSet(old[column]).map((x) => [atomKey(x), x]));
        const b = new Map(asSet(now[column]).map((x) => [atomKey(x), x]));
        out[column] = encodeValue([...[...a].filter(([k]) => !b.has(k)), ...[...b].filter(([k]) => !a.has(k))].map(([, x]) => x));
      } else {
        const a = new Map([...asMap(old[column])].map(([k, v]) => [atomKey(k), [k, v] as const]));
        const b = new Map([...asMap(now[column])].map(([k, v]) => [atomKey(k), [k, v] as const]));
        const pairs = [...[...a].filter(([k]) => !b.has(k)), ...[...b].filter(([k, [, v]]) => atomKey(a.get(k)?.[1] ?? '') !== atomKey(v) || !a.has(k))];
        out[column] = encodeValue(new Map(pairs.map(([, kv]) => kv)));
      }
    }
    return out;
  }
}

interface LockState {
  waiters: { conn: FakeConn; mode: 'lock' | 'steal' }[];
}

export interface MemberBehaviour {
  since: boolean;
  cond: boolean;
  serverDb: boolean;
  /** Answer echo, error everything else. */
  errorEverything: boolean;
  /** Accept connections and never answer anything. */
  silent: boolean;
  /** Refuse every monitor request (get_schema, transact and the rest still work). */
  failMonitors: boolean;
}

export class FakeMember {
  leader = false;
  connected = true;
  /** Overrides the index reported in _Server (to play a member behind the others). */
  indexOverride: number | undefined;
  /** This member's transaction history does not reach back (restarted, or behind): monitor_cond_since answers found=false. */
  historyLost = false;
  readonly sid = randomUUID();
  readonly behaviour: MemberBehaviour = { since: true, cond: true, serverDb: true, errorEverything: false, silent: false, failMonitors: false };
  readonly conns = new Set<FakeConn>();
  readonly locks = new Map<string, LockState>();
  accepted = 0;
  /** Methods received, in order, over all connections. */
  readonly methods: string[] = [];
  /** When set, the next update notification is written half and the connection then cut. */
  cutNextUpdate = false;
  /** The next this many transact requests fail whole (nothing committed), with an error in the first result. */
  failTransacts = 0;
  /** When each transact request arrived (Date.now()), failed or not. */
  readonly transactTimes: number[] = [];
  private server: net.Server | undefined;

  constructor(
    readonly cluster: FakeCluster,
    readonly n: number,
    readonly path: string,
  ) {}

  get up(): boolean {
    return this.server !== undefined;
  }

  start(): Promise<void> {
    const server = net.createServer((socket) => {
      this.accepted++;
      const conn = new FakeConn(this, socket);
      this.conns.add(conn);
      socket.on('close', () => this.dropConn(conn));
    });
    this.server = server;
    return new Promise((resolve) => server.listen(this.path, resolve));
  }

  /** Like kill -9: every connection cut, no more listening. */
  async kill(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const conn of this.conns) conn.socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** Cuts the member's current connections (the listener stays). */
  dropConnections(): void {
    for (const conn of this.conns) conn.socket.destroy();
  }

  setConnected(connected: boolean): void {
    this.connected = connected;
    this.serverRowChanged();
  }

  serverRowChanged(): void {
    for (const conn of this.conns) conn.sendServerRow();
  }

  notifyCommit(changes: RowChangeMap, txnId: string): void {
    for (const conn of this.conns) conn.sendCommit(changes, txnId);
  }

  private dropConn(conn: FakeConn): void {
    this.conns.delete(conn);
    for (const [name, lock] of this.locks) {
      const wasOwner = lock.waiters[0]?.conn === conn;
      lock.waiters = lock.waiters.filter((w) => w.conn !== conn);
      if (lock.waiters.length === 0) this.locks.delete(name);
      else if (wasOwner) lock.waiters[0].conn.notify('locked', [name]);
    }
  }
}

class FakeConn {
  private readonly parser = new JsonStreamParser();
  readonly monitors = new Map<string, MonitorSpec>();

  constructor(
    readonly member: FakeMember,
    readonly socket: net.Socket,
  ) {
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      let messages: unknown[];
      try {
        messages = this.parser.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const m of messages as Msg[]) this.handle(m);
    });
  }

  private send(message: unknown): void {
    if (!this.socket.destroyed) this.socket.write(JSON.stringify(message));
  }

  notify(method: string, params: Json[]): void {
    this.send({ method, params, id: null });
  }

  private handle(m: Msg): void {
    const b = this.member.behaviour;
    if (m.method === undefined) return; // replies to our echo
    this.member.methods.push(m.method);
    if (b.silent) return;
    const reply = (result: unknown): void => this.send({ id: m.id, result, error: null });
    const error = (err: unknown): void => this.send({ id: m.id, result: null, error: err });
    if (m.method === 'echo') return reply(m.params);
    if (b.errorEverything) return error({ error: 'internal error', details: 'this server errors everything' });
    const p = m.params ?? [];
    if (b.failMonitors && m.method.startsWith('monitor') && p[0] !== '_Server') return error({ error: 'internal error', details: 'monitors refused' });
    switch (m.method) {
      case 'list_dbs':
        return reply(b.serverDb ? [this.member.cluster.schema.name, '_Server'] : [this.member.cluster.schema.name]);
      case 'get_schema':
        if (p[0] === this.member.cluster.schema.name) return reply(this.member.cluster.rawSchema);
        if (p[0] === '_Server' && b.serverDb) return reply(SERVER_SCHEMA);
        return error({ error: 'unknown database', details: `${String(p[0])} is not a database` });
      case 'monitor_cond_since':
        if (!b.since) return error('unknown method');
        return this.monitor(m.id, p, 3);
      case 'monitor_cond':
        if (!b.cond) return error('unknown method');
        return this.monitor(m.id, p, 2);
      case 'monitor':
        return this.monitor(m.id, p, 1);
      case 'monitor_cancel':
        this.monitors.delete(p[0] as string);
        return reply({});
      case 'transact':
        this.member.transactTimes.push(Date.now());
        if (this.member.failTransacts > 0) {
          this.member.failTransacts--;
          return reply([{ error: 'I/O error', details: 'the fake server fails this transaction' }]);
        }
        return reply(this.transact(p.slice(1) as Record<string, unknown>[]));
      case 'lock':
      case 'steal':
        if (this.member.locks.get(p[0] as string)?.waiters.some((w) => w.conn === this)) {
          return error({ error: 'syntax error', details: `must issue "unlock" before new "${m.method}"` });
        }
        return reply({ locked: this.lock(p[0] as string, m.method) });
      case 'unlock':
        this.unlock(p[0] as string);
        return reply({});
      default:
        return error('unknown method');
    }
  }

  private monitor(id: unknown, p: unknown[], version: 1 | 2 | 3): void {
    const [db, monitorId, requests, lastId] = p as [string, string, Record<string, unknown>, string];
    const tables: MonitorSpec['tables'] = {};
    for (const [table, req] of Object.entries(requests)) {
      const r = (Array.isArray(req) ? req[0] : req) as { columns?: string[]; where?: unknown[] };
      tables[table] = { ...(r.columns ? { columns: r.columns } : {}), ...(r.where ? { where: r.where } : {}) };
    }
    const spec: MonitorSpec = { db, version, tables };
    if (this.monitors.has(monitorId)) return this.send({ id, result: null, error: 'duplicate monitor ID' });
    this.monitors.set(monitorId, spec);
    if (db === '_Server') {
      const row = encodeRow(this.serverView());
      return this.send({ id, result: { Database: { [this.member.sid]: version === 1 ? { new: row } : { initial: row } } }, error: null });
    }
    const cluster = this.member.cluster;
    const all = (): Map<string, Map<string, { new: Row }>> =>
      new Map([...cluster.rows].map(([t, rows]) => [t, new Map([...rows].map(([u, r]) => [u, { new: r }]))]));
    if (version === 3) {
      const since = lastId && lastId !== ZERO && !this.member.historyLost ? cluster.changesSince(lastId) : undefined;
      const updates = since ? cluster.encodeUpdates(spec, since) : cluster.encodeUpdates(spec, all(), true);
      return this.send({ id, result: [since !== undefined, cluster.lastTxnId, updates], error: null });
    }
    const updates = cluster.encodeUpdates(spec, all(), true);
    this.send({ id, result: updates, error: null });
  }

  private serverView(): Row {
    const m = this.member;
    return {
      name: m.cluster.schema.name, model: 'clustered', connected: m.connected, leader: m.leader,
      cid: uuid(m.cluster.cid), sid: uuid(m.sid), index: m.indexOverride ?? m.cluster.index,
    };
  }

  sendServerRow(): void {
    for (const [id, spec] of this.monitors) {
      if (spec.db !== '_Server') continue;
      const row = encodeRow(this.serverView());
      if (spec.version === 1) this.notify('update', [id, { Database: { [this.member.sid]: { new: row } } }]);
      else this.notify('update2', [id, { Database: { [this.member.sid]: { modify: row } } }]);
    }
  }

  sendCommit(changes: RowChangeMap, txnId: string): void {
    for (const [id, spec] of this.monitors) {
      if (spec.db === '_Server') continue;
      const updates = this.member.cluster.encodeUpdates(spec, changes);
      if (Object.keys(updates).length === 0) continue;
      const method = spec.version === 3 ? 'update3' : spec.version === 2 ? 'update2' : 'update';
      const text = JSON.stringify({ method, params: spec.version === 3 ? [id, txnId, updates] : [id, updates], id: null });
      if (this.member.cutNextUpdate) {
        // Half a message, then the connection dies: the client must drop the partial bytes and resume.
        this.member.cutNextUpdate = false;
        this.socket.write(text.slice(0, Math.floor(text.length / 2)));
        this.socket.destroy();
        return;
      }
      this.socket.write(text);
    }
    this.sendServerRow();
  }

  private transact(ops: Record<string, unknown>[]): Json[] {
    const cluster = this.member.cluster;
    const results: Json[] = [];
    // Any table of the schema (the test schema has only Item; vadc's schema has several).
    const changes: RowChangeMap = new Map();
    const working = new Map<string, Map<string, Row>>();
    const rowsOf = (table: string): Map<string, Row> => {
      let rows = working.get(table);
      if (!rows) working.set(table, (rows = new Map(cluster.rows.get(table))));
      return rows;
    };
    const changesOf = (table: string) => {
      let c = changes.get(table);
      if (!c) changes.set(table, (c = new Map()));
      return c;
    };
    const matching = (table: string, where: unknown[] = []): [string, Row][] =>
      [...rowsOf(table)].filter(([uuid, row]) => where.every((c) => cluster.holds({ ...row, _uuid: new Uuid(uuid) }, c, table)));
    // uuid-name -> the uuid its insert gets: the transaction's other operations may name the row by it.
    const named = new Map<string, string>();
    for (const op of ops) if (op.op === 'insert' && typeof op['uuid-name'] === 'string') named.set(op['uuid-name'], randomUUID());
    const resolveAtom = (a: OvsdbValue): OvsdbValue => (a instanceof NamedUuid ? new Uuid(named.get(a.name) ?? ZERO) : a);
    const resolve = (row: Row): Row => Object.fromEntries(Object.entries(row).map(([c, v]) => [c,
      v instanceof Map ? new Map([...v].map(([k, x]) => [resolveAtom(k), resolveAtom(x)] as never)) : Array.isArray(v) ? v.map(resolveAtom) as never : resolveAtom(v)]));
    for (const op of ops) {
      const table = (op.table as string | undefined) ?? 'Item';
      // As ovsdb-server: a column the schema does not have fails the transaction (a client newer than the store).
      const unknown = (op.op === 'insert' || op.op === 'update') && cluster.schema.tables[table]
        ? Object.keys(op.row as object).find((c) => !(c in cluster.schema.tables[table].columns)) : undefined;
      if (unknown !== undefined) return [...results, { error: 'unknown column', details: `No column ${unknown} in table ${table}.` }];
      if (op.op === 'insert') {
        const uuid = typeof op['uuid-name'] === 'string' ? named.get(op['uuid-name'])! : randomUUID();
        const row = cluster.fill(table, resolve(decodeRow(op.row)));
        rowsOf(table).set(uuid, row);
        changesOf(table).set(uuid, { new: row });
        results.push({ uuid: ['uuid', uuid] });
      } else if (op.op === 'update' || op.op === 'delete') {
        const hits = matching(table, op.where as unknown[]);
        for (const [uuid, old] of hits) {
          const prior = changesOf(table).get(uuid);
          const before = prior ? prior.old : old;
          if (op.op === 'delete') {
            rowsOf(table).delete(uuid);
            changesOf(table).set(uuid, before ? { old: before } : {});
          } else {
            const row = { ...old, ...normalizeRow(resolve(decodeRow(op.row)), cluster.schema.tables[table]) };
            rowsOf(table).set(uuid, row);
            changesOf(table).set(uuid, { ...(before ? { old: before } : {}), new: row });
          }
        }
        results.push({ count: hits.length });
      } else if (op.op === 'select') {
        // Every column, with the row's _uuid (the fake ignores `columns`).
        results.push({ rows: matching(table, op.where as unknown[]).map(([uuid, row]) => ({ ...encodeRow(row), _uuid: ['uuid', uuid] })) as Json[] });
      } else if (op.op === 'wait') {
        const hits = matching(table, op.where as unknown[]).length;
        const wanted = (op.rows as unknown[]).length;
        if ((op.until === '==') !== (hits === wanted)) return [...results, { error: 'timed out', details: 'wait condition not met' }];
        results.push({});
      } else if (op.op === 'assert') {
        if (this.member.locks.get(op.lock as string)?.waiters[0]?.conn !== this) return [...results, { error: 'not owner' }];
        results.push({});
      } else {
        results.push({});
      }
    }
    if ([...changes.values()].some((c) => c.size > 0)) cluster.commit(changes);
    return results;
  }

  private lock(name: string, mode: 'lock' | 'steal'): boolean {
    const locks = this.member.locks;
    const lock = locks.get(name) ?? { waiters: [] };
    locks.set(name, lock);
    if (mode === 'steal') {
      const victim = lock.waiters[0];
      if (victim) {
        victim.conn.notify('stolen', [name]);
        if (victim.mode === 'steal') lock.waiters.shift();
      }
      lock.waiters.unshift({ conn: this, mode });
      return true;
    }
    lock.waiters.push({ conn: this, mode });
    return lock.waiters[0].conn === this;
  }

  private unlock(name: string): void {
    const lock = this.member.locks.get(name);
    if (!lock) return;
    const wasOwner = lock.waiters[0]?.conn === this;
    lock.waiters = lock.waiters.filter((w) => w.conn !== this);
    if (lock.waiters.length === 0) this.member.locks.delete(name);
    else if (wasOwner) lock.waiters[0].conn.notify('locked', [name]);
  }
}
