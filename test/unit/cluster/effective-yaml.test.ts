import { parse } from 'yaml';
import { combineServices, effectivePolicy, renderEffective, type PolicySnapshot } from '../../../src/cluster';
import { parseServiceConfig } from '../../../src/config';

const snapshot: PolicySnapshot = {
  cluster: { uuid: 'c', name: 'lab' },
  groups: [{ uuid: 'g', name: 'blue', nat: 'conntrack' }],
  hosts: [],
  services: [
    { uuid: '1', name: 'web', scope: 'cluster', vip: '10.0.0.100', port: 80, options: { health: '{"type":"http","path":"/ok"}' } },
    { uuid: '2', name: 'web', scope: 'group:blue', scheduler: 'wrr', options: {} },
  ],
  backends: [
    { uuid: '3', service: 'web', name: 'w1', scope: 'cluster', vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080], options: {} },
    { uuid: '4', service: 'web', name: 'w1', scope: 'host:h1', weight: 4, ports: [], options: {} },
    { uuid: '5', service: 'web', name: 'w1', scope: 'group:blue', drain: true, ports: [], options: {} },
  ],
};

describe('config show --effective', () => {
  const file = parseServiceConfig({ name: 'local', vip: '10.0.0.7', port: 22, backends: [{ vnic: 'v-vm9', ip: '10.0.0.19', ports: [22] }] }, 'f');
  const policy = effectivePolicy(snapshot, { host: 'h1', group: 'blue' });
  const combined = combineServices([file], policy.services);
  const text = renderEffective({
    host: 'h1', group: 'blue', origin: 'the store', fileServices: [file], policy, nat: policy.nat!, served: combined.services, problems: [],
  });
  const line = (re: RegExp) => text.split('\n').find((l) => re.test(l)) ?? '';

  it('prints what is served, as YAML a config file could hold', () => {
    const doc = parse(text) as { services: Array<{ name: string; scheduler: string }>; datapath: { nat: string } };
    expect(doc.services.map((s) => s.name)).toEqual(['local', 'web']);
    expect(doc.services[1].scheduler).toBe('wrr');
    expect(doc.datapath.nat).toBe('conntrack');
  });

  it('follows each value with its source: file, a scope, or default', () => {
    expect(line(/^\s+nat: conntrack/)).toMatch(/# group:blue$/);
    expect(line(/scheduler: wrr/)).toMatch(/# group:blue$/);
    expect(line(/vip: 10\.0\.0\.100/)).toMatch(/# cluster$/);
    expect(line(/path: \/ok/)).toMatch(/# cluster$/);
    expect(line(/weight: 4/)).toMatch(/# host:h1$/);
    expect(line(/idle_timeout: 60/)).toMatch(/# (file|default)$/);
    expect(line(/vip: 10\.0\.0\.7/)).toMatch(/# file$/);
    expect(text).toMatch(/# drained in the store: w1 \(group:blue\)/);
  });
});
