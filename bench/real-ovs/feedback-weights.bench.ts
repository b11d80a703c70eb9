// Issue 15, datapath feedback: three equal VMs under a steady closed-loop load through a `decisions: datapath`,
// `scheduler: feedback` service; the group's bucket weights read every --sample-ms and the new connections counted per
// VM per second. By turns between builds (--trees: each a checkout's dist/, e.g. main's and this branch's) in one lab,
// so an A/B sees the same machine. Root; takes the lab's host lock; not a test; prints figures. Usage: --help.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Lab } from '../../src/lab';

const USAGE = `node -r ts-node/register/transpile-only bench/real-ovs/feedback-weights.bench.ts [options] (root; takes the lab lock)
  --trees NAME=DIR,...  builds to compare (DIR has dist/ from npx tsc -p tsconfig.build.json; default this checkout)
  --turns N (2)  rounds over the trees (A B, then B A: by turns)  --seconds N (20) of load per turn
  --concurrency N (8) closed-loop workers  --sample-ms N (250) group reads  --feedback-interval S (1)
  --busy N (0)  N busy loops (yes >/dev/null) during the whole run  --wait-ms N (1800000) for the lab lock  --json`;

const LOAD = `'use strict';
const http = require('node:http');
const [host, port, concurrency, durationMs] = process.argv.slice(1);
const start = Date.now(); const until = start + Number(durationMs); const bins = []; let failed = 0;
const one = () => new Promise((resolve) => {
  const req = http.get({ host, port: Number(port), path: '/', agent: false, timeout: 5000 }, (res) => {
    let body = ''; res.setEncoding('utf8'); res.on('data', (d) => (body += d));
    res.on('end', () => {
      const s = Math.floor((Date.now() - start) / 1000); const vm = body.split(' ')[0];
      bins[s] = bins[s] || {}; bins[s][vm] = (bins[s][vm] || 0) + 1; resolve();
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => { failed++; resolve(); });
});
const worker = async () => { while (Date.now() < until) await one(); };
Promise.all(Array.from({ length: Number(concurrency) }, worker)).then(() => process.stdout.write(JSON.stringify({ bins, failed })));
`;

const VMS = ['vm1', 'vm2', 'vm3'];

interface Sample { at: number; weights: Record<string, number>; measure: Record<string, { L: number; lambda: number; T: number } | null> }

interface TurnResult {
  tree: string;
  samples: Sample[];
  bins: Array<Record<string, number>>;
  failed: number;
  groupMods: number;
  /** vadc's open connections per VM and the tracker's entries by state, a second after the load. */
  after: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      trees: { type: 'string' }, turns: { type: 'string', default: '2' }, seconds: { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '8' }, 'sample-ms': { type: 'string', default: '250' },
      'feedback-interval': { type: 'string', default: '1' }, busy: { type: 'string', default: '0' },
      'wait-ms': { type: 'string', default: '1800000' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
    },
  });
  if (values.help) { console.log(USAGE); return; }
  const trees = (values.trees ?? `this=${path.resolve(__dirname, '../..')}`).split(',').map((t) => {
    const [name, dir] = t.split('=');
    if (!name || !dir) throw new Error(`--trees: expected NAME=DIR[,NAME=DIR], got "${t}"`);
    return { name, dir: path.resolve(dir) };
  });
  const turns = Number(values.turns);
  const seconds = Number(values.seconds);
  const sampleMs = Number(values['sample-ms']);
  const lab = await Lab.up({ name: 'fbw', vms: 3, clients: 1, waitForHostMs: Number(values['wait-ms']) });
  const busy: Array<{ kill: () => void }> = [];
  const results: TurnResult[] = [];
  try {
    const { spawn } = await import('node:child_process');
    for (let i = 0; i < Number(values.busy); i++) busy.push(spawn('sh', ['-c', 'exec yes > /dev/null'], { stdio: 'ignore' }));
    for (const vm of VMS) await lab.startHttpServer(vm, 8082);
    const vip = lab.subnet.replace(/\.0\/\d+$/, '.151');
    const text = `
controller: { listen: "tcp:127.0.0.1:0", echo_interval: 1 }
datapath: { nat: conntrack, appctl: ${lab.vswitchdControlSocket} }
ovsdb: unix:${lab.ovsdbSocket}
services:
  - name: fb
    vip: ${vip}
    port: 80
    scheduler: feedback
    feedback_interval: ${values['feedback-interval']}
    decisions: datapath
    backends:
${VMS.map((vm) => `      - { vnic: ${lab.host(vm).port}, ip: ${lab.host(vm).ip}, ports: [8082] }`).join('\n')}
`;
    const byIp = new Map(VMS.map((vm) => [lab.host(vm).ip, vm]));
    const order: typeof trees = [];
    for (let r = 0; r < turns; r++) order.push(...(r % 2 === 0 ? trees : [...trees].reverse()));
    for (const tree of order) {
      /* eslint-disable @typescript-eslint/no-require-imports -- the build under test is chosen at run time */
      const { VadcDaemon } = require(path.join(tree.dir, 'dist/daemon/daemon.js')) as typeof import('../../src/daemon/daemon');
      const { parseConfig } = require(path.join(tree.dir, 'dist/config/index.js')) as typeof import('../../src/config');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const daemon = new VadcDaemon({ config: parseConfig(text, 'bench'), configText: text });
      const [target] = await daemon.start();
      await lab.setController(target);
      const weights = async (): Promise<Record<string, number>> => {
        const out: Record<string, number> = {};
        for (const m of (await lab.ofctl('dump-groups')).matchAll(/weight:(\d+),actions=ct\([^)]*nat\(dst=([\d.]+):8082\)/g)) {
          const vm = byIp.get(m[2])!;
          out[vm] = (out[vm] ?? 0) + Number(m[1]);
        }
        return out;
      };
      const deadline = Date.now() + 30_000;
      while (Object.keys(await weights()).length < 3) {
        if (Date.now() > deadline) throw new Error(`${tree.name}: no group with three buckets within 30 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const lb = daemon.app['services'].require('fb').lb;
      const scheduler = lb.scheduler as unknown as { estimate(id: string): { outstanding: number; completions: number; timePerConn: number } | undefined };
      // Backends in config order (vm1, vm2, vm3).
      const ids = lb.backends.map((b) => b.id);
      const samples: Sample[] = [];
      const started = Date.now();
      let reading = false;
      const sampler = setInterval(() => {
        if (reading) return;
        reading = true;
        void weights().then((w) => {
          const measure: Sample['measure'] = {};
          for (const [i, vm] of VMS.entries()) {
            const e = scheduler.estimate(ids[i]);
            measure[vm] = e ? { L: e.outstanding, lambda: e.completions, T: e.timePerConn } : null;
          }
          samples.push({ at: Date.now() - started, weights: w, measure });
        }).finally(() => { reading = false; });
      }, sampleMs);
      const run = await lab.exec('cl1', ['node', '-e', LOAD, vip, '80', values.concurrency!, String(seconds * 1000)], { timeoutMs: seconds * 1000 + 20_000 });
      clearInterval(sampler);
      if (run.code !== 0) throw new Error(`load: ${run.stderr}`);
      const { bins, failed } = JSON.parse(run.stdout) as { bins: Array<Record<string, number> | null>; failed: number };
      const groupMods = countChanges(samples);
      // What vadc counts open against what the tracker lists after the load (its connections have all ended by now).
      await lab.exec('cl1', ['sleep', '1']);
      const open = lb.backends.map((b) => b.totalConns);
      const states = new Map<string, number>();
      for (const line of (await lab.appctl('dpctl/dump-conntrack', 'zone=2780')).split('\n')) {
        const state = /protoinfo=\(state=(\w+)/.exec(line)?.[1];
        if (state) states.set(state, (states.get(state) ?? 0) + 1);
      }
      const after = `vadc open ${open.join('/')}; tracker ${[...states].map(([k, v]) => `${k} ${v}`).join(', ')}`;
      results.push({ tree: tree.name, samples, bins: bins.map((b) => b ?? {}), failed, groupMods, after });
      await lab.setController('');
      await daemon.stop();
      // Each turn starts with an empty tracker: the next daemon would adopt this turn's entries.
      await lab.appctl('dpctl/flush-conntrack', 'zone=2780');
    }
  } finally {
    for (const b of busy) b.kill();
    await lab.down();
  }
  const load = (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ');
  if (values.json) { console.log(JSON.stringify({ load, results })); return; }
  console.log(`feedback weights, 3 equal VMs, ${values.concurrency} closed-loop workers, ${seconds} s a turn, sampled every ${sampleMs} ms; load average at the end ${load}`);
  for (const r of results) console.log(summary(r));
}

/** Readings whose weights differ from the previous one (group-mods seen). */
function countChanges(samples: Sample[]): number {
  let n = 0;
  for (let i = 1; i < samples.length; i++) if (JSON.stringify(samples[i].weights) !== JSON.stringify(samples[i - 1].weights)) n++;
  return n;
}

const quantile = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN; };

function summary(r: TurnResult): string {
  const shares = r.samples.map((s) => { const sum = VMS.reduce((n, vm) => n + (s.weights[vm] ?? 0), 0); return VMS.map((vm) => (s.weights[vm] ?? 0) / sum); });
  const ratios = r.samples.map((s) => Math.max(...VMS.map((vm) => s.weights[vm] ?? 0)) / Math.max(1, Math.min(...VMS.map((vm) => s.weights[vm] ?? 0))));
  const underHalf = shares.filter((sh) => sh.some((x) => x < 1 / 6)).length;
  const perVm = VMS.map((vm, i) => `${vm} ${(Math.min(...shares.map((s) => s[i])) * 100).toFixed(0)}-${(Math.max(...shares.map((s) => s[i])) * 100).toFixed(0)} %`);
  // Whole seconds only (the last bin is partial).
  const secs = r.bins.slice(1, -1);
  const fractions = secs.flatMap((b) => { const sum = VMS.reduce((n, vm) => n + (b[vm] ?? 0), 0); return sum ? VMS.map((vm) => (b[vm] ?? 0) / sum) : []; });
  const total = VMS.map((vm) => r.bins.reduce((n, b) => n + (b[vm] ?? 0), 0));
  const rate = total.reduce((a, b) => a + b, 0) / Math.max(1, r.bins.length);
  const sd = Math.sqrt(fractions.reduce((n, f) => n + (f - 1 / 3) ** 2, 0) / Math.max(1, fractions.length));
  const mids = r.samples.filter((_, i) => i % 4 === 0).map((s) => VMS.map((vm) => `${s.weights[vm] ?? 0}`).join('/')).join(' ');
  return `${r.tree}: ${r.samples.length} reads, weights changed at ${r.groupMods}; bucket share range ${perVm.join(', ')}; `
    + `max/min weight median ${quantile(ratios, 0.5).toFixed(2)} p90 ${quantile(ratios, 0.9).toFixed(2)} max ${Math.max(...ratios).toFixed(1)}; `
    + `reads with a VM under half an equal share ${underHalf}/${r.samples.length} (${((underHalf / Math.max(1, r.samples.length)) * 100).toFixed(0)} %)\n`
    + `  new connections ${total.join('/')} (${rate.toFixed(0)}/s), failed ${r.failed}; per VM per second: share sd ${(sd * 100).toFixed(1)} points, `
    + `min ${(Math.min(...fractions) * 100).toFixed(0)} % max ${(Math.max(...fractions) * 100).toFixed(0)} %, seconds with a VM under 1/6: ${secs.filter((b) => { const sum = VMS.reduce((n, vm) => n + (b[vm] ?? 0), 0); return VMS.some((vm) => (b[vm] ?? 0) < sum / 6); }).length}/${secs.length}\n`
    + `  weights every ~1 s: ${mids}\n  after the load: ${r.after}\n`
    + `  measure (L, lambda/s, T ms) at 4 reads: ${[0.25, 0.5, 0.75, 1].map((q) => r.samples[Math.min(r.samples.length - 1, Math.floor(q * r.samples.length))]).filter(Boolean).map((s) => VMS.map((vm) => { const m = s.measure[vm]; return m ? `${m.L.toFixed(2)},${m.lambda.toFixed(0)},${(m.T * 1000).toFixed(1)}` : '-'; }).join(' ')).join(' | ')}`;
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1; });
