// A service's `id` key pins its id (every flow's cookie carries it). Pins are taken before the running ids and the
// name hashes; a running vadc warns of the ids a restart would not give again (a colliding name added while it ran)
// and refuses a pin that would renumber a running service.
import { ServiceTable } from '../../../src/app/services';
import { pinConflicts, restartUnstable, serviceIds, unstableIdsEvent } from '../../../src/app/service-ids';
import { LoadBalancerApp } from '../../../src/app';
import { parseConfig } from '../../../src/config';
import type { VadcEvent } from '../../../src/runtime/types';

// FNV-1a puts both names on id 1569; name order gives svc-108 the home slot on a fresh start.
const FIRST = 'svc-418';
const COLLIDING = 'svc-108';

function yaml(services: Array<{ name: string; id?: number }>): string {
  const lines = services.map(({ name, id }, i) =>
    `  - { name: ${name},${id !== undefined ? ` id: ${id},` : ''} vip: "10.0.0.${100 + i}", port: 80, backends: [{ vnic: v${i}, ip: "10.1.0.${i + 1}", ports: [8080] }] }`);
  return `datapath: { nat: flows }\nservices:\n${lines.join('\n')}\n`;
}
const configs = (services: Array<{ name: string; id?: number }>) => parseConfig(yaml(services)).services;
const idOf = (t: ServiceTable, name: string) => t.all.find((s) => s.config.name === name)!.id;

test('pinned ids are taken first, before the running ones and the name hashes', () => {
  const fresh = serviceIds(['a', 'b']);
  const ids = serviceIds(['a', 'b', 'c'], new Map([['a', 77]]), new Map([['b', 77], ['c', fresh.get('a')!]]));
  expect(ids.get('b')).toBe(77);
  expect(ids.get('c')).toBe(fresh.get('a'));
  expect(ids.get('a')).not.toBe(77);
  expect(ids.get('a')).not.toBe(fresh.get('a'));
  expect(new Set(ids.values()).size).toBe(3);
});

test('a colliding name added while vadc runs is named as restart-unstable, with the id a restart would give', () => {
  const t = new ServiceTable();
  t.configure(configs([{ name: FIRST }]));
  t.configure(configs([{ name: FIRST }, { name: COLLIDING }]));
  const fresh = serviceIds([FIRST, COLLIDING]);
  expect(idOf(t, FIRST)).not.toBe(fresh.get(FIRST));
  expect(t.restartUnstable()).toEqual([
    { name: COLLIDING, id: idOf(t, COLLIDING), restartId: fresh.get(COLLIDING) },
    { name: FIRST, id: idOf(t, FIRST), restartId: fresh.get(FIRST) },
  ]);
  // Pinning the running ids (as the warning says) changes no service state and leaves nothing unstable.
  const before = t.all.find((s) => s.config.name === FIRST);
  const pinned = configs([{ name: FIRST, id: idOf(t, FIRST) }, { name: COLLIDING, id: idOf(t, COLLIDING) }]);
  expect(t.pinConflicts(pinned)).toEqual([]);
  expect(t.configure(pinned)).toEqual([]);
  expect(t.all.find((s) => s.config.name === FIRST)).toBe(before);
  expect(t.restartUnstable()).toEqual([]);
  // And a fresh start with the pins gives the same ids.
  const restarted = new ServiceTable();
  restarted.configure(pinned);
  expect(restarted.idsByName()).toEqual(t.idsByName());
});

test('a fresh start has no unstable id', () => {
  const t = new ServiceTable();
  t.configure(configs([{ name: FIRST }, { name: COLLIDING }]));
  expect(t.restartUnstable()).toEqual([]);
  expect(restartUnstable(new Map([['a', serviceIds(['a']).get('a')!]]), new Map())).toEqual([]);
});

test('a pin that moves a running service, or takes a kept service\'s id, is a conflict; a removed one\'s id is free', () => {
  const t = new ServiceTable();
  t.configure(configs([{ name: 'a' }, { name: 'b' }]));
  const a = idOf(t, 'a');
  const b = idOf(t, 'b');
  const other = a === 9 || b === 9 ? 10 : 9;
  expect(t.pinConflicts(configs([{ name: 'a', id: other }, { name: 'b' }]))).toEqual([{
    service: 'a',
    message: `service a runs with id ${a}: pinning id ${other} would renumber it and drop its live connections' flows (pin ${a}, or remove the service and add it back)`,
  }]);
  expect(t.pinConflicts(configs([{ name: 'b' }, { name: 'c', id: a }, { name: 'a' }]))).toEqual([
    { service: 'c', message: `service c: id ${a} is service a's, which this configuration keeps (pin another id)` },
  ]);
  expect(t.pinConflicts(configs([{ name: 'b' }, { name: 'c', id: a }]))).toEqual([]);
  // A name served besides the configuration (the cluster store's) is kept too.
  expect(pinConflicts(new Map([['c', a]]), t.idsByName(), new Set(['b']))).toEqual([]);
  expect(pinConflicts(new Map([['c', a]]), t.idsByName(), new Set(['b', 'a']))).toHaveLength(1);
});

test('a service whose pinned id changes is rebuilt under it, and its old state is returned as removed', () => {
  const t = new ServiceTable();
  t.configure(configs([{ name: 'a' }]));
  const old = t.all[0];
  const removed = t.configure(configs([{ name: 'a', id: old.id === 5 ? 6 : 5 }]));
  expect(removed).toEqual([old]);
  expect(t.all[0].id).toBe(old.id === 5 ? 6 : 5);
  expect(t.byId(old.id)).toBeUndefined();
});

test('the app warns of unstable ids when it configures services, naming each pin', () => {
  const events: VadcEvent[] = [];
  const first = parseConfig(yaml([{ name: FIRST }]));
  const app = new LoadBalancerApp(first.services, { datapath: first.datapath, emit: (e) => events.push(e) });
  app.setServices(configs([{ name: FIRST }]), 1000);
  expect(events.filter((e) => e.kind === 'service_id_unstable')).toEqual([]);
  app.setServices(configs([{ name: FIRST }, { name: COLLIDING }]), 2000);
  const warned = events.filter((e) => e.kind === 'service_id_unstable');
  expect(warned).toHaveLength(1);
  expect(warned[0].level).toBe('warn');
  // The same set again (a tagged vNIC's change re-serves the services) is not told again.
  app.setServices(configs([{ name: FIRST }, { name: COLLIDING }]), 3000);
  expect(events.filter((e) => e.kind === 'service_id_unstable')).toHaveLength(1);
  expect(warned[0].message).toMatch(new RegExp(`^${COLLIDING}: id \\d+ \\(a restart would give 1569\\); ${FIRST}: id 1569 \\(a restart would give \\d+\\): `));
  expect(unstableIdsEvent([{ name: 'x', id: 3, restartId: 4 }], 5).data).toEqual({ services: [{ name: 'x', id: 3, restartId: 4 }] });
});
