// The daemon's bridge between the LB app and the health monitors: a backend not located yet is not
// "absent" until discovery has settled, so no launch hook runs merely because the switch is not up yet.
import { parseConfig } from '../../../src/config';
import { LoadBalancerApp } from '../../../src/app';
import type { SwitchInfo } from '../../../src/controller/types';
import { HealthBridge } from '../../../src/daemon/health-bridge';
import type { OfpPort } from '../../../src/openflow/types';
import type { CheckSpec } from '../../../src/health';
import type { VadcEvent } from '../../../src/runtime/types';
import { silentLogger } from '../../../src/util/logger';
import { until } from '../../helpers/until';

const SERVICES = parseConfig(`
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    launch: { command: "exit 0", timeout: 5 }
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080], tier: 0 }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080], tier: 1 }
`, 'test').services;

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

async function bridgeFor(): Promise<{ bridge: HealthBridge; app: LoadBalancerApp; events: VadcEvent[] }> {
  const app = new LoadBalancerApp(SERVICES);
  const events: VadcEvent[] = [];
  const bridge = new HealthBridge({ app, logger: silentLogger(), emit: (e) => events.push({ time: 0, ...e }), deliver: () => undefined, now: Date.now });
  await bridge.setServices(SERVICES);
  return { bridge, app, events };
}

const launches = (events: VadcEvent[]) => events.filter((e) => e.kind === 'launch_started').map((e) => e.backend);

describe('HealthBridge vNIC discovery', () => {
  it('launches nothing while no switch has reported its ports', async () => {
    const { bridge, events } = await bridgeFor();
    try {
      expect(launches(events)).toEqual([]);
      expect(bridge.stateOf('web', 'v-vm1')?.health).toBe('unknown');
    } finally {
      await bridge.stop();
    }
  });

  it('before discovery settles, a located backend is reported and an unlocated one is not', async () => {
    const { bridge, app, events } = await bridgeFor();
    try {
      app.switchUp(switchWith(['v-vm1']), 0);
      bridge.observeLocations();
      expect(bridge.stateOf('web', 'v-vm1')?.health).toBe('up');
      expect(bridge.stateOf('web', 'v-vm2')?.health).toBe('unknown');
      expect(launches(events)).toEqual([]);
    } finally {
      await bridge.stop();
    }
  });

  it('once discovery settles, a located primary serves and the absent secondary is left alone', async () => {
    const { bridge, app, events } = await bridgeFor();
    try {
      app.switchUp(switchWith(['v-vm1']), 0);
      bridge.discoverySettled();
      expect(bridge.stateOf('web', 'v-vm1')?.health).toBe('up');
      expect(bridge.stateOf('web', 'v-vm2')).toMatchObject({ health: 'down', reason: 'vNIC absent from OVSDB' });
      expect(launches(events)).toEqual([]);
    } finally {
      await bridge.stop();
    }
  });

  it('once discovery settles with the primary absent too, the primary is launched (lowest tier first)', async () => {
    const { bridge, app, events } = await bridgeFor();
    try {
      app.switchUp(switchWith([]), 0);
      bridge.discoverySettled();
      expect(launches(events)).toEqual(['v-vm1']);
    } finally {
      await bridge.stop();
    }
  });
});

/** Service web checked by a script a minute apart, with backend v-vm1: `service` and `backend` add YAML to each. */
const checkedService = (service: string, backend = '') => parseConfig(`
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    ${service}
    health: { type: script, command: "exit 0", interval: 60, timeout: 5, rise: 1, fall: 1 }
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080]${backend} }
`, 'test').services;

describe('HealthBridge across a config change', () => {
  it('a service rebuilt for another scheduler keeps its backends\' verdicts (the health section unchanged): no refusals until the next check', async () => {
    const yaml = (scheduler: string) => checkedService(`scheduler: ${scheduler}`);
    const app = new LoadBalancerApp(yaml('rr'));
    const bridge = new HealthBridge({ app, logger: silentLogger(), emit: () => undefined, deliver: () => undefined, now: Date.now });
    const healthy = () => app.serviceStates()[0].backends.get('v-vm1')?.healthy;
    try {
      await bridge.setServices(yaml('rr'));
      app.switchUp(switchWith(['v-vm1']), 0);
      bridge.discoverySettled();
      // The first check is a script (a shell spawned): on a loaded machine that took more than the 5 s waited before.
      await until(() => bridge.stateOf('web', 'v-vm1')?.health === 'up', 'v-vm1 up', 20_000, { detail: () => `it is ${bridge.stateOf('web', 'v-vm1')?.health}` });
      expect(healthy()).toBe(true);

      // The next check is a minute away: before, the rebuilt monitor started at 'unknown' and the backend was out.
      app.setServices(yaml('wrr'), 1);
      await bridge.setServices(yaml('wrr'));
      expect(bridge.stateOf('web', 'v-vm1')?.health).toBe('up');
      expect(healthy()).toBe(true);
    } finally {
      await bridge.stop();
    }
  });
});

describe('HealthBridge across a weight change', () => {
  it('a backend whose weight alone changed keeps its verdict and stays in the rotation until its next check', async () => {
    const yaml = (weight: number) => checkedService('', `, weight: ${weight}`);
    const app = new LoadBalancerApp(yaml(1));
    const bridge = new HealthBridge({ app, logger: silentLogger(), emit: () => undefined, deliver: () => undefined, now: Date.now });
    const healthy = () => app.serviceStates()[0].backends.get('v-vm1')?.healthy;
    try {
      await bridge.setServices(yaml(1));
      app.switchUp(switchWith(['v-vm1']), 0);
      bridge.discoverySettled();
      await until(() => bridge.stateOf('web', 'v-vm1')?.health === 'up', 'the first check passes', 20_000);
      expect(healthy()).toBe(true);

      // The next check is a minute away: before, the bridge removed and added the backend, which the monitor judged
      // afresh ('unknown') and the app took out of the rotation until then.
      app.setServices(yaml(5), 1);
      bridge.retire(yaml(5));
      await bridge.setServices(yaml(5));
      expect(bridge.stateOf('web', 'v-vm1')?.health).toBe('up');
      expect(healthy()).toBe(true);
      expect(app.serviceStates()[0].lb.backendById('v-vm1')?.weight).toBe(5);
    } finally {
      await bridge.stop();
    }
  });
});

describe('HealthBridge.retire: in the same turn as the app takes a new service list', () => {
  it('drops the monitors of a removed service and a removed backend at once, so none speaks of them to the app', async () => {
    const config = (backends: string, extra = '') => parseConfig(`
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends:
${backends}
${extra}`, 'test').services;
    const both = '      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }\n      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080] }';
    const alt = '  - { name: alt, vip: 10.0.0.101, port: 80, backends: [{ vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }] }';
    const before = config(both, alt);
    const after = config('      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }');
    const app = new LoadBalancerApp(before);
    const bridge = new HealthBridge({ app, logger: silentLogger(), emit: () => undefined, deliver: () => undefined, now: Date.now });
    try {
      await bridge.setServices(before);
      app.switchUp(switchWith(['v-vm1', 'v-vm2']), 0);
      bridge.discoverySettled();
      app.setServices(after, 1);
      bridge.retire(after);
      // Synchronously: alt's monitor and web's v-vm2 are gone from the bridge (before, they stayed until setServices
      // had stopped monitors one await at a time, and their events reached an app that had dropped them).
      expect(bridge.stateOf('alt', 'v-vm1')).toBeUndefined();
      expect(bridge.stateOf('web', 'v-vm2')).toBeUndefined();
      expect(bridge.stateOf('web', 'v-vm1')?.health).toBe('up');
      // The vNICs change meanwhile (the daemon looks them up between the two steps): nothing throws.
      app.switchUp(switchWith(['v-vm1']), 2);
      expect(() => bridge.observeLocations()).not.toThrow();
      await bridge.setServices(after);
      expect(bridge.stateOf('web', 'v-vm1')?.health).toBe('up');
    } finally {
      await bridge.stop();
    }
  });
});

describe('HealthBridge with a dual-stack service', () => {
  it('a backend whose IPv6 check fails serves the IPv4 VIP and is out of the IPv6 VIP only, and back in it once IPv6 passes', async () => {
    const services = parseConfig(`
services:
  - name: api
    vip: 10.0.0.100
    vip6: "fd00::100"
    port: 80
    health: { type: tcp, interval: 0.05, timeout: 0.02, rise: 1, fall: 1 }
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ip6: "fd00::11", ports: [8080] }
      - { vnic: v-vm2, ip: 10.0.0.12, ip6: "fd00::12", ports: [8080] }
`, 'test').services;
    let ipv6Broken = true;
    const checked = new Set<string>();
    const checker = async (spec: CheckSpec) => {
      const host = 'host' in spec ? spec.host : '';
      checked.add(host);
      const ok = !(ipv6Broken && host === 'fd00::12');
      return { ok, reason: ok ? `connected to ${host}` : 'connection refused (ECONNREFUSED)', output: '', durationMs: 1 };
    };
    const app = new LoadBalancerApp(services);
    const events: VadcEvent[] = [];
    const bridge = new HealthBridge({ app, logger: silentLogger(), emit: (e) => events.push({ time: 0, ...e }), deliver: () => undefined, now: Date.now, checker });
    const healthy = () => ['v-vm1', 'v-vm2'].map((b) => app.serviceStates()[0].backends.get(b)?.healthy);
    // Whether each backend takes new IPv4 / IPv6 connections (the scheduler's view: one member per backend, both VIPs).
    const takes = () => ['v-vm1', 'v-vm2'].map((b) => {
      const member = app.serviceStates()[0].lb.backendById(b)!;
      return [member.eligibleFor(false), member.eligibleFor(true)];
    });
    try {
      await bridge.setServices(services);
      app.switchUp(switchWith(['v-vm1', 'v-vm2']), 0);
      bridge.discoverySettled();
      await until(() => JSON.stringify(takes()) === '[[true,true],[true,false]]', 'vm1 serving both families, vm2 IPv4 only');
      expect([...checked].sort()).toEqual(['10.0.0.11', '10.0.0.12', 'fd00::11', 'fd00::12']);
      expect(healthy()).toEqual([true, true]);
      expect(takes()).toEqual([[true, true], [true, false]]);
      expect(bridge.stateOf('api', 'v-vm2')).toEqual({ health: 'up', reason: expect.stringMatching(/^IPv6 out: /) });
      expect(events.find((e) => e.kind === 'port_down')?.message).toBe('port down: backend v-vm2 port 8080 (IPv6): connection refused (ECONNREFUSED)');
      expect(events.filter((e) => e.kind === 'backend_down')).toEqual([]);
      ipv6Broken = false;
      await until(() => takes()[1][1], 'vm2 back in IPv6');
      expect(takes()).toEqual([[true, true], [true, true]]);
      expect(bridge.stateOf('api', 'v-vm2')?.reason).not.toMatch(/out/);
    } finally {
      await bridge.stop();
    }
  });
});
