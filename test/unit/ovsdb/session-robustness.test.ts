/**
 * The session against members that misbehave (issue 18, defect 1, client side): a connection that opens
 * but fails its checks or its monitor is closed before the next attempt (no fd leak); the state never says
 * connected when the monitor failed; one event per outage and one on recovery; close() ends everything
 * at once, even mid-backoff or mid-handshake.
 */
import { readdirSync } from 'node:fs';
import { OvsdbClient, OvsdbClientOptions, OvsdbClosedError, OvsdbConnectionError, OvsdbRpcError, SessionState } from '../../../src/ovsdb';
import { TEST_SCHEMA } from './fake-cluster';
import { FAST_SESSION, useFakeClusterStore } from './fake-cluster-store';
import { until } from '../../helpers/until';

const store = useFakeClusterStore('vadc-ovsdbrobust-', {
  per: 'each',
  members: 2,
  schema: TEST_SCHEMA,
  beforeStop: () => {
    for (const client of clients.splice(0)) client.close();
  },
});
const clients: OvsdbClient[] = [];
const FAST: OvsdbClientOptions = { ...FAST_SESSION, database: 'Cluster_Test', handshakeTimeoutMs: 2000 };

const openFds = (): number => readdirSync('/proc/self/fd').length;

function open(opts: OvsdbClientOptions = {}): OvsdbClient {
  const client = OvsdbClient.open(store.cluster.remotes(), { ...FAST, ...opts });
  clients.push(client);
  return client;
}

function watch(client: OvsdbClient) {
  const states: SessionState[] = [];
  const events: string[] = [];
  client.on('state', (s) => states.push(s));
  client.on('connected', (info) => events.push(`connected resumed=${info.resumed} reloaded=${info.reloaded}`));
  client.on('disconnected', (err) => events.push(`disconnected ${err?.message}`));
  return { states, events };
}

test('a server that answers echo and errors everything: fds do not grow, never "connected", one outage event', async () => {
  for (const m of store.cluster.members) m.behaviour.errorEverything = true;
  const baseline = openFds();
  const client = open();
  const w = watch(client);
  const fdsSeen: number[] = [];
  const sampler = setInterval(() => fdsSeen.push(openFds()), 3);
  await until(() => store.cluster.members[0].accepted + store.cluster.members[1].accepted >= 20, '20 connection attempts', 5000);
  clearInterval(sampler);
  // At most one attempt is open at a time: its socket here and its peer's in the fake server.
  expect(Math.max(...fdsSeen)).toBeLessThanOrEqual(baseline + 2);
  expect(w.states.some((s) => s.kind === 'connected')).toBe(false);
  expect(client.connected).toBe(false);
  expect(w.events).toEqual([expect.stringContaining('this server errors everything')]);
  const last = w.states.filter((s) => s.kind === 'backoff').at(-1);
  expect(last).toMatchObject({ kind: 'backoff', lastError: expect.stringContaining('get_schema failed: internal error') });
  await expect(client.transact('Cluster_Test', [])).rejects.toThrow(/not connected to unix:.*last error: .*internal error/);
  client.close();
  await until(() => openFds() <= baseline && store.cluster.members.every((m) => m.conns.size === 0), 'every socket to be closed');
});

test('connect() fails fast with the last error, closing what it opened', async () => {
  for (const m of store.cluster.members) m.behaviour.errorEverything = true;
  const baseline = openFds();
  const failed = OvsdbClient.connect(store.cluster.remotes(), FAST);
  await expect(failed).rejects.toBeInstanceOf(OvsdbRpcError);
  await expect(failed).rejects.toThrow('this server errors everything');
  expect(store.cluster.members.map((m) => m.accepted)).toEqual([1, 1]);
  await until(() => openFds() <= baseline, 'the sockets to be closed');
  await store.cluster.stop();
  await expect(OvsdbClient.connect(store.cluster.remotes(), FAST)).rejects.toBeInstanceOf(OvsdbConnectionError);
});

test('a monitor that fails on reconnect: never "connected", the rows are kept, one event each way', async () => {
  const client = open();
  const w = watch(client);
  store.cluster.insert({ seq: 1, name: 'kept' });
  const handle = await client.monitor('Cluster_Test', { Item: {} }, () => undefined);
  await client.ready(2000);
  const connectedBefore = w.states.filter((s) => s.kind === 'connected').length;
  for (const m of store.cluster.members) m.behaviour.failMonitors = true;
  store.cluster.members[0].dropConnections();
  await until(() => store.cluster.members[0].accepted + store.cluster.members[1].accepted >= 8, 'several failed attempts');
  expect(w.states.filter((s) => s.kind === 'connected')).toHaveLength(connectedBefore);
  expect(client.connected).toBe(false);
  expect([...handle.rows('Item').values()].map((r) => r.name)).toEqual(['kept']);
  for (const m of store.cluster.members) m.behaviour.failMonitors = false;
  await client.ready(2000);
  expect(w.events).toEqual(['connected resumed=0 reloaded=1', 'disconnected OVSDB connection closed: peer closed the connection', 'connected resumed=1 reloaded=0']);
});

test('a member that drops each connection right after the handshake does not make the session reconnect in a loop', async () => {
  const client = open({ backoffInitialMs: 50, backoffMaxMs: 200 });
  await client.ready(2000);
  const w = watch(client);
  const start = store.cluster.members[0].accepted + store.cluster.members[1].accepted;
  const dropper = setInterval(() => store.cluster.members.forEach((m) => m.dropConnections()), 1);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  clearInterval(dropper);
  const attempts = store.cluster.members[0].accepted + store.cluster.members[1].accepted - start;
  // Back-to-back reconnects would make hundreds; backing off from 50 ms to 200 ms allows about 10.
  expect(attempts).toBeLessThan(40);
  expect(w.states.filter((s) => s.kind === 'backoff').length).toBeGreaterThan(0);
  await client.ready(2000);
});

test('close() during backoff ends at once: no further attempt, waiters rejected', async () => {
  await store.cluster.stop();
  const client = open({ backoffInitialMs: 60_000, backoffMaxMs: 60_000 });
  const w = watch(client);
  const ready = client.ready();
  const monitor = client.monitor('Cluster_Test', { Item: {} }, () => undefined);
  await until(() => client.state.kind === 'backoff', 'the backoff');
  const attempts = w.states.filter((s) => s.kind === 'connecting').length;
  client.close();
  expect(client.state.kind).toBe('closed');
  await expect(ready).rejects.toBeInstanceOf(OvsdbClosedError);
  await expect(monitor).rejects.toThrow('client closed');
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(w.states.filter((s) => s.kind === 'connecting')).toHaveLength(attempts);
  expect(w.states.at(-1)?.kind).toBe('closed');
});

test('close() in the middle of a handshake with a silent server closes its socket at once', async () => {
  for (const m of store.cluster.members) m.behaviour.silent = true;
  const baseline = openFds();
  const client = open({ handshakeTimeoutMs: 60_000 });
  await until(() => store.cluster.members[0].conns.size === 1, 'a connection to hang');
  expect(client.state).toMatchObject({ kind: 'connecting' });
  client.close();
  expect(client.state.kind).toBe('closed');
  await until(() => store.cluster.members[0].conns.size === 0, 'the server to see the close', 500);
  await until(() => openFds() <= baseline, 'the fds to be released', 500);
  expect(store.cluster.members[1].accepted).toBe(0);
});

test('ready(timeout) names the remotes and the last error', async () => {
  await store.cluster.stop();
  const client = open();
  await expect(client.ready(200)).rejects.toThrow(/cannot reach OVSDB at unix:.*m0.*,unix:.*m1.*: not connected within 200 ms \(last error: .*ENOENT\)/);
});
