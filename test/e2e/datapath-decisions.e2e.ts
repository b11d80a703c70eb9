// Datapath decisions on real OVS (`decisions: datapath`, conntrack NAT): the service's select group spreads new
// connections over the backends with no packet-in at all, vadc counts them from the tracker, and the buckets follow
// a drained backend and one whose health check fails. The spread runs for an IPv4 and an IPv6 VIP (issue 16: the
// group's buckets nat(dst=[addr]:port), the decision flow on ipv6_dst, the tracker's IPv6 entries).
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import { ipv6ForIp, Lab, type LabServer } from '../../src/lab';
import { requestEach, type Served } from '../helpers/sched-clients';

/** In the lab's subnet (.100), set once the lab is up. */
let VIP = '';
let lab: Lab;
let daemon: VadcDaemon;
const servers = new Map<string, LabServer>();

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Packet-ins other than the copies of FIN/RST segments (datapath.end_copies, which report connection ends, not decisions). */
const packetIns = () => daemon.status().switches[0].packetIns - daemon.service('web').endCopies - daemon.service('web6').endCopies;
const counts = (served: Served[]) => served.reduce<Record<string, number>>((m, s) => ({ ...m, [s.vm]: (m[s.vm] ?? 0) + 1 }), {});
const fresh = (n: number, host = VIP) => requestEach(lab, 'cl1', Array.from({ length: n }, () => ({ host })));
/** The buckets of a family's group as ovs-ofctl lists them: "ip:port weight" (IPv6: "[addr]:port weight"). */
async function buckets(ipv6 = false): Promise<string[]> {
  const dump = await lab.ofctl('dump-groups');
  const bucket = ipv6 ? /bucket=(?:bucket_id:\d+,)?weight:(\d+),actions=ct\([^)]*nat\(dst=(\[[\da-f:]+\]:\d+)\)/g
    : /bucket=(?:bucket_id:\d+,)?weight:(\d+),actions=ct\([^)]*nat\(dst=([\d.]+:\d+)\)/g;
  return [...dump.matchAll(bucket)].map((m) => `${m[2]} ${m[1]}`).sort();
}

/** The two services: web on the IPv4 VIP (health checked), web6 on the IPv6 one, both deciding in the datapath. */
interface Family {
  name: 'IPv4' | 'IPv6';
  service: 'web' | 'web6';
  vip(): string;
  bucket(vm: string): string;
  pin: string[];
}

const FAMILIES: Family[] = [
  { name: 'IPv4', service: 'web', vip: () => VIP, bucket: (vm) => `${lab.host(vm).ip}:8080`, pin: ['ip'] },
  { name: 'IPv6', service: 'web6', vip: () => ipv6ForIp(VIP), bucket: (vm) => `[${lab.host(vm).ip6}]:8080`, pin: ['ip', '-6'] },
];

beforeAll(async () => {
  // Its own lab name (and directory): a run of another suite under the default name queues on the host lock instead of colliding.
  lab = await Lab.up({ name: 'dpd', vms: 3, clients: 1, waitForHostMs: 600_000 });
  VIP = lab.subnet.replace(/\.0\/\d+$/, '.100');
  for (const vm of ['vm1', 'vm2', 'vm3']) servers.set(vm, await lab.startHttpServer(vm, 8080));
  const text = `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
datapath: { nat: conntrack, appctl: ${lab.vswitchdControlSocket} }
ovsdb: unix:${lab.ovsdbSocket}
services:
  - name: web
    vip: ${VIP}
    port: 80
    scheduler: rr
    decisions: datapath
    health: { type: http, path: /, interval: 0.3, timeout: 0.25, rise: 1, fall: 1 }
    backends:
${['vm1', 'vm2', 'vm3'].map((vm) => `      - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8080] }`).join('\n')}
  - name: web6
    vip: "${ipv6ForIp(VIP)}"
    port: 80
    scheduler: rr
    decisions: datapath
    backends:
${['vm1', 'vm2', 'vm3'].map((vm) => `      - { vnic: ${lab.host(vm).port}, ip: "${lab.host(vm).ip6}", ports: [8080] }`).join('\n')}
`;
  daemon = new VadcDaemon({ config: parseConfig(text, 'e2e'), configText: text, statsIntervalMs: 300, healthSourceAddress: lab.localIp });
  const [target] = await daemon.start();
  await lab.setController(target);
  await waitFor(() => daemon.status().switches.length === 1 && daemon.service('web').backends.every((b) => b.health === 'up'), 20_000, 'switch up, backends healthy');
  await waitFor(async () => (await buckets()).length === 3 && (await buckets(true)).length === 3, 10_000, 'the groups with three buckets');
}, 700_000);

afterAll(async () => {
  await daemon?.stop();
  for (const s of servers.values()) await s.stop().catch(() => undefined);
  await lab?.down();
}, 120_000);

describe.each(FAMILIES)('datapath decisions on real OVS, $name VIP', (f) => {
  it('spreads 90 fresh connections over the three VMs with zero packet-ins, and vadc counts them from the tracker', async () => {
    const vip = f.vip();
    const service = () => daemon.service(f.service);
    expect(await buckets(f.name === 'IPv6')).toEqual(['vm1', 'vm2', 'vm3'].map((vm) => `${f.bucket(vm)} 60`).sort());
    await fresh(1, vip); // the client's ARP (neighbor solicitation) for the VIP goes to vadc once
    await waitFor(() => service().decisions === 1, 10_000, 'vadc to count the first connection');
    // The entry pinned: a slow run outlives ARP's reachable time, and the client's re-probes of the VIP (answered by
    // vadc, not by the group) were counted as 9 packet-ins once.
    await lab.exec('cl1', [...f.pin, 'neigh', 'replace', vip, 'lladdr', service().vipMac, 'dev', 'eth0', 'nud', 'permanent']);
    const before = packetIns();
    const served = await fresh(90, vip);
    expect(packetIns() - before).toBe(0);
    const spread = counts(served);
    for (const vm of ['vm1', 'vm2', 'vm3']) expect(spread[vm]).toBeGreaterThanOrEqual(15);
    // The tracker lists them (ESTABLISHED or closing): vadc learnt every decision at a statistics poll.
    await waitFor(() => service().decisions >= 91, 10_000, 'vadc to count the 90 connections');
    await new Promise((r) => setTimeout(r, 1000)); // a few more statistics polls: none is counted twice
    expect(service().decisions).toBe(91);
    expect(service().decidedBy).toBe('datapath');
    expect(service().backends.map((b) => b.totalConns).reduce((a, b) => a + b, 0)).toBe(91);
    console.log(`datapath decisions, ${f.name} VIP ${vip}: 90 connections -> ${JSON.stringify(spread)}, packet-ins ${packetIns() - before}`);
  }, 120_000);
});

describe('datapath decisions on real OVS: the group follows the backends', () => {
  it('a drained backend leaves the group (0 new connections), and one whose health check fails too', async () => {
    await daemon.drain('web', lab.host('vm2').port);
    await waitFor(async () => (await buckets()).length === 2, 5000, 'vm2 to leave the group');
    const before = packetIns();
    const drained = counts(await fresh(30));
    expect(drained.vm2 ?? 0).toBe(0);
    expect(drained.vm1 + drained.vm3).toBe(30);
    await daemon.enable('web', lab.host('vm2').port);
    await waitFor(async () => (await buckets()).length === 3, 5000, 'vm2 back in the group');
    await servers.get('vm3')!.stop();
    servers.delete('vm3');
    await waitFor(() => daemon.service('web').backends.find((b) => b.id === lab.host('vm3').port)?.health === 'down', 10_000, 'vm3 down');
    await waitFor(async () => (await buckets()).length === 2, 5000, 'vm3 to leave the group');
    const dead = counts(await fresh(30));
    expect(dead.vm3 ?? 0).toBe(0);
    expect(dead.vm1 + dead.vm2).toBe(30);
    expect(packetIns() - before).toBe(0);
  }, 120_000);
});
