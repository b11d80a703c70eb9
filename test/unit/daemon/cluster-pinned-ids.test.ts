/**
 * A service id the cluster store pins for a service this host runs under another id is not applied (as `config
 * apply` refuses such a pin in the file): the host serves the service as before and reports the problem; pinning the
 * running id applies, with the rest of the change. Against the in-memory Raft cluster (real unix sockets, vadc's
 * schema), through the real daemon and ClusterHost, written as the CLI writes (ClusterAdmin, serviceSpecRows).
 */
import { join } from 'node:path';
import { serviceIds } from '../../../src/app';
import { ClusterAdmin, serviceSpecRows } from '../../../src/cluster';
import { parseConfig } from '../../../src/config';
import { VadcDaemon } from '../../../src/daemon/daemon';
import type { VadcEvent } from '../../../src/runtime/types';
import { noVswitchd } from '../../helpers/nat-mode';
import { FAST_SESSION, useFakeClusterStore } from '../ovsdb/fake-cluster-store';
import { until } from '../../helpers/until';

let daemon: VadcDaemon | undefined;
const store = useFakeClusterStore('vadc-pinned-ids-', { per: 'all', beforeStop: () => daemon?.stop() });

/**
 * Writes a service (or an override: the name and the keys it changes) at `scope`, as `vadc service add --cluster`;
 * `replace`: its row at that scope is removed first (`vadc service remove --scope`).
 */
async function writeService(spec: Record<string, unknown> & { name: string }, scope: string, replace = false): Promise<void> {
  const admin = await ClusterAdmin.open(store.cluster.remotes(), { session: FAST_SESSION });
  try {
    if (replace) await admin.apply({ kind: 'remove-service', name: spec.name, scope }, scope);
    await admin.apply({ kind: 'add-service', ...serviceSpecRows(spec, scope) }, scope);
  } finally {
    admin.close();
  }
}

test('a store pin that would renumber a running service: served as before, a problem; pinning its running id applies', async () => {
  await writeService({ name: 'web', vip: '10.0.0.100', port: 80, scheduler: 'rr', backends: [{ vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080] }] }, 'cluster');
  const text = `controller: { listen: "tcp:127.0.0.1:0" }
datapath: { nat: flows }
cluster: { remotes: "${store.cluster.remotes()}", host: h1, policy_cache: ${join(store.dir, 'h1.json')} }
services: []
`;
  const events: VadcEvent[] = [];
  daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(text), configText: text, ovsdb: false, clusterSession: FAST_SESSION });
  daemon.bus.on('event', (e: VadcEvent) => events.push(e));
  await daemon.start();
  const d = daemon;
  await until(() => d.services().some((s) => s.name === 'web'), 'the store\'s service served');
  const running = serviceIds(['web']).get('web')!;
  const other = running === 7 ? 8 : 7;

  // An override at this host's scope pins another id and changes the scheduler: neither is applied.
  await writeService({ name: 'web', id: other, scheduler: 'wrr' }, 'host:h1');
  const expected = `cluster service web is served as before: the id set at host:h1: service web runs with id ${running}: pinning id ${other} would renumber it and drop its live connections' flows (pin ${running}, or remove the service and add it back)`;
  await until(() => d.status().cluster!.problems.includes(expected), 'the problem in the host\'s status');
  expect(events.filter((e) => e.kind === 'cluster_policy_problem').map((e) => e.message)).toEqual([expected]);
  expect(d.service('web').scheduler).toBe('rr');

  // The override pins the running id instead: applied, scheduler and all, and the problem is gone.
  await writeService({ name: 'web', id: running, scheduler: 'wrr' }, 'host:h1', true);
  await until(() => d.service('web').scheduler === 'wrr', 'the override applied');
  expect(d.status().cluster!.problems).toEqual([]);
}, 60_000);
