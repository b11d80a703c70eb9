// A cluster host's failover counts a remote backend (its vNIC on another host) by the verdict that host published, not
// by this host's own checks of it: before, a tier whose only healthy backend was remote was failed over here whenever
// this host's checks of it failed (or had stopped, as h3's did in the cluster-remote e2e at int42), while its host and
// this host's status said up. This host does not check remote backends at all now. Through the bridge and the app:
// "does a new connection reach the remote backend through the uplink?"
import type { RemoteBackendReport } from '../../../src/app';
import { HealthBridge } from '../../../src/daemon/health-bridge';
import type { CheckResult, CheckSpec } from '../../../src/health';
import { silentLogger } from '../../../src/util/logger';
import { AppHarness, backendYaml, delivered, fromClient, NAT_MODES, VMS } from '../../helpers/app-harness';
import { until } from '../../helpers/until';

const UPLINK = { ofport: 40, name: 'v-h1-up' };
const REMOTE = { vnic: 'v-h2vm1', ip: '10.0.0.21', mac: '02:0a:00:00:00:15' };
// Tier 0: the remote backend alone; tier 1: a local one.
const SERVICE = `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: rr
    health: { type: http, path: /, interval: 0.05, timeout: 0.02, rise: 1, fall: 1 }
    failover: { hold: 0 }
    backends:
      - { vnic: ${REMOTE.vnic}, ip: ${REMOTE.ip}, ports: [8080], tier: 0 }
${backendYaml('v-vm1', [8080], 'tier: 1')}
`;

const report = (health: string): RemoteBackendReport => ({ host: 'h2', service: 'web', backend: REMOTE.vnic, vnic: REMOTE.vnic, mac: REMOTE.mac, linkUp: true, health, reason: '' });

const REFUSED: CheckResult = { ok: false, reason: 'connection refused (ECONNREFUSED)', output: '', durationMs: 1 };
const PASSED: CheckResult = { ok: true, reason: 'HTTP 200', output: '', durationMs: 1 };

/**
 * The real HealthBridge on the app, its checks answered by `passes(host)` (each checked host noted in `checked`), started
 * with the remote backend's host saying up; `servedBy`: where a new connection goes.
 */
async function startBridge(h: AppHarness, passes: (host: string) => boolean, firstClient: number) {
  const checked: string[] = [];
  const checker = async (spec: CheckSpec): Promise<CheckResult> => {
    const host = spec.kind === 'script' ? '' : spec.host;
    checked.push(host);
    return passes(host) ? PASSED : REFUSED;
  };
  const bridge = new HealthBridge({ app: h.app, logger: silentLogger(), emit: (e) => h.events.push({ time: h.now, ...e }), deliver: (b) => h.install(b), now: () => h.now, checker });
  let client = firstClient;
  const servedBy = () => delivered(h.send(fromClient(client++)).outcomes).port;
  await bridge.setServices(h.app.serviceStates().map((s) => s.config));
  h.install(h.app.setRemoteBackends([report('up')], h.now));
  bridge.discoverySettled();
  return { bridge, checked, servedBy };
}

describe.each(NAT_MODES.map((m) => [m.name, m] as const))("a remote backend's tier follows its host's published verdict (%s)", (_name, mode) => {
  it('served while its host says up though this host could not reach it, failed over when it says down, and back', async () => {
    const h = new AppHarness(mode, SERVICE, { uplink: UPLINK });
    // This host's checks of the remote address are refused (were it checking it): only its host's verdict may count.
    const { bridge, checked, servedBy } = await startBridge(h, (host) => host !== REMOTE.ip, 30000);
    try {
      // Several rounds of checks: the local backend's verdict is in, and this host's checks of the remote one, were
      // there any, would have failed it (fall 1).
      await until(() => checked.filter((ip) => ip === VMS['v-vm1'].ip).length >= 3, 'three checks of the local backend', 20_000, { pollMs: 5 });
      expect(bridge.stateOf('web', 'v-vm1')?.health).toBe('up');
      expect([servedBy(), servedBy()]).toEqual([UPLINK.ofport, UPLINK.ofport]);
      expect(checked.filter((ip) => ip === REMOTE.ip)).toEqual([]);
      expect(bridge.lastCheckOf('web', REMOTE.vnic)).toBeUndefined();

      h.install(h.app.setRemoteBackends([report('down')], h.now));
      bridge.observeLocations();
      expect([servedBy(), servedBy()]).toEqual([VMS['v-vm1'].ofport, VMS['v-vm1'].ofport]);
      expect(h.events.filter((e) => e.kind === 'failover').map((e) => e.message)).toHaveLength(1);

      h.install(h.app.setRemoteBackends([report('up')], h.now));
      bridge.observeLocations();
      expect([servedBy(), servedBy()]).toEqual([UPLINK.ofport, UPLINK.ofport]);
      expect(h.events.filter((e) => e.kind === 'failback')).toHaveLength(1);
      expect(checked.filter((ip) => ip === REMOTE.ip)).toEqual([]);
    } finally {
      await bridge.stop();
    }
  });
  // Moved from test/unit/app/remote-backends.test.ts with BackendState.inRoutedTier (fd3cf17): the app kept a remote
  // backend in its tier's rotation when this host's routing left it out on this host's own checks. The routing now
  // lists it by its host's verdict, so the app follows the routing for remote and local backends alike.
  it('in a tier with a local backend: served while its host says up and the local one fails here, never checked here', async () => {
    // Tier 0: the remote backend and local vm1; tier 1: local vm2, which takes over only if tier 0 has none up.
    const h = new AppHarness(mode, SERVICE.replace('tier: 1 }', `tier: 0 }\n${backendYaml('v-vm2', [8080], 'tier: 1')}`), { uplink: UPLINK });
    // vm1's checks fail (it is down), as would the remote one's, were this host checking it; vm2's pass.
    const { bridge, checked, servedBy } = await startBridge(h, (host) => host === VMS['v-vm2'].ip, 31000);
    try {
      await until(() => bridge.stateOf('web', 'v-vm1')?.health === 'down', 'the local backend failed by its check', 20_000, { pollMs: 5 });
      expect([servedBy(), servedBy(), servedBy()]).toEqual([UPLINK.ofport, UPLINK.ofport, UPLINK.ofport]);
      expect(checked.filter((ip) => ip === REMOTE.ip)).toEqual([]);
      expect(h.events.filter((e) => e.kind === 'failover')).toEqual([]);
      // Its host says down: tier 0 has no backend up, and tier 1 serves.
      h.install(h.app.setRemoteBackends([report('down')], h.now));
      bridge.observeLocations();
      expect([servedBy(), servedBy()]).toEqual([VMS['v-vm2'].ofport, VMS['v-vm2'].ofport]);
    } finally {
      await bridge.stop();
    }
  });
});
