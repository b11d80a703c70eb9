// vadc's own health checks and outlier probes connect to the backends directly from the host, so a stopped server's
// refusals of them (RST+ACK, sequence 0) reach a `decisions: datapath` service's end copies like refusals of connections
// the select group placed. The health bridge tells the app where the checks may come from (the configured source
// addresses and the host's own), and those refusals eject nothing; on real OVS they had ejected the port (dd3, 2026-12-05).
import { HealthBridge, type HealthBridgeOptions } from '../../../src/daemon/health-bridge';
import { silentLogger } from '../../../src/util/logger';
import { AppHarness, backendYaml, fromBackend, LOCAL_MAC, NAT_MODES, VMS } from '../../helpers/app-harness';

const CONNTRACK = NAT_MODES[1];
const RST_ACK = 0x14;
const SERVICE = `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: rr
    decisions: datapath
    backends:
${backendYaml('v-vm1', [8080])}
${backendYaml('v-vm2', [8080])}
`;

async function withBridge(opts: Partial<HealthBridgeOptions>, run: (h: AppHarness) => void): Promise<void> {
  const h = new AppHarness(CONNTRACK, SERVICE);
  const bridge = new HealthBridge({ app: h.app, logger: silentLogger(), emit: () => undefined, deliver: (b) => h.install(b), now: () => h.now, ...opts });
  try {
    run(h);
  } finally {
    await bridge.stop();
  }
}

/**
 * vm2's answers to `n` SYNs from `dstIp` (its server stopped: RST+ACK, sequence 0), 300 ms apart, then a tracker
 * reading (where the tracker is read, refusals are judged at the reading after them); the ejections so far.
 */
function refusals(h: AppHarness, dstIp: string, n: number, firstPort: number): string[] {
  for (let i = 0; i < n; i++) {
    h.now += 300;
    h.send(fromBackend('v-vm2', firstPort + i, { flags: RST_ACK, seq: 0, dstIp, dstMac: LOCAL_MAC }), VMS['v-vm2'].ofport);
  }
  h.install(h.app.applyAccounting({ source: 'tracker', entries: h.trackerListing() }, h.now));
  return h.events.filter((e) => e.kind === 'outlier_ejected').map((e) => e.backend ?? '');
}

describe("HealthBridge: where vadc's own checks come from", () => {
  it('refusals sent to the configured source address or to one of the host\'s addresses eject nothing; to a client, three do', async () => {
    await withBridge({ sourceAddresses: { ipv4: '10.0.0.2' }, hostAddresses: () => ['10.0.0.1', 'fd00::1'] }, (h) => {
      expect(refusals(h, '10.0.0.2', 5, 40000)).toEqual([]);
      expect(refusals(h, '10.0.0.1', 5, 41000)).toEqual([]);
      expect(h.endCopies).toBe(10);
      expect(refusals(h, '10.0.0.101', 3, 42000)).toEqual(['v-vm2']);
    });
  });

  it("by default the host's addresses are its interfaces' (loopback's 127.0.0.1 among them)", async () => {
    await withBridge({}, (h) => {
      expect(refusals(h, '127.0.0.1', 5, 40000)).toEqual([]);
      expect(h.endCopies).toBe(5);
      expect(refusals(h, '10.0.0.101', 3, 42000)).toEqual(['v-vm2']);
    });
  });
});
