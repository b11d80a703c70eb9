// Issue 13's scale figure: N simulated hosts (lightweight: one process, the real ClusterStore session and the real
// merge per host) read a 3-member Raft cluster of ovsdb-server started by `vadc cluster up`; a policy change (a
// cluster-scope backend's weight, written by ClusterAdmin as `vadc backend weight` does) is timed from the start of
// the write to the moment each host's merged policy shows it. Prints p50/p99/max per round beside the ceiling
// (p99 <= 1000 ms). Needs ovsdb-server (scripts/setup.js installs it). Usage:
//   node -r ts-node/register/transpile-only bench/cluster-scale.bench.ts [--hosts 100] [--rounds 10]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClusterAdmin, ClusterStore, effectivePolicy } from '../src/cluster';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const HOSTS = arg('hosts', 100);
const ROUNDS = arg('rounds', 10);
const CEILING_MS = 1000;
const RUN = path.resolve(__dirname, '../bin/run.js');
const vadc = (...args: string[]) => execFileSync(process.execPath, [RUN, ...args], { encoding: 'utf8' });
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vadc-cscale-'));
  const storeDir = path.join(dir, 'store');
  const stores: ClusterStore[] = [];
  try {
    const { remotes } = JSON.parse(vadc('cluster', 'up', '--members', '3', '--dir', storeDir, '--name', 'scale', '--json')) as { remotes: string };
    writeFileSync(path.join(dir, 'web.yaml'), 'name: web\nvip: 10.0.0.100\nport: 80\nscheduler: wrr\nbackends:\n  - { vnic: v-vm1, ip: 10.0.0.11, ports: [8080] }\n');
    vadc('service', 'add', 'web', '--file', path.join(dir, 'web.yaml'), '--cluster', remotes);

    let expected = 1;
    let writeStarted = 0;
    const seenAt = new Map<number, number>(); // host index -> ms after the write started
    for (let i = 0; i < HOSTS; i++) {
      const host = `sim${i}`;
      const store = new ClusterStore({ remotes, host, publish: false, session: { backoffInitialMs: 100, backoffMaxMs: 1000 } });
      store.on('policy', (snapshot) => {
        const weight = effectivePolicy(snapshot, { host }).services.find((s) => s.config.name === 'web')?.config.backends[0]?.weight;
        if (weight === expected && writeStarted && !seenAt.has(i)) seenAt.set(i, performance.now() - writeStarted);
      });
      stores.push(store);
    }
    const connectedBy = Date.now() + 60_000;
    while (stores.some((s) => !s.connected) && Date.now() < connectedBy) await new Promise((r) => setTimeout(r, 100));
    console.log(`${HOSTS} simulated hosts connected to the 3-member store (${remotes.split(',').length} remotes)`);

    const admin = await ClusterAdmin.open(remotes);
    const all: number[] = [];
    console.log('round  reached  p50 ms  p99 ms  max ms  ceiling p99 ms');
    for (let round = 1; round <= ROUNDS; round++) {
      expected = round + 1;
      seenAt.clear();
      writeStarted = performance.now();
      await admin.apply({ kind: 'set-backend', service: 'web', name: 'v-vm1', scope: 'cluster', weight: expected }, 'cluster');
      const deadline = Date.now() + 10_000;
      while (seenAt.size < HOSTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const times = [...seenAt.values()];
      all.push(...times);
      console.log(`${String(round).padStart(5)} ${String(times.length).padStart(8)} ${pct(times, 50).toFixed(0).padStart(7)} ${pct(times, 99).toFixed(0).padStart(7)} ${Math.max(...times).toFixed(0).padStart(7)} ${String(CEILING_MS).padStart(15)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    admin.close();
    console.log(`all rounds: ${all.length} of ${HOSTS * ROUNDS} host updates; p50 ${pct(all, 50).toFixed(0)} ms, p99 ${pct(all, 99).toFixed(0)} ms (ceiling ${CEILING_MS}), max ${Math.max(...all).toFixed(0)} ms`);
  } finally {
    for (const s of stores) s.close();
    try {
      vadc('cluster', 'down', '--dir', storeDir);
    } catch {
      // already down
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
