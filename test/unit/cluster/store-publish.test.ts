/**
 * A host's report reaches the store even when it changes while the previous write is in flight (a health check
 * passing right after the policy was applied): the newer report must not be taken as written. Against the
 * in-memory cluster (real unix sockets) serving vadc's own schema.
 */
import { ClusterStore, type BackendReport, type HostReport } from '../../../src/cluster';
import { silentLogger } from '../../../src/util/logger';
import { FAST_SESSION, useFakeClusterStore } from '../ovsdb/fake-cluster-store';
import { until } from '../../helpers/until';

let store: ClusterStore | undefined;
const fake = useFakeClusterStore('vadc-store-pub-', {
  per: 'each',
  beforeStop: () => {
    store?.close();
    store = undefined;
  },
});

const host: HostReport = { instance: 'i', version: '1', nat: 'conntrack', started: 1, reported: 1, policy: 'p', services: 1, problems: [] };
const backend = (health: BackendReport['health'], reason: string): BackendReport => ({
  service: 'web', backend: 'v-vm1', vnic: 'v-vm1', mac: '02:0a:00:00:00:0b', linkUp: true, health, reason, updated: 1,
});

test('a report published while the previous write is in flight is written too', async () => {
  store = new ClusterStore({ remotes: fake.cluster.remotes(), host: 'h2', session: FAST_SESSION });
  const s = store;
  const own = () => s.backendReports().find((r) => r.host === 'h2' && r.backend === 'v-vm1');
  s.publish(host, []);
  await until(() => s.writable && s.connected, 'the lock and the reader');
  s.publish(host, [backend('unknown', 'no check has passed yet')]);
  // Same turn: the write above is in flight.
  s.publish(host, [backend('up', 'port 8080: connected')]);
  await until(() => own()?.health === 'up', "the store to hold the newer report ('up')").catch((err: Error) => {
    throw new Error(`${err.message}; it holds ${JSON.stringify(own())}`);
  });
  expect(own()).toMatchObject({ health: 'up', reason: 'port 8080: connected' });
});

describe('the host name held by another session', () => {
  const others: ClusterStore[] = [];
  afterEach(() => others.splice(0).forEach((s) => s.close()));

  async function secondFor(pairedHost: boolean): Promise<{ problems: string[]; logged: string[]; second: ClusterStore }> {
    const first = new ClusterStore({ remotes: fake.cluster.remotes(), host: 'h3', session: FAST_SESSION });
    others.push(first);
    first.publish(host, []);
    await until(() => first.writable, 'the first to hold the host lock');
    const problems: string[] = [];
    const logged: string[] = [];
    const logger = silentLogger();
    jest.spyOn(logger, 'info').mockImplementation(((m: string) => {
      logged.push(m);
      return logger;
    }) as never);
    const second = new ClusterStore({ remotes: fake.cluster.remotes(), host: 'h3', session: FAST_SESSION, logger, pairedHost: () => pairedHost });
    others.push(second);
    second.on('problem', (err: Error) => problems.push(err.message));
    second.publish(host, []);
    await until(() => problems.length > 0 || logged.some((m) => m.includes('other instance of this controller pair')), 'the refusal to be noticed');
    return { problems, logged, second };
  }

  it('by another vadc: a bad_input problem', async () => {
    const { problems, second } = await secondFor(false);
    expect(problems).toEqual([expect.stringMatching(/^host name h3 is held by another vadc in the cluster store/)]);
    expect(second.writable).toBe(false);
  });

  it("by this instance's controller pair peer: expected, logged at info, no problem; it publishes once the peer goes", async () => {
    const { problems, logged, second } = await secondFor(true);
    expect(problems).toEqual([]);
    expect(logged.filter((m) => m.includes('published by the other instance of this controller pair'))).toHaveLength(1);
    others[0].close(); // the master of the pair goes: the lock passes
    await until(() => second.writable, 'the standby to take the host lock');
  });
});
