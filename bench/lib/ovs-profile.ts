// perf record of the lab's ovs-vswitchd over stretches of one path's connections (issue 15: where the switch spends the
// VIP path's extra per connection), and the split of its self time by path (throughput-turns.ts). I/O: perf.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { run as runCommand, sleep } from '../../src/lab/system';
import { parsePerfSymbols, profileSplit, type ThroughputPath, type TurnsThroughput } from './throughput-turns';

/** Samples per second of CPU time (cpu-clock: hardware counters may be missing on this machine). */
const FREQUENCY = 2999;

export class OvsProfiler {
  private readonly files: Array<{ file: string; path: ThroughputPath }> = [];

  constructor(private readonly dir: string, private readonly pid: number, private readonly prefix: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Starts recording ovs-vswitchd (every thread, call graphs) for one chunk of a path; the function returned ends it. */
  async start(label: string, of: ThroughputPath): Promise<() => Promise<void>> {
    const file = path.join(this.dir, `${this.prefix}-${label}.perf.data`);
    const child = spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', String(FREQUENCY), '-g', '-p', String(this.pid), '-o', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await sleep(300); // perf attached to every thread
    if (child.exitCode !== null) throw new Error(`perf record -p ${this.pid} failed (exit ${child.exitCode}): ${stderr.trim()}`);
    this.files.push({ file, path: of });
    return async () => {
      child.kill('SIGINT');
      await Promise.race([exited, sleep(20_000)]);
    };
  }

  /** Each path's recordings summed, self time per connection of the turns' successful connections. */
  async split(t: TurnsThroughput): Promise<NonNullable<TurnsThroughput['profile']>> {
    const sums: Record<ThroughputPath, Map<string, number>> = { vip: new Map(), static: new Map() };
    for (const { file, path: p } of this.files) {
      const text = (await runCommand(['perf', 'report', '-i', file, '--stdio', '--no-children', '-g', 'none', '--sort', 'sym', '-F', 'period,sample,sym'], { timeoutMs: 300_000 })).stdout;
      for (const [sym, ns] of parsePerfSymbols(text)) sums[p].set(sym, (sums[p].get(sym) ?? 0) + ns);
    }
    return { ...profileSplit(sums.vip, sums.static, t.vip.connections, t.static.connections), files: this.files.map((f) => f.file) };
  }
}
