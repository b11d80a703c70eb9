// The schedulers on real Open vSwitch, with real servers in VM namespaces and real clients: the
// connection-counting schedulers follow connections actually held open (counted active once the
// switch's flow stats show the reply direction carried packets, uncounted when the flows are removed),
// the destination-keyed ones spread a VIP prefix by destination, feedback moves load off a VM made
// slow with netem, mh is stable and near-minimally disrupted, and bad input is refused cleanly.
import { ConfigError, parseConfig } from '../../src/config';
import { Lab } from '../../src/lab';
import { LocalityReplicatedScheduler } from '../../src/lb';
import { hash32 } from '../../src/lb/hash';
import { ipv4ToUint32 } from '../../src/net';
import { RuntimeError } from '../../src/runtime/types';
import { closedLoopLoad, ConnectionHolder, requestEach, type HeldConnection, type LoadResult } from '../helpers/sched-clients';
import { restoreLink, slowDown } from '../helpers/slow-link';
import { SchedDaemon, waitUntil } from '../helpers/sched-harness';
import { e2eNatMode } from '../helpers/nat-mode';

const VIP = '10.0.0.100';
let lab: Lab;
let vadc: SchedDaemon | undefined;
const holders: ConnectionHolder[] = [];

const THREE_VMS = (weights: [number, number, number] = [1, 1, 1]) => `
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080], weight: ${weights[0]} }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080], weight: ${weights[1]} }
      - { vnic: v-vm3, ip: 10.0.0.13, ports: [8080], weight: ${weights[2]} }`;

/** A TCP service on VIP:80; fin_timeout 1 so a closed connection's flows (and its count) go within ~1 s. */
function service(scheduler: string, backends: string, extra = ''): string {
  return `name: web\nvip: ${VIP}\nport: 80\nscheduler: ${scheduler}\nidle_timeout: 30\nfin_timeout: 1\n${extra}${backends}`;
}

async function start(text: string, opts: { statsIntervalMs?: number; daemonDefaults?: boolean; located?: string[] } = {}): Promise<SchedDaemon> {
  vadc = await SchedDaemon.start(lab, text, opts);
  return vadc;
}

function holder(client = 'cl1'): ConnectionHolder {
  const h = ConnectionHolder.start(lab, client);
  holders.push(h);
  return h;
}

/**
 * Opens connections one at a time, each waiting until vadc counts every held connection active
 * (ESTABLISHED in IPVS terms), so each choice sees the previous ones at their full overhead.
 */
async function holdInTurn(h: ConnectionHolder, d: SchedDaemon, count: number, host = VIP): Promise<HeldConnection[]> {
  const held: HeldConnection[] = [];
  const base = d.totalActive();
  for (let i = 0; i < count; i++) {
    held.push(await h.open(host));
    await waitUntil(() => d.totalActive() === base + held.length, 5000, `held connection ${held.length} counted active`);
  }
  return held;
}

/**
 * Closes the connections and waits until vadc has uncounted them: not active, and not open either. The
 * client's FIN makes a connection inactive (closing) at once; only the backend's FIN ends it, a moment
 * later, so waiting for active alone raced the open count (CI, stop 22: vm3 still had 1 open).
 */
async function closeAll(h: ConnectionHolder, d: SchedDaemon, conns: readonly HeldConnection[]): Promise<void> {
  const totalOpen = () => Object.values(d.open()).reduce((a, b) => a + b, 0);
  const activeBefore = d.totalActive();
  const openBefore = totalOpen();
  for (const c of conns) await h.close(c);
  await waitUntil(
    () => d.totalActive() === activeBefore - conns.length && totalOpen() <= openBefore - conns.length,
    8000,
    `${conns.length} closed connection(s) uncounted`,
  );
}

const vms = (conns: readonly { vm: string }[]) => conns.map((c) => c.vm);

function tally(results: readonly LoadResult[]): Record<string, number> {
  const out: Record<string, number> = { vm1: 0, vm2: 0, vm3: 0 };
  for (const r of results) for (const [vm, n] of Object.entries(r.counts)) out[vm] = (out[vm] ?? 0) + n;
  return out;
}

beforeAll(async () => {
  lab = await Lab.up({ vms: 3, clients: 2, waitForHostMs: 600_000 });
  for (const vm of ['vm1', 'vm2', 'vm3']) await lab.startHttpServer(vm, 8080);
}, 660_000);

afterEach(async () => {
  for (const h of holders.splice(0)) await h.stop();
  await vadc?.stop(lab);
  vadc = undefined;
});

afterAll(async () => {
  await lab?.down();
}, 120_000);

describe(`connection-counting schedulers follow real open connections (NAT by ${e2eNatMode()})`, () => {
  it('lc: each new connection goes to the VM with the least overhead; closing connections moves new ones back', async () => {
    const d = await start(service('lc', THREE_VMS()));
    const h = holder();
    // All idle: the first wins ties. Then each VM holding one active connection (overhead 256) loses to one holding none.
    const held = await holdInTurn(h, d, 6);
    expect(vms(held)).toEqual(['vm1', 'vm2', 'vm3', 'vm1', 'vm2', 'vm3']);
    expect(d.active()).toEqual({ 'v-vm1': 2, 'v-vm2': 2, 'v-vm3': 2 });
    // vm3's two connections end: its overhead drops to 0, so the next connections go there.
    await closeAll(h, d, held.filter((c) => c.vm === 'vm3'));
    expect(d.open()).toEqual({ 'v-vm1': 2, 'v-vm2': 2, 'v-vm3': 0 });
    const next = await holdInTurn(h, d, 2);
    expect(vms(next)).toEqual(['vm3', 'vm3']);
    // Held connections keep their backend: another request on each goes to the same VM.
    for (const c of [...held.filter((x) => x.vm !== 'vm3'), ...next]) expect((await h.request(c)).vm).toBe(c.vm);
  });

  it("lc: a half-closed connection (the client's FIN, the backend still answering) is no longer active (inactive as IPVS's FIN_WAIT in flows mode)", async () => {
    // Without the file's fin_timeout of 1 s (the default, none): OVS would remove the idle half-closed connection's
    // flows 1 s after the FIN, and vadc would end it then.
    const d = await start(service('lc', THREE_VMS()).replace('fin_timeout: 1\n', ''));
    const h = holder();
    const held = await holdInTurn(h, d, 3);
    expect(vms(held)).toEqual(['vm1', 'vm2', 'vm3']);
    // vm2's client sends its last request (answered 20 s later) and shuts its side (shutdown(SHUT_WR)): the client's
    // FIN makes the connection closing (inactive) while the backend's side stays open.
    await h.halfClose(held[1], 20_000);
    await waitUntil(() => d.active()['v-vm2'] === 0, 5000, "vm2's half-closed connection no longer active");
    expect(d.active()).toEqual({ 'v-vm1': 1, 'v-vm2': 0, 'v-vm3': 1 });
    // In flows mode it stays open, inactive, as IPVS counts FIN_WAIT. In conntrack mode the tracker's next reading
    // (every statistics poll) ends it: the listing does not tell a half-closed connection from a closed one (a
    // deviation, docs/schedulers.md; 2026-12-06 02:52 UTC, one attempt of three: vm2 open 1 instead of 2 at the end).
    const halfClosedStaysOpen = e2eNatMode() === 'flows';
    if (halfClosedStaysOpen) expect(d.open()).toEqual({ 'v-vm1': 1, 'v-vm2': 1, 'v-vm3': 1 });
    // Overheads 256, 1, 256 (or 0 once ended): the next connection goes to vm2. Still counted active it would be a
    // three-way tie, won by vm1.
    expect(vms(await holdInTurn(h, d, 1))).toEqual(['vm2']);
    if (halfClosedStaysOpen) expect(d.open()).toEqual({ 'v-vm1': 1, 'v-vm2': 2, 'v-vm3': 1 });
  });

  it('wlc weights 3,1,1: overhead/weight decides; freeing a VM brings new connections back to it', async () => {
    const d = await start(service('wlc', THREE_VMS([3, 1, 1])));
    const h = holder();
    // 0,0,0 -> vm1; 256/3 vs 0 -> vm2; -> vm3; 256/3 < 256 -> vm1; 512/3 < 256 -> vm1; 768/3 = 256 ties, first wins -> vm1.
    const held = await holdInTurn(h, d, 6);
    expect(vms(held)).toEqual(['vm1', 'vm2', 'vm3', 'vm1', 'vm1', 'vm1']);
    expect(d.active()).toEqual({ 'v-vm1': 4, 'v-vm2': 1, 'v-vm3': 1 });
    // 1024/3 > 256: vm1 is the most loaded per weight; with vm2 freed the next goes to vm2.
    await closeAll(h, d, held.filter((c) => c.vm === 'vm2'));
    expect(vms(await holdInTurn(h, d, 1))).toEqual(['vm2']);
    // Three of vm1's four end: 256/3 < 256 -> vm1 again.
    await closeAll(h, d, held.filter((c) => c.vm === 'vm1').slice(0, 3));
    expect(d.active()).toEqual({ 'v-vm1': 1, 'v-vm2': 1, 'v-vm3': 1 });
    expect(vms(await holdInTurn(h, d, 1))).toEqual(['vm1']);
  });

  it('sed (active+1)/weight and nq (an idle VM first) with weights 3,1,1', async () => {
    let d = await start(service('sed', THREE_VMS([3, 1, 1])));
    let h = holder();
    // sed: 1/3 -> vm1; 2/3 -> vm1; 3/3 = 1/1 ties, first wins -> vm1; 4/3 > 1 -> vm2; 4/3 vs 2/1, 1/1 -> vm3; 4/3 < 2 -> vm1.
    expect(vms(await holdInTurn(h, d, 6))).toEqual(['vm1', 'vm1', 'vm1', 'vm2', 'vm3', 'vm1']);
    expect(d.active()).toEqual({ 'v-vm1': 4, 'v-vm2': 1, 'v-vm3': 1 });
    await h.stop();
    await d.stop(lab);
    d = await start(service('nq', THREE_VMS([3, 1, 1])));
    h = holder();
    // nq: the first VM with no active connection while there is one; then sed: 2/3 < 2 -> vm1; 3/3 < 2 -> vm1.
    expect(vms(await holdInTurn(h, d, 5))).toEqual(['vm1', 'vm2', 'vm3', 'vm1', 'vm1']);
    expect(d.active()).toEqual({ 'v-vm1': 3, 'v-vm2': 1, 'v-vm3': 1 });
  });
});

describe(`destination-keyed schedulers on a VIP prefix (NAT by ${e2eNatMode()})`, () => {
  const PREFIX = '10.0.0.128/28';
  const destinations = Array.from({ length: 14 }, (_, i) => `10.0.0.${129 + i}`);

  it('dh: each destination of the prefix goes to its hash bucket\'s VM, every time; ARP is answered for any of them', async () => {
    const d = await start(service('dh', THREE_VMS()).replace(`vip: ${VIP}`, `vip: ${PREFIX}`));
    const first = await requestEach(lab, 'cl1', destinations.map((host) => ({ host })));
    const again = await requestEach(lab, 'cl2', destinations.map((host) => ({ host })));
    // The definition, independently: bucket = top 8 bits of daddr * 0x61C88647; 256 buckets dealt one per VM in turn.
    const expected = destinations.map((host) => `vm${(hash32(ipv4ToUint32(host), 8) % 3) + 1}`);
    expect(vms(first)).toEqual(expected);
    expect(vms(again)).toEqual(expected);
    expect(new Set(expected).size).toBe(3);
    const vipMac = d.daemon.service('web').vipMac;
    for (const host of [destinations[0], destinations[13]]) {
      expect((await lab.exec('cl1', ['ip', 'neigh', 'show', host])).stdout).toContain(vipMac);
    }
  });

  it('lblc: a new destination goes to the least loaded VM and stays there', async () => {
    const d = await start(service('lblc', THREE_VMS([5, 5, 5])).replace(`vip: ${VIP}`, `vip: ${PREFIX}`));
    const h = holder();
    const held: HeldConnection[] = [];
    // One connection held per destination: each new destination finds the others' VMs loaded (wlc).
    for (const host of destinations.slice(0, 3)) held.push(...(await holdInTurn(h, d, 1, host)));
    expect(vms(held)).toEqual(['vm1', 'vm2', 'vm3']);
    // Later connections to the same destinations, from another client, reuse the cached VM.
    const later = await requestEach(lab, 'cl2', [...destinations.slice(0, 3), ...destinations.slice(0, 3)].map((host) => ({ host })));
    expect(vms(later)).toEqual(['vm1', 'vm2', 'vm3', 'vm1', 'vm2', 'vm3']);
  });

  it("lblcr: a destination's set takes the least loaded VM when its member is overloaded, and keeps both", async () => {
    const d = await start(service('lblcr', THREE_VMS([4, 4, 4])).replace(`vip: ${VIP}`, `vip: ${PREFIX}`));
    const scheduler = d.daemon.app.serviceStates()[0].lb.scheduler;
    if (!(scheduler instanceof LocalityReplicatedScheduler)) throw new Error(`expected lblcr, got ${scheduler.name}`);
    const replicas = (host: string) => scheduler.replicas(ipv4ToUint32(host)).map((b) => b.id);
    const h = holder();
    const [d0, d1, d2] = destinations;
    // As lblc: one connection held per destination, each new destination's set starts with the wlc minimum ...
    const held: HeldConnection[] = [];
    for (const host of [d0, d1, d2]) held.push(...(await holdInTurn(h, d, 1, host)));
    expect(vms(held)).toEqual(['vm1', 'vm2', 'vm3']);
    // ... and later connections to the same destinations, from another client, stay in their sets.
    const later = await requestEach(lab, 'cl2', [d0, d1, d2, d0, d1, d2].map((host) => ({ host })));
    expect(vms(later)).toEqual(['vm1', 'vm2', 'vm3', 'vm1', 'vm2', 'vm3']);
    // The last request's connection may still count active when the client has its answer (its ends' copies are on
    // their way): holdInTurn counts from the active total it starts with, so wait for the three held ones alone
    // (conntrack, 2026-12-06 02:57 UTC: "held connection 1 counted active" timed out without this wait).
    await waitUntil(() => d.totalActive() === 3, 5000, 'the later requests no longer active');
    // Four more held to d0: vm1 up to 5 active. Its fifth makes it overloaded (5 > weight 4 while vm2 and vm3 are
    // under half loaded, 1 * 2 < 4): the next connection to d0 goes to the wlc minimum of all, vm2 or vm3 (one active
    // each; the later requests' lingering ends decide), which joins d0's set at its front.
    const toD0 = await holdInTurn(h, d, 5, d0);
    expect(vms(toD0.slice(0, 4))).toEqual(['vm1', 'vm1', 'vm1', 'vm1']);
    const joined = toD0[4].vm;
    expect(['vm2', 'vm3']).toContain(joined);
    expect(replicas(d0)).toEqual([`v-${joined}`, 'v-vm1']);
    // vm1's five connections close: the set's least loaded member is vm1 again, and d0 goes back to it. lblc, whose
    // cache holds one VM per destination (the one that joined, not overloaded), would stay there.
    await closeAll(h, d, [held[0], ...toD0.slice(0, 4)]);
    expect(vms(await holdInTurn(h, d, 1, d0))).toEqual(['vm1']);
    expect(replicas(d0)).toEqual([`v-${joined}`, 'v-vm1']);
  });
});

describe(`feedback scheduler (NAT by ${e2eNatMode()})`, () => {
  it('sends measurably fewer new connections to a VM made slow with netem than rr does (rr is the control)', async () => {
    const slowdown = await slowDown(lab, 'vm3');
    try {
      const loadBoth = async () => tally(await Promise.all(['cl1', 'cl2'].map((cl) => closedLoopLoad(lab, cl, VIP, 4, 5000))));
      await start(service('rr', THREE_VMS()));
      const rr = await loadBoth();
      await vadc!.stop(lab);
      vadc = undefined;
      // The default configuration (issue 12): no feedback_interval, the daemon's own statistics poll, no wait for
      // polls. The end copies' connection times give each VM its estimate from its first connection's end.
      const d = await start(service('feedback', THREE_VMS()), { daemonDefaults: true });
      const scheduler = d.daemon.app.serviceStates()[0].lb.scheduler as { estimate?: (id: string) => unknown };
      let estimates: string[] = [];
      const midway = setTimeout(() => (estimates = ['v-vm1', 'v-vm2', 'v-vm3'].map((id) => `  ${id} ${JSON.stringify(scheduler.estimate?.(id))}`)), 2500);
      const feedback = await loadBoth();
      clearTimeout(midway);
      const share = (t: Record<string, number>, vm: string) => t[vm] / (t.vm1 + t.vm2 + t.vm3);
      const rows = ['vm1', 'vm2', 'vm3'].map((vm) => `  ${vm}${vm === 'vm3' ? ' (slow)' : '       '}   rr ${String(rr[vm]).padStart(5)} (${(share(rr, vm) * 100).toFixed(1)} %)   feedback ${String(feedback[vm]).padStart(5)} (${(share(feedback, vm) * 100).toFixed(1)} %)`);
      const total = (t: Record<string, number>) => t.vm1 + t.vm2 + t.vm3;
      console.log(`vm3 made slow: ${slowdown}\nrequests answered in 5 s, 2 clients x 4 concurrent, fresh connection each:\n${rows.join('\n')}\ntotal answered: rr ${total(rr)}, feedback ${total(feedback)}\nfeedback estimates 2.5 s into the load (reply packets/s, completions/s, open connections, S = L / lambda in s):\n${estimates.join('\n')}`);
      // rr deals connections in turn whatever the speed: the slow VM gets its third.
      expect(share(rr, 'vm3')).toBeGreaterThan(0.25);
      // feedback: the slow VM holds its connections longer (its connection times, first packet to the end copy),
      // which costs it new connections: a clearly smaller share than rr gives it, and clearly fewer than either fast
      // VM (docs/schedulers.md shows the figures).
      expect(share(feedback, "vm3")).toBeLessThan(share(rr, "vm3") * 0.8);
      expect(feedback.vm3).toBeLessThan(Math.min(feedback.vm1, feedback.vm2) * 0.75);
    } finally {
      await restoreLink(lab, 'vm3');
    }
  });
});

describe(`mh, and backends added or removed at run time (NAT by ${e2eNatMode()})`, () => {
  const SOURCES = Array.from({ length: 12 }, (_, i) => `10.0.0.${180 + i}`);

  it('mh: stable per client address; removing a VM moves only its clients, established connections stay', async () => {
    for (const ip of SOURCES) await lab.exec('cl1', ['ip', 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
    try {
      const d = await start(service('mh', THREE_VMS()));
      const fromEach = () => requestEach(lab, 'cl1', SOURCES.map((localAddress) => ({ host: VIP, localAddress })));
      const before = vms(await fromEach());
      expect(vms(await fromEach())).toEqual(before);
      expect(new Set(before).size).toBeGreaterThan(1);
      const removed = before[0];
      // An established connection on the VM about to be removed, from a client address that maps there.
      const h = holder();
      const established = await h.open(VIP, 80, SOURCES[0]);
      expect(established.vm).toBe(removed);
      await d.daemon.removeBackend('web', `v-${removed}`);
      const after = vms(await fromEach());
      SOURCES.forEach((_, i) => {
        if (before[i] === removed) expect(after[i]).not.toBe(removed);
        else expect(after[i]).toBe(before[i]); // minimal disruption: nobody else moves
      });
      expect((await h.request(established)).vm).toBe(removed);
    } finally {
      for (const ip of SOURCES) await lab.exec('cl1', ['ip', 'addr', 'del', `${ip}/32`, 'dev', 'eth0']);
    }
  });

  it('a backend added at run time takes new connections; established ones elsewhere stay', async () => {
    const d = await start(service('rr', `
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080] }`));
    const h = holder();
    const held = [await h.open(VIP), await h.open(VIP)];
    expect(vms(held)).toEqual(['vm1', 'vm2']);
    const added = await d.daemon.addBackend('web', { vnic: 'v-vm3', ip: '10.0.0.13', ports: [8080] });
    expect(added.id).toBe('v-vm3');
    await waitUntil(() => d.backend('v-vm3').ofport !== undefined, 5000, 'v-vm3 located');
    // rr carries on after vm2, now with vm3 in the rotation.
    expect(vms(await requestEach(lab, 'cl2', [{ host: VIP }, { host: VIP }, { host: VIP }]))).toEqual(['vm3', 'vm1', 'vm2']);
    for (const c of held) expect((await h.request(c)).vm).toBe(c.vm);
    expect(d.open()['v-vm1'] + d.open()['v-vm2']).toBeGreaterThanOrEqual(2);
  });
});

describe(`bad input (NAT by ${e2eNatMode()})`, () => {
  it('a vNIC that does not exist: that backend is down with the reason, no crash, the others serve', async () => {
    const d = await start(service('rr', `
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }
      - { vnic: v-nope, ip: 10.0.0.19, ports: [8080] }
      - { vnic: v-vm2, ip: 10.0.0.12, ports: [8080] }`), { located: ['v-vm1', 'v-vm2'] });
    const missing = d.backend('v-nope');
    expect(missing.health).toBe('down');
    expect(missing.healthReason).toMatch(/not found/);
    expect(vms(await requestEach(lab, 'cl1', Array.from({ length: 4 }, () => ({ host: VIP }))))).toEqual(['vm1', 'vm2', 'vm1', 'vm2']);
    expect(d.daemon.service('web').refused).toBe(0);
    // Operators are told too: a warning names the backend and why.
    await waitUntil(() => d.events.some((e) => e.backend === 'v-nope' && e.level === 'warn'), 5000, 'a warning about v-nope');
    expect(d.events.find((e) => e.backend === 'v-nope' && e.level === 'warn')!.message).toMatch(/v-nope.*absent/);
  });

  it('refuses cleanly: UDP to a VIP port with no service gets ICMP unreachable, another IP protocol too; unknown VIPs are ignored', async () => {
    const d = await start(service('rr', THREE_VMS()));
    const udp = await lab.exec('cl1', ['node', '-e', `
      const s = require('dgram').createSocket('udp4');
      s.on('error', (e) => { console.log(e.code); process.exit(0); });
      s.connect(9999, '${VIP}', () => { s.send('x'); setTimeout(() => s.send('y'), 300); });
      setTimeout(() => { console.log('no answer'); process.exit(0); }, 3000);`]);
    expect(udp.stdout.trim()).toBe('ECONNREFUSED');
    // IP protocol 253 (for experiments) to the VIP: the answer is an ICMP destination unreachable quoting our packet.
    const raw = await lab.exec('cl1', ['python3', '-c', `
import socket, sys
rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); rx.settimeout(3)
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253); tx.sendto(b'not tcp or udp', ('${VIP}', 0))
while True:
    pkt, addr = rx.recvfrom(2048)
    ihl = (pkt[0] & 15) * 4; icmp = pkt[ihl:]; quoted = icmp[8:]
    if icmp[0] == 3 and quoted[9] == 253:
        print(addr[0], icmp[0], icmp[1]); sys.exit(0)`]);
    expect(raw.stderr).toBe('');
    const [from, type, code] = raw.stdout.trim().split(' ');
    expect([from, type, code]).toEqual([VIP, '3', '2']); // destination unreachable: protocol unreachable
    console.log(`ICMP answer to IP protocol 253 sent to the VIP: type ${type} code ${code}`);
    // A packet-in for an address that is no VIP (a stray flow sends it to the controller): vadc stays quiet and serves on.
    const stray = '10.0.0.77';
    await lab.addFlows(`table=0,priority=60000,cookie=0x5c4ed,ip,nw_dst=${stray},actions=CONTROLLER:65535`);
    await lab.exec('cl1', ['ip', 'neigh', 'replace', stray, 'lladdr', '02:00:00:00:00:77', 'dev', 'eth0']);
    const packetInsBefore = d.daemon.status().switches[0].packetIns;
    const unknown = await lab.exec('cl1', ['node', '-e', `
      const s = require('net').connect(80, '${stray}'); s.on('error', (e) => { console.log(e.code); process.exit(0); });
      s.on('connect', () => { console.log('connected'); process.exit(0); }); setTimeout(() => { console.log('no answer'); process.exit(0); }, 1500);`]);
    await lab.exec('cl1', ['ip', 'neigh', 'del', stray, 'dev', 'eth0']);
    await lab.ofctl('del-flows', 'cookie=0x5c4ed/-1');
    expect(unknown.stdout.trim()).toBe('no answer');
    expect(d.daemon.status().switches[0].packetIns).toBeGreaterThan(packetInsBefore);
    expect(vms(await requestEach(lab, 'cl1', [{ host: VIP }]))).toHaveLength(1);
  });

  it('a backend with no software ports is a configuration error naming its path, at load and at run time', async () => {
    const text = `services:\n  - name: web\n    vip: ${VIP}\n    port: 80\n    backends:\n      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }\n      - { vnic: v-vm2, ip: 10.0.0.12, ports: [] }\n`;
    expect(() => parseConfig(text, 'bad.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(text, 'bad.yaml')).toThrow(/services\[0\]\.backends\[1\]\.ports: expected at least one software port/);
    const d = await start(service('rr', `
    backends:
      - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }`));
    const attempt = d.daemon.addBackend('web', { vnic: 'v-vm2', ip: '10.0.0.12', ports: [] });
    await expect(attempt).rejects.toThrow(RuntimeError);
    await expect(attempt).rejects.toThrow(/services\[0\]\.backends\[1\]\.ports/);
    expect(d.daemon.service('web').backends.map((b) => b.id)).toEqual(['v-vm1']);
    expect(vms(await requestEach(lab, 'cl1', [{ host: VIP }]))).toEqual(['vm1']);
  });
});
