// Datapath decisions on real OVS (`decisions: datapath`, conntrack NAT): the service's select group spreads new
// connections over the backends with no packet-in at all, vadc counts them from the tracker, and the buckets follow
// a drained backend and one whose health check fails.
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import { Lab, type LabServer } from '../../src/lab';
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
const packetIns = () => daemon.status().switches[0].packetIns - daemon.service('web').endCopies;
const counts = (served: Served[]) => served.reduce<Record<string, number>>((m, s) => ({ ...m, [s.vm]: (m[s.vm] ?? 0) + 1 }), {});
const fresh = (n: number) => requestEach(lab, 'cl1', Array.from({ length: n }, () => ({ host: VIP })));
/** The buckets of the service's group as ovs-ofctl lists them: "ip:port weight". */
async function buckets(): Promise<string[]> {
  const dump = await lab.ofctl('dump-groups');
  return [...dump.matchAll(/bucket=(?:bucket_id:\d+,)?weight:(\d+),actions=ct\([^)]*nat\(dst=([\d.]+:\d+)\)/g)].map((m) => `${m[2]} ${m[1]}`).sort();
}

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
`;
  daemon = new VadcDaemon({ config: parseConfig(text, 'e2e'), configText: text, statsIntervalMs: 300, healthSourceAddress: lab.localIp });
  const [target] = await daemon.start();
  await lab.setController(target);
  await waitFor(() => daemon.status().switches.length === 1 && daemon.service('web').backends.every((b) => b.health === 'up'), 20_000, 'switch up, backends healthy');
  await waitFor(async () => (await buckets()).length === 3, 10_000, 'the group with three buckets');
}, 700_000);

afterAll(async () => {
  await daemon?.stop();
  for (const s of servers.values()) await s.stop().catch(() => undefined);
  await lab?.down();
}, 120_000);

describe('datapath decisions on real OVS', () => {
  it('spreads 90 fresh connections over the three VMs with zero packet-ins, and vadc counts them from the tracker', async () => {
    expect(await buckets()).toEqual(['vm1', 'vm2', 'vm3'].map((vm) => `${lab.host(vm).ip}:8080 60`).sort());
    await fresh(1); // the client's ARP for the VIP goes to vadc once
    await waitFor(() => daemon.service('web').decisions === 1, 10_000, 'vadc to count the first connection');
    // The entry pinned: a slow run outlives ARP's reachable time, and the client's re-probes of the VIP (answered by
    // vadc, not by the group) were counted as 9 packet-ins once.
    await lab.exec('cl1', ['ip', 'neigh', 'replace', VIP, 'lladdr', daemon.service('web').vipMac, 'dev', 'eth0', 'nud', 'permanent']);
    const before = packetIns();
    const served = await fresh(90);
    expect(packetIns() - before).toBe(0);
    const spread = counts(served);
    for (const vm of ['vm1', 'vm2', 'vm3']) expect(spread[vm]).toBeGreaterThanOrEqual(15);
    // The tracker lists them (ESTABLISHED or closing): vadc learnt every decision at a statistics poll.
    await waitFor(() => daemon.service('web').decisions >= 91, 10_000, 'vadc to count the 90 connections');
    await new Promise((r) => setTimeout(r, 1000)); // a few more statistics polls: none is counted twice
    expect(daemon.service('web').decisions).toBe(91);
    expect(daemon.service('web').decidedBy).toBe('datapath');
    expect(daemon.service('web').backends.map((b) => b.totalConns).reduce((a, b) => a + b, 0)).toBe(91);
  }, 120_000);

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
