// Flow-setup series: `vadc bench flowsetup` with 1, 16 and 64 emulated switches in latency and throughput
// mode, several runs each, medians and spread in one table (or --json). Not a test; prints figures.
//   node -r ts-node/register/transpile-only bench/flowsetup.bench.ts [--runs 3] [--loops 6] [--loop-ms 1000]
//     [--app vadc|reference|raw] [--switches 1,16,64] [--modes latency,throughput] [--window 64] [--nat flows|conntrack] [--json]
import { parseArgs } from 'node:util';
import { formatTable } from '../src/cli/table';
import { runFlowSetup, type FlowSetupResult } from '../src/bench/flowsetup';
import { parseList, type BenchMode, type InternalApp } from '../src/bench/plan';
import { summarizeSeries, type SeriesRow } from './lib/series';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    loops: { type: 'string', default: '6' },
    'loop-ms': { type: 'string', default: '1000' },
    app: { type: 'string', default: 'vadc' },
    switches: { type: 'string', default: '1,16,64' },
    modes: { type: 'string', default: 'latency,throughput' },
    window: { type: 'string', default: '64' },
    nat: { type: 'string', default: 'flows' },
    json: { type: 'boolean', default: false },
  },
});

const app = values.app as InternalApp;
if (!['vadc', 'reference', 'raw'].includes(app)) throw new Error(`--app: expected vadc, reference or raw, got ${values.app}`);
if (values.nat !== 'flows' && values.nat !== 'conntrack') throw new Error(`--nat: expected flows or conntrack, got ${values.nat}`);
const nat = values.nat;
const runs = Number(values.runs);
const fmt = (n: number | null, digits = 0) => (n === null || !Number.isFinite(n) ? '-' : n.toFixed(digits));

async function main(): Promise<void> {
  const rows: SeriesRow[] = [];
  const all: FlowSetupResult[] = [];
  for (const mode of parseList(values.modes) as BenchMode[]) {
    for (const switches of parseList(values.switches).map(Number)) {
      const results: FlowSetupResult[] = [];
      for (let run = 0; run < runs; run++) {
        const result = await runFlowSetup({
          switches, mode, app, loops: Number(values.loops), loopMs: Number(values['loop-ms']), window: Number(values.window),
          nat, expectedFlowMods: nat === 'conntrack' ? 0 : 2,
        });
        results.push(result);
        process.stderr.write(`${mode} ${switches} sw run ${run + 1}/${runs}: ${fmt(result.responsesPerSec.avg)} responses/s, ` +
          `p99 ${fmt(result.latencyUs.p99Us, 1)} us, cpu gen ${fmt(result.cpu.generatorPct)}% ctl ${fmt(result.cpu.controllerPct)}%\n`);
      }
      all.push(...results);
      rows.push(summarizeSeries(results));
    }
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ app, rows, runs: all }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`flow setup, ${app === 'vadc' ? "vadc's load-balancer app" : `${app.toUpperCase()} RESPONDER (not vadc)`}; ` +
    `${runs} runs per row, ${values.loops} loops x ${values['loop-ms']} ms, first dropped\n`);
  process.stdout.write(`${formatTable(rows, [
    { header: 'SWITCHES', get: 'switches' }, { header: 'MODE', get: 'mode' },
    { header: 'RESP/S (median)', get: (r) => fmt(r.medianRate) }, { header: 'RUN SPREAD', get: (r) => `${fmt(r.minRate)}-${fmt(r.maxRate)}` },
    { header: 'P50 US', get: (r) => fmt(r.medianP50Us, 1) }, { header: 'P99 US', get: (r) => fmt(r.medianP99Us, 1) },
    { header: 'WORST P99 US', get: (r) => fmt(r.maxP99Us, 1) },
    { header: 'GEN CPU %', get: (r) => fmt(r.medianGeneratorCpuPct) }, { header: 'CTL CPU %', get: (r) => fmt(r.medianControllerCpuPct) },
  ])}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`Error: ${err.message}\n`);
  process.exitCode = 1;
});
