// Issue 15 robustness: vadc detached from the switch and attached again, then the VIP probed at once and repeatedly,
// as the real-OVS bench's phases do (bench/lib/realovs.ts attachController: set-controller, then wait until the switch is
// up and the backend located). Counts the probes that fail and, for each failure, prints what the switch and vadc saw:
// the VIP's table-0 and table-1 flows with their counters, vadc's packet-ins and events since the attach.
// Root; takes the lab's host lock; not a test; prints figures. Usage: --help.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config';
import { VadcDaemon } from '../../src/daemon/daemon';
import { Lab } from '../../src/lab';
import { staticNatFlows } from '../lib/realovs';
import { TCP_SERVER_JS } from '../lib/realovs-scripts';

const USAGE = `node -r ts-node/register/transpile-only bench/real-ovs/reattach.bench.ts [options] (root; takes the lab lock)
  --attaches N (50)  detach/attach cycles
  --probes-after N (6)  probes after each attach: the first at once, then one every --probe-gap-ms
  --probe-gap-ms N (400)  --probe-timeout-ms N (3000: a SYN and its first retransmit)
  --nat flows|conntrack (conntrack)  --decisions controller|datapath (controller)
  --busy N (0)  N busy loops (yes >/dev/null) running during the whole run: load
  --settle-ms N (0)  wait this long after the bench's "switch up" before the first probe
  --churn N (0)  N connections through the VIP (16 at a time) before each detach: tracker entries and TIME_WAIT sockets
  --static N (0)  while detached, N connections through static NAT flows to the same VIP and backend port, as the
               real-OVS bench's static phase (--throughput phases) makes them; the static flows go before the attach
  --synced off|on|turns (off)  on: after "up", wait until status shows the switch synced (flowsSyncedAt: it answered
               the barrier vadc sends after its connect's flows) before probing; turns: on and off by turns, attach by
               attach, each counted apart (an A/B at the same moments of the machine)
  --wait-s N (1800)  queue for the lab's host lock`;

const { values } = parseArgs({
  options: {
    attaches: { type: 'string', default: '50' },
    'probes-after': { type: 'string', default: '6' },
    'probe-gap-ms': { type: 'string', default: '400' },
    'probe-timeout-ms': { type: 'string', default: '3000' },
    nat: { type: 'string', default: 'conntrack' },
    decisions: { type: 'string', default: 'controller' },
    busy: { type: 'string', default: '0' },
    'settle-ms': { type: 'string', default: '0' },
    churn: { type: 'string', default: '0' },
    static: { type: 'string', default: '0' },
    'wait-s': { type: 'string', default: '1800' },
    synced: { type: 'string', default: 'off' },
    help: { type: 'boolean', default: false },
  },
});

const SERVER_PORT = 8080;

// The probe client, in the client's namespace: a line "id" on stdin = one connection to VIP:80 as the real-OVS bench's
// probe makes it (connect, a byte, the server's answer and close); a line "churn N C" = N such connections, C at a time
// (load and tracker entries, as the bench's phases leave them). One JSON line back per line.
const PROBE_JS = `
const net = require('net');
const [vip, timeoutMs] = [process.argv[1], Number(process.argv[2])];
function one() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const s = net.connect({ host: vip, port: 80 });
    let stage = 'connect';
    const done = (ok, why) => {
      if (stage === 'done') return;
      const failedAt = stage;
      stage = 'done';
      clearTimeout(timer);
      const port = s.localPort;
      s.destroy();
      resolve({ ok, why: ok ? undefined : failedAt + ': ' + why, port, us: Number(process.hrtime.bigint() - t0) / 1000 });
    };
    const timer = setTimeout(() => done(false, 'timeout'), timeoutMs);
    s.once('connect', () => { stage = 'answer'; s.write('x'); });
    s.on('data', () => {});
    s.once('end', () => done(true));
    s.once('error', (e) => done(false, e.code));
  });
}
require('readline').createInterface({ input: process.stdin }).on('line', async (line) => {
  const [id, n, c] = line.split(' ');
  if (n === undefined) return process.stdout.write(JSON.stringify({ id, ...(await one()) }) + '\\n');
  let next = 0, ok = 0;
  await Promise.all(Array.from({ length: Number(c) }, async () => { while (next++ < Number(n)) if ((await one()).ok) ok++; }));
  process.stdout.write(JSON.stringify({ id, ok: ok === Number(n), why: (Number(n) - ok) + ' failed', us: 0 }) + '\\n');
});`;

interface ProbeResult { id: string; ok: boolean; why?: string; port?: number; us: number }

class Prober {
  private readonly pending = new Map<string, (r: ProbeResult) => void>();
  private next = 0;
  constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const r = JSON.parse(line) as ProbeResult;
      this.pending.get(r.id)?.(r);
      this.pending.delete(r.id);
    });
  }

  probe(churn?: { count: number; concurrency: number }): Promise<ProbeResult> {
    const id = String(this.next++);
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin!.write(churn ? `${id} ${churn.count} ${churn.concurrency}\n` : `${id}\n`);
    });
  }
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - t0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  if (values.help) return void process.stdout.write(`${USAGE}\n`);
  if (!['off', 'on', 'turns'].includes(values.synced)) throw new Error(`--synced must be off, on or turns, not ${JSON.stringify(values.synced)}`);
  const attaches = Number(values.attaches);
  const probesAfter = Number(values['probes-after']);
  const gapMs = Number(values['probe-gap-ms']);
  const settleMs = Number(values['settle-ms']);
  const busy: ChildProcess[] = [];
  const lab = await Lab.up({ name: 'reatt', vms: 1, clients: 1, waitForHostMs: Number(values['wait-s']) * 1000 });
  let daemon: VadcDaemon | undefined;
  let probeChild: ChildProcess | undefined;
  try {
    const backend = lab.vms[0];
    const client = lab.clients[0];
    const vip = backend.ip.replace(/\.\d+$/, '.100');
    const serverScript = path.join(lab.dir, 'reattach-server.js');
    writeFileSync(serverScript, TCP_SERVER_JS);
    const server = lab.spawn(backend, [process.execPath, serverScript, String(SERVER_PORT)]);
    await new Promise<void>((resolve, reject) => {
      server.stdout?.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`the TCP server exited (${code})`)));
    });
    const text = stringify({
      controller: { listen: 'tcp:127.0.0.1:0', echo_interval: 5 },
      datapath: { nat: values.nat, appctl: lab.vswitchdControlSocket },
      ovsdb: `unix:${lab.ovsdbSocket}`,
      services: [{ name: 'conn', vip, protocol: 'tcp', port: 80, scheduler: 'rr', decisions: values.decisions, idle_timeout: 60, fin_timeout: 1,
        backends: [{ vnic: backend.port, ip: backend.ip, ports: [SERVER_PORT] }] }],
    });
    daemon = new VadcDaemon({ config: parseConfig(text, 'reattach bench'), configText: text, statsIntervalMs: 1000 });
    const d = daemon;
    const [target] = await d.start();
    const switchUp = () => d.status().switches.length === 1 && d.services().every((s) => s.backends.every((b) => b.ofport !== undefined));
    await lab.setController(target);
    await waitFor(switchUp, 20_000, 'the first switch up');
    const vipMac = parseConfig(text, 'x').services[0].vip_mac;
    await lab.exec(client, ['ip', 'neigh', 'replace', vip, 'lladdr', vipMac, 'dev', 'eth0', 'nud', 'permanent']);
    probeChild = spawn('ip', ['netns', 'exec', client.netns, process.execPath, '-e', PROBE_JS, vip, values['probe-timeout-ms']], { stdio: ['pipe', 'pipe', 'inherit'] });
    const prober = new Prober(probeChild);
    const warm = await prober.probe();
    if (!warm.ok) throw new Error(`the first probe failed before any detach: ${JSON.stringify(warm)}`);
    for (let i = 0; i < Number(values.busy); i++) busy.push(spawn('yes', [], { stdio: ['ignore', 'ignore', 'ignore'] }));
    process.stderr.write(`lab up; ${values.nat} NAT, ${values.decisions} decisions; ${busy.length} busy loops; load ${loadavg()}\n`);
    let failed = 0;
    let attachesWithFailure = 0;
    /** Probes that took a SYN retransmit or more (>= 900 ms), by their place after the attach; per arm (0: "up", 1: synced). */
    const slowByPlace = [0, 1].map(() => new Array<number>(probesAfter).fill(0));
    const attachesByArm = [0, 0];
    const failures: string[] = [];
    const churn = Number(values.churn);
    const staticCount = Number(values.static);
    for (let a = 0; a < attaches; a++) {
      if (churn) {
        const r = await prober.probe({ count: churn, concurrency: 16 });
        if (!r.ok) process.stderr.write(`attach ${a + 1}: churn before the detach: ${r.why}\n`);
      }
      await lab.setController('');
      await waitFor(() => d.status().switches.length === 0, 10_000, 'the switch to drop the controller');
      await sleep(200);
      if (staticCount) {
        await lab.addFlows(...staticNatFlows({ vip, vipMac, vipPort: 80, backend, backendPort: SERVER_PORT }));
        const r = await prober.probe({ count: staticCount, concurrency: 16 });
        if (!r.ok) process.stderr.write(`attach ${a + 1}: static churn: ${r.why}\n`);
        await lab.ofctl('del-flows', 'cookie=0x5eed/-1');
      }
      const t0 = Date.now();
      await lab.setController(target);
      const upMs = await waitFor(switchUp, 20_000, 'the switch up and the backend located') + 0;
      const arm = values.synced === 'on' || (values.synced === 'turns' && a % 2 === 1) ? 1 : 0;
      if (arm === 1) await waitFor(() => d.status().switches[0]?.flowsSyncedAt !== undefined, 20_000, 'the switch to answer the barrier after the connect\'s flows');
      const upAt = Date.now();
      const packetInsAtUp = d.status().switches[0]?.packetIns ?? 0;
      if (settleMs) await sleep(settleMs);
      const results: Array<ProbeResult & { atMs: number; place: number }> = [];
      const inFlight: Promise<void>[] = [];
      for (let p = 0; p < probesAfter; p++) {
        const atMs = Date.now() - upAt;
        inFlight.push(prober.probe().then((r) => void results.push({ ...r, atMs, place: p })));
        if (p < probesAfter - 1) await sleep(gapMs);
      }
      await Promise.all(inFlight);
      results.sort((x, y) => x.place - y.place);
      attachesByArm[arm]++;
      results.forEach((r, i) => { if (r.ok && r.us >= 900_000) slowByPlace[arm][i]++; });
      if (results.some((r) => r.ok && r.us >= 900_000)) {
        const events = d.events(40).filter((e) => e.time >= t0 - 50).map((e) => `+${e.time - upAt} ms ${e.kind} ${e.message}`).join('; ');
        process.stderr.write(`attach ${a + 1}: slow probe(s): ${results.map((r) => `at +${r.atMs} ms ${Math.round(r.us / 1000)} ms (port ${r.port})`).join(', ')}; ` +
          `packet-ins at up ${packetInsAtUp}, now ${d.status().switches[0]?.packetIns ?? '-'}; events: ${events}\n`);
      }
      const bad = results.filter((r) => !r.ok);
      if (bad.length) {
        failed += bad.length;
        attachesWithFailure++;
        const flows = await lab.ofctl('-O', 'OpenFlow13', 'dump-flows', lab.bridge);
        const relevant = flows.split('\n').filter((l) => l.includes(vip) || /table=1,.*priority=0/.test(l) || l.includes('CONTROLLER')).join('\n');
        const events = d.events(40).filter((e) => e.time >= t0 - 50).map((e) => `${e.time} ${e.kind} ${e.message}`).join('\n    ');
        const line = `attach ${a + 1}: set-controller -> up ${upMs} ms; ${bad.length} of ${results.length} probes failed: ` +
          `${bad.map((r) => `probe at +${r.atMs} ms from port ${r.port}: ${r.why}`).join('; ')}; packet-ins at up ${packetInsAtUp}, now ${d.status().switches[0]?.packetIns ?? '-'}\n` +
          `  flows:\n${relevant}\n  events since the attach:\n    ${events}`;
        failures.push(line);
        process.stderr.write(`${line}\n`);
      }
      if ((a + 1) % 10 === 0) process.stderr.write(`${a + 1}/${attaches} attaches, ${failed} probes failed so far, load ${loadavg()}\n`);
    }
    process.stdout.write(`reattach: ${attaches} attaches x ${probesAfter} probes (${gapMs} ms apart, first ${settleMs} ms after "up"), ${values.nat} NAT, ` +
      `${values.decisions} decisions, ${busy.length} busy loops, churn ${churn}, static ${staticCount}: ${failed} probes failed in ${attachesWithFailure} attaches; ` +
      `probes that succeeded after >= 900 ms by place (at +0, +gap, ...): ${['after "up"', 'after flowsSyncedAt'].map((what, i) => attachesByArm[i] ? `${what} ${slowByPlace[i].join(', ')} in ${attachesByArm[i]} attaches` : '').filter(Boolean).join('; ')}; ` +
      `load at the end ${loadavg()}\n`);
  } finally {
    for (const b of busy) b.kill();
    probeChild?.kill();
    await daemon?.stop();
    await lab.down();
  }
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

main().catch((err: Error) => {
  process.stderr.write(`reattach bench failed: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
