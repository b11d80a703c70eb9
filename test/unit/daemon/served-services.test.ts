// What the daemon serves: the file's services, the store's next to them, tagged backends, the store's drains.
import { ServiceTable } from '../../../src/app/services';
import type { EffectivePolicy } from '../../../src/cluster';
import { parseConfig, type ServiceConfig } from '../../../src/config';
import { ServedServices } from '../../../src/daemon/served-services';
import type { InterfaceRow } from '../../../src/ovsdb';
import type { VadcEvent } from '../../../src/runtime/types';

function services(yaml: string): ServiceConfig[] {
  return parseConfig(`services:\n${yaml}`, 'test.yaml').services;
}

const FILE = services(`  - name: web
    vip: 10.0.0.100
    port: 80
    backends: [{ name: w1, vnic: vm1, ip: 10.0.1.1, ports: [8080] }]
  - name: tagged
    vip: 10.0.0.101
    port: 80
    backends_from: { external_ids: { vadc-service: tagged }, ports: [8080] }
`);

const STORE = services(`  - name: api
    vip: 10.0.0.102
    port: 443
    backends: [{ name: a1, vnic: vm2, ip: 10.0.1.2, ports: [8443] }, { name: a2, vnic: vm3, ip: 10.0.1.3, ports: [8443] }]
  - name: web
    vip: 10.0.0.103
    port: 80
    backends: [{ name: s1, vnic: vm4, ip: 10.0.1.4, ports: [8080] }]
`);

function policy(drained: Record<string, string[]> = {}, store: readonly ServiceConfig[] = STORE): EffectivePolicy {
  return {
    host: 'h1', problems: [], digest: 'd',
    services: store.map((config) => ({
      config, definedAt: 'cluster', from: {}, drained: Object.fromEntries((drained[config.name] ?? []).map((b) => [b, 'cluster'])),
    })),
  };
}

function iface(name: string, ip: string, tagged: boolean): InterfaceRow {
  return {
    uuid: `00000000-0000-4000-8000-${name.padStart(12, '0')}`, name, type: '', statistics: {}, options: {},
    externalIds: { ...(tagged ? { 'vadc-service': 'tagged' } : {}), 'iface-id': `p-${name}`, ip },
  };
}

function made(): { served: ServedServices; events: Omit<VadcEvent, 'time'>[] } {
  const events: Omit<VadcEvent, 'time'>[] = [];
  return { served: new ServedServices(FILE, (e) => events.push(e)), events };
}

describe('ServedServices', () => {
  it("serves the file's services, then the store's whose names are free, and reports the clash", () => {
    const { served } = made();
    expect(served.current.map((s) => s.name)).toEqual(['web', 'tagged']);
    served.setClusterPolicy(policy());
    const { services: now, problems } = served.next(FILE);
    expect(now.map((s) => `${s.name} ${s.vip}`)).toEqual(['web 10.0.0.100', 'tagged 10.0.0.101', 'api 10.0.0.102']);
    expect(problems.map((p) => [p.kind, p.service])).toEqual([['name_conflict', 'web']]);
    expect(served.clusterNames()).toEqual(['api', 'web']);
    expect(served.current).toBe(now);
  });

  it('asks to serve again only when an interface change moves a tagged backend, and names its interface', () => {
    const { served, events } = made();
    served.next(FILE);
    expect(served.setInterfaces([iface('tap1', '10.0.1.9', false)], FILE)).toBe(false);
    expect(served.setInterfaces([iface('tap1', '10.0.1.9', true)], FILE)).toBe(true);
    const tagged = served.next(FILE).services.find((s) => s.name === 'tagged');
    expect(tagged?.backends.map((b) => `${b.name} ${b.ip}`)).toEqual(['iface-id:p-tap1 10.0.1.9']);
    expect(served.tagged.ifaceOf('tagged', 'iface-id:p-tap1')).toBe('tap1');
    expect(events.map((e) => e.kind)).toEqual(['backend_tagged']);
    // The same rows again: nothing to serve.
    expect(served.setInterfaces([iface('tap1', '10.0.1.9', true)], FILE)).toBe(false);
  });

  it("drains what the store drains, and enables only what the store drained when it stops (not an API drain)", () => {
    const { served } = made();
    served.setClusterPolicy(policy({ api: ['a1'] }));
    served.next(FILE);
    const state = (drained: string[]) => ['a1', 'a2'].map((b) => ({ service: 'api', backend: b, draining: drained.includes(b) }));
    expect(served.drains(state([]))).toEqual({ drain: [['api', 'a1']], enable: [] });
    // Already draining: nothing more to do, and the store's drain is remembered.
    expect(served.drains(state(['a1']))).toEqual({ drain: [], enable: [] });
    served.setClusterPolicy(policy());
    served.next(FILE);
    // a2 was drained through the API meanwhile: the store's end of a1's drain leaves it alone.
    expect(served.drains(state(['a1', 'a2']))).toEqual({ drain: [], enable: [['api', 'a1']] });
    expect(served.drains(state(['a2']))).toEqual({ drain: [], enable: [] });
  });

  it("ignores the store's drain in a service it does not serve (the file's has the name), even of a backend named alike", () => {
    const { served } = made();
    served.setClusterPolicy(policy({ web: ['w1'] }));
    served.next(FILE);
    expect(served.drains([{ service: 'web', backend: 'w1', draining: false }])).toEqual({ drain: [], enable: [] });
  });
});

describe("ServedServices: the store's pinned service ids, checked as config apply checks the file's", () => {
  const API = STORE[0];

  /** Serves the store's services as the daemon does: the app's service table checks the pins and takes the list. */
  function serving(): { serve(store: ServiceConfig[]): ReturnType<ServedServices['next']>; idOf(name: string): number | undefined } {
    const { served } = made();
    const table = new ServiceTable();
    return {
      serve(store) {
        served.setClusterPolicy(policy({}, store));
        const next = served.next(FILE, (configs) => table.pinConflicts(configs, []));
        table.configure(next.services);
        return next;
      },
      idOf: (name) => table.named(name)?.id,
    };
  }

  it('a pin that would renumber a running store service is not applied: it is served as before, with a problem', () => {
    const { serve, idOf } = serving();
    serve([API]);
    const running = idOf('api')!;
    const other = running === 7 ? 8 : 7;
    const repinned: ServiceConfig = { ...API, id: other, scheduler: 'rr' };
    const next = serve([repinned]);
    expect(idOf('api')).toBe(running);
    expect(next.services.find((s) => s.name === 'api')).toBe(API);
    expect(next.problems).toEqual([{
      kind: 'pinned_id_conflict', service: 'api', scope: 'cluster',
      message: `cluster service api is served as before: the id set at cluster: service api runs with id ${running}: pinning id ${other} would renumber it and drop its live connections' flows (pin ${running}, or remove the service and add it back)`,
    }]);
    // The store's next change is checked again: pinning the running id applies, with the rest of the change.
    const pinned: ServiceConfig = { ...API, id: running, scheduler: 'rr' };
    const after = serve([pinned]);
    expect(after.problems).toEqual([]);
    expect(after.services.find((s) => s.name === 'api')).toBe(pinned);
    expect(idOf('api')).toBe(running);
  });

  it("a new store service pinned to a kept service's id is left out; once that one is gone from the store, it is served", () => {
    const { serve, idOf } = serving();
    serve([API]);
    const taken = idOf('api')!;
    const fresh: ServiceConfig = { ...API, name: 'fresh', vip: '10.0.0.104', id: taken };
    const next = serve([API, fresh]);
    expect(next.services.map((s) => s.name)).toEqual(['web', 'tagged', 'api']);
    expect(next.problems).toEqual([{
      kind: 'pinned_id_conflict', service: 'fresh', scope: 'cluster',
      message: `cluster service fresh is left out: the id set at cluster: service fresh: id ${taken} is service api's, which this configuration keeps (pin another id)`,
    }]);
    expect(idOf('fresh')).toBeUndefined();
    const after = serve([fresh]);
    expect(after.problems).toEqual([]);
    expect(idOf('fresh')).toBe(taken);
    expect(idOf('api')).toBeUndefined();
  });
});
