// A service whose backends come and go (VMs that join by tag) keeps its other backends' health state: the
// bridge takes members in and lets them go instead of rebuilding the service's monitor.
import { LoadBalancerApp } from '../../../src/app';
import { parseConfig, type ServiceConfig } from '../../../src/config';
import type { SwitchInfo } from '../../../src/controller/types';
import { HealthBridge } from '../../../src/daemon/health-bridge';
import type { OfpPort } from '../../../src/openflow/types';
import type { VadcEvent } from '../../../src/runtime/types';
import { silentLogger } from '../../../src/util/logger';

function web(backends: string[], extra = ''): ServiceConfig[] {
  return parseConfig(`services:
  - name: web
    vip: 10.0.0.100
    port: 80
${extra}
    backends:
${backends.map((b, i) => `      - { vnic: ${b}, ip: 10.0.0.${11 + i}, ports: [8080] }`).join('\n')}
`, 't.yaml').services;
}

function switchWith(names: string[]): SwitchInfo {
  const ports = names.map((name, i): OfpPort => ({
    portNo: i + 1, name, hwAddr: `aa:00:00:00:00:0${i + 1}`, config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0,
  }));
  return {
    dpid: 1n, address: '127.0.0.1:1', connectedAt: 0,
    features: { type: 'features_reply', xid: 0, datapathId: 1n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0, reserved: 0 },
    ports: new Map(ports.map((p) => [p.portNo, p])),
    counters: { packetIns: 0, flowModsSent: 0, errorsReceived: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, withheld: 0 },
  };
}

describe('HealthBridge: members that come and go', () => {
  it('a backend that joins does not reset the others: a drain and a verdict survive it; one that leaves is forgotten', async () => {
    const first = web(['v-a', 'v-b']);
    const app = new LoadBalancerApp(first);
    const events: VadcEvent[] = [];
    const bridge = new HealthBridge({ app, logger: silentLogger(), emit: (e) => events.push({ time: 0, ...e }), deliver: () => undefined, now: Date.now });
    try {
      await bridge.setServices(first);
      app.switchUp(switchWith(['v-a', 'v-b', 'v-c']), 0);
      bridge.discoverySettled();
      bridge.drain('web', 'v-a');
      expect(bridge.stateOf('web', 'v-a')?.health).toBe('drained');
      expect(bridge.stateOf('web', 'v-b')?.health).toBe('up');

      const joined = web(['v-a', 'v-b', 'v-c']);
      app.setServices(joined, 0);
      const seen = events.length;
      await bridge.setServices(joined);
      expect(bridge.stateOf('web', 'v-a')?.health).toBe('drained');
      expect(bridge.stateOf('web', 'v-b')?.health).toBe('up');
      expect(bridge.stateOf('web', 'v-c')?.health).toBe('up');
      // Only the newcomer is news: the others were not judged again.
      expect(events.slice(seen).filter((e) => e.backend && e.backend !== 'v-c').map((e) => `${e.kind} ${e.backend}`)).toEqual([]);

      const left = web(['v-a', 'v-c']).map((s) => ({ ...s, backends: s.backends.map((b) => (b.vnic === 'v-c' ? { ...b, ip: '10.0.0.13' } : b)) }));
      app.setServices(left, 0);
      await bridge.setServices(left);
      expect(bridge.stateOf('web', 'v-b')).toBeUndefined();
      expect(bridge.stateOf('web', 'v-a')?.health).toBe('drained');
      expect(bridge.stateOf('web', 'v-c')?.health).toBe('up');
    } finally {
      await bridge.stop();
    }
  });

  it('any other change of the service still builds its monitor anew', async () => {
    const first = web(['v-a']);
    const app = new LoadBalancerApp(first);
    const bridge = new HealthBridge({ app, logger: silentLogger(), emit: () => undefined, deliver: () => undefined, now: Date.now });
    try {
      await bridge.setServices(first);
      app.switchUp(switchWith(['v-a']), 0);
      bridge.discoverySettled();
      bridge.drain('web', 'v-a');
      const changed = web(['v-a'], '    failover: { hold: 3 }');
      app.setServices(changed, 0);
      await bridge.setServices(changed);
      bridge.observeLocations();
      expect(bridge.stateOf('web', 'v-a')?.health).toBe('up');
    } finally {
      await bridge.stop();
    }
  });
});
