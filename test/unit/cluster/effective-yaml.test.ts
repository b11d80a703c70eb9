import { parse } from 'yaml';
import { combineServices, effectiveNat, effectivePolicy, renderEffective, type PolicySnapshot } from '../../../src/cluster';
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

describe('config show --effective: the NAT mode, as the daemon chooses it at start, and where it came from', () => {
  const group = { value: 'conntrack' as const, from: 'group:blue' };

  it('the file\'s flows/conntrack wins over the store, and says what the store sets', () => {
    expect(effectiveNat('flows', group)).toEqual({ value: 'flows', from: 'file (the store\'s group:blue sets conntrack; the file\'s datapath.nat wins)' });
    expect(effectiveNat('conntrack', group)).toEqual({ value: 'conntrack', from: 'file' });
    expect(effectiveNat('flows', undefined)).toEqual({ value: 'flows', from: 'file' });
  });

  it('auto: the store\'s mode for the host, else the probe at start', () => {
    expect(effectiveNat('auto', group)).toEqual({ value: 'conntrack', from: 'group:blue' });
    expect(effectiveNat('auto', undefined)).toEqual({ value: 'auto', from: 'file (ovs-vswitchd probed at start)' });
  });

  it('of a running daemon: the mode it runs and why; a store mode it does not run yet applies at its next start', () => {
    const policy = effectivePolicy(snapshot, { host: 'h1', group: 'blue' });
    const render = (running: { nat: string; reason: string }) => renderEffective({
      host: 'h1', group: 'blue', origin: 'the store', fileServices: [], policy, nat: effectiveNat('auto', policy.nat), served: [], problems: [], running,
    });
    const cached = 'datapath.nat: auto, and the cluster policy cached in /var/lib/vadc/h1.json sets conntrack for this host (group:blue)';
    expect(render({ nat: 'conntrack', reason: cached })).toContain(`# the daemon runs NAT mode conntrack (${cached})\n`);
    expect(render({ nat: 'flows', reason: 'datapath.nat: auto, and ovs-vswitchd was not probed' }))
      .toContain('# the daemon runs NAT mode flows (datapath.nat: auto, and ovs-vswitchd was not probed); conntrack applies at its next start\n');
  });
});
