/**
 * A vadc host in a cluster, on real Open vSwitch and a real 3-member Raft cluster of ovsdb-server: the daemon's
 * config file has no services (`services: []`) and a `cluster:` key; the operator writes policy with the CLI
 * (`vadc service|backend ... --cluster`), and clients in the lab reach what the store's policy says. The
 * store's failures: the leader killed during steady traffic (no failed request; a change made right after the
 * election reaches the host), two members down (the host keeps serving, says read-only; a vadc restarted
 * during the outage serves its cached policy), and the members back (the host converges). A NAT-mode override
 * of the host's group: a vadc whose file leaves datapath.nat to auto runs it from its next start.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ClusterStatusView } from '../../src/cluster';
import { parseConfig } from '../../src/config';
import { probeVswitchd } from '../../src/daemon/vswitchd-probe';
import { VadcDaemon } from '../../src/daemon/daemon';
import { Lab, readStoreCluster, startStoreMember, stopStoreMember, storeClusterDown, storeClusterStatus, type LabServer } from '../../src/lab';
import type { VadcEvent } from '../../src/runtime/types';
import { fetchVia, sleep, vipOf, waitFor } from '../helpers/health-lab';
import { ConnectionHolder } from '../helpers/sched-clients';
import { switchSynced } from '../helpers/switch-synced';
import { datapathYaml, e2eNatMode } from '../helpers/nat-mode';
import { killStoreLeader, retryUntilAccepted, vadcOk } from '../helpers/vadc-cli';
import { untilValue } from '../helpers/until';

/** The bound of this file's waits (each ends only a failing test). */
const WAIT_MS = 20_000;

const SESSION = { backoffInitialMs: 100, backoffMaxMs: 1000, handshakeTimeoutMs: 5000 };

let lab: Lab;
let tmp: string;
let storeDir: string;
let remotes: string;
let host: HostDaemon | undefined;
const servers: LabServer[] = [];

/** A vadc daemon (in-process) of cluster host h1, group blue, with every event it reported. */
class HostDaemon {
  readonly events: VadcEvent[] = [];

  private constructor(readonly daemon: VadcDaemon) {
    daemon.bus.on('event', (e: VadcEvent) => this.events.push(e));
  }

  /** `datapath` is the config's datapath line (default: the suite's NAT mode, named in the file). */
  static async start(datapath = datapathYaml(lab.vswitchdControlSocket)): Promise<HostDaemon> {
    const text = `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
${datapath}
ovsdb: unix:${lab.ovsdbSocket}
cluster: { remotes: "${remotes}", host: h1, group: blue, policy_cache: ${path.join(tmp, 'h1-policy.json')} }
services: []
`;
    const daemon = new VadcDaemon({
      config: parseConfig(text, 'cluster host e2e'), configText: text, statsIntervalMs: 250, healthSourceAddress: lab.localIp, clusterSession: SESSION,
    });
    const under = new HostDaemon(daemon);
    const [target] = await daemon.start();
    await lab.setController(target);
    await waitFor(() => switchSynced(daemon.status()), 15_000, 'the switch to connect');
    return under;
  }

  waitEvent(match: (e: VadcEvent) => boolean, what: string, from = 0, timeoutMs = 20_000): Promise<VadcEvent> {
    let found: VadcEvent | undefined;
    return waitFor(() => (found = this.events.slice(from).find(match)) !== undefined, timeoutMs, `event: ${what}`).then(() => found!);
  }

  scheduler(service: string): string | undefined {
    return this.daemon.services().find((s) => s.name === service)?.scheduler;
  }

  async stop(): Promise<void> {
    await this.daemon.stop();
    await lab.ofctl('del-flows', 'cookie=0xadc0400000000000/0xfffff00000000000');
  }
}

/** Fresh connections to the VIP from cl1, one every `everyMs`, until stop(): how many answered and failed. */
function steadyTraffic(everyMs = 100): { stop: () => Promise<{ ok: number; failed: number; errors: string[] }> } {
  let stopped = false;
  const result = { ok: 0, failed: 0, errors: [] as string[] };
  const loop = (async () => {
    while (!stopped) {
      try {
        await fetchVia(lab, 'cl1');
        result.ok++;
      } catch (err) {
        result.failed++;
        result.errors.push((err as Error).message);
      }
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return result;
    },
  };
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'vadc-chost-'));
  storeDir = path.join(tmp, 'store');
  lab = await Lab.up({ name: 'ch', vms: 2, clients: 1, waitForHostMs: 600_000 });
  for (const vm of ['vm1', 'vm2']) servers.push(await lab.startHttpServer(vm, 8080));
  remotes = (JSON.parse(await vadcOk(['cluster', 'up', '--members', '3', '--dir', storeDir, '--name', 'e2e', '--json'])) as { remotes: string }).remotes;
  const backend = (vm: string) => `  - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8080] }`;
  writeFileSync(path.join(tmp, 'web.yaml'), `name: web\nvip: ${vipOf(lab)}\nport: 80\nscheduler: rr\nfin_timeout: 1\nbackends:\n${backend('vm1')}\n${backend('vm2')}\n`);
  host = await HostDaemon.start();
}, 660_000);

afterAll(async () => {
  await host?.stop().catch(() => undefined);
  for (const s of servers) await s.stop().catch(() => undefined);
  if (storeDir) await storeClusterDown(storeDir).catch(() => undefined);
  await lab?.down();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe(`a cluster host serves the store's policy (real OVS, real Raft cluster; NAT by ${e2eNatMode()})`, () => {
  it('a service added once at cluster scope is served; group overrides apply to its group only; drains follow the store', async () => {
    const h = host!;
    await h.waitEvent((e) => e.kind === 'cluster_connected', 'the store answers');
    expect(h.daemon.status().cluster).toMatchObject({ host: 'h1', group: 'blue', connected: true, readOnly: false });

    const from = h.events.length;
    const invoked = Date.now();
    await vadcOk(['service', 'add', 'web', '--file', path.join(tmp, 'web.yaml'), '--cluster', remotes]);
    const written = Date.now();
    const applied = await h.waitEvent((e) => e.kind === 'cluster_policy_applied' && (e.data?.services as string[]).includes('web'), 'web applied', from);
    let answered = 0;
    for (let i = 0; i < 100 && !answered; i++) {
      try {
        await fetchVia(lab, 'cl1');
        answered = Date.now();
      } catch {
        await sleep(50);
      }
    }
    expect(answered).toBeGreaterThan(0);
    console.log(`[cluster host e2e] service add: the CLI ran ${written - invoked} ms; the host applied it ${applied.time - invoked} ms after the CLI started (${applied.time - written} ms after it exited); first client answer ${answered - written} ms after it exited`);
    expect(h.daemon.status().cluster).toMatchObject({ source: 'store', problems: [] });
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await fetchVia(lab, 'cl1')).split(' ')[0]);
    expect([...seen].sort()).toEqual(['vm1', 'vm2']);

    // The host publishes what it serves: its digest and the backends whose vNICs are on its bridge.
    await sleep(300);
    h.daemon.cluster!.publish();
    const digest = h.daemon.status().cluster!.policy;
    const published = await untilValue(async () => {
      const status = JSON.parse(await vadcOk(['cluster', 'status', '--cluster', remotes, '--json'])) as ClusterStatusView;
      const row = status.hosts?.find((x) => x.host === 'h1');
      return row && row.policy === digest && row.backends.length === 2 ? row : undefined;
    }, 'h1 reported in the store', WAIT_MS, { pollMs: 200 });
    expect(published).toMatchObject({ group: 'blue', services: 1, nat: e2eNatMode(), problems: [] });
    expect(published.backends.map((b) => `${b.backend}:${b.linkUp}`).sort()).toEqual([`${lab.host('vm1').port}:true`, `${lab.host('vm2').port}:true`]);

    await vadcOk(['service', 'add', 'web', '--scheduler', 'lc', '--scope', 'group:red', '--cluster', remotes]);
    await vadcOk(['service', 'add', 'web', '--scheduler', 'wrr', '--scope', 'group:blue', '--cluster', remotes]);
    await waitFor(() => h.scheduler('web') === 'wrr', 5000, 'the blue override');
    await vadcOk(['service', 'remove', 'web', '--scope', 'group:blue', '--cluster', remotes]);
    await waitFor(() => h.scheduler('web') === 'rr', 5000, 'the override removed');

    const vm1 = lab.host('vm1').port;
    await vadcOk(['backend', 'drain', 'web', vm1, '--cluster', remotes]);
    await waitFor(() => h.daemon.service('web').backends.find((b) => b.id === vm1)?.health === 'drained', 10_000, `${vm1} drained`);
    for (let i = 0; i < 4; i++) expect((await fetchVia(lab, 'cl1')).split(' ')[0]).toBe('vm2');
    await vadcOk(['backend', 'enable', 'web', vm1, '--cluster', remotes]);
    await waitFor(() => h.daemon.service('web').backends.find((b) => b.id === vm1)?.health === 'up', 10_000, `${vm1} enabled`);

    // What the store serves is changed in the store: the local API says so.
    await expect(h.daemon.setWeight('web', vm1, 3)).rejects.toThrow(/service web comes from the cluster store: change it there/);
  }, 120_000);

  it('the leader killed during steady traffic: no failed request, and a change made right after the election reaches the host', async () => {
    const h = host!;
    // A connection held open across the change: the change is of the scheduler, and a connection in flight then
    // must keep its backend (flows mode once deleted its flows with the service's old state, and its next segment met
    // a RST: the ECONNRESET the steady traffic's request in flight got now and then under load).
    const holder = ConnectionHolder.start(lab, 'cl1');
    try {
      const held = await holder.open(vipOf(lab));
      const traffic = steadyTraffic();
      await sleep(1000);
      const leader = await killStoreLeader(storeDir, remotes);
      const killedAt = leader.at;
      const written = await retryUntilAccepted(['service', 'add', 'web', '--scheduler', 'wrr', '--scope', 'host:h1', '--cluster', remotes]);
      expect(written).toBeGreaterThan(0);
      await waitFor(() => h.scheduler('web') === 'wrr', 5000, 'the host override after the election');
      const reached = Date.now();
      await sleep(1000);
      const result = await traffic.stop();
      const again = await holder.request(held).then((served) => served.vm, (err: Error) => err.message);
      console.log(`[cluster host e2e] leader killed: first accepted write after ${written - killedAt} ms, on the host ${reached - written} ms later; traffic ${result.ok} ok, ${result.failed} failed; `
        + `the connection held across the scheduler change: ${held.vm} -> ${again}`);
      await startStoreMember(storeDir, leader.n);
      expect(result.errors).toEqual([]);
      expect(result.ok).toBeGreaterThanOrEqual(5); // traffic did flow (one request at a time: 10 were seen on a loaded machine)
      expect(again).toBe(held.vm);
    } finally {
      await holder.stop();
    }
  }, 120_000);

  it('no quorum: the host keeps serving and says read-only; restarted during the outage it serves its cached policy; then converges', async () => {
    let h = host!;
    const digest = h.daemon.status().cluster!.policy;
    const members = readStoreCluster(storeDir)!.members;
    const from = h.events.length;
    await stopStoreMember(storeDir, members[0].n, true);
    await stopStoreMember(storeDir, members[1].n, true);
    // A lone member still calls itself connected until its first election fails (about two election timers).
    await untilValue(async () => {
      const survivor = (await storeClusterStatus(storeDir)).find((m) => m.running);
      return survivor && survivor.status !== 'cluster member' ? survivor.status : undefined;
    }, 'the survivor to know it has no quorum', 30_000, { pollMs: 200 });
    await h.waitEvent((e) => e.kind === 'cluster_unreachable', 'the outage noticed', from, 30_000);
    await waitFor(() => !h.daemon.status().cluster!.connected, 30_000, 'the host to see the store read-only');
    expect(h.daemon.status().cluster).toMatchObject({ connected: false, readOnly: true, source: 'store', policy: digest });
    expect((await fetchVia(lab, 'cl1')).split(' ')[0]).toMatch(/^vm[12]$/);

    await h.stop();
    host = undefined;
    h = await HostDaemon.start();
    host = h;
    await h.waitEvent((e) => e.kind === 'cluster_policy_cached', 'the cached policy served');
    expect(h.daemon.status().cluster).toMatchObject({ readOnly: true, source: 'cache', policy: digest });
    expect(h.scheduler('web')).toBe('wrr');
    let answered = false;
    for (let i = 0; i < 100 && !answered; i++) {
      answered = await fetchVia(lab, 'cl1').then(() => true, () => false);
      if (!answered) await sleep(100);
    }
    expect(answered).toBe(true);

    for (const m of members.slice(0, 2)) await startStoreMember(storeDir, m.n);
    await h.waitEvent((e) => e.kind === 'cluster_connected', 'the store back', 0, 60_000);
    await waitFor(() => h.daemon.status().cluster!.source === 'store', 10_000, 'the store policy');
    // A member restarted after the outage may still be catching up with the log (its policy older). The host keeps
    // the log position with its cache and reads only from members not behind it: its first read from the store is
    // the policy of before the outage, and it never applied another one on the way.
    expect(h.daemon.status().cluster).toMatchObject({ readOnly: false, policy: digest });
    expect(h.events.filter((e) => e.kind === 'cluster_policy_applied' && e.data?.source === 'store').map((e) => e.data?.digest)).toEqual([]);
    await vadcOk(['service', 'remove', 'web', '--scope', 'host:h1', '--cluster', remotes]);
    await waitFor(() => h.scheduler('web') === 'rr', 10_000, 'a change after the outage');
  }, 180_000);
});

describe('a NAT-mode override of the host\'s group (real OVS, real Raft cluster)', () => {
  const cache = () => path.join(tmp, 'h1-policy.json');
  /** The NAT mode the policy cache holds for group blue. */
  const cachedBlueNat = (): string | undefined => {
    const saved = JSON.parse(readFileSync(cache(), 'utf8')) as { snapshot: { groups: Array<{ name: string; nat?: string }> } };
    return saved.snapshot.groups.find((g) => g.name === 'blue')?.nat;
  };
  /** h1's NAT mode as the store has its report (`vadc cluster status --json`). */
  const publishedNat = (h: HostDaemon, nat: string) => untilValue(async () => {
    h.daemon.cluster!.publish();
    const status = JSON.parse(await vadcOk(['cluster', 'status', '--cluster', remotes, '--json'])) as ClusterStatusView;
    const row = status.hosts?.find((x) => x.host === 'h1');
    return row?.nat === nat ? row.nat : undefined;
  }, `h1 reported in the store with NAT mode ${nat}`, WAIT_MS, { pollMs: 200 });
  const answers = async () => {
    for (let i = 0; i < 100; i++) {
      const ok = await fetchVia(lab, 'cl1').then(() => true, () => false);
      if (ok) return true;
      await sleep(100);
    }
    return false;
  };
  /** Restarts h1's vadc with `datapath.nat` left to auto (ovs-appctl reaches the lab's ovs-vswitchd). */
  const restartAuto = async (): Promise<HostDaemon> => {
    await host!.stop();
    host = undefined;
    host = await HostDaemon.start(`datapath: { appctl: ${lab.vswitchdControlSocket} }`);
    return host;
  };

  it('the file names the mode: it wins and the host says so; with datapath.nat left to auto the next start runs the group\'s mode, even against the probe', async () => {
    let h = host!;
    await h.waitEvent((e) => e.kind === 'cluster_connected', 'the store answers', 0, 60_000);
    expect(e2eNatMode()).toBe('flows'); // this file has no conntrack twin: the steps below start from flows
    // datapath.nat: auto alone would choose conntrack here: the lab's ovs-vswitchd answers on its unixctl socket.
    expect(probeVswitchd(lab.vswitchdControlSocket).reachable).toBe(true);

    // 1. The file says flows: the store's conntrack for group blue is reported, not applied.
    let from = h.events.length;
    await vadcOk(['cluster', 'nat', 'conntrack', '--scope', 'group:blue', '--cluster', remotes]);
    const pending = await h.waitEvent((e) => e.kind === 'cluster_nat_pending', 'the file\'s mode reported against the store\'s', from);
    expect(pending.data).toEqual({ store: 'conntrack', from: 'group:blue', runs: 'flows', chosenBy: 'file' });
    expect(pending.message).toMatch(/the file wins/);
    expect(h.daemon.status().datapath.nat).toBe('flows');

    // 2. Group blue set to flows; datapath.nat left to auto: the next start runs flows from the cache, not the
    // probe's conntrack.
    await vadcOk(['cluster', 'nat', 'flows', '--scope', 'group:blue', '--cluster', remotes]);
    await waitFor(() => cachedBlueNat() === 'flows', 10_000, 'the policy cache to hold group blue\'s flows');
    h = await restartAuto();
    expect(h.daemon.status().datapath).toMatchObject({
      nat: 'flows', reason: `datapath.nat: auto, and the cluster policy cached in ${cache()} sets flows for this host (group:blue)`,
    });
    expect(await answers()).toBe(true);
    await publishedNat(h, 'flows');

    // 3. The group's mode changed while it runs: a restart applies it by itself (flows -> conntrack on this bridge).
    from = h.events.length;
    await vadcOk(['cluster', 'nat', 'conntrack', '--scope', 'group:blue', '--cluster', remotes]);
    const again = await h.waitEvent((e) => e.kind === 'cluster_nat_pending', 'the new group mode reported', from);
    expect(again.data).toEqual({ store: 'conntrack', from: 'group:blue', runs: 'flows', chosenBy: 'cache' });
    expect(again.message).toMatch(/a restart applies it/);
    await waitFor(() => cachedBlueNat() === 'conntrack', 10_000, 'the policy cache to hold group blue\'s conntrack');
    h = await restartAuto();
    expect(h.daemon.status().datapath).toMatchObject({ nat: 'conntrack', reason: expect.stringContaining(`cached in ${cache()} sets conntrack for this host (group:blue)`) });
    expect(await answers()).toBe(true);
    await publishedNat(h, 'conntrack');
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await fetchVia(lab, 'cl1')).split(' ')[0]);
    expect([...seen].sort()).toEqual(['vm1', 'vm2']);

    // 4. Back to flows on the bridge conntrack mode left: flows mode deletes conntrack's table-0 reply flows (they
    // outrank its RETURN flows), so fresh connections to both VMs are answered from the VIP again.
    await vadcOk(['cluster', 'nat', 'flows', '--scope', 'group:blue', '--cluster', remotes]);
    await waitFor(() => cachedBlueNat() === 'flows', 10_000, 'the policy cache to hold group blue\'s flows again');
    h = await restartAuto();
    expect(h.daemon.status().datapath.nat).toBe('flows');
    expect(await answers()).toBe(true);
    await publishedNat(h, 'flows');
    const seenAgain = new Set<string>();
    for (let i = 0; i < 6; i++) seenAgain.add((await fetchVia(lab, 'cl1')).split(' ')[0]);
    expect([...seenAgain].sort()).toEqual(['vm1', 'vm2']);
    console.log('[cluster host e2e] group NAT override: the file\'s flows kept; auto ran flows from the cache (the probe alone: conntrack), then conntrack after the group changed, then flows again on the bridge conntrack left');
    await vadcOk(['cluster', 'nat', 'unset', '--scope', 'group:blue', '--cluster', remotes]);
  }, 240_000);
});
