import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { savePolicyCache, type BackendRow, type PolicySnapshot, type ServiceRow } from '../../../src/cluster';
import { parseConfig } from '../../../src/config';
import { backendKey, backendReports, drainPlan, natPending, remoteReports } from '../../../src/daemon/cluster-host';
import { editConfig, type ConfigEdit } from '../../../src/daemon/config-edits';
import { VadcDaemon } from '../../../src/daemon/daemon';
import { RuntimeError, type BackendStatus, type ServiceStatus, type VadcEvent } from '../../../src/runtime/types';
import { noVswitchd } from '../../helpers/nat-mode';

const key = backendKey;

describe('drainPlan: the store\'s drains hold on the host', () => {
  const b = (service: string, backend: string, draining: boolean) => ({ service, backend, draining });

  it('drains what the store drains, once; enables what the store drained before and no longer does', () => {
    const first = drainPlan([b('web', 'w1', false), b('web', 'w2', false)], new Set([key('web', 'w1')]), new Set());
    expect(first).toEqual({ drain: [key('web', 'w1')], enable: [], storeDrained: new Set([key('web', 'w1')]) });
    const again = drainPlan([b('web', 'w1', true), b('web', 'w2', false)], new Set([key('web', 'w1')]), first.storeDrained);
    expect(again.drain).toEqual([]);
    const undone = drainPlan([b('web', 'w1', true), b('web', 'w2', false)], new Set(), again.storeDrained);
    expect(undone).toEqual({ drain: [], enable: [key('web', 'w1')], storeDrained: new Set() });
  });

  it('a drain made through the local API is the operator\'s: the store does not undo it', () => {
    const plan = drainPlan([b('web', 'w1', true)], new Set(), new Set());
    expect(plan.enable).toEqual([]);
  });

  it('a backend the host does not serve (any more) is neither drained nor enabled', () => {
    const plan = drainPlan([], new Set([key('web', 'gone')]), new Set([key('web', 'old')]));
    expect(plan).toEqual({ drain: [], enable: [], storeDrained: new Set() });
  });
});

describe('backendReports: what a host knows first-hand', () => {
  const backend = (over: Partial<BackendStatus>): BackendStatus => ({
    id: 'w1', service: 'web', vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080], weight: 1, tier: 0, health: 'up',
    activeConns: 0, inactiveConns: 0, totalConns: 0, overloaded: false, packets: 0, bytes: 0, ...over,
  });
  const service = (backends: BackendStatus[]): ServiceStatus => ({
    name: 'web', vip: '10.0.0.100', vipMac: '02:00:00:00:00:01', protocol: 'tcp', port: 80, scheduler: 'rr', activeTier: 0, backends, decisions: 0, refused: 0, endCopies: 0, repeats: 0, guardedReplies: 0, flowsResent: 0,
  } as ServiceStatus);

  it('reports only backends whose vNIC is on this host\'s bridge, with their verdict, link and load', () => {
    const reports = backendReports([service([
      backend({ id: 'w1', ofport: 3, mac: '0a:00:00:00:00:0b', queueMeasure: 0.25, rateOfProcessing: 40 }),
      backend({ id: 'w2', vnic: 'v-vm2', health: 'down', healthReason: 'vNIC not found on any connected switch' }),
      backend({ id: 'w3', vnic: 'v-vm3', ofport: 5, health: 'down', healthReason: 'link down', queueMeasure: Infinity }),
    ])], 1234);
    expect(reports).toEqual([
      { service: 'web', backend: 'w1', vnic: 'v-vm1', mac: '0a:00:00:00:00:0b', linkUp: true, health: 'up', reason: '', queueMeasure: 0.25, rate: 40, updated: 1234 },
      { service: 'web', backend: 'w3', vnic: 'v-vm3', linkUp: false, health: 'down', reason: 'link down', updated: 1234 },
    ]);
  });

  it('leaves out remote backends (reached through the uplink): their own host reports them', () => {
    const reports = backendReports([service([
      backend({ id: 'w1', ofport: 3, mac: '0a:00:00:00:00:0b' }),
      backend({ id: 'w9', vnic: 'v-h2vm1', ofport: 40, mac: '0a:00:00:00:00:15', host: 'h2' }),
    ])], 1);
    expect(reports.map((r) => r.backend)).toEqual(['w1']);
  });
});

describe('remoteReports: the other hosts\' backend rows as the app takes them', () => {
  it('drops this host\'s own rows and keeps host, MAC, link, verdict and queue measure', () => {
    const row = (host: string, backend: string, over: object = {}) => ({
      uuid: `u-${host}-${backend}`, host, service: 'web', backend, vnic: `v-${backend}`, linkUp: true, health: 'up' as const, reason: '', updated: 5, ...over,
    });
    expect(remoteReports([
      row('h1', 'a'), row('h2', 'b', { mac: '02:0a:00:00:00:0c', queueMeasure: 0.5, rate: 3 }), row('h3', 'c', { health: 'down', reason: 'refused', linkUp: false }),
    ], 'h1')).toEqual([
      { host: 'h2', service: 'web', backend: 'b', vnic: 'v-b', mac: '02:0a:00:00:00:0c', linkUp: true, health: 'up', reason: '', queueMeasure: 0.5 },
      { host: 'h3', service: 'web', backend: 'c', vnic: 'v-c', linkUp: false, health: 'down', reason: 'refused' },
    ]);
  });
});

describe('editConfig: API changes edit the file\'s services only', () => {
  const config = parseConfig(`services:
  - name: local
    vip: 10.0.0.100
    port: 80
    backends: [{ vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }]
`);
  const cluster = ['web'];

  it('edits a file service and the result is a valid configuration', () => {
    const raw = editConfig(config, cluster, { op: 'add_backend', service: 'local', spec: { vnic: 'v-vm2', ip: '10.0.0.12', ports: [8080] } });
    const weighted = editConfig(parseConfig(JSON.stringify(raw)), cluster, { op: 'weight', service: 'local', backend: 'v-vm2', weight: 4 });
    expect(parseConfig(JSON.stringify(weighted)).services[0].backends.map((b) => `${b.vnic}:${b.weight}`)).toEqual(['v-vm1:1', 'v-vm2:4']);
  });

  it('a service from the cluster store is changed in the store: each edit says so', () => {
    const edits: ConfigEdit[] = [
      { op: 'remove_service', service: 'web' }, { op: 'weight', service: 'web', backend: 'w1', weight: 2 },
      { op: 'add_backend', service: 'web', spec: { vnic: 'x', ip: '10.0.0.9', ports: [1] } }, { op: 'remove_backend', service: 'web', backend: 'w1' },
    ];
    for (const edit of edits) {
      expect(() => editConfig(config, cluster, edit)).toThrow(new RuntimeError('invalid', 'service web comes from the cluster store: change it there (vadc ... --cluster REMOTES)'));
    }
    expect(() => editConfig(config, cluster, { op: 'add_service', spec: { name: 'web', vip: '10.0.0.101', port: 80, backends: [] } }))
      .toThrow(/service web exists: it comes from the cluster store/);
  });

  it('refuses what the API always refused', () => {
    expect(() => editConfig(config, [], { op: 'remove_backend', service: 'local', backend: 'v-vm1' })).toThrow(/cannot remove the last backend of local/);
    expect(() => editConfig(config, [], { op: 'weight', service: 'local', backend: 'v-vm1', weight: 70000 })).toThrow(/weight must be an integer 0\.\.65535/);
    expect(() => editConfig(config, [], { op: 'add_backend', service: 'local', spec: { vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080] } })).toThrow(/already has backend v-vm1/);
    expect(() => editConfig(config, [], { op: 'weight', service: 'nope', backend: 'x', weight: 1 })).toThrow(new RuntimeError('not_found', 'service nope does not exist'));
  });
});

describe('a cluster host whose store does not answer serves its cached policy', () => {
  let dir: string;
  let daemon: VadcDaemon | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'vadc-chost-'));
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const svc = (r: Partial<ServiceRow> & { name: string; scope: string }): ServiceRow => ({ uuid: `s-${r.name}-${r.scope}`, options: {}, ...r });
  const be = (r: Partial<BackendRow> & { service: string; name: string; scope: string }): BackendRow => ({ uuid: `b-${r.name}-${r.scope}`, ports: [], options: {}, ...r });
  const snapshot: PolicySnapshot = {
    groups: [], hosts: [],
    services: [
      svc({ name: 'web', scope: 'cluster', vip: '10.0.0.100', port: 80, scheduler: 'rr' }),
      svc({ name: 'web', scope: 'group:blue', scheduler: 'wrr' }),
      svc({ name: 'local', scope: 'cluster', vip: '10.0.0.101', port: 80 }),
    ],
    backends: [
      be({ service: 'web', name: 'w1', scope: 'cluster', vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080] }),
      be({ service: 'web', name: 'w2', scope: 'cluster', vnic: 'v-vm2', ip: '10.0.0.12', ports: [8080], drain: true }),
      be({ service: 'local', name: 'l1', scope: 'cluster', vnic: 'v-vm3', ip: '10.0.0.13', ports: [8080] }),
    ],
  };

  it('merged for its group, next to the file\'s services (a name in both: the file\'s, and a problem), drains applied', async () => {
    const cache = path.join(dir, 'cache.json');
    savePolicyCache(cache, { savedAt: 1000, remotes: 'unix:/nonexistent', snapshot });
    const text = `controller: { listen: "tcp:127.0.0.1:0" }
cluster: { remotes: "unix:${path.join(dir, 'no-such.sock')}", host: h1, group: blue, policy_cache: ${cache} }
services:
  - name: local
    vip: 10.0.0.102
    port: 80
    backends: [{ vnic: v-vm4, ip: 10.0.0.14, ports: [8080] }]
`;
    const events: VadcEvent[] = [];
    daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(text), configText: text, ovsdb: false, clusterSession: { backoffInitialMs: 50, backoffMaxMs: 100 } });
    daemon.bus.on('event', (e: VadcEvent) => events.push(e));
    await daemon.start();
    expect(daemon.services().map((s) => `${s.name} ${s.vip} ${s.scheduler}`)).toEqual(['local 10.0.0.102 wlc', 'web 10.0.0.100 wrr']);
    expect(daemon.service('web').backends.map((b) => `${b.id}:${b.health}`)).toEqual(['w1:down', 'w2:drained']);
    const status = daemon.status().cluster!;
    expect(status).toMatchObject({ host: 'h1', group: 'blue', connected: false, readOnly: true, source: 'cache' });
    expect(status.problems).toEqual(['service local is in the config file and in the cluster store (cluster): the file\'s is served; rename one']);
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(['cluster_policy_applied', 'cluster_policy_cached', 'cluster_policy_problem']));
    await expect(daemon.setWeight('web', 'w1', 3)).rejects.toThrow(/service web comes from the cluster store/);
    // The file's own service still changes through the API, and the state written holds no store service.
    let written = '';
    daemon.bus.on('config', (t: string) => (written = t));
    await daemon.setWeight('local', 'v-vm4', 3);
    expect(parseConfig(written).services.map((s) => s.name)).toEqual(['local']);
    expect(daemon.services().map((s) => s.name)).toEqual(['local', 'web']);
  });

  it('no cache and no store: the file\'s services, and the host says it waits', async () => {
    const text = `controller: { listen: "tcp:127.0.0.1:0" }
cluster: { remotes: "unix:${path.join(dir, 'no-such.sock')}", host: h1, policy_cache: ${path.join(dir, 'none.json')} }
services: []
`;
    daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(text), configText: text, ovsdb: false, clusterSession: { backoffInitialMs: 50, backoffMaxMs: 100 } });
    await daemon.start();
    expect(daemon.services()).toEqual([]);
    expect(daemon.status().cluster).toMatchObject({ source: 'none', readOnly: true, problems: [] });
  });
});

describe('a cluster host\'s NAT mode: the file\'s datapath.nat, else (auto) its cached policy\'s, else the probe', () => {
  let dir: string;
  let daemon: VadcDaemon | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'vadc-chost-nat-'));
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  // Group blue's row sets conntrack; the cluster's sets flows (the narrower scope wins).
  const natSnapshot: PolicySnapshot = {
    cluster: { uuid: 'c', name: 'lab', nat: 'flows' }, groups: [{ uuid: 'g', name: 'blue', nat: 'conntrack' }], hosts: [],
    services: [{ uuid: 's', name: 'web', scope: 'cluster', vip: '10.0.0.100', port: 80, options: {} }],
    backends: [{ uuid: 'b', service: 'web', name: 'w1', scope: 'cluster', vnic: 'v-vm1', ip: '10.0.0.11', ports: [8080], options: {} }],
  };

  async function start(datapath: string, cache: string | undefined): Promise<{ daemon: VadcDaemon; events: VadcEvent[] }> {
    const cachePath = path.join(dir, 'cache.json');
    if (cache) savePolicyCache(cachePath, { savedAt: 1000, remotes: 'unix:/nonexistent', snapshot: natSnapshot });
    const text = `controller: { listen: "tcp:127.0.0.1:0" }
${datapath}
cluster: { remotes: "unix:${path.join(dir, 'no-such.sock')}", host: h1, group: blue, policy_cache: ${cachePath} }
services: []
`;
    const events: VadcEvent[] = [];
    // noVswitchd: datapath.nat: auto alone would choose flows here.
    daemon = new VadcDaemon({ probeVswitchd: noVswitchd, config: parseConfig(text), configText: text, ovsdb: false, clusterSession: { backoffInitialMs: 50, backoffMaxMs: 100 } });
    daemon.bus.on('event', (e: VadcEvent) => events.push(e));
    await daemon.start();
    return { daemon, events };
  }

  it('datapath.nat left to auto: the mode the cached policy sets for its group, the cache named in the reason', async () => {
    const { daemon: d, events } = await start('', 'cache');
    const cache = path.join(dir, 'cache.json');
    expect(d.status().datapath).toMatchObject({ nat: 'conntrack', reason: `datapath.nat: auto, and the cluster policy cached in ${cache} sets conntrack for this host (group:blue)` });
    expect(d.status().cluster).toMatchObject({ source: 'cache' });
    // The mode that runs is the policy's: nothing is pending.
    expect(events.filter((e) => e.kind === 'cluster_nat_pending')).toEqual([]);
  });

  it('the file\'s datapath.nat: flows wins over the cached policy, and the host says the store wants another mode', async () => {
    const { daemon: d, events } = await start('datapath: { nat: flows }', 'cache');
    expect(d.status().datapath).toMatchObject({ nat: 'flows', reason: 'datapath.nat: flows in the configuration' });
    const pending = events.filter((e) => e.kind === 'cluster_nat_pending');
    expect(pending.map((e) => e.message)).toEqual([
      'the cluster sets NAT mode conntrack for this host (group:blue); it runs flows, as its config file\'s datapath.nat says (the file wins): set datapath.nat: auto and restart vadc to follow the store',
    ]);
    expect(pending[0].data).toEqual({ store: 'conntrack', from: 'group:blue', runs: 'flows', chosenBy: 'file' });
  });

  it('no cache: auto chooses by the probe, as before', async () => {
    const { daemon: d } = await start('', undefined);
    expect(d.status().datapath).toMatchObject({ nat: 'flows', reason: "datapath.nat: auto, and ovs-vswitchd's unixctl socket is not reachable: a unit test: no ovs-vswitchd" });
    expect(d.status().cluster).toMatchObject({ source: 'none' });
  });

  it('a cache that cannot be read: auto chooses by the probe, and the host reports the cache', async () => {
    const cachePath = path.join(dir, 'cache.json');
    writeFileSync(cachePath, 'not json');
    const { daemon: d, events } = await start('', undefined);
    expect(d.status().datapath.nat).toBe('flows');
    expect(events.find((e) => e.kind === 'cluster_cache_unusable')?.message).toMatch(/is not JSON/);
  });
});

describe('natPending: what a running host says when the store\'s NAT mode for it changes', () => {
  const group = { value: 'conntrack' as const, from: 'group:blue' };

  it('auto: a restart applies the store\'s mode by itself', () => {
    expect(natPending(group, 'flows', 'probe')).toBe('the cluster sets NAT mode conntrack for this host (group:blue); it runs flows: a restart applies it (datapath.nat: auto takes the cached policy\'s mode at start)');
    expect(natPending(group, 'flows', 'cache')).toMatch(/: a restart applies it/);
  });

  it('the file\'s mode: the file wins, and the host says how to follow the store', () => {
    expect(natPending(group, 'flows', 'file')).toMatch(/as its config file's datapath\.nat says \(the file wins\): set datapath\.nat: auto and restart vadc/);
  });

  it('nothing when a restart would change nothing', () => {
    expect(natPending(group, 'conntrack', 'cache')).toBeUndefined();
    expect(natPending(group, 'conntrack', 'file')).toBeUndefined();
    expect(natPending(undefined, 'flows', 'probe')).toBeUndefined();
    expect(natPending(undefined, 'flows', 'file')).toBeUndefined();
  });

  it('the override removed from the store after the cache chose the mode: a restart probes again', () => {
    expect(natPending(undefined, 'conntrack', 'cache')).toBe('the cluster no longer sets a NAT mode for this host; it runs conntrack, from its cached policy: a restart chooses by datapath.nat: auto\'s probe of ovs-vswitchd');
  });
});
