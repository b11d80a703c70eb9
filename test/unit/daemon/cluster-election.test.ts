/**
 * The cluster election of a controller pair (src/daemon/cluster-election.ts): the pure step, then two instances
 * against the in-memory Raft cluster (real unix sockets, vadc's schema, OVSDB locks held per member as
 * ovsdb-server does): one master, a handover on stop, a leader change, a hung master taken over by a steal, and a
 * master fenced by a later claim.
 */
import { pairRow, STORE_DB, type PairRow } from '../../../src/cluster';
import { ClusterElection, clusterElectionStep, pairLockName, type ClusterElectionFacts } from '../../../src/daemon/cluster-election';
import type { ElectionChange } from '../../../src/daemon/election';
import { condition, op, OvsdbClient, type Row } from '../../../src/ovsdb';
import { silentLogger } from '../../../src/util/logger';
import { FAST_SESSION, useFakeClusterStore, VADC_SCHEMA } from '../ovsdb/fake-cluster-store';
import { until } from '../../helpers/until';

const row = (over: Partial<PairRow> = {}): PairRow => ({ uuid: 'u', key: 'k', generation: 7n, master: 'other', beat: 1, standbyAt: 0, ...over });
const facts: ClusterElectionFacts = { now: 10_000, me: 'me', role: 'standby', generation: 7n, connected: true, holdLock: false, row: row(), beatSeenAt: 9_800, staleMs: 500 };

describe('clusterElectionStep', () => {
  it('the lock holder claims the next generation; with no row, generation 1', () => {
    expect(clusterElectionStep({ ...facts, holdLock: true })).toEqual({ do: 'claim', generation: 8n, reason: 'the lock passed from other' });
    expect(clusterElectionStep({ ...facts, holdLock: true, row: undefined })).toEqual({ do: 'claim', generation: 1n, reason: 'no master yet' });
  });
  it('a master of record holding the lock beats; one whose row names another claim is fenced', () => {
    expect(clusterElectionStep({ ...facts, role: 'master', holdLock: true, row: row({ master: 'me' }) })).toEqual({ do: 'beat' });
    expect(clusterElectionStep({ ...facts, role: 'master', generation: 6n, row: row() })).toMatchObject({ do: 'fenced', by: 'other' });
    // the lock came back after another claimed meanwhile: claim again above it
    expect(clusterElectionStep({ ...facts, role: 'master', generation: 6n, holdLock: true, row: row() })).toMatchObject({ do: 'claim', generation: 8n });
  });
  it('a master whose lock went with its connection stays master until another claims', () => {
    expect(clusterElectionStep({ ...facts, role: 'master', row: row({ master: 'me' }) })).toEqual({ do: 'wait' });
    expect(clusterElectionStep({ ...facts, role: 'master', connected: false, row: row({ master: 'me' }) })).toEqual({ do: 'wait' });
  });
  it('a standby steals only after staleMs without a beat, and never while the store is away', () => {
    expect(clusterElectionStep({ ...facts, now: 10_300 })).toEqual({ do: 'wait' });
    expect(clusterElectionStep({ ...facts, now: 10_301 })).toEqual({ do: 'steal', reason: 'the master other has not beaten for 501 ms (limit 500 ms)' });
    expect(clusterElectionStep({ ...facts, now: 20_000, connected: false })).toEqual({ do: 'wait' });
  });
});

describe('ClusterElection (in-memory Raft cluster, vadc schema)', () => {
  const running: { stop(): void }[] = [];
  const clients: OvsdbClient[] = [];
  const store = useFakeClusterStore('vadc-cl-elect-', {
    per: 'each',
    beforeStop: () => {
      for (const e of running.splice(0)) e.stop();
      for (const c of clients.splice(0)) c.close();
    },
  });

  function election(listen: string, changes: ElectionChange[], staleMs = 400, logger = silentLogger(), now?: () => number): ClusterElection {
    const e = new ClusterElection({ remotes: store.cluster.remotes(), key: 'k1', listen, staleMs, logger, onChange: (c) => changes.push(c), session: FAST_SESSION, now });
    running.push(e);
    return e;
  }
  /** a started first (master), then b (standby), with the changes each reported. */
  async function startedPair(): Promise<{ a: ClusterElection; b: ClusterElection; ca: ElectionChange[]; cb: ElectionChange[] }> {
    const ca: ElectionChange[] = [];
    const cb: ElectionChange[] = [];
    const a = election('tcp:127.0.0.1:1', ca);
    await a.start();
    const b = election('tcp:127.0.0.1:2', cb);
    await b.start();
    return { a, b, ca, cb };
  }
  /** A "master" session that took the pair's lock and claimed generation 5 as `name`; the names of the locks stolen from it. */
  async function lockHolder(name: string): Promise<{ session: OvsdbClient; stolen: string[] }> {
    const session = OvsdbClient.open(store.cluster.remotes(), { database: STORE_DB, leaderOnly: true, ...FAST_SESSION });
    clients.push(session);
    await session.ready(2000);
    expect(await session.lock(pairLockName('k1'))).toBe(true);
    await session.transact(STORE_DB, [op.assert(pairLockName('k1')), op.insert('Controller_Pair', { key: 'k1', generation: 5, master: name, beat: 1, standby_at: 0 })]);
    const stolen: string[] = [];
    session.on('stolen', (lock) => stolen.push(lock));
    return { session, stolen };
  }
  const pairRows = () => [...(store.cluster.rows.get('Controller_Pair') ?? new Map()).values()];

  it('one master with generation 1; the second stands by, follows it and names it; a stop hands over with generation 2', async () => {
    const ca: ElectionChange[] = [];
    const cb: ElectionChange[] = [];
    const a = election('tcp:127.0.0.1:1', ca);
    await a.start();
    expect(a.wanted()).toEqual({ role: 'master', generation: 1n });
    expect(ca).toEqual([{ kind: 'promoted', generation: 1n, reason: 'no master yet' }]);
    expect(pairRows()).toEqual([expect.objectContaining({ key: 'k1', generation: 1, master: a.me })]);
    const b = election('tcp:127.0.0.1:2', cb);
    await b.start();
    expect(b.wanted()).toEqual({ role: 'standby', generation: 1n });
    expect(b.status()).toMatchObject({ role: 'standby', generation: '1', peer: a.me });
    await until(() => a.status().peer === b.me, 'a to see its standby');
    await until(() => b.status().stoodBy === a.me, 'b to remember the master it stands by for'); // whose configuration a promotion adopts
    expect(a.status().stoodBy).toBeUndefined();
    // With a standby there, the master writes only within its lease (staleMs - beatMs, 320 ms here) after its last
    // beat the store confirmed: on a loaded machine the last one may be older, and the next beat renews it.
    await until(() => a.mayWrite(Date.now()), "a's lease, renewed by a confirmed beat");
    expect(b.mayWrite(Date.now())).toBe(false);
    a.stop();
    await until(() => b.wanted().role === 'master', 'b to take over');
    expect(b.wanted()).toEqual({ role: 'master', generation: 2n });
    expect(b.status().stoodBy).toBe(a.me);
    expect(cb).toEqual([{ kind: 'promoted', generation: 2n, reason: `the lock passed from ${a.me}` }]);
  });

  it('a Raft leader change loses the lock: both ask the new leader, and there is one master, the lock holder, after it', async () => {
    const { a, b, ca, cb } = await startedPair();
    store.cluster.setLeader(1);
    const lock = () => store.cluster.members[1].locks.get(pairLockName('k1'));
    await until(() => lock()?.waiters.length === 2, 'both sessions queued on the new leader');
    const masters = () => [a, b].filter((e) => e.wanted().role === 'master');
    // Whoever asked first holds the lock: a that gets it back keeps its generation (nobody claimed meanwhile);
    // b that gets it claims generation 2 and a is fenced.
    await until(() => masters().length === 1
      && pairRows()[0]?.master === masters()[0].me && BigInt(pairRows()[0].generation as number) === masters()[0].wanted().generation, 'one master, named by the row, with the row\'s generation');
    const master = masters()[0];
    expect(store.cluster.members[0].locks.size).toBe(0);
    expect([...ca, ...cb].filter((c) => c.kind === 'promoted').map((c) => (c as { generation: bigint }).generation)).toEqual(master === a ? [1n] : [1n, 2n]);
  });

  it('a master that stops beating (hung) is taken over by a steal; the new master claims above it', async () => {
    // A "master" that took the lock, claimed generation 5 and then hangs: it never beats again.
    const { session: hung, stolen } = await lockHolder('hung');
    const cb: ElectionChange[] = [];
    const b = election('tcp:127.0.0.1:2', cb, 300);
    await b.start();
    expect(b.wanted()).toEqual({ role: 'standby', generation: 5n });
    await until(() => b.wanted().role === 'master', 'b to steal and claim');
    expect(b.wanted().generation).toBe(6n);
    expect(cb[0]).toMatchObject({ kind: 'promoted', generation: 6n });
    await until(() => stolen.length === 1, 'the hung session to be told');
    // its writes are refused now
    await expect(hung.transact(STORE_DB, [op.assert(pairLockName('k1')), op.update('Controller_Pair', [condition('key', '==', 'k1')], { beat: 2 })])).rejects.toThrow(/not owner/);
  });

  it('a standby stalled itself reads the beats waiting on its socket before it judges the master silent; a real silence is still stolen', async () => {
    // The master: a session that holds the lock and whose beats the test commits in the store.
    const { stolen } = await lockHolder('busy');
    // b's clock moves only when the test says: silence is what the test makes it.
    let clock = 1_000_000;
    const staleMs = 300;
    const beatMs = staleMs / 5; // the default interval of b's ticks
    const warnings: string[] = [];
    const logger = silentLogger();
    logger.warn = ((m: string) => warnings.push(m)) as unknown as typeof logger.warn;
    const cb: ElectionChange[] = [];
    const b = election('tcp:127.0.0.1:2', cb, staleMs, logger, () => clock);
    await b.start();
    expect(b.wanted()).toEqual({ role: 'standby', generation: 5n });
    // b's one write of its name (its clock stands still) is answered, so that no store request of b's is in flight.
    await until(() => JSON.stringify(pairRows()[0]?.standby) === JSON.stringify([b.me]), 'b to write its name on the row');
    await new Promise((r) => setTimeout(r, 3 * beatMs));
    const beat = (n: number): void => {
      const [uuid, old] = [...(store.cluster.rows.get('Controller_Pair') ?? new Map<string, Row>())][0];
      store.cluster.commit(new Map([['Controller_Pair', new Map([[uuid, { old, new: { ...old, beat: n } }]])]]));
    };
    // The stall, in a check-phase callback: the master beats (its update is on b's socket at once), then b's event loop
    // is held past its next tick while its clock runs 10 s on. On the next turn b's tick is due: Node runs timers
    // before it polls the socket, so b would judge the master silent before it read the beat.
    await new Promise<void>((resolve) => setImmediate(() => {
      beat(2);
      clock += 10_000;
      for (const end = Date.now() + 3 * beatMs; Date.now() < end;) {
        // stalled
      }
      resolve();
    }));
    await new Promise((r) => setTimeout(r, 5 * beatMs)); // b's late tick, its read of the socket and ticks after them
    expect(warnings.filter((m) => m.includes('taking the lock'))).toEqual([]);
    expect(stolen).toEqual([]);
    expect(b.wanted()).toEqual({ role: 'standby', generation: 5n });
    // A silence with nothing waiting to be read is still a steal, and b claims above the master.
    clock += 10_000;
    await until(() => b.wanted().role === 'master', 'b to steal and claim');
    expect(warnings).toEqual([expect.stringContaining('the master busy has not beaten for 10000 ms (limit 300 ms); taking the lock')]);
    expect(cb).toEqual([{ kind: 'promoted', generation: 6n, reason: 'the lock passed from busy' }]);
    expect(stolen).toEqual([pairLockName('k1')]);
  });

  it('outbid: the master of record claims past the switch\'s generation through the store; a standby does not', async () => {
    const { a, b, ca } = await startedPair();
    expect(a.wanted()).toEqual({ role: 'master', generation: 1n });
    // The pair moved here from the host election: the switch still knows that election's 17.
    expect(a.outbid(17n)).toEqual({ outbid: true, generation: 18n });
    await until(() => a.wanted().generation === 18n && pairRows()[0]?.generation === 18, 'a to claim 18 in the store');
    expect(ca[ca.length - 1]).toMatchObject({ kind: 'promoted', generation: 18n, reason: expect.stringContaining('the switch knew generation 17') });
    expect(pairRows()[0]).toMatchObject({ master: a.me, generation: 18 });
    await until(() => b.wanted().generation === 18n, 'b to follow 18');
    expect(b.outbid(18n)).toEqual({ outbid: false, reason: expect.stringContaining('not master of record') });
    expect(b.wanted().role).toBe('standby');
  });

  it('a master whose lock is stolen and whose generation is claimed over is fenced, and stands by', async () => {
    const ca: ElectionChange[] = [];
    const a = election('tcp:127.0.0.1:1', ca, 5000);
    await a.start();
    expect(a.wanted().role).toBe('master');
    const thief = OvsdbClient.open(store.cluster.remotes(), { database: STORE_DB, leaderOnly: true, ...FAST_SESSION });
    clients.push(thief);
    await thief.ready(2000);
    expect(await thief.steal(pairLockName('k1'))).toBe(true);
    await thief.transact(STORE_DB, [op.assert(pairLockName('k1')), op.update('Controller_Pair', [condition('key', '==', 'k1')], { generation: 9, master: 'thief' })]);
    await until(() => a.wanted().role === 'standby', 'a to be fenced');
    expect(a.wanted()).toEqual({ role: 'standby', generation: 9n });
    expect(ca[1]).toEqual({ kind: 'fenced', generation: 9n, by: 'thief', reason: 'generation 1 is over: the store names thief with generation 9' });
    expect(a.mayWrite(Date.now())).toBe(false);
    // the thief goes: a is next in the lock's queue and claims above it
    thief.close();
    await until(() => a.wanted().role === 'master', 'a to claim again');
    expect(a.wanted().generation).toBe(10n);
  });

  // A pair's configuration (./pair-config.ts) travels in its row, so the two instances share it wherever each runs.
  it("the master's publication reaches the standby through the pair's row; a standby's own publish writes nothing", async () => {
    const { a, b } = await startedPair();
    expect(b.configChannel.read()).toBeUndefined();
    a.configChannel.publish({ from: a.me, seq: 1, text: 'services: []\n', drained: [['web', 'w1']] });
    expect(b.configChannel.where).toBe("the cluster store's Controller_Pair row k1 (column config)");
    let got: ReturnType<ClusterElection['configChannel']['read']>;
    await until(() => (got = b.configChannel.read()) !== undefined, 'b to read it');
    expect(got).toEqual({ from: a.me, seq: 1, text: 'services: []\n', drained: [['web', 'w1']] });
    expect(b.configChannel.read()).toBeUndefined(); // read once per publication
    b.configChannel.publish({ from: b.me, seq: 9, text: 'from the standby\n' });
    a.configChannel.publish({ from: a.me, seq: 2, text: 'services: [] # 2\n' });
    await until(() => (got = b.configChannel.read()) !== undefined, 'b to read the second');
    expect(got).toMatchObject({ from: a.me, seq: 2 });
    const [uuid, stored] = [...(store.cluster.rows.get('Controller_Pair') ?? new Map<string, Row>())][0];
    expect(JSON.parse(pairRow(uuid, stored).config!)).toMatchObject({ from: a.me, seq: 2 });
  });

  it('a store older than schema 1.2.0 (no config column) refuses the publication: said once, the heartbeats go on', async () => {
    const old = JSON.parse(JSON.stringify(VADC_SCHEMA)) as { tables: Record<string, { columns: Record<string, unknown> }> };
    delete old.tables.Controller_Pair.columns.config;
    await store.restart(old as unknown as { name: string });
    const errors: string[] = [];
    const logger = silentLogger();
    logger.error = ((m: string) => errors.push(m)) as unknown as typeof logger.error;
    const a = election('tcp:127.0.0.1:1', [], 400, logger);
    await a.start();
    a.configChannel.publish({ from: a.me, seq: 1, text: 'x: 1\n' });
    const beat = () => pairRows()[0]?.beat as number;
    const first = beat();
    await until(() => beat() > first + 2 * 80, 'three more heartbeats', 5000);
    await new Promise((r) => setTimeout(r, 1200)); // past a retry of the publication
    expect(a.wanted().role).toBe('master');
    expect(errors.filter((m) => m.includes('cannot publish the configuration'))).toEqual([expect.stringContaining('older than 1.2.0')]);
  });
});
