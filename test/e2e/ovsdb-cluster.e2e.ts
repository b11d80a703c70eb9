/**
 * The cluster-aware OVSDB session against a real 3-member Raft cluster of ovsdb-server processes
 * (no ovs-vswitchd): it connects and monitors; kill -9 of the leader during a stream of writes from
 * another client is survived by resuming the monitor on another member (monitor_cond_since, no full
 * reload) with no update missed or repeated, and a leaderOnly session follows the new leader; with two
 * members stopped the session says it is not connected (the survivor has no quorum) and keeps its rows,
 * and it recovers when they return. Also: a server that answers echo and errors everything else costs
 * no file descriptors and never counts as connected. Figures are printed (console.log) for the docs.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  JsonStreamParser,
  MonitorHandle,
  OvsdbClient,
  OvsdbClientOptions,
  OvsdbClosedError,
  OvsdbTransactionError,
  RowChange,
  SessionState,
  op,
} from '../../src/ovsdb';
import { RaftCluster, RaftMember } from '../helpers/raft-cluster';
import { untilValue } from '../helpers/until';

// The tests share one cluster and go on from each other's state (a killed leader, rows written): a second try of
// a failed one would meet a cluster the first try changed, and fail for that, so a failure is reported as it was.
jest.retryTimes(0);

const DB = 'Cluster_Test';
const cluster = new RaftCluster(join(__dirname, '../fixtures/ovsdb/cluster-test.ovsschema'), DB);
const OPTS: OvsdbClientOptions = { database: DB, backoffInitialMs: 100, backoffMaxMs: 1000, handshakeTimeoutMs: 10_000 };
const clients: OvsdbClient[] = [];

/** The bound of this file's waits (each ends only a failing test). */
const WAIT_MS = 20_000;

function open(remotes: string, opts: OvsdbClientOptions = {}): OvsdbClient {
  const client = OvsdbClient.open(remotes, { ...OPTS, ...opts });
  clients.push(client);
  return client;
}

/** What one session saw: rows added per seq, any other change, and its events with times. */
class Witness {
  readonly adds = new Map<number, number>();
  readonly others: RowChange[] = [];
  readonly kinds: string[] = [];
  readonly events: { at: number; what: string }[] = [];
  readonly states: SessionState[] = [];
  handle!: MonitorHandle;

  constructor(readonly name: string, readonly client: OvsdbClient) {
    client.on('connected', (info) => this.events.push({ at: Date.now(), what: `connected ${info.remote} resumed=${info.resumed} reloaded=${info.reloaded}` }));
    client.on('disconnected', (err) => this.events.push({ at: Date.now(), what: `disconnected ${err?.message}` }));
    client.on('state', (s) => this.states.push(s));
  }

  async monitor(): Promise<void> {
    this.handle = await this.client.monitor(DB, { Item: { columns: ['seq', 'name'] } }, (changes, kind) => {
      this.kinds.push(kind);
      for (const c of changes) {
        // ovsdb-server leaves default-valued columns out of inserted rows: no seq means seq 0.
        const seq = (c.new?.seq ?? 0) as number;
        if (!c.old && c.new) this.adds.set(seq, (this.adds.get(seq) ?? 0) + 1);
        else this.others.push(c);
      }
    });
  }

  eventsSince(t: number): string[] {
    return this.events.filter((e) => e.at >= t).map((e) => e.what.split(' ')[0]);
  }

  firstSince(t: number, what: string): number | undefined {
    return this.events.find((e) => e.at >= t && e.what.startsWith(what))?.at;
  }
}

/** Why the attempts after `since` were refused, counted per problem (stale, no-history, not-leader, ...). */
function refusals(w: Witness, since: number): Record<string, number> {
  const out: Record<string, number> = {};
  const problems: [string, string][] = [
    ['already seen', 'stale'], ['has not got transaction', 'no-history'], ['not the cluster leader', 'not-leader'],
    ['not connected to its cluster', 'not-connected'],
  ];
  for (const s of w.states) {
    if (s.kind !== 'connecting' || s.since < since || !s.lastError) continue;
    const key = problems.find(([text]) => s.lastError?.includes(text))?.[1] ?? 'other';
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Inserts seq `n` until it is in: a retry after an unanswered commit finds it there (unique index on seq). */
async function insertOnce(writer: OvsdbClient, seq: number): Promise<{ retries: number; alreadyIn: boolean }> {
  for (let retries = 0; ; retries++) {
    try {
      await writer.transact(DB, [op.insert('Item', { seq, name: `w${seq}` })], { timeoutMs: 5000 });
      return { retries, alreadyIn: false };
    } catch (err) {
      if (err instanceof OvsdbTransactionError && err.serverError === 'constraint violation') return { retries, alreadyIn: true };
      if (retries > 200) throw err;
      await writer.ready(20_000).catch(() => undefined);
    }
  }
}

const openFds = (): number => readdirSync('/proc/self/fd').length;
let leader0: RaftMember;
let reader: Witness;
let follower: Witness;
let writer: OvsdbClient;
let seqs = 0;

beforeAll(async () => {
  await cluster.create();
  leader0 = await cluster.waitForLeader();
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await cluster.destroy();
});

describe('a cluster-aware session on a real 3-member Raft cluster', () => {
  test('connects and monitors; the leaderOnly session finds the leader', async () => {
    // The reader lists the leader first, so that killing the leader moves it too.
    const others = cluster.members.filter((m) => m !== leader0);
    reader = new Witness('reader', open(cluster.remotes([leader0, ...others])));
    follower = new Witness('leaderOnly', open(cluster.remotes([...others, leader0]), { leaderOnly: true }));
    writer = open(cluster.remotes(), { leaderOnly: true });
    await Promise.all([reader.monitor(), follower.monitor(), writer.ready(20_000)]);
    expect(reader.client.state).toMatchObject({ kind: 'connected', remote: leader0.remote });
    expect(follower.client.state).toMatchObject({ kind: 'connected', remote: leader0.remote });
    expect(follower.client.member).toMatchObject({ model: 'clustered', connected: true, leader: true });
    // The leaderOnly session was refused by the followers it listed first.
    const refused = follower.states.filter((s) => s.kind === 'connecting' && s.lastError?.includes('is not the cluster leader here'));
    expect(refused.length).toBeGreaterThanOrEqual(1);
    await insertOnce(writer, 0);
    await untilValue(() => reader.adds.has(0) && follower.adds.has(0), 'both to see seq 0', WAIT_MS, { pollMs: 25 });
  });

  test('kill -9 of the leader during writes: monitors come back on another member (resumed there), nothing missed or repeated', async () => {
    const N = 300;
    let committed = 0;
    let retries = 0;
    let alreadyIn = 0;
    let lastOk = Date.now();
    let longestGap = 0;
    const writes = (async () => {
      for (let seq = 1; seq <= N; seq++) {
        const r = await insertOnce(writer, seq);
        retries += r.retries;
        if (r.alreadyIn) alreadyIn++;
        committed = seq;
        longestGap = Math.max(longestGap, Date.now() - lastOk);
        lastOk = Date.now();
        await new Promise((res) => setTimeout(res, 5));
      }
    })();
    await untilValue(() => committed >= 100, '100 writes', WAIT_MS, { pollMs: 25 });
    const killAt = Date.now();
    await cluster.kill(leader0);
    await writes;
    seqs = N;
    await untilValue(() => reader.handle.rows('Item').size === N + 1 && follower.handle.rows('Item').size === N + 1, 'all rows at both sessions', 30_000, { pollMs: 25 });
    const newLeader = await cluster.waitForLeader();
    const expected = Array.from({ length: N + 1 }, (_, i) => i);
    for (const w of [reader, follower]) {
      expect([...w.adds.keys()].sort((a, b) => a - b)).toEqual(expected);
      expect([...w.adds.values()].every((count) => count === 1)).toBe(true);
      expect(w.others).toEqual([]);
      // One reconnect each, resumed (monitor_cond_since found=true): no full reload. Right after the kill the followers
      // are behind the last transaction seen until the new leader's first commit; the session waits on such a member
      // (catchUpMs) rather than reloading from it, and passes over a member that answers found=false.
      const { fullLoads, resumes } = w.handle.stats();
      expect({ method: w.handle.stats().method, fullLoads, resumes }).toEqual({ method: 'monitor_cond_since', fullLoads: 1, resumes: 1 });
      expect(w.kinds.filter((k) => k === 'initial')).toHaveLength(1);
      expect(w.eventsSince(killAt)).toEqual(['disconnected', 'connected']);
    }
    expect(reader.client.state.kind === 'connected' && reader.client.state.remote).not.toBe(leader0.remote);
    await untilValue(() =>
      follower.client.state.kind === 'connected' && follower.client.state.remote === newLeader.remote && follower.client.member?.leader === true, 'the leaderOnly session on the new leader', WAIT_MS, { pollMs: 25 });
    const figures = {
      readerResumedMs: (reader.firstSince(killAt, 'connected') as number) - killAt,
      leaderOnlyResumedMs: (follower.firstSince(killAt, 'connected') as number) - killAt,
      longestWriteGapMs: longestGap,
      writeRetries: retries,
      retriedWritesFoundCommitted: alreadyIn,
      newLeader: `s${newLeader.n}`,
      // Attempts refused after the kill, by reason (a member behind is first waited for: catchUpMs).
      readerRefused: refusals(reader, killAt),
      leaderOnlyRefused: refusals(follower, killAt),
    };
    console.log(`leader s${leader0.n} killed after 100 of ${N} writes: ${JSON.stringify(figures)}`);
  }, 90_000);

  test('two members stopped: not connected (no quorum), rows kept, one event; back: recovers, one event', async () => {
    await cluster.start(leader0);
    await cluster.waitForMembers(cluster.members);
    // Stop the two members the reader is not on: its own member, left alone, must say it lost its cluster.
    const readerOn = cluster.members.find((m) => reader.client.state.kind === 'connected' && reader.client.state.remote === m.remote) as RaftMember;
    const stopped = cluster.members.filter((m) => m !== readerOn);
    const outageAt = Date.now();
    try {
      for (const m of stopped) await cluster.kill(m);
      for (const w of [reader, follower]) await untilValue(() => !w.client.connected, `${w.name} to lose its connection`, 30_000, { pollMs: 25 });
      const lostAt = reader.firstSince(outageAt, 'disconnected') as number;
      expect(reader.events.find((e) => e.at === lostAt)?.what).toContain(`clustered database ${DB} is not connected to its cluster`);
      await untilValue(() => reader.states.filter((s) => s.kind === 'backoff' && s.since > outageAt).length >= 3, 'several failed rounds', 30_000, { pollMs: 25 });
      for (const w of [reader, follower]) {
        expect(w.eventsSince(outageAt)).toEqual(['disconnected']);
        expect(w.handle.rows('Item').size).toBe(seqs + 1);
        expect(['backoff', 'connecting']).toContain(w.client.state.kind);
      }
      await expect(reader.client.transact(DB, [op.comment('x')])).rejects.toThrow(OvsdbClosedError);
      await expect(reader.client.transact(DB, [op.comment('x')])).rejects.toThrow(/not connected to unix:.* \(last error: /);
      console.log(`two members down: ${JSON.stringify({
        readerSawNoQuorumAfterMs: lostAt - outageAt,
        leaderOnlyLostAfterMs: (follower.firstSince(outageAt, 'disconnected') as number) - outageAt,
      })}`);
    } finally {
      for (const m of stopped) await cluster.start(m);
    }
    const changesBefore = reader.others.length + reader.adds.size;
    const backAt = Date.now();
    await cluster.waitForMembers(cluster.members);
    for (const w of [reader, follower]) await w.client.ready(30_000);
    expect(reader.eventsSince(outageAt)).toEqual(['disconnected', 'connected']);
    expect(follower.eventsSince(outageAt)).toEqual(['disconnected', 'connected']);
    expect(reader.others.length + reader.adds.size).toBe(changesBefore);
    await insertOnce(writer, seqs + 1);
    await untilValue(() => reader.adds.get(seqs + 1) === 1 && follower.adds.get(seqs + 1) === 1, 'a write after the recovery to reach both', WAIT_MS, { pollMs: 25 });
    console.log(`two members back: ${JSON.stringify({
      readerRecoveredAfterRestartMs: (reader.firstSince(backAt, 'connected') as number) - backAt,
      leaderOnlyRecoveredAfterRestartMs: (follower.firstSince(backAt, 'connected') as number) - backAt,
      readerStats: reader.handle.stats(),
      readerFailedRounds: reader.states.filter((s) => s.kind === 'backoff' && s.since > outageAt && s.since < backAt).length,
    })}`);
  }, 120_000);

  test('a remote that answers echo and errors everything else: no fd growth, skipped for a real member', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vadc-hostile-'));
    let accepted = 0;
    const hostile = net.createServer((socket) => {
      accepted++;
      const parser = new JsonStreamParser();
      socket.on('error', () => undefined);
      socket.on('data', (chunk) => {
        for (const m of parser.push(chunk) as { id: unknown; method?: string; params?: unknown[] }[]) {
          if (m.method === 'echo') socket.write(JSON.stringify({ id: m.id, result: m.params, error: null }));
          else if (m.method) socket.write(JSON.stringify({ id: m.id, result: null, error: { error: 'internal error', details: 'nothing works here' } }));
        }
      });
    });
    const path = join(dir, 'hostile.sock');
    await new Promise<void>((resolve) => hostile.listen(path, resolve));
    try {
      const baseline = openFds();
      const alone = open(`unix:${path}`, { backoffInitialMs: 20, backoffMaxMs: 100 });
      const states: SessionState[] = [];
      const outages: string[] = [];
      alone.on('state', (s) => states.push(s));
      alone.on('disconnected', (e) => outages.push(String(e?.message)));
      const samples: number[] = [];
      const sampler = setInterval(() => samples.push(openFds()), 5);
      await untilValue(() => accepted >= 30, '30 attempts', WAIT_MS, { pollMs: 25 });
      clearInterval(sampler);
      expect(Math.max(...samples)).toBeLessThanOrEqual(baseline + 2);
      expect(states.some((s) => s.kind === 'connected')).toBe(false);
      expect(alone.connected).toBe(false);
      expect(outages).toHaveLength(1);
      expect(alone.state).toMatchObject({ lastError: expect.stringContaining('nothing works here') });
      alone.close();
      await untilValue(() => openFds() <= baseline, 'fds back to the baseline', WAIT_MS, { pollMs: 25 });
      // In a remote list, the hostile server is refused and a real member is used.
      const mixed = open(`unix:${path},${cluster.remotes()}`);
      await mixed.ready(20_000);
      expect(mixed.state.kind === 'connected' && mixed.state.remote).not.toBe(`unix:${path}`);
      console.log(`hostile remote: ${accepted} attempts, fds baseline ${baseline}, max ${Math.max(...samples)}`);
    } finally {
      await new Promise((resolve) => hostile.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
