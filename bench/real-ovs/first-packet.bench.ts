// Where a datapath-decided connection's first packets spend their time, on real OVS (issue 15): the VIP path
// (table 0 ct(nat) -> table 1 -> select group -> ct(commit, nat) -> table 1 -> vNIC) against a static path (one
// flow each way), and candidate pipelines beside vadc's, all measured by turns in one lab with vadc attached.
// Root; not a test; prints figures.
//   node -r ts-node/register/transpile-only bench/real-ovs/first-packet.bench.ts [--connections 1000] [--rounds 4]
//     [--counter-connections 300] [--variants main,static,hash,once] [--end-copies N] [--stats-ms 1000] [--json]
//     [--profile-dir DIR]   (a V8 CPU profile of this process, vadc in it, over each counters phase: DIR/counters-N-VARIANT.cpuprofile)
// Variants (targets of one client, connection i to variant i mod n):
//   main    vadc's own pipeline for a `decisions: datapath` service (VIP port 80)
//   static  a second address (.99) taken by static flows above vadc's table 0 straight to a second server port
//   hash    vadc's pipeline for a second service (VIP port 82) whose group the bench re-adds with OpenFlow 1.5's
//           selection_method=hash over the 5-tuple (the bucket chosen in the upcall: no dp_hash recirculation)
//   hashm   as hash, over the client port's low 8 bits only (VIP port 84): megaflows bounded (256), shared by connections
//   direct  a service (VIP port 85) whose new connections a bench flow above vadc's decision flow commits at once
//           (the bucket's ct(commit, nat, table=1) as the flow's action: no group, no dp_hash recirculation), as a
//           one-backend service could be
//   once    a third service (VIP port 83): a bench flow above vadc's table 0 sends every client packet straight to a
//           dp_hash group whose bucket is vadc's (ct(commit, nat, table=1)); no ct pass before the group (one ct pass
//           for the client's side instead of two); vadc's table 1 and reply path do the rest
//   ctl     a service (VIP port 86) the controller decides (one packet-in per new connection): beside main, what a
//           decision packet-in costs vadc on this path (the ceiling of an end copy's cost)
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { Session } from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config';
import { serviceIds } from '../../src/app/service-ids';
import { serviceGroupId } from '../../src/flows/groups';
import { VadcDaemon } from '../../src/daemon/daemon';
import { Lab, type LabHost } from '../../src/lab';
import { sleep } from '../../src/lab/system';
import { interleavedStaticFlows } from '../lib/realovs';
import { parseClientReport, TCP_CLIENT_JS, TCP_SERVER_JS, type ClientOptions } from '../lib/realovs-scripts';
import { summarize } from '../lib/realovs-stats';
import { percentile } from '../../src/bench/stats';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '4' },
    'counter-connections': { type: 'string', default: '300' },
    variants: { type: 'string', default: 'main,static,hash,once' },
    'end-copies': { type: 'string' },
    'profile-dir': { type: 'string' },
    'stats-ms': { type: 'string', default: '1000' },
    'wait-ms': { type: 'string', default: '600000' },
    json: { type: 'boolean', default: false },
  },
});

const LAB = 'fpx';
const BENCH_COOKIE = '0x5eed';
const SERVER_PORT = 8080;
const STATIC_SERVER_PORT = 8090;
/** The once variant's group: outside vadc's group id range. */
const ONCE_GROUP = 0x5eed0001;
/**
 * Each variant's service and its own backend server port: several VIP ports NAT'ed to one backend port let a reused
 * client port meet the tracker's entry of another variant's connection on the same reply tuple (and the backend's
 * TIME_WAIT of it), which doubled every variant's connect p99 against the static path in a first version of this bench.
 */
const SERVICES = {
  main: { name: 'conn', port: 80, backendPort: SERVER_PORT }, hash: { name: 'alt', port: 82, backendPort: 8082 },
  once: { name: 'one', port: 83, backendPort: 8083 }, hashm: { name: 'alm', port: 84, backendPort: 8084 },
  direct: { name: 'dir', port: 85, backendPort: 8085 }, ctl: { name: 'ctl', port: 86, backendPort: 8086 },
} as const;
const VARIANTS = ['main', 'static', 'hash', 'once', 'hashm', 'direct', 'ctl'] as const;
type Variant = typeof VARIANTS[number];
/** ovs-ofctl's protocol for the bench's group-mods (the lab's wrapper puts -O OpenFlow13 first; a later option wins). */
const OF15 = '--protocols=OpenFlow15';
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function config(lab: Lab, vip: string, backend: LabHost): string {
  // ctl's service is decided by the controller (a packet-in per new connection): its CPU per connection less main's is
  // what a decision packet-in costs vadc here, the ceiling of what an end copy should cost.
  const service = (name: string, port: number, backendPort: number) => ({
    name, vip, protocol: 'tcp', port, scheduler: 'rr', decisions: name === SERVICES.ctl.name ? 'controller' : 'datapath', idle_timeout: 60, fin_timeout: 1,
    backends: [{ vnic: backend.port, ip: backend.ip, ports: [backendPort] }],
  });
  return stringify({
    controller: { listen: 'tcp:127.0.0.1:0', echo_interval: 5 },
    datapath: { nat: 'conntrack', appctl: lab.vswitchdControlSocket, ...(values['end-copies'] !== undefined ? { end_copies: Number(values['end-copies']) } : {}) },
    ovsdb: `unix:${lab.ovsdbSocket}`,
    services: Object.values(SERVICES).map((s) => service(s.name, s.port, s.backendPort)),
  });
}

/** `key: number` lines of pmd-stats-show (the main thread's section: the veth ports are polled there). */
function pmdStats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s+([a-z][a-z .-]+):\s+([0-9.]+)/.exec(line);
    if (m && !out.has(m[1])) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** Every coverage counter's total. */
function coverage(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+.*total: (\d+)/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

interface Transit { syn: number[]; synAck: number[]; both: number[] }

/**
 * The switch's transit time (us) of each connection's SYN (client port in -> backend port out) and SYN-ACK (backend
 * port in -> client port out), per variant, from tshark's lines; connections are sequential, so a client port's next
 * SYN begins its next connection (a retransmitted SYN, seen before the first reached the backend, is ignored).
 */
function switchTransit(text: string, clientIp: string, variantOf: (clientSideDst: string) => string | undefined) {
  const out = new Map<string, Transit>();
  const pendingSyn = new Map<string, { t: number; variant: string }>();
  const synDone = new Map<string, { us: number; variant: string }>();
  const pendingSynAck = new Map<string, number>();
  // tshark writes each interface's packets in batches: in time order first.
  const packets = text.split('\n').map((line) => line.split('\t')).filter((p) => p.length >= 7)
    .map(([time, , src, sport, dst, dport, flags]) => ({ t: Number(time), src, sport, dst, dport, f: Number(flags) }))
    .sort((a, b) => a.t - b.t);
  for (const { t, src, sport, dst, dport, f } of packets) {
    if (f === 0x002 && src === clientIp) {
      const variant = variantOf(`${dst}:${dport}`);
      if (variant) {
        if (!pendingSyn.has(sport)) pendingSyn.set(sport, { t, variant });
      } else {
        const p = pendingSyn.get(sport);
        if (p) {
          pendingSyn.delete(sport);
          synDone.set(sport, { us: (t - p.t) * 1e6, variant: p.variant });
        }
      }
    } else if (f === 0x012 && dst === clientIp) {
      const variant = variantOf(`${src}:${sport}`);
      if (!variant) {
        if (!pendingSynAck.has(dport)) pendingSynAck.set(dport, t);
      } else {
        const t0 = pendingSynAck.get(dport);
        const syn = synDone.get(dport);
        pendingSynAck.delete(dport);
        if (t0 === undefined || !syn || syn.variant !== variant) continue;
        synDone.delete(dport);
        const us = (t - t0) * 1e6;
        const v = out.get(variant) ?? { syn: [], synAck: [], both: [] };
        v.syn.push(syn.us);
        v.synAck.push(us);
        v.both.push(syn.us + us);
        out.set(variant, v);
      }
    }
  }
  const dist = (us: number[]) => {
    const s = Float64Array.from(us).sort();
    return { samples: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] };
  };
  return Object.fromEntries([...out].map(([v, x]) => [v, { syn: dist(x.syn), synAck: dist(x.synAck), both: dist(x.both) }]));
}

/** This process's threads' CPU time so far (user, system; ticks of 10 ms) by thread id, with their names: /proc/self/task. */
function threadCpu(): Map<string, { name: string; user: number; system: number }> {
  const out = new Map<string, { name: string; user: number; system: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { name, user: Number(fields[11]), system: Number(fields[12]) });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** The threads' CPU between two threadCpu() readings, us per connection, summed by thread name ("user/system"). */
function threadCpuPerConnection(
  before: ReturnType<typeof threadCpu>, after: ReturnType<typeof threadCpu>, connections: number,
): Record<string, string> {
  const byName = new Map<string, { user: number; system: number }>();
  for (const [tid, t] of after) {
    const b = before.get(tid) ?? { user: 0, system: 0 };
    const sum = byName.get(t.name) ?? { user: 0, system: 0 };
    sum.user += t.user - b.user;
    sum.system += t.system - b.system;
    byName.set(t.name, sum);
  }
  const us = (ticks: number) => ((ticks * 10_000) / connections).toFixed(0);
  return Object.fromEntries([...byName].filter(([, t]) => t.user + t.system > 0).map(([name, t]) => [name, `${us(t.user)}/${us(t.system)}`]));
}

/** A V8 CPU profile of this process (vadc runs in it) from now until stop(), through the inspector. */
async function startProfile(): Promise<{ stop: () => Promise<object> }> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => {
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result)));
  });
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = (await post('Profiler.stop')) as { profile: object };
      session.disconnect();
      return profile;
    },
  };
}

class FirstPacketBench {
  private lab!: Lab;
  private daemon?: VadcDaemon;
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'vadc-fpx-'));
  private vip = '';
  private staticVip = '';
  private readonly clientScript = path.join(this.dir, 'client.js');
  private readonly serverScript = path.join(this.dir, 'server.js');

  async run(): Promise<unknown> {
    writeFileSync(this.clientScript, TCP_CLIENT_JS);
    writeFileSync(this.serverScript, TCP_SERVER_JS);
    const variants = (values.variants ?? '').split(',') as Variant[];
    for (const v of variants) if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`unknown variant ${v}`);
    try {
      log('lab up ...');
      this.lab = await Lab.up({ name: LAB, vms: 1, clients: 1, waitForHostMs: Number(values['wait-ms']) });
      const backend = this.lab.vms[0];
      const client = this.lab.clients[0];
      this.vip = backend.ip.replace(/\.\d+$/, '.100');
      this.staticVip = backend.ip.replace(/\.\d+$/, '.99');
      for (const port of [...Object.values(SERVICES).map((x) => x.backendPort), STATIC_SERVER_PORT]) {
        const server = this.lab.spawn(backend, ['sh', '-c', `ulimit -n $(ulimit -Hn) && exec node ${this.serverScript} ${port}`]);
        await new Promise<void>((resolve, reject) => {
          server.stdout?.once('data', () => resolve());
          server.once('exit', (code) => reject(new Error(`server on ${port} exited (${code})`)));
        });
      }
      const text = config(this.lab, this.vip, backend);
      const cfg = parseConfig(text, 'first-packet bench');
      const vipMac = cfg.services[0].vip_mac;
      this.daemon = new VadcDaemon({ config: cfg, configText: text, statsIntervalMs: Number(values['stats-ms']) });
      const [target] = await this.daemon.start();
      // OpenFlow 1.5 beside vadc's 1.3, for the bench's own group-mods with a selection method.
      await this.lab.vsctl('set', 'bridge', this.lab.bridge, 'protocols=OpenFlow13,OpenFlow15');
      await this.lab.setController(target);
      const ids = serviceIds(cfg.services.map((s) => s.name));
      const deadline = Date.now() + 20_000;
      while (!(await this.lab.ofctl('dump-groups')).includes(`group_id=${serviceGroupId(ids.get(SERVICES.once.name)!)}`)) {
        if (Date.now() > deadline) throw new Error('vadc\'s groups did not appear');
        await sleep(100);
      }
      await this.lab.exec(client, ['ip', 'neigh', 'replace', this.vip, 'lladdr', vipMac, 'dev', 'eth0', 'nud', 'permanent']);
      await this.lab.exec(client, ['ip', 'neigh', 'replace', this.staticVip, 'lladdr', vipMac, 'dev', 'eth0', 'nud', 'permanent']);
      await this.lab.addFlows(...interleavedStaticFlows({ staticVip: this.staticVip, vipMac, vipPort: 80, backend, clients: this.lab.clients }));
      await this.installVariants(ids);
      log(`groups:\n${await this.lab.ofctl(OF15, 'dump-groups')}`);
      const targetOf = (v: Variant) => (v === 'static' ? { host: this.staticVip, port: 80 } : { host: this.vip, port: SERVICES[v].port });
      for (const v of variants) await this.connections([targetOf(v)], 300); // warm-up: ARP, megaflows
      const traces = await this.traces(client, backend, vipMac).catch((e: Error & { stderr?: string }) => {
        log(`traces failed: ${e.message} ${e.stderr ?? ''}`);
        return {};
      });
      const counters = await this.counters(variants, targetOf);
      const rounds: Array<{ load: string; byVariant: Record<string, ReturnType<typeof summarize>> }> = [];
      const all = new Map<Variant, number[]>(variants.map((v) => [v, []]));
      const capture = await this.startCapture([client.port, backend.port]);
      for (let r = 0; r < Number(values.rounds); r++) {
        // By turns; each round starts at another variant so that no one always follows the same.
        const order = variants.map((_, i) => variants[(i + r) % variants.length]);
        const before = load();
        const rep = await this.connections(order.map(targetOf), Number(values.connections) * order.length);
        const byVariant: Record<string, ReturnType<typeof summarize>> = {};
        order.forEach((v, i) => {
          const us = rep.connectUsByTarget?.[i] ?? [];
          byVariant[v] = summarize(us);
          all.get(v)!.push(...us);
        });
        rounds.push({ load: `${before} -> ${load()}`, byVariant });
        log(`round ${r + 1}: ${order.map((v) => `${v} p50 ${byVariant[v].p50.toFixed(0)} p99 ${byVariant[v].p99.toFixed(0)}`).join('; ')}; failed ${rep.failed}; load ${before}`);
      }
      const transit = switchTransit(await capture.stop(), client.ip, (dst) => variants.find((v) => {
        const t = targetOf(v);
        return `${t.host}:${t.port}` === dst;
      }));
      const megaflows = (await this.lab.appctl('dpctl/dump-flows', '-m')).split('\n').filter((l) => l.includes('recirc_id')).length;
      return { variants, traces, counters, rounds, pooled: this.pooled(all), transit, megaflowsAtEnd: megaflows };
    } finally {
      await this.daemon?.stop().catch(() => undefined);
      await this.lab?.down().catch((err: Error) => log(`lab down failed: ${err.message} (run: vadc lab down --name ${LAB})`));
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** hash: service alt's group again, with selection_method=hash; once: a bench group with service one's bucket, fed from table 0. */
  private async installVariants(ids: Map<string, number>): Promise<void> {
    const groups = await this.lab.ofctl('dump-groups');
    const bucketsOf = (id: number) => {
      const line = groups.split('\n').find((l) => l.includes(`group_id=${id},`));
      if (!line) throw new Error(`group ${id} not found in:\n${groups}`);
      return line.slice(line.indexOf('bucket='));
    };
    const alt = serviceGroupId(ids.get(SERVICES.hash.name)!);
    await this.lab.ofctl(OF15, 'mod-group', `group_id=${alt},type=select,selection_method=hash,fields(ip_src,ip_dst,tcp_src,tcp_dst),${bucketsOf(alt)}`);
    // hashm: the same over the client port's low 8 bits only: at most 256 megaflows, each decided by one upcall.
    const alm = serviceGroupId(ids.get(SERVICES.hashm.name)!);
    await this.lab.ofctl(OF15, 'mod-group', `group_id=${alm},type=select,selection_method=hash,fields(tcp_src=0xff),${bucketsOf(alm)}`);
    const one = serviceGroupId(ids.get(SERVICES.once.name)!);
    await this.lab.ofctl(OF15, 'add-group', `group_id=${ONCE_GROUP},type=select,${bucketsOf(one)}`);
    await this.lab.addFlows(`table=0,priority=3000,cookie=${BENCH_COOKIE},tcp,nw_dst=${this.vip},tp_dst=${SERVICES.once.port},actions=group:${ONCE_GROUP}`);
    const dir = serviceGroupId(ids.get(SERVICES.direct.name)!);
    const commit = bucketsOf(dir).slice(bucketsOf(dir).indexOf('actions=') + 'actions='.length);
    await this.lab.addFlows(`table=1,priority=450,cookie=${BENCH_COOKIE},ct_state=+new-est-rpl-inv+trk-dnat,tcp,nw_dst=${this.vip},tp_dst=${SERVICES.direct.port},actions=${commit}`);
  }

  private async connections(targets: Array<{ host: string; port: number }>, count: number) {
    const o: ClientOptions = { host: targets[0].host, port: targets[0].port, count, concurrency: 1, timeoutMs: 5000, holdMs: 0, targets };
    const argv = ['sh', '-c', `ulimit -n $(ulimit -Hn) && exec node ${this.clientScript} '${JSON.stringify(o)}'`];
    return parseClientReport((await this.lab.exec(this.lab.clients[0], argv, { timeoutMs: 600_000 })).stdout);
  }

  /** ofproto/trace of a first SYN (and its SYN-ACK) on each VIP path: the recirculations and ct actions. */
  private async traces(client: LabHost, backend: LabHost, vipMac: string): Promise<Record<string, string>> {
    const syn = (port: number) => `in_port=${client.ofport},tcp,dl_src=${client.mac},dl_dst=${vipMac},nw_src=${client.ip},nw_dst=${this.vip},`
      + `tp_src=40001,tp_dst=${port},tcp_flags=0x002,nw_ttl=64`;
    const out: Record<string, string> = {};
    out.main = await this.lab.appctl('ofproto/trace', this.lab.bridge, syn(80), '--ct-next', 'trk,new', '--ct-next', 'trk,new,dnat');
    out.static = await this.lab.appctl('ofproto/trace', this.lab.bridge,
      `in_port=${client.ofport},tcp,dl_src=${client.mac},dl_dst=${vipMac},nw_src=${client.ip},nw_dst=${this.staticVip},tp_src=40001,tp_dst=80,tcp_flags=0x002,nw_ttl=64`);
    out.mainReply = await this.lab.appctl('ofproto/trace', this.lab.bridge,
      `in_port=${backend.ofport},tcp,dl_src=${backend.mac},dl_dst=${client.mac},nw_src=${backend.ip},nw_dst=${client.ip},tp_src=${SERVER_PORT},tp_dst=40001,tcp_flags=0x012,nw_ttl=64`,
      '--ct-next', 'trk,est,rpl,dnat');
    for (const [k, v] of Object.entries(out)) log(`trace ${k}:\n${v}`);
    return out;
  }

  /** Per path alone (A B ... B A), the main thread's datapath counters and the coverage counters per connection. */
  private async counters(variants: Variant[], targetOf: (v: Variant) => { host: string; port: number }) {
    const n = Number(values['counter-connections']);
    const results: Array<{ variant: Variant; load: string; perConnection: Record<string, number>; cpuUsPerConnection: Record<string, number>; pmd: Record<string, number>; coverage: Record<string, number>; megaflows: number }> = [];
    for (const v of [...variants, ...[...variants].reverse()]) {
      await sleep(1500);
      const cov0 = coverage(await this.lab.appctl('coverage/show'));
      await this.lab.appctl('dpif-netdev/pmd-stats-clear');
      const before = load();
      const profile = values['profile-dir'] ? await startProfile() : undefined;
      const cpu0 = { vswitchd: this.vswitchdCpuMs(), vadc: process.cpuUsage(), threads: threadCpu() };
      const startedAt = Date.now();
      const rep = await this.connections([targetOf(v)], n);
      const vadcCpu = process.cpuUsage(cpu0.vadc);
      const phaseMs = Date.now() - startedAt;
      const threads = threadCpuPerConnection(cpu0.threads, threadCpu(), rep.ok);
      const cpuUsPerConnection: Record<string, number> = {
        vswitchd: Number((((this.vswitchdCpuMs() - cpu0.vswitchd) * 1000) / rep.ok).toFixed(1)),
        vadc: Number(((vadcCpu.user + vadcCpu.system) / rep.ok).toFixed(1)),
        vadcUser: Number((vadcCpu.user / rep.ok).toFixed(1)),
        vadcSystem: Number((vadcCpu.system / rep.ok).toFixed(1)),
      };
      log(`  this process's threads, CPU us per connection (user/system): ${JSON.stringify(threads)}`);
      // Stopped after the CPU readings: the profile's hand-over is not the phase's.
      if (profile) writeFileSync(path.join(values['profile-dir']!, `counters-${results.length + 1}-${v}.cpuprofile`), JSON.stringify(await profile.stop()));
      const pmdText = await this.lab.appctl('dpif-netdev/pmd-stats-show');
      if (v === variants[0] && results.length === 0) log(`pmd-stats-show:\n${pmdText}`);
      const pmd = pmdStats(pmdText);
      // vadc's CPU with no traffic (statistics polls, timers) over the same wait: what the phase's CPU holds besides
      // its connections' packet-ins is about this rate times the phase's length (a slower phase carries more of it).
      const idle0 = process.cpuUsage();
      const idleStart = Date.now();
      await sleep(1500); // coverage counters reach the totals about once a second
      const idleCpu = process.cpuUsage(idle0);
      const idleUsPerMs = (idleCpu.user + idleCpu.system) / (Date.now() - idleStart);
      cpuUsPerConnection.phaseMs = phaseMs;
      cpuUsPerConnection.idleUsPerS = Number((idleUsPerMs * 1000).toFixed(0));
      cpuUsPerConnection.vadcNetOfIdle = Number((cpuUsPerConnection.vadc - (idleUsPerMs * phaseMs) / rep.ok).toFixed(1));
      const cov1 = coverage(await this.lab.appctl('coverage/show'));
      const megaflows = (await this.lab.appctl('dpctl/dump-flows', '-m')).split('\n').filter((l) => l.includes('recirc_id')).length;
      const perConnection: Record<string, number> = {};
      for (const k of ['packets received', 'packet recirculations', 'emc hits', 'smc hits', 'megaflow hits', 'miss with success upcall', 'miss with failed upcall']) {
        perConnection[k] = Number(((pmd.get(k) ?? NaN) / rep.ok).toFixed(3));
      }
      const cov: Record<string, number> = {};
      for (const [k, total] of cov1) {
        const d = total - (cov0.get(k) ?? 0);
        if (d > 0) cov[k] = Number((d / rep.ok).toFixed(3));
      }
      results.push({ variant: v, load: before, perConnection, cpuUsPerConnection, pmd: Object.fromEntries(pmd), coverage: cov, megaflows });
      log(`counters ${v} (${rep.ok} ok, ${rep.failed} failed, load ${before}): CPU us per connection ${JSON.stringify(cpuUsPerConnection)}; per connection ${JSON.stringify(perConnection)}; `
        + `avg processing cycles per packet ${pmd.get('avg processing cycles per packet')}; passes/packet ${pmd.get('avg. datapath passes per packet')}; megaflows now ${megaflows}`);
      log(`  coverage per connection: ${JSON.stringify(cov)}`);
    }
    return results;
  }

  /**
   * tshark on the switch's side of the client's and the backend's veth: each SYN and SYN-ACK as it reaches the switch
   * and as the switch sends it on (kernel timestamps), so the switch's own share of a connect is read without the
   * hosts' kernels and the client's event loop.
   */
  private async startCapture(ifaces: string[]): Promise<{ stop: () => Promise<string> }> {
    // dumpcap: -B and -f before an -i apply to the interfaces after them
    const args = ['-B', '16', '-f', 'tcp[tcpflags] & tcp-syn != 0', ...ifaces.flatMap((i) => ['-i', i]), '-l', '-n', '-T', 'fields',
      '-e', 'frame.time_epoch', '-e', 'frame.interface_name', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport', '-e', 'tcp.flags'];
    const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 20_000;
    while (!/Capturing on/.test(err)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`tshark did not start: ${err}`);
      await sleep(100);
    }
    return {
      stop: async () => {
        await sleep(500);
        child.kill('SIGINT');
        await exited;
        log(`tshark: ${err.trim().split('\n').slice(-1)[0]}`);
        if (process.env.FPX_CAPTURE_FILE) writeFileSync(process.env.FPX_CAPTURE_FILE, out);
        return out;
      },
    };
  }

  /** ovs-vswitchd's CPU time so far (all its threads), ms, from /proc (clock ticks of 10 ms). */
  private vswitchdCpuMs(): number {
    const pid = readFileSync(path.join(path.dirname(this.lab.vswitchdControlSocket), 'ovs-vswitchd.pid'), 'utf8').trim();
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  }

  private pooled(all: Map<Variant, number[]>) {
    const out: Record<string, { samples: number; p50: number; p90: number; p99: number; max: number }> = {};
    for (const [v, us] of all) {
      const s = Float64Array.from(us).sort();
      out[v] = { samples: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] };
    }
    return out;
  }
}

new FirstPacketBench().run().then((report) => {
  const r = report as { pooled: Record<string, { samples: number; p50: number; p90: number; p99: number; max: number }>; rounds: Array<{ load: string; byVariant: Record<string, { p50: number; p99: number }> }> };
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), ...(report as object) }, null, 2)}\n`);
    return;
  }
  const base = r.pooled.static;
  process.stdout.write('variant   samples  p50 us  p90 us  p99 us  max us   extra over static p50 / p99 us   per-round p99 extra\n');
  for (const [v, d] of Object.entries(r.pooled)) {
    const perRound = r.rounds.map((round) => (round.byVariant[v].p99 - (round.byVariant.static?.p99 ?? NaN)).toFixed(0)).join(' ');
    process.stdout.write(`${v.padEnd(9)} ${String(d.samples).padStart(7)} ${d.p50.toFixed(0).padStart(7)} ${d.p90.toFixed(0).padStart(7)} ${d.p99.toFixed(0).padStart(7)} `
      + `${d.max.toFixed(0).padStart(7)}   ${base ? `${(d.p50 - base.p50).toFixed(0)} / ${(d.p99 - base.p99).toFixed(0)}` : '-'}   ${perRound}\n`);
  }
  process.stdout.write(`loads: ${r.rounds.map((x) => x.load).join('; ')}\n`);
  const tr = (report as { transit: Record<string, Record<'syn' | 'synAck' | 'both', { samples: number; p50: number; p90: number; p99: number; max: number }>> }).transit;
  process.stdout.write('\nthe switch\'s own time (tshark on its side of both veths), us: SYN in -> out, SYN-ACK in -> out, and their sum per connection\n');
  process.stdout.write('variant   samples  SYN p50/p99   SYN-ACK p50/p99   sum p50  p90  p99  max   sum extra over static p50 / p99\n');
  for (const [v, d] of Object.entries(tr)) {
    const b = tr.static?.both;
    process.stdout.write(`${v.padEnd(9)} ${String(d.both.samples).padStart(7)}  ${d.syn.p50.toFixed(0)}/${d.syn.p99.toFixed(0)}   ${d.synAck.p50.toFixed(0)}/${d.synAck.p99.toFixed(0)}   `
      + `${d.both.p50.toFixed(0)} ${d.both.p90.toFixed(0)} ${d.both.p99.toFixed(0)} ${d.both.max.toFixed(0)}   ${b ? `${(d.both.p50 - b.p50).toFixed(0)} / ${(d.both.p99 - b.p99).toFixed(0)}` : '-'}\n`);
  }
}).catch((err: Error) => {
  process.stderr.write(`first-packet bench failed: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
