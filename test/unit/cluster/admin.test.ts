/**
 * Commands open the cluster store on its Raft leader only (a restarted follower may still be catching up and
 * show an older policy), wait through an election, and say what is wrong when no leader comes.
 * Against the in-memory cluster (real unix sockets) serving vadc's own schema.
 */
import { ClusterAdmin, ClusterError, openStore } from '../../../src/cluster';
import type { OvsdbClient } from '../../../src/ovsdb';
import { FAST_SESSION, useFakeClusterStore } from '../ovsdb/fake-cluster-store';

let client: OvsdbClient | undefined;
const store = useFakeClusterStore('vadc-admin-', {
  per: 'each',
  beforeStop: () => {
    client?.close();
    client = undefined;
  },
});

test('a command session goes to the leader, whichever member it is', async () => {
  store.cluster.setLeader(2);
  client = await openStore(store.cluster.remotes(), { timeoutMs: 2000, session: FAST_SESSION });
  expect(client.member).toMatchObject({ leader: true, serverId: store.cluster.members[2].sid });
});

test('during an election the command waits for the leader instead of reading a follower', async () => {
  store.cluster.members.forEach((m) => (m.leader = false));
  setTimeout(() => store.cluster.setLeader(1), 600);
  const started = Date.now();
  client = await openStore(store.cluster.remotes(), { timeoutMs: 2000, leaderWaitMs: 5000, session: FAST_SESSION });
  expect(client.member).toMatchObject({ leader: true, serverId: store.cluster.members[1].sid });
  expect(Date.now() - started).toBeGreaterThanOrEqual(500);
});

test('no leader within the wait: a no_leader error that says so', async () => {
  store.cluster.members.forEach((m) => (m.leader = false));
  const err = await openStore(store.cluster.remotes(), { timeoutMs: 2000, leaderWaitMs: 600, session: FAST_SESSION }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ClusterError);
  expect(err).toMatchObject({ code: 'no_leader', message: expect.stringMatching(/no member of the cluster store .* is its leader now/) });
});

test('members cut off from their cluster for the whole wait: no_quorum', async () => {
  store.cluster.members.forEach((m) => {
    m.leader = false;
    m.connected = false;
  });
  const err = await openStore(store.cluster.remotes(), { timeoutMs: 2000, leaderWaitMs: 600, session: FAST_SESSION }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'no_quorum', message: expect.stringMatching(/has no quorum \(read-only/) });
});

test('members restarted and not yet in touch with their cluster: the command waits for them', async () => {
  store.cluster.members.forEach((m) => {
    m.leader = false;
    m.connected = false;
  });
  setTimeout(() => {
    store.cluster.members.forEach((m) => (m.connected = true));
    store.cluster.setLeader(0);
  }, 600);
  client = await openStore(store.cluster.remotes(), { timeoutMs: 2000, leaderWaitMs: 5000, session: FAST_SESSION });
  expect(client.member).toMatchObject({ leader: true, serverId: store.cluster.members[0].sid });
});

test('setNat: a group\'s and a host\'s NAT mode, made on first use, the narrowest set one wins, unset hands back', async () => {
  store.cluster.setLeader(0);
  const admin = await ClusterAdmin.open(store.cluster.remotes(), { timeoutMs: 2000, session: FAST_SESSION });
  try {
    const nat = async (host: string, group?: string) => (await admin.effective(host, group)).nat;
    await admin.setNat('cluster', 'flows');
    await admin.setNat('group:blue', 'conntrack');
    expect(await nat('h1', 'blue')).toEqual({ value: 'conntrack', from: 'group:blue' });
    expect(await nat('h2', 'red')).toEqual({ value: 'flows', from: 'cluster' });
    await admin.setNat('host:h1', 'flows');
    expect(await nat('h1', 'blue')).toEqual({ value: 'flows', from: 'host:h1' });
    await admin.setNat('host:h1', undefined);
    expect(await nat('h1', 'blue')).toEqual({ value: 'conntrack', from: 'group:blue' });
    await admin.setNat('group:blue', undefined);
    await admin.setNat('group:red', undefined); // no such row: nothing to unset, no row made
    const snapshot = await admin.snapshot();
    expect(snapshot.groups.map((g) => `${g.name}:${g.nat ?? '-'}`)).toEqual(['blue:-']);
    expect(snapshot.hosts.map((h) => `${h.name}:${h.nat ?? '-'}`)).toEqual(['h1:-']);
    expect(await nat('h1', 'blue')).toEqual({ value: 'flows', from: 'cluster' });
    await expect(admin.setNat('rack:7', 'flows')).rejects.toThrow(/scope "rack:7" is not cluster, group:NAME or host:NAME/);
  } finally {
    admin.close();
  }
});

test('a session that closes under a read is told as the store being unusable, not as a bare closed connection', async () => {
  const admin = await ClusterAdmin.open(store.cluster.remotes(), { timeoutMs: 2000, session: FAST_SESSION });
  // As when the member loses its leadership or quorum and closes the session between open and the command's read.
  admin.close();
  const err = await admin.snapshot().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ClusterError);
  expect(err).toMatchObject({ code: 'unreachable', message: expect.stringMatching(/^cannot use the cluster store .*: OVSDB connection closed/) });
});
