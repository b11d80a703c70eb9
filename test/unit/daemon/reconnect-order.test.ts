// A switch that drops its connection and comes back to the same daemon (the real-OVS bench's detach and re-attach),
// through the daemon's own paths: the switch hooks, the health bridge (a service without active checks: the vNIC's
// presence is the verdict, given in the same turn as the connect) and the app, into the fake flow table. The connect's
// batch deletes every decision flow (an earlier run's may point at a group the configuration no longer wants) and the
// verdict that the backends are back adds the group and decision flow; on the switch the add must come after the
// delete, or the service's new connections go to the controller while the app counts its decision flow installed.
import type { SwitchBatch } from '../../../src/app';
import type { OutboundMessage, SwitchInfo } from '../../../src/controller/types';
import { HealthBridge } from '../../../src/daemon/health-bridge';
import { SwitchHooks, type SwitchHooksOptions } from '../../../src/daemon/switch-hooks';
import { parseCookie } from '../../../src/flows';
import { OFPFC_ADD, OFPFC_DELETE } from '../../../src/openflow/constants';
import type { OfpMessage } from '../../../src/openflow/types';
import type { Checker } from '../../../src/health';
import { silentLogger } from '../../../src/util/logger';
import { AppHarness, delivered, fromClient, NAT_MODES, VMS, webOver } from '../../helpers/app-harness';
import { until } from '../../helpers/until';

const CONNTRACK = NAT_MODES[1];
const PORT_OF: Record<number, string> = Object.fromEntries(Object.entries(VMS).map(([name, vm]) => [vm.ofport, name]));
const WEB = webOver(['v-vm1', 'v-vm2'], '    decisions: datapath\n');

const isDecision = (m: OfpMessage) => m.type === 'flow_mod' && parseCookie(m.cookie)?.kind === 'decision';

/**
 * The app in the harness with a health bridge and the switch hooks; `wire` is what reached the switch, in order. The
 * controller writes a handler's returned messages after whatever the handler sent itself (Controller.runHandler).
 */
async function rig(services = WEB, checker?: Checker) {
  const h = new AppHarness(CONNTRACK, services);
  const wire: OfpMessage[] = [];
  const deliver = (out: SwitchBatch[] | OutboundMessage[]) => {
    const msgs = out.flatMap((b) => ('dpid' in b ? b.msgs : [b])) as OfpMessage[];
    wire.push(...msgs);
    h.install(msgs);
  };
  const bridge = new HealthBridge({ app: h.app, logger: silentLogger(), emit: () => undefined, now: Date.now, deliver, checker });
  await bridge.setServices(AppHarness.config(CONNTRACK, services).services);
  bridge.discoverySettled();
  // No readings here: the restore waits for ever, the meter and group reads are refused.
  const controller = { switch: () => ({}), request: () => Promise.reject(new Error('no reading in this test')), replayHeldPacketIns: () => undefined };
  const hooks = new SwitchHooks({
    app: h.app, health: bridge, log: silentLogger(), now: Date.now, emitEvent: () => undefined, stopped: () => false,
    afterDiscovery: () => bridge.discoverySettled(), decisionObservers: [], deliver, send: (_dpid, msgs) => deliver(msgs),
    controller: controller as never, accounting: { forRestore: () => new Promise(() => undefined) } as never,
  } satisfies SwitchHooksOptions).controllerApp();
  let clientPort = 30000;
  /** Where a fresh connection to the VIP goes: a VM, or 'controller' (a packet-in). */
  const fresh = () => {
    const before = h.packetIns;
    const { outcomes } = h.send(fromClient(clientPort++));
    return h.packetIns > before ? 'controller' : PORT_OF[delivered(outcomes).port];
  };
  return { h, wire, bridge, hooks, fresh, deliver };
}

describe.each(['onSwitchUp', 'onMastership'] as const)('a switch back at the same daemon (%s), a service without checks deciding in the datapath', (handler) => {
  it('gets the decision flow after the connect\'s delete of every decision flow, and its new connections reach no controller', async () => {
    const { h, wire, bridge, hooks, fresh, deliver } = await rig();
    try {
      expect(fresh()).not.toBe('controller');
      hooks.onSwitchDown!(h.sw.dpid, h.now);
      // The switch being away keeps the verdicts; OVSDB saying the vNICs went ends that: the backends are down now,
      // and their verdict that they are back comes in the connect's turn (afterDiscovery), after the connect's batch.
      for (const vnic of ['v-vm1', 'v-vm2']) bridge.vnicGone(vnic);
      bridge.observeLocations();
      expect(bridge.stateOf('web', 'v-vm1')?.health).toBe('down');
      wire.length = 0;
      const sw: SwitchInfo = h.sw;
      // What the handler returns goes out after what it sent itself.
      deliver(hooks[handler]!(sw, h.now) ?? []);
      expect(bridge.stateOf('web', 'v-vm1')?.health).toBe('up');
      const spread = new Set(Array.from({ length: 20 }, fresh));
      expect([...spread].sort()).toEqual(['v-vm1', 'v-vm2']);
      expect(h.table.flows().filter((f) => parseCookie(f.cookie)?.kind === 'decision')).toHaveLength(1);
      // On the wire: the verdict's decision flow after the connect's delete of every decision flow.
      const last = (command: number) => wire.map((m) => isDecision(m) && m.type === 'flow_mod' && m.command === command).lastIndexOf(true);
      const lastDelete = last(OFPFC_DELETE);
      expect(lastDelete).toBeGreaterThanOrEqual(0);
      expect(last(OFPFC_ADD)).toBeGreaterThan(lastDelete);
    } finally {
      await bridge.stop();
    }
  });
});

/** A TCP check every 2 s (the first within 0.2 s); `passes`: what each check says. */
const checkedWeb = webOver(['v-vm1', 'v-vm2'], '    decisions: datapath\n    health: { type: tcp, interval: 2, timeout: 1, rise: 1, fall: 1 }\n');

describe.each(['onSwitchUp', 'onMastership'] as const)('a switch back at the same daemon (%s), a service with active checks deciding in the datapath', (handler) => {
  // Every check passes. Between the switch going and its connect's answer nothing is awaited: no check can pass in
  // between, so what the switch gets on connect is what vadc knew before it went.
  const passing: Checker = () => Promise.resolve({ ok: true, reason: 'ok', output: '', durationMs: 0 });

  it('keeps the verdicts through the switch\'s absence: the connect\'s batch carries the group and decision flow, no new connection reaches the controller', async () => {
    const { h, bridge, hooks, fresh, deliver } = await rig(checkedWeb, passing);
    try {
      await until(() => ['v-vm1', 'v-vm2'].every((b) => bridge.stateOf('web', b)?.health === 'up'), 'both backends up');
      expect(fresh()).not.toBe('controller');
      hooks.onSwitchDown!(h.sw.dpid, h.now);
      // The switch lost vadc's flows and groups while away (ovs-vsctl del-controller does that on OVS 3.1).
      h.table.clear();
      deliver(hooks[handler]!(h.sw, h.now) ?? []);
      const spread = new Set(Array.from({ length: 20 }, fresh));
      expect([...spread].sort()).toEqual(['v-vm1', 'v-vm2']);
      expect(h.packetIns).toBe(0);
      expect(['v-vm1', 'v-vm2'].map((b) => bridge.stateOf('web', b)?.reason)).toEqual(['port 8080: ok', 'port 8080: ok']);
    } finally {
      await bridge.stop();
    }
  });

  it('a backend whose vNIC OVSDB reported gone meanwhile must pass a check again; the other serves at once', async () => {
    const { h, bridge, hooks, fresh, deliver } = await rig(checkedWeb, passing);
    try {
      await until(() => ['v-vm1', 'v-vm2'].every((b) => bridge.stateOf('web', b)?.health === 'up'), 'both backends up');
      hooks.onSwitchDown!(h.sw.dpid, h.now);
      bridge.vnicGone('v-vm1');
      bridge.observeLocations();
      expect(bridge.stateOf('web', 'v-vm1')?.health).toBe('down');
      h.table.clear();
      deliver(hooks[handler]!(h.sw, h.now) ?? []);
      expect(new Set(Array.from({ length: 20 }, fresh))).toEqual(new Set(['v-vm2']));
      expect(h.packetIns).toBe(0);
      // Its next pass brings it back.
      await until(() => bridge.stateOf('web', 'v-vm1')?.health === 'up', 'vm1 up again');
      expect([...new Set(Array.from({ length: 20 }, fresh))].sort()).toEqual(['v-vm1', 'v-vm2']);
    } finally {
      await bridge.stop();
    }
  });
});
