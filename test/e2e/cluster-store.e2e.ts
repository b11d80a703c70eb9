/**
 * The cluster store on real ovsdb-server processes, driven as operators drive it: `vadc cluster up` makes a
 * 3-member Raft cluster, `vadc service|backend ... --cluster` writes policy, `vadc cluster status` reads the
 * members and the hosts' reports, and ClusterStore sessions (what each host's daemon runs) see the policy
 * merged for their scope. Bad input on real servers: a store that is not vadc's, a schema version mismatch, a
 * host name used twice, an override of a service that does not exist, conflicting VIPs. And the store's
 * failures: the leader killed (a change made right after reaches every reader), two members down (read-only:
 * writes refused with a clear error, readers keep their last policy; the policy cache serves it).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ClusterStore, effectivePolicy, loadPolicyCache, savePolicyCache, STORE_DB, STORE_SCHEMA_VERSION, type ClusterStatusView, type EffectivePolicy, type PolicySnapshot,
} from '../../src/cluster';
import { readStoreCluster, startStoreMember, stopStoreMember, storeClusterDown } from '../../src/lab';
import { killStoreLeader, retryUntilAccepted, ROOT, vadc, vadcOk } from '../helpers/vadc-cli';
import { untilValue } from '../helpers/until';

const SESSION = { backoffInitialMs: 100, backoffMaxMs: 1000, handshakeTimeoutMs: 5000 };

let tmp: string;
let storeDir: string;
let remotes: string;
const stores: ClusterStore[] = [];
const others: string[] = [];

/** The bound of this file's waits (each ends only a failing test). */
const WAIT_MS = 20_000;

/** A host's view: a ClusterStore session and the policy merged for it at every change. */
class HostView {
  readonly store: ClusterStore;
  policy?: EffectivePolicy;
  snapshot?: PolicySnapshot;
  readonly problems: string[] = [];
  readonly policyTimes: number[] = [];

  constructor(readonly host: string, readonly group?: string, publish = false) {
    this.store = new ClusterStore({ remotes, host, session: SESSION, publish });
    stores.push(this.store);
    this.store.on('policy', (snapshot) => {
      this.snapshot = snapshot;
      this.policy = effectivePolicy(snapshot, { host, group });
      this.policyTimes.push(Date.now());
    });
    this.store.on('problem', (e) => this.problems.push(e.message));
  }

  service(name: string) {
    return this.policy?.services.find((s) => s.config.name === name)?.config;
  }
}

const SERVICE = `name: web
vip: 10.0.0.100
port: 80
scheduler: rr
health: { type: tcp, interval: 1, timeout: 0.5 }
backends:
  - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }
  - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080] }
`;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'vadc-cstore-'));
  storeDir = path.join(tmp, 'store');
  const up = JSON.parse(await vadcOk(['cluster', 'up', '--members', '3', '--dir', storeDir, '--name', 'e2e', '--json'])) as { remotes: string };
  remotes = up.remotes;
  writeFileSync(path.join(tmp, 'web.yaml'), SERVICE);
}, 60_000);

afterAll(async () => {
  for (const s of stores) s.close();
  await storeClusterDown(storeDir);
  for (const dir of others) await storeClusterDown(dir);
  rmSync(tmp, { recursive: true, force: true });
});

describe('policy written by the CLI reaches every host, merged for its scope', () => {
  let h1: HostView;
  let h2: HostView;

  beforeAll(async () => {
    h1 = new HostView('h1');
    h2 = new HostView('h2', 'blue');
    await untilValue(() => h1.policy && h2.policy, 'both hosts read the store', WAIT_MS);
  });

  it('a cluster-scope service is every host\'s; a group override of the scheduler applies to that group only', async () => {
    const t0 = Date.now();
    await vadcOk(['service', 'add', 'web', '--file', path.join(tmp, 'web.yaml'), '--cluster', remotes]);
    await untilValue(() => h1.service('web') && h2.service('web'), 'web on both hosts', WAIT_MS);
    console.log(`service add (CLI process, write, monitor update) to both hosts: ${Date.now() - t0} ms`);
    expect(h1.service('web')?.scheduler).toBe('rr');
    await vadcOk(['service', 'add', 'web', '--scheduler', 'wrr', '--scope', 'group:blue', '--cluster', remotes]);
    await untilValue(() => h2.service('web')?.scheduler === 'wrr', 'wrr in group blue', WAIT_MS);
    expect(h1.service('web')?.scheduler).toBe('rr');
    expect(h2.policy?.services[0].from.scheduler).toBe('group:blue');
    await vadcOk(['backend', 'weight', 'web', 'v-vm2', '7', '--scope', 'host:h1', '--cluster', remotes]);
    await untilValue(() => h1.service('web')?.backends.find((b) => b.name === 'v-vm2')?.weight === 7, 'weight 7 on h1', WAIT_MS);
    expect(h2.service('web')?.backends.find((b) => b.name === 'v-vm2')?.weight).toBe(1);
    expect(h1.policy?.problems).toEqual([]);
  });

  it('a NAT mode set at a group is that group\'s hosts\' only, and config show --effective says where it came from; service show --scope lists one scope', async () => {
    await vadcOk(['cluster', 'nat', 'conntrack', '--scope', 'group:blue', '--cluster', remotes]);
    await untilValue(() => h2.policy?.nat?.value === 'conntrack', 'conntrack in group blue', WAIT_MS);
    expect(h2.policy?.nat).toEqual({ value: 'conntrack', from: 'group:blue' });
    expect(h1.policy?.nat).toBeUndefined();
    const config = (datapath: string) => {
      const file = path.join(tmp, `h2-${datapath ? 'flows' : 'auto'}.yaml`);
      writeFileSync(file, `${datapath}\ncluster: { remotes: "${remotes}", host: h2, group: blue }\nservices: []\n`);
      return file;
    };
    const natLine = (text: string) => text.split('\n').find((l) => /^\s+nat:/.test(l));
    expect(natLine(await vadcOk(['config', 'show', '--effective', '--file', config('')]))).toBe('  nat: conntrack # group:blue');
    expect(natLine(await vadcOk(['config', 'show', '--effective', '--file', config('datapath: { nat: flows }')])))
      .toBe('  nat: flows # file (the store\'s group:blue sets conntrack; the file\'s datapath.nat wins)');
    const blue = JSON.parse(await vadcOk(['service', 'show', 'web', '--scope', 'group:blue', '--cluster', remotes, '--json'])) as { services: { scope: string; scheduler?: string }[]; backends: unknown[] };
    expect(blue).toEqual({ services: [expect.objectContaining({ scope: 'group:blue', scheduler: 'wrr' })], backends: [] });
    const none = await vadc(['service', 'show', 'web', '--scope', 'host:h7', '--cluster', remotes]);
    expect({ code: none.code, stderr: none.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/no service web in the cluster store at host:h7/) });
    await vadcOk(['cluster', 'nat', 'unset', '--scope', 'group:blue', '--cluster', remotes]);
    await untilValue(() => h2.policy && h2.policy.nat === undefined, 'the group mode unset', WAIT_MS);
  });

  it('bad policy is refused with a clear error and writes nothing', async () => {
    const before = JSON.stringify(h2.snapshot);
    const ghost = await vadc(['service', 'add', 'ghost', '--scheduler', 'lc', '--scope', 'group:blue', '--cluster', remotes]);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toMatch(/service ghost at group:blue overrides a service that does not exist \(no service ghost with a VIP at cluster\)/);
    const clash = await vadc(['service', 'add', 'other', '--vip', '10.0.0.100', '--port', '80', '--backend', 'v-vm3=10.0.0.13:80', '--scope', 'host:h2', '--cluster', remotes]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/service other at host:h2 is left out: 10\.0\.0\.100:80\/tcp is already service web's/);
    const moved = await vadc(['service', 'add', 'web', '--vip', '10.0.0.101', '--port', '80', '--scope', 'host:h1', '--cluster', remotes]);
    expect(moved.stderr).toMatch(/VIP 10\.0\.0\.101 conflicts with 10\.0\.0\.100 set at cluster: an override cannot move a service/);
    const dup = await vadc(['service', 'add', 'web', '--file', path.join(tmp, 'web.yaml'), '--cluster', remotes]);
    expect(dup.stderr).toMatch(/service web is already in the store at cluster: remove it first/);
    const bad = await vadc(['service', 'add', 'web', '--scope', 'rack:1', '--scheduler', 'rr', '--cluster', remotes]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Parsing --scope: scope "rack:1" is not cluster, group:NAME or host:NAME/);
    await new Promise((r) => setTimeout(r, 300));
    expect(JSON.stringify(h2.snapshot)).toBe(before);
  });

  it('a host name used twice: the second daemon is told, does not publish, and still reads the policy', async () => {
    const first = new HostView('h9', undefined, true);
    await untilValue(() => first.store.writable, 'h9 publishes', WAIT_MS);
    first.store.publish({ instance: 'a', version: 'e2e', nat: 'flows', started: 1, reported: Date.now(), policy: 'p', services: 1, problems: [] }, []);
    const second = new HostView('h9', undefined, true);
    const problem = await untilValue(() => second.problems[0], 'the name clash', WAIT_MS);
    expect(problem).toMatch(/host name h9 is held by another vadc in the cluster store/);
    expect(second.store.writable).toBe(false);
    await untilValue(() => second.service('web'), 'the second reads the policy too', WAIT_MS);
    const status = JSON.parse(await vadcOk(['cluster', 'status', '--cluster', remotes, '--json'])) as ClusterStatusView;
    expect(status.members.filter((m) => m.leader)).toHaveLength(1);
    expect(status.members.every((m) => m.connected)).toBe(true);
    expect(status.hosts?.map((h) => `${h.host}:${h.instance}`)).toEqual(['h9:a']);
  });
});

describe('a store that is not vadc\'s, or of another schema version', () => {
  it('an ovsdb-server without the VADC database is named as such', async () => {
    const dir = path.join(tmp, 'vswitch');
    others.push(dir);
    const up = await vadc(['cluster', 'up', '--members', '1', '--dir', dir, '--json']);
    expect(up.code).toBe(0);
    // Replace its database by one of another schema: same server, no VADC database.
    const plan = readStoreCluster(dir)!;
    await stopStoreMember(dir, 1);
    rmSync(plan.members[0].db);
    await new Promise<void>((resolve, reject) => execFile('ovsdb-tool', ['create', plan.members[0].db, path.join(ROOT, 'test/fixtures/ovsdb/cluster-test.ovsschema')], (e) => (e ? reject(e) : resolve())));
    await startStoreMember(dir, 1);
    const r = await vadc(['service', 'add', 'web', '--file', path.join(tmp, 'web.yaml'), '--cluster', plan.members[0].remote]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/serves no VADC database: not a vadc cluster store/);
  });

  it('a schema version this vadc cannot use: the CLI refuses, a host keeps its last policy and says why', async () => {
    const dir = path.join(tmp, 'v2');
    others.push(dir);
    const schema = JSON.parse(readFileSync(path.join(ROOT, 'schema/vadc.ovsschema'), 'utf8')) as { version: string };
    schema.version = '2.0.0';
    writeFileSync(path.join(tmp, 'v2.ovsschema'), JSON.stringify(schema));
    await vadcOk(['cluster', 'up', '--members', '1', '--dir', dir]);
    const plan = readStoreCluster(dir)!;
    await stopStoreMember(dir, 1);
    rmSync(plan.members[0].db);
    await new Promise<void>((resolve, reject) => execFile('ovsdb-tool', ['create', plan.members[0].db, path.join(tmp, 'v2.ovsschema')], (e) => (e ? reject(e) : resolve())));
    await startStoreMember(dir, 1);
    const r = await vadc(['service', 'remove', 'web', '--cluster', plan.members[0].remote]);
    // The version this vadc needs is its schema's (1.2.0 since the pair's configuration column), not a copy of it here.
    const needs = STORE_SCHEMA_VERSION.replace(/\./g, '\\.');
    expect(r.stderr).toMatch(new RegExp(`schema version mismatch: the store has ${STORE_DB} 2\\.0\\.0, this vadc needs 1\\.x \\(>= ${needs}\\): upgrade vadc`));
    const store = new ClusterStore({ remotes: plan.members[0].remote, host: 'h1', session: SESSION, publish: false });
    stores.push(store);
    let policies = 0;
    let lastProblem: string | undefined;
    store.on('policy', () => policies++);
    store.on('problem', (e) => (lastProblem = e.message));
    await untilValue(() => lastProblem, 'the version problem', WAIT_MS);
    expect(lastProblem).toMatch(/the last policy stays in force/);
    expect(policies).toBe(0);
  });
});

describe('store failures', () => {
  it('the leader killed: a change made right after the election reaches every host; two members down: read-only, last policy kept, cache serves it', async () => {
    const hosts = [new HostView('k1'), new HostView('k2', 'blue'), new HostView('k3')];
    await untilValue(() => hosts.every((h) => h.service('web')), 'hosts read web', WAIT_MS);
    const leader = await killStoreLeader(storeDir, remotes);
    const killedAt = leader.at;
    // The operator retries until the survivors have elected a leader; the write then reaches every host.
    const written = await retryUntilAccepted(['backend', 'weight', 'web', 'v-vm1', '3', '--scope', 'cluster', '--cluster', remotes]);
    expect(written).toBeGreaterThan(0);
    await untilValue(() => hosts.every((h) => h.service('web')?.backends.find((b) => b.name === 'v-vm1')?.weight === 3), 'weight 3 everywhere', WAIT_MS);
    console.log(`leader kill -> first accepted write ${written - killedAt} ms; -> on all 3 hosts ${Date.now() - written} ms after the write`);

    // Two of three members down: no quorum.
    const alive = readStoreCluster(storeDir)!.members.filter((m) => m.n !== leader.n);
    await stopStoreMember(storeDir, alive[0].n, true);
    const snapshotBefore = JSON.stringify(hosts[1].snapshot);
    const refused = await vadc(['backend', 'weight', 'web', 'v-vm1', '4', '--cluster', remotes]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/no quorum \(read-only|is its leader now|cannot use the cluster store/);
    await untilValue(() => hosts.every((h) => !h.store.connected), 'readers notice', 30_000);
    expect(JSON.stringify(hosts[1].snapshot)).toBe(snapshotBefore);
    expect(hosts[1].service('web')?.scheduler).toBe('wrr');
    // What a restarted host serves during the outage: its cache, merged again for it.
    const cache = path.join(tmp, 'k2.json');
    savePolicyCache(cache, { savedAt: Date.now(), remotes, snapshot: hosts[1].snapshot! });
    const loaded = loadPolicyCache(cache)!;
    expect(effectivePolicy(loaded.snapshot, { host: 'k2', group: 'blue' }).digest).toBe(hosts[1].policy?.digest);
    const config = path.join(tmp, 'k2.yaml');
    writeFileSync(config, `cluster:\n  remotes: ${remotes}\n  host: k2\n  group: blue\n  policy_cache: ${cache}\nservices: []\n`);
    const shown = await vadc(['config', 'show', '--effective', '--file', config]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^# effective policy of host k2 \(group blue\): the config file and the policy cache/);
    expect(shown.stdout).toMatch(/scheduler: wrr # group:blue/);

    // Back: the hosts resume and converge.
    for (const m of readStoreCluster(storeDir)!.members) await startStoreMember(storeDir, m.n);
    await untilValue(() => hosts.every((h) => h.store.connected), 'readers back', 30_000);
    await vadcOk(['backend', 'weight', 'web', 'v-vm1', '2', '--cluster', remotes]);
    await untilValue(() => hosts.every((h) => h.service('web')?.backends.find((b) => b.name === 'v-vm1')?.weight === 2), 'weight 2 everywhere', WAIT_MS);
  }, 120_000);
});
