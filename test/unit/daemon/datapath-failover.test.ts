// Tier failover of a `decisions: datapath` service, through the daemon's own paths (the health bridge and its check
// scheduler, the switch hooks' port status) into the fake flow table: when tier 0's last backend fails its check or
// loses its link, the service's select group changes its buckets to tier 1's with one group-mod, and a new
// connection arriving between any two of the batches vadc sends is still decided by the switch (no packet-in).
// Before, the verdict emptied the group (DELETE, with its decision flow) and the failover's routing added it back.
import type { SwitchBatch } from '../../../src/app';
import type { OutboundMessage } from '../../../src/controller/types';
import { HealthBridge } from '../../../src/daemon/health-bridge';
import type { Checker } from '../../../src/health';
import { SwitchHooks, type SwitchHooksOptions } from '../../../src/daemon/switch-hooks';
import { parseCookie } from '../../../src/flows';
import { OFPFC_DELETE, OFPFC_DELETE_STRICT, OFPGC_MODIFY, OFPPS_LINK_DOWN } from '../../../src/openflow/constants';
import type { OfpMessage } from '../../../src/openflow/types';
import { silentLogger } from '../../../src/util/logger';
import { AppHarness, delivered, fromClient, NAT_MODES, tieredDatapathServices, VMS } from '../../helpers/app-harness';
import { until } from '../../helpers/until';

const CONNTRACK = NAT_MODES[1];
const PORT_OF: Record<number, string> = Object.fromEntries(Object.entries(VMS).map(([name, vm]) => [vm.ofport, name]));

/**
 * Tier 0 is vm1, tier 1 vm2 and vm3; failback at once. `health`: the service's health line (none: the vNIC's link),
 * with vm1 on one port (its one check is then its whole verdict).
 */
const tiered = (health = '') => tieredDatapathServices(`    failover: { hold: 0 }\n${health}`, health ? [8080] : undefined);

/**
 * The app in the harness, driven by a health bridge whose deliveries are installed in the fake flow table; after each
 * non-empty delivery a fresh SYN to the VIP shows where a new connection arriving at that moment goes.
 */
class Rig {
  readonly h: AppHarness;
  readonly bridge: HealthBridge;
  /** What vadc sent since watch(), in order. */
  sent: OfpMessage[] = [];
  /** Where each probe SYN went: a VM, or 'controller' (a packet-in). */
  probes: string[] = [];
  private watching = false;
  private clientPort = 30000;

  /** `checker`: the active checks' results (the service's health line says which checks). */
  constructor(private readonly health = '', checker?: Checker) {
    this.h = new AppHarness(CONNTRACK, tiered(health));
    this.bridge = new HealthBridge({
      app: this.h.app, logger: silentLogger(), emit: () => undefined, now: Date.now, deliver: (batches) => this.deliver(batches), checker,
    });
  }

  async start(): Promise<void> {
    await this.bridge.setServices(AppHarness.config(CONNTRACK, tiered(this.health)).services);
    this.bridge.discoverySettled();
  }

  deliver(batches: SwitchBatch[] | OutboundMessage[]): void {
    const msgs = batches.flatMap((b) => ('dpid' in b ? b.msgs : [b])) as OfpMessage[];
    if (msgs.length === 0) return;
    this.h.install(msgs);
    if (!this.watching) return;
    this.sent.push(...msgs);
    const before = this.h.packetIns;
    const { outcomes } = this.h.send(fromClient(this.clientPort++));
    this.probes.push(this.h.packetIns > before ? 'controller' : PORT_OF[delivered(outcomes).port]);
  }

  watch(): void {
    this.watching = true;
    this.sent = [];
    this.probes = [];
  }

  groupMods(): number[] {
    return this.sent.flatMap((m) => (m.type === 'group_mod' ? [m.command] : []));
  }

  /** Deletes of the decision flow (the table-1 flow that sends the service's new connections to its group). */
  decisionFlowDeletes(): OfpMessage[] {
    return this.sent.filter((m) => m.type === 'flow_mod' && (m.command === OFPFC_DELETE || m.command === OFPFC_DELETE_STRICT) && parseCookie(m.cookie)?.kind === 'decision');
  }

  /** Which VMs `n` fresh connections reach (and that none goes to the controller). */
  spreadOver(n: number): string[] {
    const vms = new Set<string>();
    for (let i = 0; i < n; i++) vms.add(PORT_OF[delivered(this.h.send(fromClient(this.clientPort++)).outcomes).port]);
    return [...vms].sort();
  }
}

describe('datapath decisions: tier failover through the daemon', () => {
  it("tier 0's last backend failing its check: one group-mod MODIFY to tier 1's buckets, no delete, no packet-in at any moment", async () => {
    // vm1's check fails while `failed`; the others always pass.
    let failed = false;
    const checker: Checker = (spec) => Promise.resolve(spec.kind === 'tcp' && spec.host === VMS['v-vm1'].ip && failed
      ? { ok: false, reason: 'refused', output: '', durationMs: 0 } : { ok: true, reason: 'ok', output: '', durationMs: 0 });
    const rig = new Rig('    health: { type: tcp, interval: 0.02, timeout: 0.01, rise: 1, fall: 1 }', checker);
    try {
      await rig.start();
      const up = (b: string) => rig.bridge.stateOf('web', b)?.health === 'up';
      await until(() => ['v-vm1', 'v-vm2', 'v-vm3'].every(up), 'every backend up', 20_000);
      expect(rig.spreadOver(60)).toEqual(['v-vm1']);

      rig.watch();
      failed = true;
      await until(() => rig.bridge.stateOf('web', 'v-vm1')?.health === 'down', 'vm1 down', 20_000);
      expect(rig.groupMods()).toEqual([OFPGC_MODIFY]);
      expect(rig.decisionFlowDeletes()).toEqual([]);
      expect(rig.probes.length).toBeGreaterThan(0);
      expect(rig.probes.filter((p) => p === 'controller' || p === 'v-vm1')).toEqual([]);
      expect(rig.spreadOver(300)).toEqual(['v-vm2', 'v-vm3']);

      // The way back (hold 0): vm1 passes again, one MODIFY back to its buckets.
      rig.watch();
      failed = false;
      await until(() => up('v-vm1') && rig.groupMods().length > 0, 'vm1 serving again', 20_000);
      expect(rig.groupMods()).toEqual([OFPGC_MODIFY]);
      expect(rig.decisionFlowDeletes()).toEqual([]);
      expect(rig.probes.filter((p) => p === 'controller')).toEqual([]);
      expect(rig.spreadOver(60)).toEqual(['v-vm1']);
      expect(rig.h.packetIns).toBe(0);
    } finally {
      await rig.bridge.stop();
    }
  });

  it("tier 0's last backend losing its link (port status): one group-mod MODIFY, no delete, no packet-in; and back", async () => {
    const rig = new Rig();
    try {
      await rig.start();
      expect(rig.bridge.stateOf('web', 'v-vm1')?.health).toBe('up');
      expect(rig.spreadOver(60)).toEqual(['v-vm1']);
      const hooks = new SwitchHooks({
        app: rig.h.app, health: rig.bridge, log: silentLogger(), now: Date.now, emitEvent: () => undefined, stopped: () => false,
        afterDiscovery: () => undefined, decisionObservers: [], deliver: (b) => rig.deliver(b), send: (_dpid, msgs) => rig.deliver(msgs),
        controller: undefined as never, accounting: undefined as never,
      } satisfies SwitchHooksOptions).controllerApp();
      const link = (up: boolean) => {
        const desc = { ...rig.h.sw.ports.get(VMS['v-vm1'].ofport)!, state: up ? 0 : OFPPS_LINK_DOWN };
        // The runtime applies the change to the switch's ports before the hook.
        rig.h.sw.ports.set(desc.portNo, desc);
        rig.deliver(hooks.onPortStatus!(rig.h.sw, { type: 'port_status', xid: 0, reason: 2, desc }, rig.h.now) ?? []);
      };

      rig.watch();
      link(false);
      expect(rig.bridge.stateOf('web', 'v-vm1')?.health).toBe('down');
      expect(rig.groupMods()).toEqual([OFPGC_MODIFY]);
      expect(rig.decisionFlowDeletes()).toEqual([]);
      expect(rig.probes.filter((p) => p === 'controller' || p === 'v-vm1')).toEqual([]);
      expect(rig.spreadOver(300)).toEqual(['v-vm2', 'v-vm3']);

      rig.watch();
      link(true);
      expect(rig.groupMods()).toEqual([OFPGC_MODIFY]);
      expect(rig.decisionFlowDeletes()).toEqual([]);
      expect(rig.spreadOver(60)).toEqual(['v-vm1']);
      expect(rig.h.packetIns).toBe(0);
    } finally {
      await rig.bridge.stop();
    }
  });
});
