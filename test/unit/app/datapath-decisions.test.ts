// Datapath decisions (`decisions: datapath`): the switch spreads a service's new connections by itself through the
// service's select group, with no packet-in; the buckets follow weights, drain, health and location. Packets go
// through the fake flow table (groups select by a 5-tuple hash in proportion to the weights, as OVS's dp_hash).
import { parseConfig } from '../../../src/config';
import { ConfigError } from '../../../src/config/errors';
import type { FeedbackScheduler } from '../../../src/lb/schedulers/feedback';
import { OFPG_ANY, OFPGC_ADD, OFPGC_MODIFY, OFPGT_SELECT, OFPP_ANY } from '../../../src/openflow/constants';
import type { Bucket, GroupMod } from '../../../src/openflow/types';
import {
  AppHarness, backendYaml, CLIENT_PORT, delivered, dualStackService, fromBackend, fromBackend6, fromClient, fromClient6, ipv6Services, NAT_MODES, tieredDatapathServices, VIP6,
  VIP6_MAC, VMS, ZONE,
} from '../../helpers/app-harness';
import { ovsHashTableHits } from '../../helpers/ovs-hash-table';
// The bridge's own port, where vadc's health checks come from.
import { LOCAL_MAC } from '../../helpers/app-harness';

const CONNTRACK = NAT_MODES[1];
const PORT_OF: Record<number, string> = Object.fromEntries(Object.entries(VMS).map(([name, vm]) => [vm.ofport, name]));

function services(scheduler: string, extra = '', weights: [number, number, number] = [1, 1, 1]): string {
  return `
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    scheduler: ${scheduler}
    decisions: datapath
    idle_timeout: 30
${extra}
    backends:
${backendYaml('v-vm1', [8080, 8081], `weight: ${weights[0]}`)}
${backendYaml('v-vm2', [8080], `weight: ${weights[1]}`)}
${backendYaml('v-vm3', [8080], `weight: ${weights[2]}`)}
`;
}

/** `n` new connections from distinct client ports: where each first packet went (VM and software port). */
function spread(h: AppHarness, n: number, firstPort = 20000): Map<string, number> {
  const where = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const out = delivered(h.send(fromClient(firstPort + i)).outcomes);
    const key = `${PORT_OF[out.port]} ${out.fields.tcp_dst}`;
    where.set(key, (where.get(key) ?? 0) + 1);
  }
  return where;
}

/**
 * A group's buckets by destination ("ip:port"), the weights summed: one backend software port may have two buckets
 * (src/flows/hash-slots.ts splits one so that OVS maps the weights onto 256 hash values).
 */
function byDestination(buckets: readonly Bucket[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of buckets) {
    const ct = b.actions[0];
    const nat = ct.type === 'nx_ct' ? ct.actions.find((a) => a.type === 'nx_nat') : undefined;
    if (nat?.type !== 'nx_nat') throw new Error('a bucket without ct(nat)');
    const dst = `${nat.rangeIpv4Min ?? `[${nat.rangeIpv6Min}]`}:${nat.rangeProtoMin}`;
    out[dst] = (out[dst] ?? 0) + b.weight;
  }
  return out;
}

/** The group-mods among the messages an input returned. */
const groupModsIn = (batches: ReturnType<AppHarness['app']['setHealth']>) => batches.flatMap((b) => b.msgs).filter((m) => 'type' in m && m.type === 'group_mod');

const share = (m: Map<string, number>, prefix: string, n: number) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((s, [, v]) => s + v, 0) / n;

describe('datapath decisions: the select group spreads new connections', () => {
  it('IPv6: the group commits nat(dst=[addr]:port) to the backends, with no packet-in, and the reply comes from the VIP', () => {
    const h = new AppHarness(CONNTRACK, ipv6Services('rr', '    decisions: datapath'));
    const n = 3000;
    const where = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const out = delivered(h.send(fromClient6(20000 + i)).outcomes);
      const key = `${PORT_OF[out.port]} [${out.fields.ipv6_dst}]:${out.fields.tcp_dst}`;
      where.set(key, (where.get(key) ?? 0) + 1);
    }
    expect(h.packetIns).toBe(0);
    expect([...where.keys()].sort()).toEqual(['v-vm1 [fd00::11]:8080', 'v-vm1 [fd00::11]:8081', 'v-vm2 [fd00::12]:8080', 'v-vm3 [fd00::13]:8080']);
    for (const vm of ['v-vm1', 'v-vm2', 'v-vm3']) expect(Math.abs(share(where, vm, n) - 1 / 3)).toBeLessThan(0.1 / 3);
    const backend = [...h.table.connections].find((c) => c.orig.sport === 20000)!.natDst!;
    const vm = (Object.keys(VMS) as Array<keyof typeof VMS>).find((name) => VMS[name].ip6 === backend.ip)!;
    const reply = delivered(h.send(fromBackend6(vm, 20000, { backendPort: backend.port }), VMS[vm].ofport).outcomes);
    expect(reply).toMatchObject({ port: CLIENT_PORT, fields: { ipv6_src: VIP6, tcp_src: 80, eth_src: VIP6_MAC } });
  });

  it('rr: 10,000 connections over three backends (vm1 on two ports) with no packet-in, each backend within 5 % of a third', () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    const n = 10_000;
    const where = spread(h, n);
    expect(h.packetIns).toBe(0);
    expect(h.table.connections).toHaveLength(n);
    for (const vm of ['v-vm1', 'v-vm2', 'v-vm3']) expect(Math.abs(share(where, vm, n) - 1 / 3)).toBeLessThan(0.05 / 3);
    // vm1's share is split over its two software ports.
    expect(Math.abs(share(where, 'v-vm1 8081', n) - 1 / 6)).toBeLessThan(0.05 / 6);
  });

  it.each([
    ['wrr 3:2:1', 'wrr', [3, 2, 1], [3 / 6, 2 / 6, 1 / 6]],
    ['rr', 'rr', [1, 1, 1], [1 / 3, 1 / 3, 1 / 3]],
  ] as const)("%s: in OVS's table of hash values for the group as installed, each VM's share is within 5 %% of its weight's", (_name, scheduler, weights, targets) => {
    // The fake flow table selects in exact proportion to the weights; OVS gives each bucket whole hash values
    // (test/helpers/ovs-hash-table.ts): as three buckets, 16 values (8/5/3, 6/5/5: 12.5 % over a share).
    const h = new AppHarness(CONNTRACK, services(scheduler, '', [...weights]));
    const group = [...h.table.groups.values()][0];
    const table = ovsHashTableHits(group.map((b) => b.weight))!;
    const hits: Record<string, number> = {};
    group.forEach((b, i) => {
      const vm = Object.keys(byDestination([b]))[0].split(':')[0];
      hits[vm] = (hits[vm] ?? 0) + table.hits[i];
    });
    ['v-vm1', 'v-vm2', 'v-vm3'].forEach((vm, i) => expect(Math.abs(hits[VMS[vm as keyof typeof VMS].ip] / table.values / targets[i] - 1)).toBeLessThan(0.05));
  });

  it('wrr: the spread follows the weights 3:2:1 within 5 %', () => {
    const h = new AppHarness(CONNTRACK, services('wrr', '', [3, 2, 1]));
    const n = 10_000;
    const where = spread(h, n);
    expect(h.packetIns).toBe(0);
    expect(Math.abs(share(where, 'v-vm1', n) - 3 / 6)).toBeLessThan(0.05 * 3 / 6);
    expect(Math.abs(share(where, 'v-vm2', n) - 2 / 6)).toBeLessThan(0.05 * 2 / 6);
    expect(Math.abs(share(where, 'v-vm3', n) - 1 / 6)).toBeLessThan(0.05 * 1 / 6);
  });

  it("a connection's packets reach its backend translated, and the backend's reply reaches the client from the VIP", () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    const syn = delivered(h.send(fromClient(30000)).outcomes);
    const vm = PORT_OF[syn.port] as keyof typeof VMS;
    expect(syn.fields).toMatchObject({ ipv4_dst: VMS[vm].ip, eth_dst: VMS[vm].mac });
    // The mark carries the service in its high half and the client's port in its low half, as vadc's own commit does.
    expect(h.table.connections[0]).toMatchObject({ zone: ZONE });
    expect(h.table.connections[0].mark & 0xffff).toBe(CLIENT_PORT);
    const reply = delivered(h.send(fromBackend(vm, 30000, { backendPort: Number(syn.fields.tcp_dst) }), VMS[vm].ofport).outcomes);
    expect(reply.port).toBe(CLIENT_PORT);
    expect(reply.fields).toMatchObject({ ipv4_src: '10.0.0.100', tcp_src: 80 });
    const again = delivered(h.send(fromClient(30000, { flags: 0x10 })).outcomes);
    expect(again.port).toBe(syn.port);
    expect(h.packetIns).toBe(0);
  });
});

describe('datapath decisions: a dual-stack service', () => {
  /** `n` new connections of one family: where each went ("vm address:port"), and the address checked against the VM's of that family. */
  function spreadFamily(h: AppHarness, v6: boolean, n: number, firstPort: number): Map<string, number> {
    const where = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const out = delivered(h.send(v6 ? fromClient6(firstPort + i) : fromClient(firstPort + i)).outcomes);
      const vm = PORT_OF[out.port] as keyof typeof VMS;
      expect(v6 ? out.fields.ipv6_dst : out.fields.ipv4_dst).toBe(v6 ? VMS[vm].ip6 : VMS[vm].ip);
      const key = `${vm} ${out.fields.tcp_dst}`;
      where.set(key, (where.get(key) ?? 0) + 1);
    }
    return where;
  }
  /** Each installed group's buckets as "VM:port weight", the VM found by either of its addresses. */
  const groupsByVm = (h: AppHarness) => [...h.table.groups].sort(([a], [b]) => a - b).map(([, buckets]) => Object.entries(byDestination(buckets)).map(([dst, weight]) => {
    const ip = dst.slice(0, dst.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    const vm = (Object.keys(VMS) as Array<keyof typeof VMS>).find((name) => VMS[name].ip === ip || VMS[name].ip6 === ip);
    return `${vm}:${dst.slice(dst.lastIndexOf(':') + 1)} ${weight}`;
  }).sort());

  it('has a group per VIP with the same weights: each family\'s connections spread over the backends\' addresses of that family, with no packet-in', () => {
    const h = new AppHarness(CONNTRACK, dualStackService('wrr', '    decisions: datapath'));
    h.install(h.app.setWeight('web', 'v-vm3', 4));
    expect(h.table.groups.size).toBe(2);
    const [ipv4, ipv6] = groupsByVm(h);
    expect(ipv6).toEqual(ipv4);
    const n = 6000;
    for (const [v6, firstPort] of [[false, 20000], [true, 30000]] as const) {
      const where = spreadFamily(h, v6, n, firstPort);
      expect(Math.abs(share(where, 'v-vm3', n) - 4 / 6)).toBeLessThan(0.05 * 4 / 6);
      expect(Math.abs(share(where, 'v-vm1', n) - 1 / 6)).toBeLessThan(0.1 / 6);
    }
    expect(h.packetIns).toBe(0);
    // The tracker's listing counts both families' decisions on the one service.
    h.install(h.app.applyAccounting(h.accountingReading(), h.now));
    expect(h.app.serviceStates()[0].decisions).toBe(2 * n);
  });

  it('a VM out of IPv6 only (its IPv6 check fails) leaves the IPv6 group and keeps its IPv4 bucket; back in both when it passes', () => {
    const h = new AppHarness(CONNTRACK, dualStackService('rr', '    decisions: datapath'));
    const verdict = h.app.setPortHealth('web', 'v-vm2', 8080, false, 'ipv6');
    // One group-mod: the IPv6 group's (the IPv4 group's buckets did not change).
    expect(groupModsIn(verdict)).toEqual([expect.objectContaining({ command: OFPGC_MODIFY })]);
    h.install(verdict);
    expect(groupsByVm(h).map((g) => g.map((b) => b.split(':')[0]))).toEqual([['v-vm1', 'v-vm1', 'v-vm2', 'v-vm3'], ['v-vm1', 'v-vm1', 'v-vm3']]);
    expect(share(spreadFamily(h, false, 600, 20000), 'v-vm2', 600)).toBeGreaterThan(0.25);
    expect(share(spreadFamily(h, true, 600, 30000), 'v-vm2', 600)).toBe(0);
    expect(h.packetIns).toBe(0);
    h.install(h.app.setPortHealth('web', 'v-vm2', 8080, true, 'ipv6'));
    const [ipv4, ipv6] = groupsByVm(h);
    expect(ipv6).toEqual(ipv4);
  });

  it('a health verdict changes both groups in its own batch; removing the service removes both groups and decision flows', () => {
    const h = new AppHarness(CONNTRACK, dualStackService('rr', '    decisions: datapath'));
    const verdict = h.app.setHealth('web', 'v-vm1', false);
    expect(groupModsIn(verdict)).toEqual([expect.objectContaining({ command: OFPGC_MODIFY }), expect.objectContaining({ command: OFPGC_MODIFY })]);
    h.install(verdict);
    expect(groupsByVm(h).map((g) => g.map((b) => b.split(':')[0]))).toEqual([['v-vm2', 'v-vm3'], ['v-vm2', 'v-vm3']]);
    for (const [v6, firstPort] of [[false, 20000], [true, 30000]] as const) expect(share(spreadFamily(h, v6, 600, firstPort), 'v-vm1', 600)).toBe(0);
    expect(h.packetIns).toBe(0);
    h.install(h.app.setServices([], h.now));
    expect(h.table.groups.size).toBe(0);
    expect(h.table.flows().filter((f) => f.instructions.some((i) => i.type === 'apply_actions' && i.actions.some((a) => a.type === 'group')))).toEqual([]);
  });
});

describe('datapath decisions: the buckets follow the backends', () => {
  it('a drained backend gets no new connections (one group-mod), and again after enable', () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    const mods = h.table.groupMods;
    h.install(h.app.drain('web', 'v-vm2'));
    expect(h.table.groupMods).toBe(mods + 1);
    expect(h.sent.at(-1)).toMatchObject({ type: 'group_mod', command: OFPGC_MODIFY });
    const drained = spread(h, 3000);
    expect(share(drained, 'v-vm2', 3000)).toBe(0);
    expect(h.packetIns).toBe(0);
    h.install(h.app.enable('web', 'v-vm2'));
    expect(share(spread(h, 3000, 40000), 'v-vm2', 3000)).toBeGreaterThan(0.25);
  });

  it('a backend its health check fails gets no new connections; with none left the controller refuses them', () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    // The verdict's own batch carries the group-mod: the buckets change as the verdict is taken, not at a later poll.
    const verdict = h.app.setHealth('web', 'v-vm1', false);
    const mods = groupModsIn(verdict);
    expect(mods).toEqual([expect.objectContaining({ command: OFPGC_MODIFY })]);
    expect(Object.keys(byDestination((mods[0] as GroupMod).buckets)).sort()).toEqual(['10.0.0.12:8080', '10.0.0.13:8080']);
    h.install(verdict);
    expect(share(spread(h, 2000), 'v-vm1', 2000)).toBe(0);
    h.install(h.app.setHealth('web', 'v-vm2', false));
    h.install(h.app.setHealth('web', 'v-vm3', false));
    expect(h.table.groups.size).toBe(0);
    const refused = h.send(fromClient(50000));
    expect(h.packetIns).toBe(1);
    expect(refused.outcomes.filter((o) => o.kind === 'output' && o.port !== CLIENT_PORT)).toEqual([]);
    // Back up: the group returns and decides again without the controller.
    h.install(h.app.setHealth('web', 'v-vm3', true));
    expect(delivered(h.send(fromClient(50001)).outcomes).port).toBe(VMS['v-vm3'].ofport);
    expect(h.packetIns).toBe(1);
  });

  it('a port out of rotation (its check fails) loses its bucket; the backend keeps its share on its other port', () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    h.install(h.app.setPortHealth('web', 'v-vm1', 8081, false));
    const n = 3000;
    const where = spread(h, n);
    expect(where.get('v-vm1 8081')).toBeUndefined();
    expect(Math.abs(share(where, 'v-vm1 8080', n) - 1 / 3)).toBeLessThan(0.05 / 3);
    expect(h.packetIns).toBe(0);
  });

  it('a weight change re-weights the buckets; removing the service removes its group and decision flow', () => {
    const h = new AppHarness(CONNTRACK, services('wrr', '', [1, 1, 1]));
    h.install(h.app.setWeight('web', 'v-vm3', 4));
    const where = spread(h, 6000);
    expect(Math.abs(share(where, 'v-vm3', 6000) - 4 / 6)).toBeLessThan(0.05 * 4 / 6);
    h.install(h.app.setServices([], h.now));
    expect(h.table.groups.size).toBe(0);
    expect(h.table.flows().filter((f) => f.instructions.some((i) => i.type === 'apply_actions' && i.actions.some((a) => a.type === 'group')))).toEqual([]);
  });

  it('after a switch reconnects the group is replaced (deleted first), not added twice', () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    h.install(h.app.switchDown(h.sw.dpid, h.now));
    h.install(h.app.switchUp(h.sw, h.now));
    expect(h.table.groups.size).toBe(1);
    expect(spread(h, 100).size).toBe(4);
    expect(h.packetIns).toBe(0);
  });
});

describe('datapath decisions: what an earlier run left on the switch', () => {
  /** Flows that send packets to a group (decision flows). */
  const toGroups = (h: AppHarness) => h.table.flows().filter((f) => f.instructions.some((i) => i.type === 'apply_actions' && i.actions.some((a) => a.type === 'group')));
  /** Someone else's select group on the bridge (an id outside vadc's range). */
  const FOREIGN_GROUP = 7;
  const addForeignGroup = (h: AppHarness) => h.table.applyGroup({
    type: 'group_mod', xid: 0, command: OFPGC_ADD, groupType: OFPGT_SELECT, groupId: FOREIGN_GROUP,
    buckets: [{ weight: 1, watchPort: OFPP_ANY, watchGroup: OFPG_ANY, actions: [{ type: 'output', port: VMS['v-vm1'].ofport, maxLen: 0 }] }],
  });
  /** What the daemon does after a connect: reads the switch's group ids and installs the app's answer. */
  const sweepGroups = (h: AppHarness) => h.install(h.app.groupsFound(h.sw.dpid, [...h.table.groups.keys()]));

  it('a restart whose service no longer decides in the datapath: its decision flows go at connect and its groups at the sweep; new connections come to vadc', () => {
    const h = new AppHarness(CONNTRACK, dualStackService('rr'), { leftBy: CONNTRACK, leftServices: dualStackService('rr', '    decisions: datapath') });
    addForeignGroup(h);
    // The connect's batch already took the old decision flows: the groups are there, nothing sends packets to them.
    expect(toGroups(h)).toEqual([]);
    expect(h.table.groups.size).toBe(3);
    sweepGroups(h);
    expect([...h.table.groups.keys()]).toEqual([FOREIGN_GROUP]);
    // Each family's new connection is the controller's decision now (before, the old group placed it, no packet-in).
    expect(delivered(h.send(fromClient(21000)).outcomes).port).toBe(VMS['v-vm1'].ofport);
    expect(delivered(h.send(fromClient6(21001)).outcomes).port).toBe(VMS['v-vm2'].ofport);
    expect(h.packetIns).toBe(2);
    expect(h.app.serviceStates()[0].decisions).toBe(2);
  });

  it('a restart without one of two datapath services: its group goes, the other service\'s group stays and keeps deciding', () => {
    const api = services('rr').replace('name: web', 'name: api').replace('port: 80', 'port: 81').replace('\nservices:\n', '\n');
    const h = new AppHarness(CONNTRACK, services('rr'), { leftBy: CONNTRACK, leftServices: `${services('rr')}${api}` });
    addForeignGroup(h);
    expect(h.table.groups.size).toBe(3);
    sweepGroups(h);
    expect(h.table.groups.size).toBe(2);
    expect(h.table.groups.has(FOREIGN_GROUP)).toBe(true);
    expect(toGroups(h)).toHaveLength(1);
    // web's group still decides; api's port (the old service's) reaches no group: vadc refuses it (no service there).
    expect(spread(h, 100).size).toBe(4);
    expect(h.packetIns).toBe(0);
    expect(h.send(fromClient(22000, { dstPort: 81 })).outcomes.filter((o) => o.kind === 'output' && o.port !== CLIENT_PORT)).toEqual([]);
    expect(h.packetIns).toBe(1);
  });

  it('a restart in flows mode: every vadc group goes (flows mode makes none), the foreign one stays', () => {
    const h = new AppHarness(NAT_MODES[0], services('rr'), { leftBy: CONNTRACK });
    addForeignGroup(h);
    expect(toGroups(h)).toEqual([]);
    sweepGroups(h);
    expect([...h.table.groups.keys()]).toEqual([FOREIGN_GROUP]);
    expect(delivered(h.send(fromClient(23000)).outcomes).port).toBe(VMS['v-vm1'].ofport);
    expect(h.packetIns).toBe(1);
  });
});

describe('datapath decisions: tiers', () => {
  const bucketsOf = (h: AppHarness) => [...h.table.groups.values()].map((g) => Object.keys(byDestination(g)).length);

  it("only the serving tier has buckets; the failover's routing to tier 1 (tier 0 overloaded) moves them with one group-mod, 0 packet-ins", () => {
    const h = new AppHarness(CONNTRACK, tieredDatapathServices());
    expect(bucketsOf(h)).toEqual([2]);
    expect([...spread(h, 300).keys()].sort()).toEqual(['v-vm1 8080', 'v-vm1 8081']);
    const batches = h.app.setRouting('web', { kind: 'tier', backends: ['v-vm2', 'v-vm3'] });
    expect(groupModsIn(batches)).toEqual([expect.objectContaining({ command: OFPGC_MODIFY })]);
    h.install(batches);
    expect(bucketsOf(h)).toEqual([2]);
    const where = spread(h, 3000, 40000);
    expect([...where.keys()].sort()).toEqual(['v-vm2 8080', 'v-vm3 8080']);
    expect(Math.abs(share(where, 'v-vm2', 3000) - 1 / 2)).toBeLessThan(0.05 / 2);
    expect(h.packetIns).toBe(0);
  });
});

describe('datapath decisions: feedback', () => {
  /**
   * The measure each backend's port statistics and the tracker's listings gave: `outstanding` open connections on
   * average (L) and `completions` a second (lambda), so S = L / lambda seconds a connection spends on the VM.
   */
  function measuredLittle(h: AppHarness, figures: Record<string, { outstanding: number; completions: number }>): void {
    const scheduler = h.app.serviceStates()[0].lb.scheduler as FeedbackScheduler;
    jest.spyOn(scheduler, 'estimate').mockImplementation((id) => ({
      rate: 1, ...figures[id], timePerConn: Math.max(figures[id].outstanding, 1) / figures[id].completions, backlog: 0, dropping: false,
    }));
    h.install(h.app.feedLoad('web', 'v-vm1', { at: h.now, rxPackets: 0, txPackets: 0, txDropped: 0 }));
  }
  /** One connection a second on each VM, open for `timePerConn` seconds (L = that). */
  const measured = (h: AppHarness, timePerConn: Record<string, number>) =>
    measuredLittle(h, Object.fromEntries(Object.entries(timePerConn).map(([id, t]) => [id, { outstanding: t, completions: 1 }])));
  const weights = (h: AppHarness) => Object.values(byDestination([...h.table.groups.values()][0]));

  it('a slow VM (4x the time per connection) gets proportionally fewer new connections, with no packet-in', () => {
    const h = new AppHarness(CONNTRACK, services('feedback'));
    measured(h, { 'v-vm1': 1, 'v-vm2': 4, 'v-vm3': 1 });
    // vm1's share is halved over its two ports: 500 + 500, vm2 a quarter of it, vm3 1000.
    expect(weights(h)).toEqual([500, 500, 250, 1000]);
    const where = spread(h, 6000);
    expect(Math.abs(share(where, 'v-vm2', 6000) - 1 / 9)).toBeLessThan(0.05 / 9 * 2);
    expect(h.packetIns).toBe(0);
  });

  it("a connection learnt at a tracker reading: its FINs bring no packet-in (RST copies only), its end comes with the next reading, and feedback gets no connection time from it", () => {
    const h = new AppHarness(CONNTRACK, services('feedback'));
    spread(h, 30, 21000);
    // The select group placed them; vadc learns of them at this reading, and their FINs come 5 ms later.
    h.install(h.app.applyAccounting(h.accountingReading(), h.now));
    const svc = h.app.serviceStates()[0];
    expect(svc.lb.backends.reduce((n, b) => n + b.totalConns, 0)).toBe(30);
    h.now += 5;
    const FIN_ACK = 0x11;
    for (const c of [...h.table.connections]) {
      const vm = (Object.keys(VMS) as Array<keyof typeof VMS>).find((name) => VMS[name].ip === c.natDst!.ip)!;
      h.send(fromClient(c.orig.sport, { flags: FIN_ACK }));
      h.send(fromBackend(vm, c.orig.sport, { flags: FIN_ACK, backendPort: c.natDst!.port }), VMS[vm].ofport);
    }
    // No copy of a FIN reached vadc: the connections are still open to it ...
    expect(h.endCopies).toBe(0);
    expect(h.packetIns).toBe(0);
    expect(svc.lb.backends.reduce((n, b) => n + b.totalConns, 0)).toBe(30);
    // ... until the next reading lists them closing: each ended once.
    h.install(h.app.applyAccounting({ source: 'tracker', entries: h.trackerListing('TIME_WAIT') }, h.now + 1000));
    expect(svc.lb.backends.reduce((n, b) => n + b.completedConns, 0)).toBe(30);
    expect(svc.lb.backends.reduce((n, b) => n + b.totalConns, 0)).toBe(0);
    // None was measured as a connection of the readings' interval: feedback has no connection time for any VM.
    const scheduler = svc.lb.scheduler as FeedbackScheduler;
    for (const id of ['v-vm1', 'v-vm2', 'v-vm3']) expect(scheduler.estimate(id)?.connectionTime).toBeUndefined();
  });

  it('a group-mod only when a weight moves by more than the hysteresis (10 %)', () => {
    const h = new AppHarness(CONNTRACK, services('feedback'));
    measured(h, { 'v-vm1': 1, 'v-vm2': 2, 'v-vm3': 1 });
    const mods = h.table.groupMods;
    expect(weights(h)).toEqual([500, 500, 500, 1000]);
    measured(h, { 'v-vm1': 1, 'v-vm2': 2.1, 'v-vm3': 1 });
    expect(h.table.groupMods).toBe(mods);
    measured(h, { 'v-vm1': 1, 'v-vm2': 3, 'v-vm3': 1 });
    expect(h.table.groupMods).toBe(mods + 1);
    expect(weights(h)).toEqual([500, 500, 333, 1000]);
  });

  it("equal VMs keep equal buckets whatever the last poll's split of short connections (no herding onto the one given most)", () => {
    const h = new AppHarness(CONNTRACK, services('feedback'));
    // 1 ms connections, the last poll's split 300/150/100 a second: a listing shows under one open connection on each.
    measuredLittle(h, { 'v-vm1': { outstanding: 0.3, completions: 300 }, 'v-vm2': { outstanding: 0.15, completions: 150 }, 'v-vm3': { outstanding: 0.1, completions: 100 } });
    expect(weights(h)).toEqual([500, 500, 1000, 1000]);
    // Within the equal band of one another (FEEDBACK_EQUAL_BAND): still equal, no group-mod.
    const mods = h.table.groupMods;
    measuredLittle(h, { 'v-vm1': { outstanding: 2, completions: 200 }, 'v-vm2': { outstanding: 2.6, completions: 200 }, 'v-vm3': { outstanding: 2, completions: 180 } });
    expect(weights(h)).toEqual([500, 500, 1000, 1000]);
    expect(h.table.groupMods).toBe(mods);
  });
});

describe('datapath decisions: counting', () => {
  it("feedback's L counts the connections a listing newly shows open: an entry the tracker keeps open counts at one poll, not at every one", () => {
    const h = new AppHarness(CONNTRACK, services('feedback'));
    const where = spread(h, 60, 23000);
    h.install(h.app.applyAccounting(h.accountingReading(), h.now));
    const svc = h.app.serviceStates()[0];
    for (const b of svc.lb.backends) expect(b.listedNewOpen).toBe(share(where, b.id, 1));
    // The next listing shows the same entries still ESTABLISHED (as the tracker keeps some after their connections ended):
    // vadc still counts them open, but none is newly open.
    h.now += 1000;
    h.install(h.app.applyAccounting(h.accountingReading(), h.now));
    expect(svc.lb.backends.reduce((n, b) => n + b.totalConns, 0)).toBe(60);
    expect(svc.lb.backends.map((b) => b.listedNewOpen)).toEqual([0, 0, 0]);
    // The feedback scheduler's L for the buckets is that figure: nothing newly open, nothing completed, so vm2's interval
    // is idle and gives no estimate (counted from every open entry, its 20 stale ones made it busy and slow).
    const scheduler = svc.lb.scheduler as FeedbackScheduler;
    for (const [i, at] of [h.now, h.now + 1000].entries()) {
      h.install(h.app.feedLoad('web', 'v-vm2', { at, rxPackets: 100 * (i + 1), txPackets: 100 * (i + 1), txDropped: 0 }));
    }
    expect(scheduler.estimate('v-vm2')).toBeUndefined();
  });

  it("the tracker's listing counts the connections the datapath decided, per backend", () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    const where = spread(h, 600);
    h.install(h.app.applyAccounting(h.accountingReading(), h.now));
    const svc = h.app.serviceStates()[0];
    expect(svc.decisions).toBe(600);
    for (const b of svc.lb.backends) expect(b.activeConns + b.inactiveConns).toBe(share(where, b.id, 1));
    // A second reading adds nothing.
    h.install(h.app.applyAccounting(h.accountingReading(), h.now));
    expect(svc.decisions).toBe(600);
  });

  it('a reading applied in slices (the statistics poll: a turn of the event loop between them) counts as one applied at once', () => {
    const counts = (h: AppHarness) => h.app.serviceStates()[0].lb.backends.map((b) => [b.id, b.activeConns, b.inactiveConns, b.completedConns]);
    const whole = new AppHarness(CONNTRACK, services('rr'));
    const sliced = new AppHarness(CONNTRACK, services('rr'));
    expect(spread(sliced, 100)).toEqual(spread(whole, 100));
    // Some end before the reading (closing in the listing): counted, not tracked.
    const listing = (h: AppHarness) => h.trackerListing().map((e, i) => (i % 4 === 0 ? { ...e, state: 'TIME_WAIT' } : e));
    whole.install(whole.app.applyAccounting({ source: 'tracker', entries: listing(whole) }, whole.now));
    const steps = sliced.app.applyAccountingInSlices({ source: 'tracker', entries: listing(sliced) }, sliced.now, 7);
    let turns = 0;
    for (let step = steps.next(); ; step = steps.next(), turns++) {
      if (step.done) {
        sliced.install(step.value);
        break;
      }
    }
    expect(turns).toBeGreaterThanOrEqual(Math.floor(100 / 7));
    expect(sliced.app.serviceStates()[0].decisions).toBe(100);
    expect(counts(sliced)).toEqual(counts(whole));
    expect(sliced.app.connectionRecords().map((c) => c.record)).toEqual(whole.app.connectionRecords().map((c) => c.record));
  });

  it('a connection that ended between two readings (closing in the listing) is counted once, and not tracked', () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    spread(h, 30);
    const svc = h.app.serviceStates()[0];
    const closing = { source: 'tracker' as const, entries: h.trackerListing('TIME_WAIT') };
    h.install(h.app.applyAccounting(closing, h.now));
    h.install(h.app.applyAccounting(closing, h.now + 500));
    expect(svc.decisions).toBe(30);
    expect(svc.lb.backends.reduce((n, b) => n + b.activeConns + b.inactiveConns, 0)).toBe(0);
    expect(svc.lb.backends.reduce((n, b) => n + b.completedConns, 0)).toBe(30);
    expect([...svc.backends.values()].reduce((n, b) => n + b.totalConns, 0)).toBe(30);
  });

  it("a closed connection the tracker keeps listing has its end applied once: later readings skip it, until it is listed open again", () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    spread(h, 20);
    const svc = h.app.serviceStates()[0];
    const closes = jest.spyOn(svc.lb, 'close');
    const read = (state?: string) => h.install(h.app.applyAccounting({ source: 'tracker', entries: h.trackerListing(state) }, (h.now += 1000)));
    read();
    expect(svc.lb.backends.reduce((n, b) => n + b.activeConns + b.inactiveConns, 0)).toBe(20);
    read('TIME_WAIT');
    expect(closes).toHaveBeenCalledTimes(20);
    expect(svc.lb.backends.reduce((n, b) => n + b.activeConns + b.inactiveConns, 0)).toBe(0);
    expect(svc.lb.backends.reduce((n, b) => n + b.completedConns, 0)).toBe(20);
    // The tracker keeps them for its close timeout: read again and again, nothing more is done with them.
    read('TIME_WAIT');
    read('TIME_WAIT');
    expect(closes).toHaveBeenCalledTimes(20);
    // Their 5-tuples listed open again (a client port reused on the same backend), then closing: each end is applied again.
    read();
    read('TIME_WAIT');
    expect(closes).toHaveBeenCalledTimes(40);
    expect(svc.decisions).toBe(20);
  });
});

describe('datapath decisions: passive outlier detection', () => {
  const RST_ACK = 0x14;
  const ejections = (h: AppHarness) => h.events.filter((e) => e.kind === 'outlier_ejected');
  /**
   * A statistics poll: the tracker lists every connection as `state`. The outlier detector judges refusals at it,
   * after its successes (TIME_WAIT: a connection that closed; a refused one is TIME_WAIT in the userspace tracker too).
   */
  const read = (h: AppHarness, state = 'TIME_WAIT') => h.app.applyAccounting({ source: 'tracker', entries: h.trackerListing(state) }, h.now);
  const groupMods = (batches: ReturnType<typeof read>) => batches.flatMap((b) => b.msgs).filter((m) => 'type' in m && m.type === 'group_mod');

  /** New connections from client ports `from`..; the dead VM answers each SYN with a RST, which the switch copies to vadc. */
  function connect(h: AppHarness, from: number, n: number, dead?: keyof typeof VMS): string[] {
    const placed: string[] = [];
    for (let clientPort = from; clientPort < from + n; clientPort++) {
      h.now += 50;
      const out = delivered(h.send(fromClient(clientPort)).outcomes);
      const vm = PORT_OF[out.port] as keyof typeof VMS;
      placed.push(vm);
      // The reset a SYN gets (RFC 793): sequence 0, ACK set.
      if (vm === dead) h.send(fromBackend(vm, clientPort, { flags: RST_ACK, seq: 0, backendPort: Number(out.fields.tcp_dst) }), VMS[vm].ofport);
    }
    return placed;
  }

  it("a VM that refuses the select group's connections (RST to the SYN) is ejected after 3, its bucket goes, and a probe brings it back", () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    const placed = connect(h, 50000, 40, 'v-vm2');
    expect(h.packetIns).toBe(0); // no packet-in for a decision; vm2's RSTs reached vadc as end copies
    expect(h.endCopies).toBeGreaterThanOrEqual(3);
    // Refusals are judged at the next reading (after the successes it shows): none yet.
    expect(ejections(h)).toEqual([]);
    const reading = read(h);
    expect(ejections(h)).toEqual([expect.objectContaining({
      backend: 'v-vm2', message: expect.stringMatching(/\d+ consecutive failures; last: the backend refused the connection \(RST answering its SYN\)/),
    })]);
    expect(placed.filter((vm) => vm === 'v-vm2').length).toBeGreaterThanOrEqual(3);
    // The group drops vm2's bucket in the reading's own batch.
    const mods = h.table.groupMods;
    expect(groupMods(reading)).toHaveLength(1);
    h.install(reading);
    expect(h.table.groupMods).toBe(mods + 1);
    expect(h.app.outlierFlush()).toEqual([]);
    expect(share(spread(h, 2000, 52000), 'v-vm2', 2000)).toBe(0);
    h.now += 2000;
    const due = h.app.outlierTick(h.now);
    expect(due.probes).toEqual([expect.objectContaining({ backend: 'v-vm2', port: 8080, protocol: 'tcp' })]);
    h.install(h.app.outlierProbeResult(due.probes[0], true, 'connected', h.now));
    expect(share(spread(h, 2000, 55000), 'v-vm2', 2000)).toBeGreaterThan(0.25);
  });

  /**
   * Ten untracked RSTs from vm2's port (`rst(i)`, 300 ms apart) eject nothing, and vm2 keeps its bucket; then three
   * refusals of SYNs to a client (sequence 0, `refusal(i)`) do eject it: the rule still holds.
   */
  function expectNoVerdict(h: AppHarness, rst: (i: number) => Buffer, refusal: (i: number) => Buffer, spreadFrom?: number): void {
    for (let i = 0; i < 10; i++) {
      h.now += 300;
      h.send(rst(i), VMS['v-vm2'].ofport);
    }
    expect(h.endCopies).toBe(10);
    h.install(read(h));
    expect(ejections(h)).toEqual([]);
    expect(h.app.outlierFlush()).toEqual([]);
    if (spreadFrom !== undefined) {
      expect(share(spread(h, 3000, spreadFrom), 'v-vm2', 3000)).toBeGreaterThan(0.25);
      h.install(read(h)); // their successes: read before the refusals below
    }
    for (let i = 0; i < 3; i++) h.send(refusal(i), VMS['v-vm2'].ofport);
    h.install(read(h));
    expect(ejections(h)).toEqual([expect.objectContaining({ backend: 'v-vm2', message: expect.stringMatching(/refused the connection/) })]);
  }

  it("a backend's RSTs of connections it had accepted directly (not through the VIP) eject nothing: only a RST answering a SYN is a refusal", () => {
    // A client talks to vm2:8080 directly; the switch copies the port's every RST (the copy flow matches the backend
    // port, whoever the peer is), and vadc tracks none of these connections. Each reset carries vm2's own sequence
    // number, as a socket closed with data unread sends it (iperf3's server after each test did so on real OVS).
    expectNoVerdict(
      new AppHarness(CONNTRACK, services('rr')),
      (i) => fromBackend('v-vm2', 41000 + i, { flags: RST_ACK, seq: 0x5eed0000 + i }),
      (i) => fromBackend('v-vm2', 42000 + i, { flags: RST_ACK, seq: 0 }),
      45000,
    );
  });

  it("a backend's refusals of vadc's own health checks (RST to the checks' source address) eject nothing; the same refusals to a client do", () => {
    // The checks connect to the backend directly from the host (the daemon's healthSourceAddress), so the copy flow on
    // the backend's port copies a stopped server's answer to each check: RST+ACK with sequence 0, as to a placed SYN.
    // On real OVS they ejected the port, which then stayed out of the group after its check saw it recover.
    expectNoVerdict(
      new AppHarness(CONNTRACK, services('rr'), { checkSources: ['10.0.0.1', 'fd00:0::1'] }),
      (i) => fromBackend('v-vm2', 43000 + i, { flags: RST_ACK, seq: 0, dstIp: '10.0.0.1', dstMac: LOCAL_MAC }),
      (i) => fromBackend('v-vm2', 44000 + i, { flags: RST_ACK, seq: 0 }),
      45000,
    );
  });

  it("IPv6: refusals to the checks' IPv6 source (given in another spelling) eject nothing; to a client they do", () => {
    expectNoVerdict(
      new AppHarness(CONNTRACK, ipv6Services('rr', '    decisions: datapath'), { checkSources: ['10.0.0.1', 'fd00:0::1'] }),
      (i) => fromBackend6('v-vm2', 43000 + i, { flags: RST_ACK, seq: 0, clientIp: 'fd00::1' }),
      (i) => fromBackend6('v-vm2', 44000 + i, { flags: RST_ACK, seq: 0 }),
    );
  });

  it('refusals hours apart with connections that worked between them (closed by the next reading) eject nothing; refusals alone do', () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    let from = 64000;
    // Each interval: connections vm2 refuses, then ones that work and close before the reading (TIME_WAIT in it).
    // Its refusals alone (a refused connection is TIME_WAIT in the userspace listing too) add up to 3 in a row.
    for (let interval = 0; interval < 6; interval++) {
      h.now += 3_600_000;
      connect(h, from, 3, 'v-vm2');
      connect(h, from + 3, 9);
      from += 12;
      h.install(read(h));
    }
    const vm2 = h.app.serviceStates()[0].lb.backendById('v-vm2')!;
    expect(ejections(h)).toEqual([]);
    expect(vm2.completedConns).toBeGreaterThan(6);
    for (let interval = 0; interval < 4 && ejections(h).length === 0; interval++) {
      h.now += 3_600_000;
      connect(h, from, 6, 'v-vm2');
      from += 6;
      h.install(read(h));
    }
    expect(ejections(h)).toEqual([expect.objectContaining({ backend: 'v-vm2', message: expect.stringMatching(/consecutive failures; last: the backend refused/) })]);
  });

  it("connections the tracker still lists in SYN_SENT connect_timeout after vadc first saw them eject their VM; established ones do not", () => {
    const h = new AppHarness(CONNTRACK, services('rr'));
    connect(h, 60000, 12);
    const silentIp = VMS['v-vm3'].ip;
    const listing = () => h.trackerListing().map((e) => ([e.reply.src >>> 24, (e.reply.src >>> 16) & 255, (e.reply.src >>> 8) & 255, e.reply.src & 255].join('.') === silentIp ? { ...e, state: 'SYN_SENT' } : e));
    h.install(h.app.applyAccounting({ source: 'tracker', entries: listing() }, h.now));
    expect(ejections(h)).toEqual([]); // first seen: not judged yet
    h.now += 1999;
    h.install(h.app.applyAccounting({ source: 'tracker', entries: listing() }, h.now));
    expect(ejections(h)).toEqual([]);
    h.now += 1;
    h.install(h.app.applyAccounting({ source: 'tracker', entries: listing() }, h.now));
    expect(ejections(h)).toEqual([expect.objectContaining({ backend: 'v-vm3', message: expect.stringMatching(/not established 2000 ms after the first packet/) })]);
    h.install(h.app.outlierTick(h.now).batches);
    expect(share(spread(h, 2000, 62000), 'v-vm3', 2000)).toBe(0);
  });
});

describe('datapath decisions: where they do not apply', () => {
  it('in flows mode the controller decides, and an event says why', () => {
    const h = new AppHarness(NAT_MODES[0], services('rr'));
    expect(h.table.groups.size).toBe(0);
    delivered(h.send(fromClient(20000)).outcomes);
    expect(h.packetIns).toBe(1);
    expect(h.events.find((e) => e.kind === 'datapath_decisions_unavailable')?.message).toMatch(/^web: decisions: datapath needs conntrack NAT/);
    expect(h.app.decidedBy('web')).toBe('controller');
    expect(new AppHarness(CONNTRACK, services('rr')).app.decidedBy('web')).toBe('datapath');
  });

  it('refuses accounting flows (no packet-in, so no accounting flow would ever count a connection)', () => {
    expect(() => parseConfig(`datapath: { nat: conntrack, accounting: flows }\n${services('rr')}`, 'x.yaml'))
      .toThrow(/services\[0\]\.decisions: datapath decisions need datapath.accounting: conntrack/);
    expect(() => parseConfig(`datapath: { nat: conntrack, accounting: conntrack }\n${services('rr')}`, 'x.yaml')).not.toThrow();
  });

  it.each([
    ['lc', /datapath decisions work with rr, wrr, feedback, not lc: lc counts each backend's connections at the moment it decides, which only the controller can/],
    ['sh', /not sh: sh hashes chosen header fields, which an OVS group does only with the selection_method property of OpenFlow 1.5/],
    ['mh', /not mh: mh hashes chosen header fields/],
  ])('refuses scheduler %s with a clear error', (scheduler, message) => {
    expect(() => parseConfig(services(scheduler), 'x.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(services(scheduler), 'x.yaml')).toThrow(message);
  });

  it('refuses persistence', () => {
    expect(() => parseConfig(services('rr', '    persistence: 60'), 'x.yaml')).toThrow(/persistence needs decisions: controller/);
  });
});
