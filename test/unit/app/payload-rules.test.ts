// Payload rules through the app and the fake flow table, in every NAT mode: a UDP flow's first datagram picks
// the pool, the service's scheduler picks within it, and the flow's later datagrams stay on its backend.
import { MALFORMED_EVENT_INTERVAL_MS } from '../../../src/app/payload';
import { LbService } from '../../../src/lb/service';
import { OFPCML_NO_BUFFER, OFPP_CONTROLLER } from '../../../src/openflow/constants';
import { AppHarness, backendYaml, backendYaml6, CLIENT6, CLIENT_MAC, NAT_MODES, VIP6, VIP6_MAC, VIP_MAC, VMS, type VmName } from '../../helpers/app-harness';
import { ipv4Frame, ipv6Frame } from '../../helpers/frames';

function services(malformed: 'default' | 'refuse', scheduler = 'rr'): string {
  return `
services:
  - name: game
    vip: 10.0.0.100
    protocol: udp
    port: 7777
    scheduler: ${scheduler}
    backends:
${backendYaml('v-vm1', [7000])}
${backendYaml('v-vm2', [7000])}
${backendYaml('v-vm3', [7000])}
    payload_rules:
      pools: { old: [v-vm1, v-vm2], new: [v-vm3] }
      rules:
        - { name: version-2, offset: 1, bytes: "02", pool: new }
      default_pool: old
      min_length: 4
      malformed: ${malformed}
`;
}

/** A datagram from client port `clientPort` with this payload. */
function datagram(clientPort: number, payloadHex: string): Buffer {
  return ipv4Frame({
    srcMac: CLIENT_MAC, dstMac: VIP_MAC, srcIp: '10.0.0.101', dstIp: '10.0.0.100', proto: 'udp', srcPort: clientPort, dstPort: 7777,
    payload: Buffer.from(payloadHex, 'hex'),
  });
}

const vmOf = (ip: unknown): VmName => (Object.keys(VMS) as VmName[]).find((vm) => VMS[vm].ip === ip)!;

describe.each(NAT_MODES)('payload rules ($name)', (mode) => {
  it('sends a flow to the pool its first datagram picks, and keeps its later datagrams on that backend', () => {
    const h = new AppHarness(mode, services('default'));
    const placed = new Map<number, VmName>();
    for (let port = 20000; port < 20012; port++) {
      const version = port % 2 === 0 ? '02' : '01';
      const out = h.send(datagram(port, `c0${version}000000`)).outcomes.filter((o) => o.kind === 'output');
      expect(out).toHaveLength(1);
      placed.set(port, vmOf((out[0] as { fields: { ipv4_dst?: string } }).fields.ipv4_dst));
    }
    const even = [...placed].filter(([p]) => p % 2 === 0).map(([, vm]) => vm);
    const odd = [...placed].filter(([p]) => p % 2 === 1).map(([, vm]) => vm);
    expect(new Set(even)).toEqual(new Set(['v-vm3']));
    // rr within the pool: both of its members take flows.
    expect(new Set(odd)).toEqual(new Set(['v-vm1', 'v-vm2']));
    // A later datagram of each flow, whatever it carries, goes where the flow went (a version-2 byte now changes nothing).
    const packetIns = h.packetIns;
    for (const [port, vm] of placed) {
      const later = h.send(datagram(port, 'ff02ffff')).outcomes.filter((o) => o.kind === 'output');
      expect((later[0] as { fields: { ipv4_dst?: string } }).fields.ipv4_dst).toBe(VMS[vm].ip);
    }
    // The datapath carried them (conntrack: the tracker; flows: the connection's flows), or the app sent them on as known.
    expect(h.packetIns - packetIns).toBeLessThanOrEqual(placed.size);
    const status = h.app.serviceStates()[0].payload!;
    expect(status.hits).toEqual([6]);
    expect(status.defaultHits).toBe(6);
    expect(status.malformed).toBe(0);
  });

  it('sends a malformed first datagram to the default pool when so configured, with one bounded event', () => {
    const h = new AppHarness(mode, services('default'));
    for (let port = 21000; port < 21005; port++) {
      const out = h.send(datagram(port, '0002')).outcomes.filter((o) => o.kind === 'output');
      expect(['v-vm1', 'v-vm2']).toContain(vmOf((out[0] as { fields: { ipv4_dst?: string } }).fields.ipv4_dst));
    }
    const events = h.events.filter((e) => e.kind === 'payload_malformed');
    expect(events).toHaveLength(1);
    expect(events[0].message).toMatch(/payload of 2 bytes is shorter than min_length 4.*default pool old/);
    expect(h.app.serviceStates()[0].payload!.malformed).toBe(5);
    h.now += MALFORMED_EVENT_INTERVAL_MS;
    h.send(datagram(21100, ''));
    const later = h.events.filter((e) => e.kind === 'payload_malformed');
    expect(later).toHaveLength(2);
    expect(later[1].message).toMatch(/4 more since the last report/);
  });

  it('refuses a malformed first datagram with ICMP port unreachable when so configured', () => {
    const h = new AppHarness(mode, services('refuse'));
    const { outcomes, replies } = h.send(datagram(22000, '00'));
    expect(outcomes.filter((o) => o.kind === 'output')).toEqual([]);
    expect(replies).toHaveLength(1);
    const icmp = replies[0].data.subarray(14 + 20);
    expect([icmp[0], icmp[1]]).toEqual([3, 3]); // destination unreachable, port unreachable
    expect(h.app.serviceStates()[0].refused).toBe(1);
    expect(h.events.filter((e) => e.kind === 'connection_refused')).toEqual([]);
    expect(h.events.filter((e) => e.kind === 'payload_malformed')).toHaveLength(1);
    // A well-formed one from the same client is served.
    const served = h.send(datagram(22001, 'c0020000')).outcomes.filter((o) => o.kind === 'output');
    expect((served[0] as { fields: { ipv4_dst?: string } }).fields.ipv4_dst).toBe(VMS['v-vm3'].ip);
  });

  it('asks the switch for whole packets wherever a first datagram can go to vadc', () => {
    const h = new AppHarness(mode, services('default'));
    const toController = h.table.flows().flatMap((f) => f.instructions.flatMap((ins) => ('actions' in ins ? ins.actions : [])))
      .filter((a) => a.type === 'output' && a.port === OFPP_CONTROLLER);
    expect(toController.length).toBeGreaterThan(0);
    for (const a of toController) expect(a).toMatchObject({ maxLen: OFPCML_NO_BUFFER });
  });

  it('refuses a flow whose pool has no backend available, while the other pool serves', () => {
    const h = new AppHarness(mode, services('default'));
    h.setLink(VMS['v-vm3'].ofport, false);
    const { replies } = h.send(datagram(23000, 'c0020000'));
    expect(replies).toHaveLength(1);
    expect(h.events.find((e) => e.kind === 'connection_refused')?.message).toMatch(/no backend available in pool new/);
    const served = h.send(datagram(23001, 'c0010000')).outcomes.filter((o) => o.kind === 'output');
    expect(['v-vm1', 'v-vm2']).toContain(vmOf((served[0] as { fields: { ipv4_dst?: string } }).fields.ipv4_dst));
  });
});

describe('pools by tag', () => {
  const tagged = (withVm3: boolean) => `
services:
  - name: game
    vip: 10.0.0.100
    protocol: udp
    port: 7777
    scheduler: rr
    backends:
${backendYaml('v-vm1', [7000], 'tags: [v1]')}
${backendYaml('v-vm2', [7000], 'tags: [v2]')}
${withVm3 ? backendYaml('v-vm3', [7000], 'tags: [v2]') : ''}
    payload_rules:
      pools: { old: [{ tag: v1 }], new: [{ tag: v2 }] }
      rules: [ { offset: 1, bytes: "02", pool: new } ]
      default_pool: old
`;

  it('a pool takes every backend whose tags hold its tag, and one that joins later (a tagged VM) too', () => {
    const h = new AppHarness(NAT_MODES[1], tagged(false));
    const first = Array.from({ length: 3 }, (_, i) => h.send(datagram(24000 + i, 'c0020000')).outcomes.filter((o) => o.kind === 'output'));
    expect(first.map((o) => vmOf((o[0] as { fields: { ipv4_dst?: string } }).fields.ipv4_dst))).toEqual(['v-vm2', 'v-vm2', 'v-vm2']);
    // vm3 joins with the tag (as backends_from's tagged VMs do: the daemon serves the services again).
    h.install(h.app.setServices(AppHarness.config(NAT_MODES[1], tagged(true)).services, h.now));
    const after = Array.from({ length: 4 }, (_, i) => h.send(datagram(24100 + i, 'c0020000')).outcomes.filter((o) => o.kind === 'output'));
    expect(new Set(after.map((o) => vmOf((o[0] as { fields: { ipv4_dst?: string } }).fields.ipv4_dst)))).toEqual(new Set(['v-vm2', 'v-vm3']));
    const old = h.send(datagram(24200, 'c0010000')).outcomes.filter((o) => o.kind === 'output');
    expect(vmOf((old[0] as { fields: { ipv4_dst?: string } }).fields.ipv4_dst)).toBe('v-vm1');
  });
});

describe('reconfiguring', () => {
  it('keeps the service (its flows and counters) when only the sorry backend changes; the pools take the new one', () => {
    const withSorry = (name: string) => services('default').replace('    payload_rules:', `    sorry_backend: { name: ${name}, vnic: v-vm3, ip: ${VMS['v-vm3'].ip}, ports: [7000], mac: "${VMS['v-vm3'].mac}" }\n    payload_rules:`)
      .replace(backendYaml('v-vm3', [7000]), '').replace('new: [v-vm3]', 'new: [v-vm2]');
    const h = new AppHarness(NAT_MODES[1], withSorry('sorry-a'));
    h.send(datagram(26000, 'c0020000'));
    expect(h.app.serviceStates()[0].decisions).toBe(1);
    h.install(h.app.setServices(AppHarness.config(NAT_MODES[1], withSorry('sorry-b')).services, h.now));
    expect(h.app.serviceStates()[0].decisions).toBe(1);
    expect(h.app.serviceStates()[0].lb.poolMembers('new')!.map((b) => b.id)).toEqual(['v-vm2', 'sorry-b']);
  });
});

describe('a sorry backend change while the sorry backend serves', () => {
  // The failover logic routed new flows to the sorry backend (every tier down); the operator then names another one:
  // the new sorry backend takes the next flows at once, where before the tiers were put back (refreshTiers) until the
  // next routing came.
  const withSorry = (name: string, port: number) => services('default').replace('    payload_rules:', `    sorry_backend: { name: ${name}, vnic: v-vm3, ip: ${VMS['v-vm3'].ip}, ports: [${port}], mac: "${VMS['v-vm3'].mac}" }\n    payload_rules:`)
    .replace(backendYaml('v-vm3', [7000]), '').replace('new: [v-vm3]', 'new: [v-vm2]');
  const portOf = (h: AppHarness, clientPort: number) =>
    (h.send(datagram(clientPort, 'c0020000')).outcomes.find((o) => o.kind === 'output') as { fields: { udp_dst?: number } } | undefined)?.fields.udp_dst;

  it('sends the next flows to the new sorry backend, the service kept', () => {
    const h = new AppHarness(NAT_MODES[1], withSorry('sorry-a', 7100));
    h.install(h.app.setRouting('game', { kind: 'sorry', backend: 'sorry-a' }));
    expect(portOf(h, 27000)).toBe(7100);
    const before = h.app.serviceStates()[0];
    h.install(h.app.setServices(AppHarness.config(NAT_MODES[1], withSorry('sorry-b', 7200)).services, h.now));
    expect(h.app.serviceStates()[0]).toBe(before);
    expect(portOf(h, 27001)).toBe(7200);
    expect(portOf(h, 27002)).toBe(7200);
  });
});

describe('IPv6', () => {
  it('reads the payload after the IPv6 header and places the flow in its pool', () => {
    const h = new AppHarness(NAT_MODES[1], `
services:
  - name: game6
    vip: "${VIP6}"
    protocol: udp
    port: 7777
    scheduler: rr
    backends:
${backendYaml6('v-vm1', [7000])}
${backendYaml6('v-vm3', [7000])}
    payload_rules:
      pools: { old: [v-vm1], new: [v-vm3] }
      rules: [ { offset: 1, bytes: "02", pool: new } ]
      default_pool: old
`);
    const dst = (payload: string, port: number) => {
      const out = h.send(ipv6Frame({ srcMac: CLIENT_MAC, dstMac: VIP6_MAC, srcIp: CLIENT6, dstIp: VIP6, proto: 'udp', srcPort: port, dstPort: 7777, payload: Buffer.from(payload, 'hex') }))
        .outcomes.filter((o) => o.kind === 'output');
      return (out[0] as { fields: { ipv6_dst?: string } }).fields.ipv6_dst;
    };
    expect([dst('c002', 25000), dst('c001', 25001), dst('c002', 25002)]).toEqual([VMS['v-vm3'].ip6, VMS['v-vm1'].ip6, VMS['v-vm3'].ip6]);
  });
});

describe('LbService pools', () => {
  const spec = (id: string, ip: number, weight = 1) => ({ id, ip, ports: [80], weight });
  const pkt = (srcPort: number) => ({ srcIp: 0x0a000065, srcPort, dstIp: 0x0a000064, dstPort: 80, proto: 17 });

  it('schedules within a pool with the service\'s scheduler, its own cursor, and members that come and go', () => {
    const lb = new LbService([spec('a', 1), spec('b', 2), spec('c', 3)], { scheduler: 'wrr', pools: { ab: ['a', 'b'], c: ['c'] } });
    lb.setWeight('b', 3);
    const picks = Array.from({ length: 8 }, (_, i) => lb.open(pkt(1000 + i), 'inactive', 0, 'ab')!.backend.id);
    expect(picks.filter((p) => p === 'b')).toHaveLength(6);
    expect(picks.filter((p) => p === 'a')).toHaveLength(2);
    expect(lb.open(pkt(2000), 'inactive', 0, 'c')!.backend.id).toBe('c');
    lb.removeBackend('c');
    expect(lb.poolMembers('c')).toEqual([]);
    expect(lb.open(pkt(2001), 'inactive', 0, 'c')).toBeNull();
    lb.addBackend(spec('c', 3));
    expect(lb.open(pkt(2002), 'inactive', 0, 'c')!.backend.id).toBe('c');
    expect(() => lb.open(pkt(2003), 'inactive', 0, 'nope')).toThrow(/no pool nope/);
  });

  it('keeps a client on its persistent backend within a pool, and never follows it out of the pool', () => {
    const lb = new LbService([spec('a', 1), spec('b', 2), spec('c', 3)], { scheduler: 'rr', persistence: { timeoutMs: 60_000 }, pools: { ab: ['a', 'b'], c: ['c'] } });
    const first = lb.open(pkt(1), 'inactive', 0, 'ab')!.backend.id;
    expect(Array.from({ length: 4 }, (_, i) => lb.open(pkt(10 + i), 'inactive', 1, 'ab')!.backend.id)).toEqual([first, first, first, first]);
    expect(lb.open(pkt(2), 'inactive', 2, 'c')!.backend.id).toBe('c');
    expect(['a', 'b']).toContain(lb.open(pkt(3), 'inactive', 3, 'ab')!.backend.id);
  });
});
