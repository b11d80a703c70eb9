import {
  applyChange, checkChange, combineServices, effectivePolicy, serviceSpecRows, type BackendRow, type PolicySnapshot, type ServiceRow,
} from '../../../src/cluster';
import { parseServiceConfig } from '../../../src/config';

let n = 0;
const svc = (r: Partial<ServiceRow> & { name: string; scope: string }): ServiceRow => ({ uuid: `s${n++}`, options: {}, ...r });
const be = (r: Partial<BackendRow> & { service: string; name: string; scope: string }): BackendRow => ({ uuid: `b${n++}`, ports: [], options: {}, ...r });

/** web at cluster scope with two backends; the group 'blue' uses wrr; host h3 weights web2 at 5. */
function store(): PolicySnapshot {
  return {
    cluster: { uuid: 'c', name: 'lab', nat: 'flows' },
    groups: [{ uuid: 'g', name: 'blue', nat: 'conntrack' }],
    hosts: [],
    services: [
      svc({ name: 'web', scope: 'cluster', vip: '10.0.0.100', port: 80, scheduler: 'rr', options: { persistence: '30' } }),
      svc({ name: 'web', scope: 'group:blue', scheduler: 'wrr' }),
    ],
    backends: [
      be({ service: 'web', name: 'web1', scope: 'cluster', vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080] }),
      be({ service: 'web', name: 'web2', scope: 'cluster', vnic: 'v-vm2', ip: '10.0.0.12', ports: [8080] }),
      be({ service: 'web', name: 'web2', scope: 'host:h3', weight: 5 }),
    ],
  };
}

describe('effectivePolicy: inheritance with provenance', () => {
  it('a cluster-scope service is every host\'s, with defaults where nobody set a value', () => {
    const p = effectivePolicy(store(), { host: 'h1' });
    expect(p.problems).toEqual([]);
    expect(p.services.map((s) => s.config.name)).toEqual(['web']);
    const web = p.services[0];
    expect(web.config).toEqual(parseServiceConfig({
      name: 'web', vip: '10.0.0.100', port: 80, scheduler: 'rr', persistence: 30,
      backends: [{ name: 'web1', vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080] }, { name: 'web2', vnic: 'v-vm2', ip: '10.0.0.12', ports: [8080] }],
    }, 'x'));
    expect(web.from).toMatchObject({ vip: 'cluster', scheduler: 'cluster', persistence: 'cluster', 'backends.web1': 'cluster' });
    expect(web.from.idle_timeout).toBeUndefined();
    expect(p.nat).toEqual({ value: 'flows', from: 'cluster' });
  });

  it('a group override of the scheduler applies to that group\'s hosts only', () => {
    const blue = effectivePolicy(store(), { host: 'h2', group: 'blue' });
    const plain = effectivePolicy(store(), { host: 'h1', group: 'red' });
    expect(blue.services[0].config.scheduler).toBe('wrr');
    expect(blue.services[0].from.scheduler).toBe('group:blue');
    expect(plain.services[0].config.scheduler).toBe('rr');
    expect(blue.nat).toEqual({ value: 'conntrack', from: 'group:blue' });
    expect(blue.digest).not.toBe(plain.digest);
  });

  it('a host override of a weight applies to that host, and hosts with equal policy have equal digests', () => {
    const h3 = effectivePolicy(store(), { host: 'h3' });
    expect(h3.services[0].config.backends.find((b) => b.name === 'web2')?.weight).toBe(5);
    expect(h3.services[0].from['backends.web2.weight']).toBe('host:h3');
    expect(effectivePolicy(store(), { host: 'h1' }).digest).toBe(effectivePolicy(store(), { host: 'h4' }).digest);
  });

  it('a host override of the health check replaces it for that host only, with its source', () => {
    const s = store();
    s.services[0].options.health = JSON.stringify({ type: 'http', path: '/ok', interval: 2 });
    s.services.push(svc({ name: 'web', scope: 'host:h3', options: { health: JSON.stringify({ type: 'tcp', interval: 1 }) } }));
    const h3 = effectivePolicy(s, { host: 'h3' }).services[0];
    const h1 = effectivePolicy(s, { host: 'h1' }).services[0];
    expect(h3.config.health).toMatchObject({ type: 'tcp', interval: 1 });
    expect(h3.from.health).toBe('host:h3');
    expect(h1.config.health).toMatchObject({ type: 'http', path: '/ok', interval: 2 });
    expect(h1.from.health).toBe('cluster');
  });

  it('a group or host may add a service of its own', () => {
    const s = store();
    s.services.push(svc({ name: 'dns', scope: 'host:h1', vip: '10.0.0.53', port: 53, protocol: 'udp' }));
    s.backends.push(be({ service: 'dns', name: 'ns1', scope: 'host:h1', vnic: 'v-vm3', ip: '10.0.0.13', ports: [53] }));
    expect(effectivePolicy(s, { host: 'h1' }).services.map((x) => x.config.name)).toEqual(['dns', 'web']);
    expect(effectivePolicy(s, { host: 'h2' }).services.map((x) => x.config.name)).toEqual(['web']);
  });

  it('drains follow scopes: drained at the cluster, enabled again for one host', () => {
    const s = store();
    s.backends.push(be({ service: 'web', name: 'web1', scope: 'cluster', drain: true }));
    s.backends = s.backends.filter((b) => !(b.name === 'web1' && b.scope === 'cluster' && b.drain === undefined));
    s.backends.push(be({ service: 'web', name: 'web1', scope: 'cluster', vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080], drain: true }));
    s.backends = s.backends.filter((b) => !(b.name === 'web1' && b.vnic === undefined));
    s.backends.push(be({ service: 'web', name: 'web1', scope: 'host:h9', drain: false }));
    expect(effectivePolicy(s, { host: 'h1' }).services[0].drained).toEqual({ web1: 'cluster' });
    expect(effectivePolicy(s, { host: 'h9' }).services[0].drained).toEqual({});
  });
});

describe('effectivePolicy: bad rows are reported and left out, nothing else lost', () => {
  it('an override of a service that does not exist', () => {
    const s = store();
    s.services.push(svc({ name: 'ghost', scope: 'group:blue', scheduler: 'wrr' }));
    const p = effectivePolicy(s, { host: 'h2', group: 'blue' });
    expect(p.services.map((x) => x.config.name)).toEqual(['web']);
    expect(p.problems).toEqual([expect.objectContaining({ kind: 'missing_service', service: 'ghost', scope: 'group:blue' })]);
    expect(p.problems[0].message).toMatch(/overrides a service that does not exist \(no service ghost with a VIP at cluster\)/);
  });

  it('an override that moves the VIP is a conflict; the service stays as defined', () => {
    const s = store();
    s.services.push(svc({ name: 'web', scope: 'host:h1', vip: '10.0.0.200', scheduler: 'lc' }));
    const p = effectivePolicy(s, { host: 'h1' });
    expect(p.services[0].config.vip).toBe('10.0.0.100');
    expect(p.services[0].config.scheduler).toBe('rr');
    expect(p.problems).toEqual([expect.objectContaining({ kind: 'conflicting_vip', scope: 'host:h1', service: 'web' })]);
  });

  it('two services on one listener: the broader scope keeps it', () => {
    const s = store();
    s.services.push(svc({ name: 'web-h1', scope: 'host:h1', vip: '10.0.0.100', port: 80 }));
    s.backends.push(be({ service: 'web-h1', name: 'x', scope: 'host:h1', vnic: 'v-vm5', ip: '10.0.0.15', ports: [80] }));
    const p = effectivePolicy(s, { host: 'h1' });
    expect(p.services.map((x) => x.config.name)).toEqual(['web']);
    expect(p.problems[0]).toMatchObject({ kind: 'conflicting_vip', service: 'web-h1' });
    expect(p.problems[0].message).toMatch(/10\.0\.0\.100:80\/tcp is already service web's/);
  });

  it('an invalid override value is ignored with the schema\'s own message', () => {
    const s = store();
    s.services.push(svc({ name: 'web', scope: 'host:h1', options: { idle_timeout: '0' } }));
    const p = effectivePolicy(s, { host: 'h1' });
    expect(p.services[0].config.idle_timeout).toBe(60);
    expect(p.problems[0]).toMatchObject({ kind: 'invalid_override', scope: 'host:h1' });
    expect(p.problems[0].message).toMatch(/idle_timeout: expected an integer 1\.\.65535/);
  });

  it('a backend override of a backend that does not exist, non-JSON options, launch hooks, bad scopes', () => {
    const s = store();
    s.backends.push(be({ service: 'web', name: 'nope', scope: 'host:h1', weight: 3 }));
    s.services[1].options = { health: '{not json' }; // the group:blue row of web: left out whole, so its wrr too
    s.services.push(svc({ name: 'web', scope: 'host:h2', options: { launch: '{"command":"/bin/true"}' } }));
    s.services.push(svc({ name: 'web', scope: 'rack:7', scheduler: 'lc' }));
    const h1 = effectivePolicy(s, { host: 'h1', group: 'blue' });
    expect(h1.problems.map((p) => p.kind).sort()).toEqual(['bad_scope', 'invalid_override', 'missing_backend']);
    expect(h1.services[0].config.scheduler).toBe('rr');
    const h2 = effectivePolicy(s, { host: 'h2' });
    expect(h2.problems.find((p) => p.scope === 'host:h2')?.message).toMatch(/launch\/stop hooks are per host/);
  });

  it('an incomplete cluster service is left out', () => {
    const s = store();
    s.services.push(svc({ name: 'half', scope: 'cluster', vip: '10.0.0.9' }));
    const p = effectivePolicy(s, { host: 'h1' });
    expect(p.problems).toEqual([expect.objectContaining({ kind: 'incomplete_service', service: 'half' })]);
  });
});

describe('combineServices: the config file and the store together', () => {
  const file = parseServiceConfig({ name: 'web', vip: '10.0.0.7', port: 80, backends: [{ vnic: 'v-vm9', ip: '10.0.0.19', ports: [80] }] }, 'f');

  it('a name in both is an error; the file\'s is served', () => {
    const cluster = effectivePolicy(store(), { host: 'h1' }).services;
    const out = combineServices([file], cluster);
    expect(out.services).toEqual([file]);
    expect(out.problems).toEqual([expect.objectContaining({ kind: 'name_conflict', service: 'web' })]);
  });

  it('a listener the file has is not taken by the store', () => {
    const other = { ...file, name: 'mine', vip: '10.0.0.100' };
    const out = combineServices([other], effectivePolicy(store(), { host: 'h1' }).services);
    expect(out.services.map((s) => s.name)).toEqual(['mine']);
    expect(out.problems[0].kind).toBe('conflicting_vip');
  });

  it('a store service whose backend lies inside the file\'s VIP prefix is left out, and one whose VIP holds a file backend', () => {
    const prefix = parseServiceConfig({ name: 'net', vip: '10.0.0.0/28', port: 443, scheduler: 'dh', backends: [{ vnic: 'v-vm9', ip: '10.0.1.19', ports: [443] }] }, 'f');
    // web's backends are 10.0.0.11 and .12: inside 10.0.0.0/28.
    const inside = combineServices([prefix], effectivePolicy(store(), { host: 'h1' }).services);
    expect(inside.services.map((s) => s.name)).toEqual(['net']);
    expect(inside.problems).toEqual([expect.objectContaining({ kind: 'conflicting_vip', service: 'web' })]);
    expect(inside.problems[0].message).toBe('cluster service web (cluster) is left out: its backend web1 10.0.0.11 lies inside the VIP prefix '
      + '10.0.0.0/28 of service net, so that backend could not be reached');

    // The file's backend is the store service's VIP.
    const holder = parseServiceConfig({ name: 'mine', vip: '10.0.0.7', port: 80, backends: [{ vnic: 'v-vm9', ip: '10.0.0.100', ports: [80] }] }, 'f');
    const held = combineServices([holder], effectivePolicy(store(), { host: 'h1' }).services);
    expect(held.services.map((s) => s.name)).toEqual(['mine']);
    expect(held.problems[0].message).toBe('cluster service web (cluster) is left out: service mine\'s backend v-vm9 10.0.0.100 is the VIP '
      + '10.0.0.100 of service web, so that backend could not be reached');
  });

  it('backends outside every VIP, and a service\'s own prefix VIP beside another, combine', () => {
    const other = parseServiceConfig({ name: 'dns', vip: '10.0.2.0/30', port: 53, protocol: 'udp', scheduler: 'dh', backends: [{ vnic: 'v-vm9', ip: '10.0.3.9', ports: [53] }] }, 'f');
    const out = combineServices([other], effectivePolicy(store(), { host: 'h1' }).services);
    expect(out.problems).toEqual([]);
    expect(out.services.map((s) => s.name)).toEqual(['dns', 'web']);
  });
});

describe('policy changes are checked before they are written', () => {
  it('a group override of an unknown service is refused; a valid one passes', () => {
    const s = store();
    const ghost = serviceSpecRows({ name: 'ghost', scheduler: 'lc' }, 'group:blue');
    expect(checkChange(s, [], { kind: 'add-service', ...ghost }, 'group:blue')[0].message).toMatch(/does not exist/);
    const ok = serviceSpecRows({ name: 'web', scheduler: 'lc' }, 'group:red');
    expect(checkChange(s, [], { kind: 'add-service', ...ok }, 'group:red')).toEqual([]);
    const after = applyChange(s, { kind: 'add-service', ...ok });
    expect(effectivePolicy(after, { host: 'x', group: 'red' }).services[0].config.scheduler).toBe('lc');
  });

  it('a VIP another scope already serves is refused for the hosts that would see both', () => {
    const s = store();
    const clash = serviceSpecRows({ name: 'other', vip: '10.0.0.100', port: 80, backends: [{ vnic: 'v-vm4', ip: '10.0.0.14', ports: [80] }] }, 'host:h2');
    const problems = checkChange(s, [{ uuid: 'u', host: 'h2', instance: 'i', version: 'v', nat: 'flows', started: 0, reported: 0, policy: '', services: 1, problems: [] }],
      { kind: 'add-service', ...clash }, 'host:h2');
    expect(problems.map((p) => p.kind)).toEqual(['conflicting_vip']);
  });

  it('removing a service that overrides still point at is refused', () => {
    const problems = checkChange(store(), [], { kind: 'remove-service', name: 'web', scope: 'cluster' }, 'cluster');
    expect(problems.map((p) => p.kind)).toContain('missing_service');
  });

  it('the shape of a spec is checked before anything else', () => {
    expect(() => serviceSpecRows({ vip: '1.2.3.4' }, 'cluster')).toThrow('a service needs a name');
    expect(() => serviceSpecRows({ name: 'a', port: '80' }, 'cluster')).toThrow('port: expected a number');
    expect(() => serviceSpecRows({ name: 'a' }, 'shelf:1')).toThrow(/not cluster, group:NAME or host:NAME/);
  });
});
