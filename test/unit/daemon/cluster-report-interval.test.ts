/**
 * cluster.report_interval: how often a cluster host rewrites its Host_Status row when nothing changed. Two hosts
 * against the in-memory Raft cluster (real unix sockets, vadc's schema), one with a short interval and one with a
 * long one; the rows' `reported` times, as the store holds them, show how often each wrote.
 */
import { join } from 'node:path';
import { parseConfig } from '../../../src/config';
import { ClusterHost, reportIntervalMs } from '../../../src/daemon/cluster-host';
import { silentLogger } from '../../../src/util/logger';
import { FAST_SESSION, useFakeClusterStore, type FakeClusterStore } from '../ovsdb/fake-cluster-store';
import { until } from '../../helpers/until';

function clusterConfig(store: FakeClusterStore, host: string, reportInterval?: number) {
  const interval = reportInterval === undefined ? '' : `, report_interval: ${reportInterval}`;
  const cache = join(store.dir, `${host}.json`);
  return parseConfig(`cluster: { remotes: "${store.cluster.remotes()}", host: ${host}, policy_cache: ${cache}${interval} }\nservices: []\n`).cluster!;
}

describe('reportIntervalMs', () => {
  it('is cluster.report_interval in ms, 10 s when absent', () => {
    expect(reportIntervalMs({ report_interval: 0.25 })).toBe(250);
    expect(reportIntervalMs({ report_interval: 3600 })).toBe(3_600_000);
    expect(reportIntervalMs({})).toBe(10_000);
  });
});

describe('a cluster host rewrites its report every cluster.report_interval', () => {
  const hosts: ClusterHost[] = [];
  const store = useFakeClusterStore('vadc-report-interval-', {
    per: 'all',
    beforeStop: () => {
      for (const h of hosts) h.close();
    },
  });

  it('a host with 0.2 s writes several times while one with 3600 s writes only on its changes', async () => {
    // Every call of the clock is a new millisecond, so each write carries a `reported` of its own.
    let clock = 1_000_000;
    const start = (host: string, interval: number) => {
      const h = new ClusterHost({
        cluster: clusterConfig(store, host, interval), nat: 'conntrack', version: 'test', logger: silentLogger(), emit: () => undefined,
        apply: async () => [], services: () => [], now: () => ++clock, session: FAST_SESSION,
      });
      hosts.push(h);
      return h.start();
    };
    await start('fast', 0.2);
    await start('slow', 3600);
    const seen = { fast: new Set<number>(), slow: new Set<number>() };
    // The store's Host_Status rows as the members hold them; read until the fast host has written 5 distinct reports
    // (at least 0.2 s apart), or for at most 15 s (a 10 s timer would write once more in that time: still fewer).
    await until(() => {
      for (const row of store.cluster.rows.get('Host_Status')?.values() ?? []) {
        if (row.host === 'fast' || row.host === 'slow') seen[row.host].add(Number(row.reported));
      }
      return seen.fast.size >= 5;
    }, '5 distinct reports from the fast host', 15_000, { pollMs: 50, detail: () => `${seen.fast.size} seen` });
    // The slow host wrote when it took the lock and when the (empty) policy came: nothing on a timer meanwhile.
    expect(seen.slow.size).toBeGreaterThanOrEqual(1);
    expect(seen.slow.size).toBeLessThanOrEqual(2);
  }, 60_000);
});
