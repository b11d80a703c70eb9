// Service ids are in every flow cookie of a service: two services must never share one, and a service a new
// configuration keeps must keep its id, also when a new name collides with its name's hash and sorts before it.
import { ServiceTable } from '../../../src/app/services';
import { serviceIds } from '../../../src/app/service-ids';
import { parseConfig } from '../../../src/config';

// FNV-1a puts both names on id 1569: the stateless assignment gives svc-108 the home slot (name order).
const FIRST = 'svc-418';
const COLLIDING = 'svc-108';

function configs(names: string[]) {
  const services = names.map((name, i) =>
    `  - { name: ${name}, vip: "10.0.0.${100 + i}", port: 80, backends: [{ vnic: v${i}, ip: "10.1.0.${i + 1}", ports: [8080] }] }`);
  return parseConfig(`datapath: { nat: flows }\nservices:\n${services.join('\n')}\n`).services;
}

test('the two names collide, and name order gives the home id to the one added second', () => {
  const alone = serviceIds([FIRST]).get(FIRST);
  const both = serviceIds([FIRST, COLLIDING]);
  expect(both.get(COLLIDING)).toBe(alone);
  expect(both.get(FIRST)).not.toBe(alone);
});

test('a kept service keeps its id and a colliding new service gets another one', () => {
  const t = new ServiceTable();
  t.configure(configs([FIRST]));
  const before = t.all.find((s) => s.config.name === FIRST)!.id;
  t.configure(configs([FIRST, COLLIDING]));
  expect(t.all.find((s) => s.config.name === FIRST)!.id).toBe(before);
  const ids = t.all.map((s) => s.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(t.byId(t.all.find((s) => s.config.name === COLLIDING)!.id)!.config.name).toBe(COLLIDING);
});

test('kept ids are taken first; one out of range or already taken is assigned afresh', () => {
  const fresh = serviceIds(['a', 'b', 'c']);
  const ids = serviceIds(['a', 'b', 'c', 'd'], new Map([['b', 7], ['c', 7], ['d', 0x10000], ['gone', 9]]));
  expect(ids.get('b')).toBe(7);
  expect(ids.get('c')).toBe(fresh.get('c'));
  expect(ids.get('a')).toBe(fresh.get('a'));
  expect(ids.get('d')).toBe(serviceIds(['d']).get('d'));
  expect([...ids.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
  expect(new Set(ids.values()).size).toBe(4);
});
