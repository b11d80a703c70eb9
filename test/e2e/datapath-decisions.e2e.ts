// Datapath decisions on real OVS (`decisions: datapath`, conntrack NAT): the service's select group spreads new
// connections over the backends with no packet-in at all, vadc counts them from the tracker, and the buckets follow
// a drained backend and one whose health check fails. The spread runs for an IPv4 and an IPv6 VIP (issue 16: the
// group's buckets nat(dst=[addr]:port), the decision flow on ipv6_dst, the tracker's IPv6 entries); both services are
// health-checked, the IPv6 one over IPv6 from the lab's host side (lab.localIp6). Two more
// services show the spread against the weights (wrr 3:2:1, 1,000 connections; VADC_E2E_SPREAD_CONNECTIONS=10000 for
// the issue's figure) and feedback moving the weights away from a VM slowed with tc, both without a packet-in. A tiered
// service fails over from tier 0's one backend to tier 1 and back with the group modified, never re-created. The wrr
// service's scheduler changed to rr by a config apply: the same group, equal buckets, a held connection kept.
import os from 'node:os';
import { parseConfig } from '../../src/config';
import { serviceIds } from '../../src/app';
import { VadcDaemon } from '../../src/daemon/daemon';
import { makeCookie, parseCookie, vipCookie } from '../../src/flows/cookies';
import { PRIORITY } from '../../src/flows/pipeline';
import { OVS_MAX_HASH_VALUES, ovsHashValues } from '../../src/flows/hash-slots';
import { ipv6ForIp, Lab, type LabServer } from '../../src/lab';
import { closedLoopLoad, ConnectionHolder, requestEach, type Served } from '../helpers/sched-clients';
import { restoreLink, slowDown } from '../helpers/slow-link';
import { waitFor } from '../helpers/until';
import { switchSynced } from '../helpers/switch-synced';

/** In the lab's subnet (.100), set once the lab is up. */
let VIP = '';
/** The wrr 3:2:1 service's VIP (.150) and the feedback service's (.151; clients have .101 upward); their backends listen on 8081 and 8082. */
let VIP_WRR = '';
let VIP_FEEDBACK = '';
/**
 * The tiered service's VIP (.152): vm1 is tier 0, vm2 and vm3 tier 1; its backends listen on 8083. Every service's
 * checks here allow 0.9 s and fail a backend at the second failure (a refused connect fails at once): at load 28 the
 * 0.25 s checks failed backends that served (web6's vm2 and vm3 out of the group in its spread test; tier 1 whole for a
 * moment: nothing healthy, the group rightly deleted). Outlier detection stays on (the default): vadc's own refused
 * checks of the stopped server had ejected vm1's port, so at failback tier 0 had no serving port and the group was
 * deleted until the outlier probe re-admitted it (issue-15-dd notes, 2026-12-05 dd3); refusals sent to the checks'
 * source address are no verdict now.
 */
let VIP_TIER = '';
const WRR_WEIGHTS: Record<string, number> = { vm1: 3, vm2: 2, vm3: 1 };
let lab: Lab;
let daemon: VadcDaemon;
/** The configuration the daemon started with (a test applies a change of it, then it again). */
let startText = '';
/** The daemon's listen target (the switch is pointed at it again after a detach). */
let controllerTarget = '';
const servers = new Map<string, LabServer>();
/** The wrr and feedback services' servers (8081, 8082), the tiered service's on vm2 and vm3 (8083). */
const otherServers: LabServer[] = [];
/** The tiered service's tier-0 server (vm1:8083). */
let tierZero: LabServer | undefined;
const SERVICES = ['web', 'web6', 'wrr', 'fb', 'tier'];

/** Packet-ins other than the copies of FIN/RST segments (datapath.end_copies, which report connection ends, not decisions). */
const packetIns = () => daemon.status().switches[0].packetIns - SERVICES.reduce((n, s) => n + daemon.service(s).endCopies, 0);
const counts = (served: Served[]) => served.reduce<Record<string, number>>((m, s) => ({ ...m, [s.vm]: (m[s.vm] ?? 0) + 1 }), {});
const fresh = (n: number, host = VIP) => requestEach(lab, 'cl1', Array.from({ length: n }, () => ({ host })));
/** The buckets of a family's group as ovs-ofctl lists them, each [destination, weight]. */
async function rawBuckets(ipv6 = false, port = 8080): Promise<Array<[string, number]>> {
  const dump = await lab.ofctl('dump-groups');
  const bucket = ipv6 ? /bucket=(?:bucket_id:\d+,)?weight:(\d+),actions=ct\([^)]*nat\(dst=(\[[\da-f:]+\]:\d+)\)/g
    : /bucket=(?:bucket_id:\d+,)?weight:(\d+),actions=ct\([^)]*nat\(dst=([\d.]+:\d+)\)/g;
  return [...dump.matchAll(bucket)].filter((m) => m[2].endsWith(`:${port}`)).map((m) => [m[2], Number(m[1])]);
}

/**
 * A family's group by destination: "ip:port weight" (IPv6: "[addr]:port weight"), one per backend software port, the
 * weight summed over its buckets (vadc splits one bucket in two so that OVS maps the weights onto 256 hash values).
 */
async function buckets(ipv6 = false, port = 8080): Promise<string[]> {
  const byDestination = new Map<string, number>();
  for (const [dst, weight] of await rawBuckets(ipv6, port)) byDestination.set(dst, (byDestination.get(dst) ?? 0) + weight);
  return [...byDestination].map(([dst, weight]) => `${dst} ${weight}`).sort();
}

/** The two services: web on the IPv4 VIP, web6 on the IPv6 one, both health checked and deciding in the datapath. */
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

/**
 * The daemon's configuration: the lab's switch and tracker, web (rr on VIP over `vms`' 8080, with `webLines`), then
 * `others` (more services).
 */
function config(webLines: string, others = '', vms = ['vm1', 'vm2', 'vm3']): string {
  return `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
datapath: { nat: conntrack, appctl: ${lab.vswitchdControlSocket} }
ovsdb: unix:${lab.ovsdbSocket}
services:
  - name: web
    vip: ${VIP}
    port: 80
    scheduler: rr
${webLines}    backends:
${vms.map((vm) => `      - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8080] }`).join('\n')}
${others}`;
}

beforeAll(async () => {
  // Its own lab name (and directory): a run of another suite under the default name queues on the host lock instead of colliding.
  lab = await Lab.up({ name: 'dpd', vms: 3, clients: 1, waitForHostMs: 600_000 });
  VIP = lab.subnet.replace(/\.0\/\d+$/, '.100');
  VIP_WRR = lab.subnet.replace(/\.0\/\d+$/, '.150');
  VIP_FEEDBACK = lab.subnet.replace(/\.0\/\d+$/, '.151');
  VIP_TIER = lab.subnet.replace(/\.0\/\d+$/, '.152');
  for (const vm of ['vm1', 'vm2', 'vm3']) {
    servers.set(vm, await lab.startHttpServer(vm, 8080));
    for (const port of [8081, 8082]) otherServers.push(await lab.startHttpServer(vm, port));
    if (vm === 'vm1') tierZero = await lab.startHttpServer(vm, 8083);
    else otherServers.push(await lab.startHttpServer(vm, 8083));
  }
  const text = config('    decisions: datapath\n    health: { type: http, path: /, interval: 1, timeout: 0.9, rise: 1, fall: 2 }\n', `  - name: web6
    vip: "${ipv6ForIp(VIP)}"
    port: 80
    scheduler: rr
    decisions: datapath
    health: { type: http, path: /, interval: 1, timeout: 0.9, rise: 1, fall: 2 }
    backends:
${['vm1', 'vm2', 'vm3'].map((vm) => `      - { vnic: ${lab.host(vm).port}, ip: "${lab.host(vm).ip6}", ports: [8080] }`).join('\n')}
  - name: wrr
    vip: ${VIP_WRR}
    port: 80
    scheduler: wrr
    decisions: datapath
    backends:
${['vm1', 'vm2', 'vm3'].map((vm) => `      - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8081], weight: ${WRR_WEIGHTS[vm]} }`).join('\n')}
  - name: fb
    vip: ${VIP_FEEDBACK}
    port: 80
    scheduler: feedback
    feedback_interval: 1
    decisions: datapath
    backends:
${['vm1', 'vm2', 'vm3'].map((vm) => `      - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8082] }`).join('\n')}
  - name: tier
    vip: ${VIP_TIER}
    port: 80
    scheduler: rr
    decisions: datapath
    health: { type: http, path: /, interval: 1, timeout: 0.9, rise: 1, fall: 2 }
    failover: { hold: 0 }
    backends:
${['vm1', 'vm2', 'vm3'].map((vm) => `      - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8083], tier: ${vm === 'vm1' ? 0 : 1} }`).join('\n')}
`);
  // Checks leave from the host side's address of the backend's family (one IPv4 address for both failed every IPv6 check).
  const healthSourceAddress = { ipv4: lab.localIp, ipv6: lab.localIp6 };
  startText = text;
  daemon = new VadcDaemon({ config: parseConfig(text, 'e2e'), configText: text, statsIntervalMs: 300, healthSourceAddress });
  [controllerTarget] = await daemon.start();
  await lab.setController(controllerTarget);
  await waitFor(() => switchSynced(daemon.status()) && ['web', 'web6', 'tier'].every((s) => daemon.service(s).backends.every((b) => b.health === 'up')),
    20_000, 'switch up, backends healthy over both families');
  await waitFor(async () => (await buckets()).length === 3 && (await buckets(true)).length === 3 && (await buckets(false, 8081)).length === 3
    && (await buckets(false, 8082)).length === 3 && (await buckets(false, 8083)).length === 1, 10_000, 'the groups with three buckets (tier: one)');
}, 700_000);

afterAll(async () => {
  await daemon?.stop();
  for (const s of [...servers.values(), ...otherServers, ...(tierZero ? [tierZero] : [])]) await s.stop().catch(() => undefined);
  await lab?.down();
}, 120_000);

describe.each(FAMILIES)('datapath decisions on real OVS, $name VIP', (f) => {
  it('spreads 90 fresh connections over the three VMs with zero packet-ins, and vadc counts them from the tracker', async () => {
    const vip = f.vip();
    const service = () => daemon.service(f.service);
    const equal = await buckets(f.name === 'IPv6');
    expect(equal.map((b) => b.split(' ')[0])).toEqual(['vm1', 'vm2', 'vm3'].map((vm) => f.bucket(vm)).sort());
    expect(new Set(equal.map((b) => b.split(' ')[1])).size).toBe(1);
    // OVS 3.1 maps these weights onto 256 hash values (16 would give three equal backends 6/5/5).
    expect(ovsHashValues((await rawBuckets(f.name === 'IPv6')).map(([, w]) => w))).toBe(OVS_MAX_HASH_VALUES);
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
  it('a drained backend leaves the group (0 new connections), and one whose health check fails too, in both families', async () => {
    await daemon.drain('web', lab.host('vm2').port);
    await waitFor(async () => (await buckets()).length === 2, 5000, 'vm2 to leave the group');
    const before = packetIns();
    const drained = counts(await fresh(30));
    expect(drained.vm2 ?? 0).toBe(0);
    expect(drained.vm1 + drained.vm3).toBe(30);
    await daemon.enable('web', lab.host('vm2').port);
    await waitFor(async () => (await buckets()).length === 3, 5000, 'vm2 back in the group');
    // G11: the time from vm3's verdict (its backend_down event) to the switch's group without its bucket, printed.
    const vm3 = lab.host('vm3').port;
    let downAt: number | undefined;
    const onEvent = (e: { kind: string; service?: string; backend?: string }) => {
      if (downAt === undefined && e.kind === 'backend_down' && e.service === 'web' && e.backend === vm3) downAt = Date.now();
    };
    daemon.bus.on('event', onEvent);
    try {
      await servers.get('vm3')!.stop();
      servers.delete('vm3');
      await waitFor(() => downAt !== undefined, 10_000, "vm3's backend_down event");
      // Dump after dump from the verdict on: the group changed after the last dump that listed 3 buckets began and
      // before the first that listed 2 ended.
      let lastThreeStart = downAt!;
      let firstTwo: { start: number; end: number } | undefined;
      while (firstTwo === undefined) {
        const start = Date.now();
        const n = (await buckets()).length;
        const end = Date.now();
        if (n === 2) firstTwo = { start, end };
        else if (end - downAt! > 5000) throw new Error(`vm3's bucket still in the group 5 s after its verdict (${n} buckets)`);
        else lastThreeStart = start;
      }
      console.log(`datapath decisions, health to buckets: vm3 backend_down -> dump-groups without its bucket within ${firstTwo.end - downAt!} ms ` +
        `(after ${Math.max(0, lastThreeStart - downAt!)} ms; the first 2-bucket dump took ${firstTwo.end - firstTwo.start} ms; load ${os.loadavg()[0].toFixed(1)})`);
    } finally {
      daemon.bus.off('event', onEvent);
    }
    // vm3's server answered both families' checks: its IPv6 check (from lab.localIp6) fails too, and it leaves both groups.
    const vm3Down = (service: string) => daemon.service(service).backends.find((b) => b.id === vm3)?.health === 'down';
    await waitFor(() => vm3Down('web') && vm3Down('web6'), 10_000, 'vm3 down in web and web6');
    await waitFor(async () => (await buckets()).length === 2 && (await buckets(true)).length === 2, 5000, 'vm3 to leave both groups');
    const dead = counts(await fresh(30));
    expect(dead.vm3 ?? 0).toBe(0);
    expect(dead.vm1 + dead.vm2).toBe(30);
    const dead6 = counts(await fresh(30, ipv6ForIp(VIP)));
    expect(dead6.vm3 ?? 0).toBe(0);
    expect(dead6.vm1 + dead6.vm2).toBe(30);
    expect(packetIns() - before).toBe(0);
  }, 120_000);
});

/**
 * The group whose buckets commit to `port`, as dump-groups lists it, with its age from dump-group-stats: OVS keeps a
 * group's creation time across a MODIFY (ofproto.c modify_group_start, v3.1: "The group creation time does not change
 * during modification"), so a group deleted and added again is younger than the time since the change began.
 */
async function groupOf(port: number): Promise<{ id: number; ageSec: number; buckets: string[] }> {
  const dump = await lab.ofctl('dump-groups');
  const line = dump.split('\n').find((l) => l.includes(`:${port})`) && l.includes('group_id='));
  if (!line) throw new Error(`no group with buckets to port ${port}:\n${dump}`);
  const id = Number(/group_id=(\d+)/.exec(line)![1]);
  const stats = (await lab.ofctl('dump-group-stats')).split('\n').find((l) => l.includes(`group_id=${id},`));
  const age = stats && /duration=([\d.]+)s/.exec(stats);
  if (!age) throw new Error(`no stats for group ${id}:\n${stats}`);
  return { id, ageSec: Number(age[1]), buckets: await buckets(false, port) };
}

describe('datapath decisions on real OVS: tier failover', () => {
  it("tier 0's one backend failing moves the group to tier 1 and back by modifying it (OVS keeps its age), with zero packet-ins", async () => {
    const tierIp = (vm: string) => `${lab.host(vm).ip}:8083`;
    await pinVip(VIP_TIER, 'tier');
    const start = await groupOf(8083);
    expect(start.buckets.map((b) => b.split(' ')[0])).toEqual([tierIp('vm1')]);
    expect(counts(await fresh(20, VIP_TIER))).toEqual({ vm1: 20 });
    const before = packetIns();
    const began = Date.now();
    const events: string[] = [];
    const onEvent = (e: { kind: string; service?: string; backend?: string }) => {
      if (e.service === 'tier') events.push(`${((Date.now() - began) / 1000).toFixed(2)} ${e.kind} ${e.backend ?? ''}`);
    };
    daemon.bus.on('event', onEvent);
    await tierZero!.stop();
    tierZero = undefined;
    await waitFor(async () => (await buckets(false, 8083)).length === 2, 10_000, "tier 1's buckets");
    const over = await groupOf(8083);
    const afterFailover = counts(await fresh(30, VIP_TIER));
    tierZero = await lab.startHttpServer('vm1', 8083);
    await waitFor(async () => (await buckets(false, 8083)).length === 1, 10_000, "tier 0's bucket back");
    const back = await groupOf(8083);
    const elapsed = (Date.now() - began) / 1000;
    const afterFailback = counts(await fresh(20, VIP_TIER));
    daemon.bus.off('event', onEvent);
    console.log(`datapath decisions, tier failover events (s after vm1 stopped): ${events.join('; ')}`);
    console.log(`datapath decisions, tier failover: group ${start.id} aged ${start.ageSec} s at the start, ${over.ageSec} s on tier 1 `
      + `(${over.buckets.join(', ')}), ${back.ageSec} s back on tier 0, ${elapsed.toFixed(1)} s after vm1's server stopped; `
      + `new connections on tier 1 ${JSON.stringify(afterFailover)}, back ${JSON.stringify(afterFailback)}; packet-ins ${packetIns() - before}`);
    expect(over.buckets.map((b) => b.split(' ')[0])).toEqual([tierIp('vm2'), tierIp('vm3')].sort());
    expect([over.id, back.id]).toEqual([start.id, start.id]);
    // Never re-created: older than the time since vm1's server stopped (dump-group-stats rounds to the millisecond).
    expect(back.ageSec).toBeGreaterThanOrEqual(start.ageSec + elapsed - 1);
    expect(afterFailover.vm1 ?? 0).toBe(0);
    expect(afterFailover.vm2 + afterFailover.vm3).toBe(30);
    expect(afterFailback).toEqual({ vm1: 20 });
    // The stopped server refused vadc's own checks (RST to the checks' source): no verdict of the outlier detector.
    expect(events.filter((e) => e.includes('outlier_'))).toEqual([]);
    expect(packetIns() - before).toBe(0);
  }, 120_000);
});

/** Pins the client's neighbour entry for a VIP (vadc answers its ARP: a packet-in that is no decision). */
async function pinVip(vip: string, service: string): Promise<void> {
  await fresh(1, vip);
  await lab.exec('cl1', ['ip', 'neigh', 'replace', vip, 'lladdr', daemon.service(service).vipMac, 'dev', 'eth0', 'nud', 'permanent']);
}

const share = (t: Record<string, number>, vm: string) => (t[vm] ?? 0) / ['vm1', 'vm2', 'vm3'].reduce((n, v) => n + (t[v] ?? 0), 0);
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

describe('datapath decisions on real OVS: the spread follows the weights', () => {
  it('wrr 3:2:1: each VM\'s share of fresh connections is within 5 % (points) of its weight\'s share, with zero packet-ins', async () => {
    const n = Number(process.env.VADC_E2E_SPREAD_CONNECTIONS ?? 1000);
    // The buckets carry the weights 3:2:1 (summed by destination), in a form OVS maps onto 256 hash values.
    const weighted = new Map((await buckets(false, 8081)).map((b) => [b.split(':')[0], Number(b.split(' ')[1])]));
    const unit = weighted.get(lab.host('vm3').ip)!;
    expect(['vm1', 'vm2', 'vm3'].map((vm) => weighted.get(lab.host(vm).ip)! / unit)).toEqual(['vm1', 'vm2', 'vm3'].map((vm) => WRR_WEIGHTS[vm]));
    expect(ovsHashValues((await rawBuckets(false, 8081)).map(([, w]) => w))).toBe(OVS_MAX_HASH_VALUES);
    await pinVip(VIP_WRR, 'wrr');
    const before = packetIns();
    const started = Date.now();
    const served: Served[] = [];
    // In batches: one argument of 10,000 targets is over the kernel's limit for one (E2BIG).
    for (let done = 0; done < n; done += 1000) served.push(...(await fresh(Math.min(1000, n - done), VIP_WRR)));
    const spread = counts(served);
    const seconds = (Date.now() - started) / 1000;
    expect(packetIns() - before).toBe(0);
    const totalWeight = Object.values(WRR_WEIGHTS).reduce((a, b) => a + b, 0);
    const rows = ['vm1', 'vm2', 'vm3'].map((vm) => {
      const target = WRR_WEIGHTS[vm] / totalWeight;
      const got = share(spread, vm);
      return { vm, target, got, sigma: Math.sqrt((target * (1 - target)) / n) };
    });
    console.log(`datapath decisions, wrr 3:2:1 over ${n} fresh connections (${seconds.toFixed(1)} s): ${rows.map((r) => `${r.vm} ${spread[r.vm] ?? 0} = ${pct(r.got)} (weight's share ${pct(r.target)}, off by ${((r.got - r.target) * 100).toFixed(2)} points, ${(((r.got - r.target) / r.target) * 100).toFixed(1)} % of it)`).join('; ')}; packet-ins ${packetIns() - before}\n${await lab.ofctl('dump-group-stats')}`);
    // OVS 3.1 maps a select group's weights onto a table of 16..256 hash values dealt by the Webster method; 3:2:1 as
    // three buckets would get 16 (8/5/3: 50 / 31.25 / 18.75 %), as vadc installs it 256 (128/85/43: 50 / 33.20 / 16.80 %,
    // src/flows/hash-slots.ts, docs/operators/choose-a-nat-mode.md). The bound is the sampling noise's: 5 points, or for a
    // short run 5 binomial standard deviations where that is wider (1,000: 5.7-7.9); the printout gives each share's
    // error relative to it (the issue's "within 5 %" over 10,000: VADC_E2E_SPREAD_CONNECTIONS=10000).
    for (const r of rows) expect(Math.abs(r.got - r.target)).toBeLessThanOrEqual(Math.max(0.05, 5 * r.sigma));
  }, 60_000 + Number(process.env.VADC_E2E_SPREAD_CONNECTIONS ?? 1000) * 100);
});

/** The feedback group's bucket weights by VM. */
async function feedbackWeights(): Promise<Record<string, number>> {
  const byIp = new Map(['vm1', 'vm2', 'vm3'].map((vm) => [lab.host(vm).ip, vm]));
  const out: Record<string, number> = {};
  for (const line of await buckets(false, 8082)) {
    const [addr, weight] = line.split(' ');
    out[byIp.get(addr.split(':')[0])!] = Number(weight);
  }
  return out;
}

describe('datapath decisions on real OVS: feedback', () => {
  // It slows vm2's link for every service (restored after).
  it('a VM slowed with tc gets a smaller bucket weight and fewer new connections, with zero packet-ins', async () => {
    const equal = await feedbackWeights();
    await pinVip(VIP_FEEDBACK, 'fb');
    const slowdown = await slowDown(lab, 'vm2');
    try {
      const before = packetIns();
      // A first load gives every VM an estimate (S = L / lambda); vadc moves the weights at a statistics poll.
      const warmup = await closedLoopLoad(lab, 'cl1', VIP_FEEDBACK, 4, 3000);
      await waitFor(async () => {
        const w = await feedbackWeights();
        return w.vm2 < Math.min(w.vm1, w.vm3);
      }, 10_000, 'vm2\'s bucket weight to drop below the others\'').catch(() => undefined);
      const weightsBefore = await feedbackWeights();
      // The weights are judged from readings every 500 ms during the measured load, not from one reading as the first
      // load ends: on a loaded machine that reading caught them mid-move (vm2 287 and 291 against the least other's 381
      // and 356, the other VMs' estimates moving too) while 2 s into the next load vm2 stood at 7 and 5.
      const during: Record<string, number>[] = [];
      const sampler = setInterval(() => void feedbackWeights().then((w) => during.push(w)), 500);
      const load = await closedLoopLoad(lab, 'cl1', VIP_FEEDBACK, 4, 4000).finally(() => clearInterval(sampler));
      const packetInsSeen = packetIns() - before;
      const vm2Share = (w: Record<string, number>) => w.vm2 / Math.min(w.vm1, w.vm3);
      const lowest = Math.min(...during.map(vm2Share));
      console.log(`datapath decisions, feedback, vm2 made slow (${slowdown}): bucket weights ${JSON.stringify(equal)} before, `
        + `${JSON.stringify(weightsBefore)} after a 3 s load (${JSON.stringify(warmup.counts)}), ${JSON.stringify(during)} every 500 ms of the next 4 s load `
        + `(vm2 / the least other: lowest ${lowest.toFixed(2)}); that load's new connections ${JSON.stringify(load.counts)} (vm2 ${pct(share(load.counts, 'vm2'))}), `
        + `failed ${load.failed}; packet-ins ${packetInsSeen}`);
      expect(during.length).toBeGreaterThan(0);
      // While it is loaded, vm2's bucket sits at least a quarter below every other VM's at some statistics poll ...
      expect(lowest).toBeLessThan(0.75);
      // ... and the datapath gives it fewer new connections accordingly.
      expect(load.counts.vm2 ?? 0).toBeLessThan(0.75 * Math.min(load.counts.vm1 ?? 0, load.counts.vm3 ?? 0));
      expect(packetInsSeen).toBe(0);
    } finally {
      await restoreLink(lab, 'vm2');
    }
  }, 120_000);
});

// After feedback (its measure is not preceded by a config apply), before the reconnect.
describe('datapath decisions on real OVS: a scheduler change', () => {
  it('wrr 3:2:1 to rr by config apply: the same group with equal buckets, new connections follow them, a held connection stays', async () => {
    const ips = (rows: string[]) => rows.map((b) => b.split(' ')[0]);
    const weights = (rows: string[]) => rows.map((b) => Number(b.split(' ')[1]));
    await pinVip(VIP_WRR, 'wrr');
    const holder = ConnectionHolder.start(lab, 'cl1');
    try {
      const held = await holder.open(VIP_WRR);
      const start = await groupOf(8081);
      expect(new Set(weights(start.buckets)).size).toBe(3);
      const before = packetIns();
      await daemon.applyConfig(startText.replace('scheduler: wrr', 'scheduler: rr'));
      await waitFor(async () => new Set(weights(await buckets(false, 8081))).size === 1, 10_000, 'the wrr service\'s buckets to be equal');
      const changed = await groupOf(8081);
      // The connection opened under wrr keeps its backend (its tracker entry translates it as before).
      const again = await holder.request(held);
      const n = 300;
      const served = counts(await fresh(n, VIP_WRR));
      const packetInsSeen = packetIns() - before;
      console.log(`datapath decisions, scheduler change wrr -> rr: group ${start.id} ${JSON.stringify(start.buckets)} -> ${changed.id} `
        + `${JSON.stringify(changed.buckets)}; held connection on ${held.vm}, answered by ${again.vm} after; ${n} new connections ${JSON.stringify(served)}; `
        + `packet-ins ${packetInsSeen}; load ${os.loadavg()[0].toFixed(1)}`);
      expect(daemon.service('wrr').scheduler).toBe('rr');
      expect([changed.id, ips(changed.buckets)]).toEqual([start.id, ips(start.buckets)]);
      expect(again).toEqual({ vm: held.vm, port: held.port });
      // rr's equal shares: each VM about 100 of 300 (sd 8); under wrr vm3 would get about 50 (sd 6.5).
      for (const vm of ['vm1', 'vm2', 'vm3']) expect(served[vm] ?? 0).toBeGreaterThanOrEqual(70);
      expect(packetInsSeen).toBe(0);
      await holder.close(held);
    } finally {
      await holder.stop();
      await daemon.applyConfig(startText);
      await waitFor(async () => new Set(weights(await buckets(false, 8081))).size === 3, 10_000, 'wrr\'s weights back');
    }
  }, 120_000);
});

/** The service ids vadc's flows on the bridge carry (cookie kinds service..decision; pipeline and VIP flows carry none). */
async function serviceIdsOnBridge(): Promise<Set<number>> {
  const cookies = (await lab.ofctl('dump-flows', 'cookie=0xadc0000000000000/0xffff000000000000')).matchAll(/cookie=(0x[\da-f]+)/g);
  return new Set([...cookies].map((m) => parseCookie(BigInt(m[1]))?.serviceId ?? 0).filter((id) => id > 0));
}

/**
 * The VIPs whose decision flow (cookie kind 7) is on the bridge and points to a group the bridge has, with buckets:
 * where new connections are decided in the datapath now.
 */
async function decidedVips(): Promise<string[]> {
  const flows = (await lab.ofctl('dump-flows', 'cookie=0xadc0700000000000/0xfffff00000000000')).split('\n').filter((l) => l.includes('cookie='));
  const groups = new Set((await lab.ofctl('dump-groups')).split('\n').filter((l) => l.includes('group_id=') && l.includes('bucket='))
    .map((l) => Number(/group_id=(\d+)/.exec(l)![1])));
  return flows.filter((l) => groups.has(Number(/group:(\d+)/.exec(l)?.[1]))).map((l) => /(?:nw_dst|ipv6_dst)=([\da-f.:]+)/.exec(l)![1]).sort();
}

// After the tests that change the backends (it needs the daemon they share, attached).
describe('datapath decisions on real OVS: the switch reconnects to the same daemon', () => {
  it('gets every decision flow and group back, and new connections still reach no controller (0 packet-ins)', async () => {
    // wrr has no health check (a vNIC's presence is its verdict, given at once on connect), web one over HTTP.
    const all = [VIP, ipv6ForIp(VIP), VIP_WRR, VIP_FEEDBACK, VIP_TIER].sort();
    expect(await decidedVips()).toEqual(all);
    await pinVip(VIP_WRR, 'wrr');
    await pinVip(VIP, 'web');
    const before = packetIns();
    expect((await fresh(20, VIP_WRR)).length).toBe(20);
    expect(packetIns() - before).toBe(0);
    // Detached: the switch drops the connection (OVS 3.1 removed vadc's flows and groups with the controller's record:
    // `detached` in the printout).
    const webBuckets = await buckets();
    const detachedAt = Date.now();
    await lab.setController('');
    await waitFor(() => daemon.status().switches.length === 0, 10_000, 'the switch to drop the controller');
    const detached = { decided: await decidedVips(), groups: (await lab.ofctl('dump-groups')).split('\n').filter((l) => l.includes('group_id=')).length };
    await lab.setController(controllerTarget);
    await waitFor(() => switchSynced(daemon.status()) && ['wrr', 'web'].every((s) => daemon.service(s).backends.every((b) => b.ofport !== undefined)),
      20_000, 'the switch back, the backends located');
    const back = Date.now();
    // web (HTTP checks every 1 s) first: its verdicts were kept while the switch was away, so its group and decision flow
    // come with the connect's batch, not at its backends' next passing check, and new connections to it right away
    // reach no controller.
    let looks = 0;
    await waitFor(async () => (++looks, (await decidedVips()).includes(VIP)), 10_000, "web's decision flow back");
    const webBackMs = Date.now() - back;
    // With every bucket it had before the detach (with the verdicts dropped, it came back a backend at a time, by checks).
    const webBucketsBack = await buckets();
    const firstAfter = packetIns();
    const webFirst = counts(await fresh(10, VIP));
    const webFirstPacketIns = packetIns() - firstAfter;
    // web's verdicts since the detach (printed). None may say a vNIC was absent: the switch going is not the VM going, and
    // a backend taken out for it would serve again only after its next passing check. (Its checks cross the switch, so
    // a detach longer than two failing checks would take backends out by their checks, rightly.)
    const verdicts = daemon.events().filter((e) => e.time >= detachedAt && e.service === 'web' && (e.kind === 'backend_down' || e.kind === 'backend_up'))
      .map((e) => e.message);
    const rejudged = verdicts.filter((m) => m.startsWith('backend down') && m.includes('vNIC'));
    await waitFor(async () => JSON.stringify(await decidedVips()) === JSON.stringify(all), 10_000, 'every decision flow and its group back').catch(async (err: Error) => {
      const events = daemon.events().filter((e) => e.kind !== 'backend_located').slice(-30).map((e) => `${e.kind} ${e.message}`).join('\n');
      throw new Error(`${err.message}: decided ${JSON.stringify(await decidedVips())}, wanted ${JSON.stringify(all)}\n`
        + `table 1:\n${(await lab.ofctl('dump-flows', 'table=1')).trim()}\ngroups:\n${(await lab.ofctl('dump-groups')).trim()}\nvadc's last events:\n${events}`);
    });
    const backAfterMs = Date.now() - back;
    const after = packetIns();
    const wrr = counts(await fresh(30, VIP_WRR));
    const web = counts(await fresh(30, VIP));
    const packetInsAfter = packetIns() - after;
    console.log(`datapath decisions, reconnect: detached ${JSON.stringify(detached)}; web's decision flow back ${webBackMs} ms after the switch and `
      + `backends were (at look ${looks}: each look is two ovs-ofctl dumps), with buckets ${JSON.stringify(webBucketsBack)} (before the detach ${JSON.stringify(webBuckets)}), its first 10 new connections ${JSON.stringify(webFirst)} with ${webFirstPacketIns} packet-ins, web's verdicts since the detach: `
      + `${JSON.stringify(verdicts)}; every decision flow back ${backAfterMs} ms after them (looked for after web's connections); new connections wrr ${JSON.stringify(wrr)}, web ${JSON.stringify(web)}; packet-ins ${packetInsAfter}`);
    expect(rejudged).toEqual([]);
    expect(webBucketsBack).toEqual(webBuckets);
    expect(Object.values(webFirst).reduce((a, b) => a + b, 0)).toBe(10);
    expect(webFirstPacketIns).toBe(0);
    expect(Object.values(wrr).reduce((a, b) => a + b, 0)).toBe(30);
    expect(Object.values(web).reduce((a, b) => a + b, 0)).toBe(30);
    expect(packetInsAfter).toBe(0);
  }, 120_000);
});

// Last: it replaces the daemon the tests above share.
describe('a restart whose configuration no longer decides in the datapath', () => {
  /** Every group id on the bridge, in order. */
  const groupIds = async () => (await lab.ofctl('dump-groups')).split('\n').filter((l) => l.includes('group_id='))
    .map((l) => Number(/group_id=(\d+)/.exec(l)![1])).sort((a, b) => a - b);
  /** vadc's decision flows (cookie kind 7) on the bridge. */
  const decisionFlows = async () => (await lab.ofctl('dump-flows', 'cookie=0xadc0700000000000/0xfffff00000000000')).split('\n').filter((l) => l.includes('cookie='));
  const FOREIGN_GROUP = 7;

  it('leaves none of vadc\'s groups or decision flows (a foreign group stays), and new connections come to vadc as packet-ins', async () => {
    // Someone else's group on the bridge, which vadc must not touch.
    await lab.ofctl('add-group', `group_id=${FOREIGN_GROUP},type=select,bucket=output:LOCAL`);
    // What the tests above leave: a group and a decision flow per service whose group has buckets (all five, normally).
    expect((await groupIds()).filter((id) => id !== FOREIGN_GROUP).length).toBeGreaterThan(0);
    expect((await decisionFlows()).length).toBeGreaterThan(0);
    await daemon.stop();
    // Flows an earlier run left of a service id this configuration does not have, and a connection flow of web's (a
    // service still configured: it stays). The other services' flows (web6, wrr, fb, tier) are on the bridge too.
    const webId = serviceIds(['web']).get('web')!;
    const strayId = webId === 0x123 ? 0x124 : 0x123;
    const nobody = lab.subnet.replace(/\.0\/\d+$/, '.199');
    const left = (kind: 'service' | 'backend' | 'connection', id: number, port: number) => lab.ofctl('add-flow',
      `table=0,priority=5,cookie=0x${makeCookie(kind, id, kind === 'connection' ? 77 : 0).toString(16)},tcp,nw_dst=${nobody},tp_dst=${port},actions=drop`);
    await left('service', strayId, 80);
    await left('backend', strayId, 81);
    await left('connection', webId, 82);
    expect([...await serviceIdsOnBridge()].sort()).toEqual(expect.arrayContaining([webId, strayId]));
    // VIP flows of an older vadc (kind vip, no VIP tag): of an address no service has, and over web's VIP's own refusal
    // flow (same match and priority: the connect's flow must replace it, tag and all). The other services' VIPs' flows
    // (web6, wrr, fb, tier) are on the bridge too.
    const untagged = (ip: string) => lab.ofctl('add-flow', `table=0,priority=${PRIORITY.VIP_REFUSE.min + 32},cookie=0x${makeCookie('vip').toString(16)},ip,nw_dst=${ip},actions=CONTROLLER:65535`);
    await untagged(nobody);
    await untagged(VIP);
    // The same name (so the same service id, the same group id) deciding by the controller now; the other services gone.
    // vm1 and vm2: the health test above stopped vm3's server on 8080 for good.
    const text = config('', '', ['vm1', 'vm2']);
    daemon = new VadcDaemon({ config: parseConfig(text, 'e2e'), configText: text, statsIntervalMs: 300 });
    const [target] = await daemon.start();
    await lab.setController(target);
    await waitFor(() => switchSynced(daemon.status()) && daemon.service('web').backends.every((b) => b.ofport !== undefined), 15_000, 'switch up, backends located');
    await waitFor(async () => (await groupIds()).length === 1, 10_000, 'vadc\'s groups gone');
    // Every flow of a service id the configuration does not have is gone (the earlier run's services, the stray id's);
    // web's connection flow stays.
    await waitFor(async () => JSON.stringify([...await serviceIdsOnBridge()]) === JSON.stringify([webId]), 10_000, 'only web\'s flows carry a service id')
      .catch(async (err: Error) => { throw new Error(`${err.message}: ids ${JSON.stringify([...await serviceIdsOnBridge()])}, web's ${webId}`); });
    expect((await lab.ofctl('dump-flows', `cookie=0x${makeCookie('connection', webId, 77).toString(16)}/-1`)).split('\n').filter((l) => l.includes('cookie='))).toHaveLength(1);
    // The VIP flows left are web's VIP's three (ARP, echo, refusal), with its tag: the other VIPs' and the untagged ones went.
    const vipFlows = async () => (await lab.ofctl('dump-flows', 'cookie=0xadc0200000000000/0xfffff00000000000')).split('\n').filter((l) => l.includes('cookie='));
    const webVipFlows = async () => (await vipFlows()).filter((l) => l.includes(`cookie=0x${vipCookie(VIP).toString(16)},`)).length;
    await waitFor(async () => (await vipFlows()).length === 3 && (await webVipFlows()) === 3, 10_000, "only web's VIP's flows of kind vip")
      .catch(async (err: Error) => { throw new Error(`${err.message}:\n${(await vipFlows()).join('\n')}`); });
    expect(await groupIds()).toEqual([FOREIGN_GROUP]);
    expect(await decisionFlows()).toEqual([]);
    // Before, the old decision flow sent them to the old group: placed with no packet-in, 0 decisions.
    const served = await fresh(6).catch(async (err: Error) => {
      // What vadc made of them, and the switch's flows to the VIP, with the failure.
      const events = daemon.events().filter((e) => e.kind !== 'backend_located').map((e) => `${e.kind} ${e.message}`).join('\n');
      const flows = (await lab.ofctl('dump-flows')).split('\n').filter((l) => l.includes(VIP) || l.includes('table=1,')).join('\n');
      throw new Error(`${err.message}\nvadc's events:\n${events}\nflows to ${VIP} and of table 1:\n${flows}`);
    });
    expect(counts(served)).toEqual({ vm1: 3, vm2: 3 });
    expect(daemon.service('web').decisions).toBe(6);
    await lab.ofctl('del-groups', `group_id=${FOREIGN_GROUP}`);
  }, 120_000);
});
