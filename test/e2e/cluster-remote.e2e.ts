/**
 * Remote backends on real Open vSwitch and a real 3-member Raft cluster of ovsdb-server: a 3-host lab (three
 * bridges in one ovs-vswitchd joined by an underlay), one vadc daemon per host (in-process), a service added once
 * at cluster scope with one backend on each host. Clients on every host reach the backends of the other hosts
 * through the uplinks, NAT'ed at their own host both ways, also right after a direct connection to the same backend
 * (flows mode's stale-cache race, which the reply guard closes). The Raft leader killed under steady traffic from every
 * host's client: no failed request, and a change made right after the election reaches all three hosts. Then a
 * backend's server is killed on h2: h1 and h3 stop
 * choosing it once h2's health check fails it and h2 publishes that. Then it is cut off under connections held from
 * h1 and h3, twice: its server hangs (SIGSTOP: no FIN, its connections stay open), and its vNIC's link goes down at
 * h2. Once h2 fails it, they drop those connections (flows mode: their flows too) as h2 does for its own, and keep
 * the others. Figures are printed, not asserted.
 * Both NAT modes, each with its own lab and store (conntrack mode: each host its own zone, as separate hypervisors
 * have separate trackers).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Lab, LabServer } from '../../src/lab';
import { ClusterAdmin, serviceSpecRows } from '../../src/cluster';
import { startStoreMember } from '../../src/lab';
import { ClusterLab, type ClusterNat, type HostDaemon } from '../helpers/cluster-hosts';
import { fetchVia, sleep, vipOf, waitFor } from '../helpers/health-lab';
import { ConnectionHolder, type HeldConnection } from '../helpers/sched-clients';
import { killStoreLeader, retryUntilAccepted, vadcOk } from '../helpers/vadc-cli';

// http, not tcp: a hung (stopped) server's kernel still accepts connections, so only an answer tells it is gone.
const HEALTH = { interval: 1, timeout: 0.5, rise: 1, fall: 2 };

// The current NAT mode's lab, store and daemons (each describe.each block sets them up and takes them down).
let cluster: ClusterLab | undefined;
let nat: ClusterNat;
let lab: Lab;
let tmp: string;
let remotes: string;
let hosts: HostDaemon[];
let servers: Map<string, LabServer>;

/** `count` fresh connections from a client to the VIP: the answering VMs (an error counts as 'failed'). */
async function answers(client: string, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      names.push((await fetchVia(lab, client)).split(' ')[0]);
    } catch {
      names.push('failed');
    }
  }
  return names;
}

/**
 * In a client: for each backend address in turn, `rounds` times: a direct connection to it (port 8080) and, while it
 * is open, 3 VIP connections at once (rr: one of them lands on it). Prints the VIP connections' connect times by VM.
 */
const DIRECT_THEN_VIP = `'use strict';
const http = require('node:http');
const [vip, directs, rounds] = process.argv.slice(1);
const get = (host, port) => new Promise((resolve) => {
  const t0 = process.hrtime.bigint(); let tc = t0;
  const req = http.get({ host, port, path: '/', agent: false, timeout: 10000 }, (res) => {
    let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => resolve({ vm: body.split(' ')[0], ms: Number(tc - t0) / 1e6 }));
  });
  req.on('socket', (s) => s.on('connect', () => { tc = process.hrtime.bigint(); }));
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => resolve({ vm: 'failed', ms: 0 }));
});
(async () => {
  const out = {};
  for (const direct of JSON.parse(directs)) for (let i = 0; i < Number(rounds); i++) {
    const d = get(direct, 8080);
    const vs = await Promise.all([get(vip, 80), get(vip, 80), get(vip, 80)]);
    await d;
    for (const v of vs) { const s = (out[v.vm] ??= { n: 0, overHalfSecond: 0, maxMs: 0 }); s.n++; if (v.ms > 500) s.overHalfSecond++; s.maxMs = Math.max(s.maxMs, Math.round(v.ms)); }
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

async function setUp(mode: ClusterNat): Promise<void> {
  cluster = await ClusterLab.up({ name: 'cr', hosts: 3, nat: mode });
  ({ nat, lab, tmp, remotes, hosts, servers } = cluster);
  const backend = (vm: string) => `  - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8080] }`;
  const health = `{ type: http, path: /, interval: ${HEALTH.interval}, timeout: ${HEALTH.timeout}, rise: ${HEALTH.rise}, fall: ${HEALTH.fall} }`;
  writeFileSync(path.join(tmp, 'web.yaml'), `name: web\nvip: ${vipOf(lab)}\nport: 80\nscheduler: rr\nfin_timeout: 1\nhealth: ${health}\nbackends:\n${['h1vm1', 'h2vm1', 'h3vm1'].map(backend).join('\n')}\n`);
}

async function tearDown(): Promise<void> {
  await cluster?.down();
  cluster = undefined;
}

/** The promise's value, or an error naming what did not happen within `ms` (a hang fails with its reason). */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A host's connection flows (vadc's connection cookie) that name an address: flows mode has two per connection. */
async function connectionFlowsNaming(h: HostDaemon, ip: string): Promise<number> {
  const dump = await lab.ofctlOn(h.hv, 'dump-flows', 'cookie=0xadc0400000000000/0xfffff00000000000');
  const named = new RegExp(`[=:]${ip.replace(/\./g, '\\.')}([,\\s-]|$)`);
  return dump.split('\n').filter((line) => named.test(line)).length;
}

describe.each(['conntrack', 'flows'] as const)('remote backends: one service at cluster scope, backends on three hosts (real OVS, real Raft cluster, %s NAT)', (mode) => {
  beforeAll(() => setUp(mode), 960_000);
  afterAll(() => tearDown(), 120_000);

  // The issue's "served by all three hosts within 1 s": from the start of the write's transaction (made here, in
  // process, so that no CLI start-up is timed) to each host's cluster_policy_applied event, and each host's client
  // asked right after: how many requests until the first answer (each request is a process started in the client's
  // namespace, itself most of a second on a loaded host). A service with no health section, so that what is timed is
  // the store and the hosts, not the first health checks (the next step times those). Printed, not asserted.
  it('a service added once at cluster scope is applied and answered at every host soon after the write', async () => {
    const backends = ['h1vm1', 'h2vm1', 'h3vm1'].map((vm) => ({ vnic: lab.host(vm).port, ip: lab.host(vm).ip, ports: [8080] }));
    const quickRows = serviceSpecRows({ name: 'quick', vip: vipOf(lab), port: 81, scheduler: 'rr', backends }, 'cluster');
    const admin = await ClusterAdmin.open(remotes, {});
    const writeStarted = Date.now();
    try {
      await admin.apply({ kind: 'add-service', ...quickRows }, 'cluster');
    } finally {
      admin.close();
    }
    const committed = Date.now();
    const appliedAt = (h: HostDaemon) => h.events.find((e) => e.kind === 'cluster_policy_applied' && e.time >= writeStarted
      && (e.data?.services as string[] | undefined)?.includes('quick'))?.time;
    const firstAnswer: Record<string, { attempts: number; ms: number }> = {};
    await Promise.all(hosts.map(async (h) => {
      const client = lab.hostsOn(h.hv).find((x) => x.role === 'client')!.name;
      const deadline = Date.now() + 30_000;
      for (let attempts = 1; ; attempts++) {
        try {
          await fetchVia(lab, client, 81);
          firstAnswer[h.hv.name] = { attempts, ms: Date.now() - writeStarted };
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`${client} got no answer from the VIP's port 81 within 30 s: ${(err as Error).message}`);
        }
      }
    }));
    await waitFor(() => hosts.every((h) => appliedAt(h) !== undefined), 10_000, 'every host to report the policy with quick applied');
    const applied = Object.fromEntries(hosts.map((h) => [h.hv.name, appliedAt(h)! - writeStarted]));
    console.log(`[cluster remote e2e, ${nat}] service added at cluster scope: the transaction took ${committed - writeStarted} ms; each host applied it ${JSON.stringify(applied)} ms after the write started (issue 13's ceiling: 1,000 ms); its client's first answer (attempts, ms after the write started): ${JSON.stringify(firstAnswer)}`);
    expect(Object.keys(firstAnswer).sort()).toEqual(['h1', 'h2', 'h3']);
    // The store's rows as `service show --cluster` reads them; a backend removed and added back through the store
    // leaves and rejoins every host's pool.
    const vnic3 = lab.host('h3vm1').port;
    const rows = JSON.parse(await vadcOk(['service', 'show', 'quick', '--cluster', remotes, '--json'])) as { services: { scope: string; port?: number }[]; backends: { vnic?: string }[] };
    expect({ scopes: rows.services.map((r) => [r.scope, r.port]), vnics: rows.backends.map((b) => b.vnic).sort() })
      .toEqual({ scopes: [['cluster', 81]], vnics: ['h1vm1', 'h2vm1', 'h3vm1'].map((vm) => lab.host(vm).port).sort() });
    const pool = (h: HostDaemon) => h.daemon.services().find((svc) => svc.name === 'quick')?.backends.map((b) => b.id) ?? [];
    await vadcOk(['backend', 'remove', 'quick', vnic3, '--cluster', remotes]);
    await waitFor(() => hosts.every((h) => pool(h).length === 2 && !pool(h).includes(vnic3)), 10_000, `every host to drop ${vnic3} from quick`);
    await vadcOk(['backend', 'add', 'quick', vnic3, '--ip', lab.host('h3vm1').ip, '--port', '8080', '--cluster', remotes]);
    await waitFor(() => hosts.every((h) => pool(h).includes(vnic3)), 10_000, `every host to take ${vnic3} back into quick`);
    await vadcOk(['service', 'remove', 'quick', '--cluster', remotes]);
    await waitFor(() => hosts.every((h) => !h.daemon.services().some((svc) => svc.name === 'quick')), 10_000, 'every host to drop quick');
  }, 120_000);

  it("every host's clients reach the backends of the other hosts through the uplinks, translated both ways", async () => {
    const added = Date.now();
    await vadcOk(['service', 'add', 'web', '--file', path.join(tmp, 'web.yaml'), '--cluster', remotes]);
    // Each host has its own backend and learns the two others from the store (through its uplink).
    for (const h of hosts) {
      for (const other of hosts) {
        const vnic = lab.hostsOn(other.hv).find((x) => x.role === 'vm')!.port;
        await waitFor(() => {
          const b = h.backend(vnic);
          return b?.health === 'up' && (other === h ? b.host === undefined : b.host === other.hv.name && b.ofport === h.hv.uplinkOfport);
        }, 60_000, `${h.hv.name} to see ${vnic} up${other === h ? '' : ` on ${other.hv.name} via its uplink`}`).catch((err: Error) => {
          const view = h.backend(vnic);
          const events = h.events.filter((e) => e.backend === vnic).map((e) => `${e.kind}: ${e.message}`).slice(-5);
          const own = other.backend(vnic);
          const ownEvents = other.events.filter((e) => e.backend === vnic || e.kind.startsWith('cluster')).map((e) => `${e.kind}: ${e.message}`).slice(-8);
          throw new Error(`${err.message}; it sees ${JSON.stringify(view && { health: view.health, reason: view.healthReason, host: view.host, ofport: view.ofport, mac: view.mac })}; its events: ${events.join(' | ')}; `
            + `${other.hv.name} sees ${JSON.stringify(own && { health: own.health, reason: own.healthReason, ofport: own.ofport })}, cluster ${JSON.stringify(other.daemon.status().cluster)}; its events: ${ownEvents.join(' | ')}`);
        });
      }
    }
    const ready = Date.now();
    const seen: Record<string, string[]> = {};
    for (const h of hosts) {
      const client = lab.hostsOn(h.hv).find((x) => x.role === 'client')!.name;
      const got = new Set<string>();
      for (let round = 0; round < 5 && got.size < 3; round++) for (const name of await answers(client, 6)) got.add(name);
      seen[client] = [...got].sort();
    }
    console.log(`[cluster remote e2e, ${nat}] service added; every host saw every backend up ${ready - added} ms later; answers by client: ${JSON.stringify(seen)}`);
    expect(seen).toEqual({ h1cl1: ['h1vm1', 'h2vm1', 'h3vm1'], h2cl1: ['h1vm1', 'h2vm1', 'h3vm1'], h3cl1: ['h1vm1', 'h2vm1', 'h3vm1'] });
    // Remote connections really left through the uplinks: the clients' hosts sent packets out of them.
    for (const h of hosts) {
      const stats = await lab.ofctlOn(h.hv, 'dump-ports', h.hv.uplinkPort);
      expect(Number(/tx pkts=(\d+)/.exec(stats)![1])).toBeGreaterThan(0);
    }
  }, 240_000);

  it('the Raft leader killed under steady traffic from every host\'s client: no failed request; a change made right after the election reaches every host', async () => {
    let stopped = false;
    const clients = hosts.map((h) => lab.hostsOn(h.hv).find((x) => x.role === 'client')!.name);
    const results: Record<string, { ok: number; errors: string[] }> = {};
    const loops = clients.map(async (client) => {
      const r = (results[client] = { ok: 0, errors: [] as string[] });
      while (!stopped) {
        await fetchVia(lab, client).then(() => r.ok++, (err: Error) => r.errors.push(err.message));
        await sleep(100);
      }
    });
    await sleep(1000);
    const leader = await killStoreLeader(cluster!.storeDir, remotes);
    const vnic = lab.host('h2vm1').port;
    // At cluster scope: every host's policy changes.
    const written = await retryUntilAccepted(['backend', 'weight', 'web', vnic, '3', '--cluster', remotes]);
    expect(written).toBeGreaterThan(0);
    const reached: Record<string, number> = {};
    await waitFor(() => {
      for (const h of hosts) if (reached[h.hv.name] === undefined && h.backend(vnic)?.weight === 3) reached[h.hv.name] = Date.now() - written;
      return Object.keys(reached).length === hosts.length;
    }, 10_000, `every host to take ${vnic}'s weight 3 from the store`);
    await sleep(1000);
    stopped = true;
    await Promise.all(loops);
    console.log(`[cluster remote e2e, ${nat}] leader s${leader.n} killed: first accepted write ${written - leader.at} ms after the kill; on each host (ms after): ${JSON.stringify(reached)}; `
      + `traffic ${JSON.stringify(Object.fromEntries(Object.entries(results).map(([c, r]) => [c, { ok: r.ok, failed: r.errors.length }])))}`);
    expect(Object.fromEntries(Object.entries(results).map(([c, r]) => [c, r.errors]))).toEqual(Object.fromEntries(clients.map((c) => [c, []])));
    for (const client of clients) expect(results[client].ok).toBeGreaterThanOrEqual(3); // traffic flowed at every host
    await startStoreMember(cluster!.storeDir, leader.n);
    await retryUntilAccepted(['backend', 'weight', 'web', vnic, '1', '--cluster', remotes]);
    await waitFor(() => hosts.every((h) => h.backend(vnic)?.weight === 1), 10_000, `every host to take ${vnic}'s weight 1 back`);
  }, 120_000);

  // Flows mode's race (issue 13): a direct connection to a backend leaves datapath megaflows "backend:8080 -> client:
  // NORMAL" with the client's port wildcarded; a VIP connection opened to that backend right after met them with its
  // SYN-ACK before the revalidators caught up with its reverse flow, so the SYN-ACK reached the client untranslated, the
  // client reset it and retried its SYN a second later. Remote backends were hit as well as local ones, as the reply
  // guard was off with cluster.uplink. Asserted on the client's capture (no segment of a VIP connection from a
  // backend's own address), not on times; the connect times are printed.
  it('a VIP connection right after a direct one to the same backend gets its replies translated, local and remote backends', async () => {
    const client = 'h1cl1';
    const ROUNDS = 15;
    const pcap = path.join(tmp, 'direct-then-vip.pcapng');
    const capture = lab.spawn(client, ['dumpcap', '-q', '-i', 'eth0', '-f', 'tcp', '-w', pcap]);
    const exited = new Promise<void>((resolve) => capture.on('exit', () => resolve()));
    try {
      await new Promise((r) => setTimeout(r, 1500)); // dumpcap opens its interface
      const run = await lab.exec(client, ['node', '-e', DIRECT_THEN_VIP, vipOf(lab), JSON.stringify(['h1vm1', 'h2vm1', 'h3vm1'].map((vm) => lab.host(vm).ip)), String(ROUNDS)], { timeoutMs: 120_000 });
      if (run.code !== 0) throw new Error(`direct-then-VIP load failed: ${run.stderr}`);
      await new Promise((r) => setTimeout(r, 500));
      capture.kill('SIGINT');
      await within(10_000, exited, 'dumpcap to exit');
      const byVm = JSON.parse(run.stdout) as Record<string, { n: number; overHalfSecond: number; maxMs: number }>;
      const segments = (await lab.exec(client, ['tshark', '-r', pcap, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'tcp.seq_raw'])).stdout
        .trim().split('\n').map((line) => line.split('\t'));
      const me = lab.host(client).ip;
      const vipSyns = segments.filter(([src, dst, , dport, syn, ack]) => src === me && dst === vipOf(lab) && dport === '80' && syn === '1' && ack === '0');
      const vipPorts = new Set(vipSyns.map(([, , sport]) => sport));
      // A connection is its port and initial sequence number: Linux may give a later VIP connection the port of an
      // earlier one (the server closed first, so the client's port is free at once); a SYN sent again keeps both.
      const vipConnections = new Set(vipSyns.map(([, , sport, , , , seq]) => `${sport}/${seq}`));
      const backends = new Set(['h1vm1', 'h2vm1', 'h3vm1'].map((vm) => lab.host(vm).ip));
      // The client's ports of its direct connections, by backend. Linux gives a VIP connection the port of a direct
      // one to the same backend now and then (29 segments in one conntrack run): by addresses and ports alone the
      // direct connection's own replies then look like untranslated VIP segments, and a real stale exact entry (the
      // known same-port gap, docs/pipeline.md) cannot be told from them. Such ports are counted apart; the assertion
      // is about the wildcarded-megaflow race, for every other VIP connection.
      const directPorts = new Set(segments.filter(([src, dst, , dport, syn, ack]) => src === me && backends.has(dst) && dport === '8080' && syn === '1' && ack === '0')
        .map(([, dst, sport]) => `${dst}:${sport}`));
      const fromBackend = segments.filter(([src, dst, sport, dport]) => backends.has(src) && dst === me && sport === '8080' && vipPorts.has(dport));
      const samePort = fromBackend.filter(([src, , , dport]) => directPorts.has(`${src}:${dport}`));
      const untranslated = fromBackend.filter(([src, , , dport]) => !directPorts.has(`${src}:${dport}`));
      const retried = vipSyns.length - vipConnections.size;
      console.log(`[cluster remote e2e, ${nat}] direct connection then 3 VIP connections, ${ROUNDS} rounds per backend from ${client}: VIP connect times by VM ${JSON.stringify(byVm)}; `
        + `${vipConnections.size} VIP connections captured (${vipPorts.size} client ports), ${untranslated.length} segments of them from a backend's own address (${untranslated.slice(0, 4).map((s) => s.join(' ')).join('; ')}), ${retried} SYNs to the VIP sent again; `
        + `${samePort.length} segments from a backend's own address to a client port the same client had just used for a direct connection to that backend (the known same-port gap)`);
      expect(vipConnections.size).toBeGreaterThanOrEqual(3 * ROUNDS * 3);
      expect(untranslated).toEqual([]);
    } finally {
      capture.kill('SIGINT');
    }
  }, 240_000);

  it("a backend's server killed on h2: h1 and h3 stop choosing it once h2's verdict is published", async () => {
    const [h1, h2, h3] = hosts;
    const vnic = lab.host('h2vm1').port;
    const killedAt = Date.now();
    await servers.get('h2vm1')!.stop();
    await waitFor(() => h2.backend(vnic)?.health === 'down', 60_000, 'h2 to fail h2vm1');
    const h2Down = Date.now();
    const others: Record<string, number> = {};
    await Promise.all([h1, h3].map(async (h) => {
      await waitFor(() => h.backend(vnic)?.health === 'down', 60_000, `${h.hv.name} to take h2's verdict on h2vm1`);
      others[h.hv.name] = Date.now() - killedAt;
    }));
    // From now on the clients of h1 and h3 are never sent to h2vm1.
    const after: Record<string, string[]> = {};
    for (const client of ['h1cl1', 'h3cl1']) after[client] = [...new Set(await answers(client, 12))].sort();
    const checkMs = HEALTH.fall * HEALTH.interval * 1000 + HEALTH.timeout * 1000;
    console.log(`[cluster remote e2e, ${nat}] h2vm1 killed: h2 failed it after ${h2Down - killedAt} ms (health timing: fall ${HEALTH.fall} x interval ${HEALTH.interval} s, timeout ${HEALTH.timeout} s = ~${checkMs} ms); h1 ${others.h1} ms, h3 ${others.h3} ms after the kill; answers after: ${JSON.stringify(after)}`);
    expect(after).toEqual({ h1cl1: ['h1vm1', 'h3vm1'], h3cl1: ['h1vm1', 'h3vm1'] });
    // Back: h2's verdict turns, and the others use it again.
    servers.set('h2vm1', await lab.startHttpServer('h2vm1', 8080));
    await Promise.all([h1, h3].map((h) => waitFor(() => h.backend(vnic)?.health === 'up', 60_000, `${h.hv.name} to see h2vm1 up again`)));
    // h2 checks h2vm1; h1 and h3 do not (it is on h2): h2's verdict alone decides there, and their status shows no check
    // of their own (at int42 h3's showed a frozen one, ECONNREFUSED from the kill, while its failover still counted it).
    expect(h2.backend(vnic)?.lastCheck).toMatchObject({ ok: true });
    expect([h1, h3].map((h) => ({ host: h.hv.name, lastCheck: h.backend(vnic)?.lastCheck }))).toEqual([{ host: 'h1', lastCheck: undefined }, { host: 'h3', lastCheck: undefined }]);
    // Both hosts' clients reach it again.
    for (const client of ['h1cl1', 'h3cl1']) {
      let back = false;
      for (let i = 0; i < 30 && !back; i++) back = (await answers(client, 1))[0] === 'h2vm1';
      expect({ client, back }).toEqual({ client, back: true });
    }
  }, 240_000);
  // Two ways h2 cuts its backend off under held connections: its server hangs (SIGSTOP: no FIN; h2's http check fails
  // it), or its vNIC's link goes down at h2 (h2 publishes link down with health down at once, no check involved).
  const CUTS = {
    hung: { how: 'hung (SIGSTOP)', cut: () => servers.get('h2vm1')!.process.kill('SIGSTOP'), restore: async () => void servers.get('h2vm1')!.process.kill('SIGCONT') },
    link: { how: 'link down at h2', cut: () => lab.setLinkUp('h2vm1', false), restore: () => lab.setLinkUp('h2vm1', true) },
  } as const;
  it.each(['hung', 'link'] as const)("a backend on h2 cut off (%s) under connections held from h1 and h3: once h2 says so they drop those connections, and keep the others", async (which) => {
    const { how, cut, restore } = CUTS[which];
    const [h1, h2, h3] = hosts;
    const vnic = lab.host('h2vm1').port;
    const ip = lab.host('h2vm1').ip;
    const holders = [h1, h3].map((h) => ({ h, holder: ConnectionHolder.start(lab, lab.hostsOn(h.hv).find((x) => x.role === 'client')!.name) }));
    try {
      // Each holder opens connections (rr) until it holds one to h2vm1 and one to another backend.
      const held = new Map<HostDaemon, { toH2: HeldConnection; other: HeldConnection }>();
      for (const { h, holder } of holders) {
        const got: HeldConnection[] = [];
        for (let i = 0; i < 9 && !(got.some((c) => c.vm === 'h2vm1') && got.some((c) => c.vm !== 'h2vm1')); i++) {
          got.push(await within(15_000, holder.open(vipOf(lab)), `a connection from ${h.hv.name}'s client`));
        }
        const toH2 = got.find((c) => c.vm === 'h2vm1');
        const other = got.find((c) => c.vm !== 'h2vm1');
        // Said in full when it fails (CI 2026-12-06 retried this test on a toEqual whose diff it did not show).
        if (!toH2 || !other) throw new Error(`${h.hv.name}'s client got ${got.map((c) => c.vm).join(', ')}: no connection to h2vm1 and another; ${h.hv.name}'s view of h2vm1: ${JSON.stringify(h.backend(vnic))}`);
        held.set(h, { toH2, other });
        expect(h.backend(vnic)!.activeConns + h.backend(vnic)!.inactiveConns).toBeGreaterThan(0);
        // Flows mode: the held connection has its forward and reverse flow at the client's host.
        if (nat === 'flows') expect(await connectionFlowsNaming(h, ip)).toBeGreaterThanOrEqual(2);
      }
      const flowsBefore = Object.fromEntries(await Promise.all([h1, h3].map(async (h) => [h.hv.name, await connectionFlowsNaming(h, ip)])));
      const stoppedAt = Date.now();
      await cut();
      await waitFor(() => h2.backend(vnic)?.health === 'down', 60_000, `h2 to fail h2vm1 (${how})`);
      const h2Down = Date.now();
      const dropped: Record<string, number> = {};
      const flowsAfter: Record<string, number> = {};
      for (const h of [h1, h3]) {
        await waitFor(() => {
          const b = h.backend(vnic);
          return b?.health === 'down' && b.activeConns + b.inactiveConns === 0;
        }, 60_000, `${h.hv.name} to drop its connections to h2vm1`);
        dropped[h.hv.name] = Date.now() - h2Down;
        // The deletes were sent with the verdict: give the switch a moment (up to 10 s, a dump every 100 ms), then none
        // of its flows are left. A count still above 0 then is printed below and fails the toEqual after it.
        await waitFor(async () => (flowsAfter[h.hv.name] = await connectionFlowsNaming(h, ip)) === 0, 10_000, `${h.hv.name}'s flows naming ${ip} to go`, { pollMs: 100 })
          .catch(() => undefined);
      }
      // The other held connections were not touched: each answers again, from the same backend.
      const others: Record<string, string> = {};
      for (const { h, holder } of holders) {
        const { other } = held.get(h)!;
        const again = await within(15_000, holder.request(other), `${h.hv.name}'s held connection to ${other.vm} to answer again`);
        others[h.hv.name] = `${other.vm} -> ${again.vm}`;
        expect(again.vm).toBe(other.vm);
      }
      console.log(`[cluster remote e2e, ${nat}] h2vm1 ${how}: h2 failed it after ${h2Down - stoppedAt} ms (${h2.backend(vnic)?.healthReason}); h1 dropped its connections to it ${dropped.h1} ms and h3 ${dropped.h3} ms `
        + `after h2's verdict; their connection flows naming ${ip}: before ${JSON.stringify(flowsBefore)}, after ${JSON.stringify(flowsAfter)}; the other held connections: ${JSON.stringify(others)}`);
      expect(flowsAfter).toEqual({ h1: 0, h3: 0 });
    } finally {
      for (const { holder } of holders) await within(15_000, holder.stop(), 'a connection holder to exit').catch(() => undefined);
      await restore();
    }
    await Promise.all(hosts.map((h) => waitFor(() => h.backend(vnic)?.health === 'up', 60_000, `${h.hv.name} to see h2vm1 up again`)));
  }, 240_000);
});
