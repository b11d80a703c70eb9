/**
 * The cluster-aware session against the in-memory cluster (fake-cluster.ts, real unix sockets):
 * several remotes, the `_Server` checks, following the leader, resumable monitors, locks.
 * Robustness (fds, truthful state, outage events, close) is in session-robustness.test.ts.
 */
import {
  MonitorBatchKind,
  OvsdbClient,
  OvsdbClientOptions,
  OvsdbError,
  OvsdbMemberError,
  OvsdbUsageError,
  RowChange,
  SessionState,
} from '../../../src/ovsdb';
import { FakeCluster, TEST_SCHEMA } from './fake-cluster';
import { FAST_SESSION, useFakeClusterStore } from './fake-cluster-store';
import { until } from '../../helpers/until';

const store = useFakeClusterStore('vadc-ovsdbcluster-', {
  per: 'each',
  members: 3,
  schema: TEST_SCHEMA,
  beforeStop: () => {
    for (const client of clients.splice(0)) client.close();
  },
});
const clients: OvsdbClient[] = [];

const FAST: OvsdbClientOptions = { ...FAST_SESSION, database: 'Cluster_Test', handshakeTimeoutMs: 2000 };

function open(opts: OvsdbClientOptions = {}): OvsdbClient {
  const client = OvsdbClient.open(store.cluster.remotes(), { ...FAST, ...opts });
  clients.push(client);
  return client;
}

/** Everything a monitor listener and the session's events said, in order. */
function record(client: OvsdbClient) {
  const batches: { kind: MonitorBatchKind; changes: RowChange[] }[] = [];
  const events: string[] = [];
  const states: SessionState[] = [];
  const errors: OvsdbError[] = [];
  client.on('state', (s) => states.push(s));
  client.on('connected', (info) => events.push(`connected ${info.remote} resumed=${info.resumed} reloaded=${info.reloaded}`));
  client.on('disconnected', (err) => {
    events.push(`disconnected ${err?.code}`);
    if (err) errors.push(err);
  });
  for (const e of ['locked', 'stolen', 'lockLost'] as const) client.on(e, (name: string) => events.push(`${e} ${name}`));
  const listener = (changes: RowChange[], kind: MonitorBatchKind): void => void batches.push({ kind, changes });
  const all = (): RowChange[] => batches.flatMap((b) => b.changes);
  const addedSeqs = (): number[] => all().filter((c) => !c.old && c.new).map((c) => c.new?.seq as number);
  return { batches, events, states, errors, listener, all, addedSeqs };
}

/** A session monitoring Item (all columns) that has seen 3 inserted rows. */
async function monitorWith3Rows(opts: OvsdbClientOptions = {}) {
  const client = open(opts);
  const r = record(client);
  const handle = await client.monitor('Cluster_Test', { Item: {} }, r.listener);
  for (let seq = 1; seq <= 3; seq++) store.cluster.insert({ seq, name: `row${seq}` });
  await until(() => r.addedSeqs().length === 3, '3 rows');
  return { client, r, handle };
}

describe('several remotes and the _Server checks', () => {
  test('leaderOnly skips followers, closing each before the next attempt, and reports the leader', async () => {
    store.cluster.setLeader(2);
    const client = open({ leaderOnly: true });
    await client.ready(2000);
    expect(client.state).toMatchObject({ kind: 'connected', remote: `unix:${store.cluster.members[2].path}` });
    expect(client.member).toMatchObject({ name: 'Cluster_Test', model: 'clustered', leader: true, connected: true });
    expect(store.cluster.members.map((m) => m.accepted)).toEqual([1, 1, 1]);
    await until(() => store.cluster.members[0].conns.size + store.cluster.members[1].conns.size === 0, 'the followers to see their connections closed');
  });

  test('a reader moves off a member that loses its cluster, past one that is behind, to a usable one', async () => {
    const client = open({ catchUpMs: 0 });
    const r = record(client);
    await client.ready(2000);
    expect(client.state).toMatchObject({ kind: 'connected', remote: `unix:${store.cluster.members[0].path}` });
    store.cluster.members[1].indexOverride = 3; // behind index 10, which the session has seen
    store.cluster.members[0].setConnected(false);
    await until(() => client.state.kind === 'connected' && client.state.remote.includes(store.cluster.members[2].path), 'a connection to member 2');
    expect(r.errors[0]).toBeInstanceOf(OvsdbMemberError);
    expect(r.errors[0]).toMatchObject({ problem: 'not-connected' });
    expect(r.events).toEqual([
      `connected unix:${store.cluster.members[0].path} resumed=0 reloaded=0`,
      'disconnected MEMBER',
      `connected unix:${store.cluster.members[2].path} resumed=0 reloaded=0`,
    ]);
    const tried = r.states.filter((s) => s.kind === 'connecting').map((s) => (s.kind === 'connecting' ? s.lastError : ''));
    expect(tried.at(-1)).toContain('at index 3, behind 10 already seen');
  });

  test('a member behind the index already seen is waited for on its connection, then used: the monitor resumes there', async () => {
    const { client, r, handle } = await monitorWith3Rows();
    await until(() => client.logPosition?.index === store.cluster.index, 'the index of the last insert');
    // Members 0 and 2 go away; member 1 is in its cluster but has not applied the last inserts yet (as a follower
    // right after the leader's kill, until the new leader's first commit).
    store.cluster.members[1].indexOverride = store.cluster.index - 2;
    await store.cluster.members[2].kill();
    await store.cluster.members[0].kill();
    await until(() => store.cluster.members[1].conns.size === 1, 'a connection to member 1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(client.connected).toBe(false);
    store.cluster.insert({ seq: 4, name: 'row4' });
    store.cluster.members[1].indexOverride = undefined; // caught up
    store.cluster.members[1].serverRowChanged();
    await until(() => client.connected, 'connected to member 1');
    await until(() => r.addedSeqs().length === 4, '4 rows');
    // One connection to member 1, kept while it caught up: no refusal, no pause, and the monitor resumed.
    expect(store.cluster.members[1].accepted).toBe(1);
    expect(r.events).toEqual([
      `connected unix:${store.cluster.members[0].path} resumed=0 reloaded=1`,
      'disconnected CLOSED',
      `connected unix:${store.cluster.members[1].path} resumed=1 reloaded=0`,
    ]);
    expect(handle.stats()).toMatchObject({ fullLoads: 1, resumes: 1, lastTxnId: store.cluster.lastTxnId });
    expect(client.logPosition).toEqual({ clusterId: store.cluster.cid, index: store.cluster.index });
  });

  test('a member that stays behind is refused after catchUpMs', async () => {
    const client = open({ catchUpMs: 1000 });
    const r = record(client);
    await client.ready(2000);
    store.cluster.members[1].indexOverride = 3;
    await store.cluster.members[2].kill();
    await store.cluster.members[0].kill();
    await until(() => store.cluster.members[1].conns.size === 1, 'a connection to member 1');
    const refusedStale = () => r.states.some((s) => s.kind === 'connecting' && (s.lastError ?? '').includes('at index 3, behind 10 already seen'));
    // A `_Server` change that leaves it behind: judged again, still waited for on the same connection.
    store.cluster.members[1].indexOverride = 5;
    store.cluster.members[1].serverRowChanged();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(refusedStale()).toBe(false);
    expect(store.cluster.members[1].accepted).toBe(1);
    await until(() => r.states.some((s) => s.kind === 'connecting' && (s.lastError ?? '').includes('at index 5, behind 10 already seen')), 'member 1 refused as stale');
    expect(client.connected).toBe(false);
  });

  test('a saved log position: members of that cluster behind it are refused from the first connection; another cluster ignores it', async () => {
    const seeded = open({ catchUpMs: 0, logPosition: { clusterId: store.cluster.cid, index: 50 } });
    const r = record(seeded);
    await until(() => seeded.state.kind === 'backoff', 'a failed round');
    expect(r.states.filter((s) => s.kind === 'connecting').map((s) => (s.kind === 'connecting' ? s.lastError : '')).at(-1)).toContain('at index 10, behind 50 already seen');
    expect(seeded.connected).toBe(false);
    expect(seeded.logPosition).toEqual({ clusterId: store.cluster.cid, index: 50 });
    store.cluster.members[2].indexOverride = 60;
    await seeded.ready(2000);
    expect(seeded.state).toMatchObject({ kind: 'connected', remote: `unix:${store.cluster.members[2].path}` });
    expect(seeded.logPosition).toEqual({ clusterId: store.cluster.cid, index: 60 });
    // A store made anew has another cluster id (and its indexes start again): the old position does not hold it back.
    const fresh = open({ catchUpMs: 0, logPosition: { clusterId: '0b7c3c38-0000-4000-8000-000000000000', index: 50 } });
    await fresh.ready(2000);
    expect(fresh.state).toMatchObject({ kind: 'connected', remote: `unix:${store.cluster.members[0].path}` });
    expect(fresh.logPosition).toEqual({ clusterId: store.cluster.cid, index: 10 });
  });

  test('a remote serving another cluster is refused', async () => {
    const other = await new FakeCluster(store.dir, 1).start();
    try {
      const client = OvsdbClient.open(`${store.cluster.remotes()},${other.remotes()}`, { ...FAST });
      clients.push(client);
      await client.ready(2000);
      store.cluster.members.forEach((m) => m.setConnected(false));
      await until(() => client.state.kind === 'backoff', 'the other cluster to be refused');
      const states: string[] = [];
      client.on('state', (s) => states.push(s.kind === 'connecting' ? (s.lastError ?? '') : ''));
      await until(() => states.some((s) => s.includes('belongs to cluster')), 'another round');
      expect(client.connected).toBe(false);
    } finally {
      await other.stop();
    }
  });
});

describe('resumable monitors', () => {
  test('a leader change moves a leaderOnly session; the monitor resumes: no reload, nothing missed or repeated', async () => {
    const { client, r, handle } = await monitorWith3Rows({ leaderOnly: true });
    store.cluster.setLeader(1);
    for (let seq = 4; seq <= 6; seq++) store.cluster.insert({ seq, name: `row${seq}` });
    await until(() => client.connected && client.state.kind === 'connected' && client.state.remote.includes(store.cluster.members[1].path), 'the new leader');
    await until(() => r.addedSeqs().length === 6, '6 rows');
    expect(r.addedSeqs().sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.all().filter((c) => c.old)).toEqual([]);
    expect(handle.stats()).toMatchObject({ method: 'monitor_cond_since', fullLoads: 1, resumes: 1, lastTxnId: store.cluster.lastTxnId });
    expect(r.batches.map((b) => b.kind)).toEqual(['initial', 'update', 'update', 'update', 'resumed']);
    expect(r.errors.map((e) => e instanceof OvsdbMemberError && e.problem)).toEqual(['not-leader']);
    expect(r.events).toEqual([
      `connected unix:${store.cluster.members[0].path} resumed=0 reloaded=1`,
      'disconnected MEMBER',
      `connected unix:${store.cluster.members[1].path} resumed=1 reloaded=0`,
    ]);
    expect([...handle.rows('Item').keys()].sort()).toEqual([...(store.cluster.rows.get('Item')?.keys() ?? [])].sort());
  });

  test('a connection cut in the middle of an update stream resumes from the last whole update', async () => {
    const client = open();
    const r = record(client);
    const handle = await client.monitor('Cluster_Test', { Item: { columns: ['seq', 'name', 'tags'] } }, r.listener);
    for (let seq = 1; seq <= 30; seq++) {
      if (seq === 11) store.cluster.members[0].cutNextUpdate = true; // update 11 arrives half-written, then the socket dies
      store.cluster.insert({ seq, name: `row${seq}`, tags: [`t${seq % 3}`] });
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await until(() => handle.rows('Item').size === 30 && r.addedSeqs().length === 30, '30 rows');
    expect(r.addedSeqs().sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(r.all().filter((c) => c.old)).toEqual([]);
    expect(handle.stats()).toMatchObject({ fullLoads: 1, resumes: 1 });
    expect(r.batches.filter((b) => b.kind === 'initial')).toHaveLength(1);
    expect(r.batches.filter((b) => b.kind === 'resumed')).toHaveLength(1);
    // One outage, one recovery (on the next member), resumed.
    expect(r.events).toEqual([
      `connected unix:${store.cluster.members[0].path} resumed=0 reloaded=1`,
      'disconnected CLOSED',
      `connected unix:${store.cluster.members[1].path} resumed=1 reloaded=0`,
    ]);
    for (const [uuid, row] of store.cluster.rows.get('Item') ?? []) expect(handle.rows('Item').get(uuid)).toEqual({ seq: row.seq, name: row.name, tags: row.tags });
  });

  test('found=false on one member: passed over for a member that still has the last transaction, where the monitor resumes', async () => {
    const { client, r, handle } = await monitorWith3Rows();
    store.cluster.members[1].historyLost = true; // restarted: its history starts after the session's last transaction
    store.cluster.members[0].dropConnections();
    store.cluster.insert({ seq: 4, name: 'row4' });
    await until(() => client.connected && r.addedSeqs().length === 4, 'connected again');
    expect(handle.stats()).toMatchObject({ fullLoads: 1, resumes: 1, lastTxnId: store.cluster.lastTxnId });
    expect(r.batches.map((b) => b.kind)).toEqual(['initial', 'update', 'update', 'update', 'resumed']);
    expect(r.events).toEqual([
      `connected unix:${store.cluster.members[0].path} resumed=0 reloaded=1`,
      'disconnected CLOSED',
      `connected unix:${store.cluster.members[2].path} resumed=1 reloaded=0`,
    ]);
    const tried = r.states.filter((s) => s.kind === 'connecting').map((s) => (s.kind === 'connecting' ? s.lastError ?? '' : ''));
    expect(tried.some((e) => e.includes(`${store.cluster.members[1].path} cannot serve: it has not got transaction`))).toBe(true);
  });

  test('found=false on every member for a moment (a leader died before its followers applied its last commit): resumed once one has it, not reloaded', async () => {
    const { client, r, handle } = await monitorWith3Rows({ catchUpMs: 2000 });
    for (const m of store.cluster.members) m.historyLost = true;
    store.cluster.members[0].dropConnections();
    store.cluster.insert({ seq: 4, name: 'row4' });
    // Every member is asked and answers found=false, more than once each, before member 2 applies the commit.
    await until(() => r.states.filter((s) => s.kind === 'connecting' && s.lastError?.includes('it has not got transaction')).length >= 4, 'each member to answer found=false');
    store.cluster.members[2].historyLost = false;
    await until(() => client.connected && r.addedSeqs().length === 4, 'connected again');
    expect(handle.stats()).toMatchObject({ fullLoads: 1, resumes: 1, lastTxnId: store.cluster.lastTxnId });
    expect(r.batches.map((b) => b.kind)).toEqual(['initial', 'update', 'update', 'update', 'resumed']);
    expect(r.events.at(-1)).toBe(`connected unix:${store.cluster.members[2].path} resumed=1 reloaded=0`);
  });

  test('found=false on every member past catchUpMs: the history moved on, the monitor reloads', async () => {
    const { client, r, handle } = await monitorWith3Rows({ catchUpMs: 300 });
    for (const m of store.cluster.members) m.historyLost = true;
    const lostAt = Date.now();
    store.cluster.members[0].dropConnections();
    await until(() => !client.connected, 'the outage to be seen');
    await until(() => client.connected, 'connected again');
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(300);
    expect(handle.stats()).toMatchObject({ fullLoads: 2, resumes: 0 });
    expect(r.events.at(-1)).toMatch(/resumed=0 reloaded=1$/);
  });

  test('found=false: the full snapshot is diffed, so listeners see only the real delete, update and add', async () => {
    const client = open({ catchUpMs: 200 });
    const r = record(client);
    const [a, b] = [store.cluster.insert({ seq: 1, name: 'a' }), store.cluster.insert({ seq: 2, name: 'b', attrs: new Map([['k', 'v']]) })];
    store.cluster.insert({ seq: 3, name: 'c', tags: ['x', 'y'] });
    const handle = await client.monitor('Cluster_Test', { Item: {} }, r.listener);
    await store.cluster.stop();
    await until(() => !client.connected, 'the outage to be seen');
    store.cluster.delete(a);
    store.cluster.update(b, { attrs: new Map([['k', 'w'], ['n', '1']]) });
    const d = store.cluster.insert({ seq: 4, name: 'd' });
    store.cluster.forgetHistory(); // as after compaction: the session's last transaction is not found
    await Promise.all(store.cluster.members.map((m) => m.start()));
    await until(() => handle.stats().fullLoads === 2, 'the reload');
    const reload = r.batches.at(-1);
    expect(reload?.kind).toBe('initial');
    const summary = reload?.changes.map((c) => `${c.old ? (c.new ? 'update' : 'delete') : 'add'} ${c.uuid}`).sort();
    expect(summary).toEqual([`add ${d}`, `delete ${a}`, `update ${b}`].sort());
    const update = reload?.changes.find((c) => c.uuid === b);
    expect(update?.new?.attrs).toEqual(new Map([['k', 'w'], ['n', '1']]));
    expect(r.events.map((e) => e.split(' ')[0])).toEqual(['connected', 'disconnected', 'connected']);
  });

  test.each([
    ['monitor_cond', { since: false }, ['monitor_cond_since', 'monitor_cond']],
    ['monitor', { since: false, cond: false }, ['monitor_cond_since', 'monitor_cond', 'monitor']],
  ])('servers without monitor_cond_since: falls back to %s and diffs each reload', async (method, behaviour, tried) => {
    for (const m of store.cluster.members) Object.assign(m.behaviour, behaviour);
    const client = open();
    const r = record(client);
    const keep = store.cluster.insert({ seq: 1, name: 'keep' });
    const handle = await client.monitor('Cluster_Test', { Item: { columns: ['seq', 'name'] } }, r.listener);
    expect(store.cluster.members[0].methods.filter((x) => x.startsWith('monitor') && x !== 'monitor_cancel').slice(-tried.length)).toEqual(tried);
    expect(handle.stats().method).toBe(method);
    store.cluster.members[0].dropConnections();
    store.cluster.update(keep, { name: 'changed' });
    await until(() => handle.stats().fullLoads === 2, 'the reload');
    expect(r.batches.map((b) => [b.kind, b.changes.map((c) => c.new?.name)])).toEqual([
      ['initial', ['keep']],
      ['initial', ['changed']],
    ]);
  });

  test('a monitor asked for while disconnected loads on the next connection', async () => {
    await store.cluster.stop();
    const client = open();
    const r = record(client);
    const pending = client.monitor('Cluster_Test', { Item: {} }, r.listener);
    await until(() => client.state.kind === 'backoff', 'a failed round');
    store.cluster.insert({ seq: 7, name: 'late' });
    await Promise.all(store.cluster.members.map((m) => m.start()));
    const handle = await pending;
    expect(r.addedSeqs()).toEqual([7]);
    expect(handle.stats().fullLoads).toBe(1);
  });
});

describe('locks (on the leader)', () => {
  test('a named lock has one holder; unlock hands it to the next', async () => {
    const [a, b] = [open({ leaderOnly: true }), open({ leaderOnly: true })];
    const [ra, rb] = [record(a), record(b)];
    await Promise.all([a.ready(2000), b.ready(2000)]);
    expect(await a.lock('vadc_master')).toBe(true);
    expect(await b.lock('vadc_master')).toBe(false);
    expect([a.hasLock('vadc_master'), b.hasLock('vadc_master')]).toEqual([true, false]);
    await a.unlock('vadc_master');
    await until(() => b.hasLock('vadc_master'), 'b to be granted');
    expect(ra.events.slice(1)).toEqual(['locked vadc_master']);
    expect(rb.events.slice(1)).toEqual(['locked vadc_master']);
  });

  test('steal takes it; the victim is told, and gets it back when the thief lets go', async () => {
    const [a, c] = [open({ leaderOnly: true }), open({ leaderOnly: true })];
    const [ra, rc] = [record(a), record(c)];
    await Promise.all([a.ready(2000), c.ready(2000)]);
    await a.lock('vadc_master');
    expect(await c.steal('vadc_master')).toBe(true);
    await until(() => ra.events.includes('stolen vadc_master'), 'a to be told');
    expect(a.hasLock('vadc_master')).toBe(false);
    await c.unlock('vadc_master');
    await until(() => a.hasLock('vadc_master'), 'a to get it back');
    expect(ra.events.slice(1)).toEqual(['locked vadc_master', 'stolen vadc_master', 'locked vadc_master']);
    expect(rc.events.slice(1)).toEqual(['locked vadc_master']);
  });

  test('a lock follows the leader: lost with the old connection, taken again on the new leader', async () => {
    const a = open({ leaderOnly: true });
    const r = record(a);
    await a.ready(2000);
    await a.lock('vadc_master');
    store.cluster.setLeader(1);
    await until(() => a.hasLock('vadc_master') && store.cluster.members[1].locks.has('vadc_master'), 'the lock on the new leader');
    expect(r.events.slice(1)).toEqual([
      'locked vadc_master',
      'lockLost vadc_master',
      'disconnected MEMBER',
      'locked vadc_master',
      `connected unix:${store.cluster.members[1].path} resumed=0 reloaded=0`,
    ]);
    expect(store.cluster.members[0].locks.has('vadc_master')).toBe(false);
  });

  test('misuse is refused clearly: a lock on a follower-capable session, a bad name', async () => {
    const reader = open();
    await expect(reader.lock('vadc_master')).rejects.toThrow(OvsdbUsageError);
    await expect(reader.lock('vadc_master')).rejects.toThrow('must be leaderOnly');
    const leader = open({ leaderOnly: true });
    await expect(leader.lock('bad name')).rejects.toThrow('is not an identifier');
  });
});
