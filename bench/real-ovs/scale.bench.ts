// Scale figures without OVS: a million connections through the app's packet-in handler (memory per
// connection), and the daemon's CPU share polling statistics of 1,000 backends each second. Not a test.
//   node --expose-gc -r ts-node/register/transpile-only bench/real-ovs/scale.bench.ts
//     [--connections 1000000] [--backends 16] [--runs 3] [--poll-backends 1000] [--poll-ms 1000] [--window-ms 10000] [--json]
import { parseArgs } from 'node:util';
import { formatTable } from '../../src/cli/table';
import { medianSpread } from '../lib/realovs-stats';
import { measureConnectionScale, measureStatsPolling, type ConnectionScaleResult, type StatsPollingResult } from '../lib/scale';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '1000000' },
    backends: { type: 'string', default: '16' },
    runs: { type: 'string', default: '3' },
    'poll-backends': { type: 'string', default: '1000' },
    'poll-ms': { type: 'string', default: '1000' },
    'window-ms': { type: 'string', default: '10000' },
    'skip-polling': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const MiB = 1024 * 1024;
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

async function main(): Promise<void> {
  const runs = Number(values.runs);
  // One million connections per run, each run in a fresh table; memory is read after each run's GC.
  const scale: ConnectionScaleResult[] = [];
  for (let run = 0; run < runs; run++) {
    const result = measureConnectionScale({ connections: Number(values.connections), backends: Number(values.backends) });
    scale.push(result);
    process.stderr.write(`scale run ${run + 1}/${runs}: ${fmt(result.perSecond)} conn/s, RSS ${fmt(result.rssAfterBytes / MiB)} MiB, ` +
      `${fmt(result.rssBytesPerConnection)} B/conn RSS, ${fmt(result.heapBytesPerConnection)} B/conn heap\n`);
  }
  const polling: StatsPollingResult[] = [];
  if (!values['skip-polling']) {
    for (let run = 0; run < runs; run++) {
      const result = await measureStatsPolling({ backends: Number(values['poll-backends']), intervalMs: Number(values['poll-ms']), windowMs: Number(values['window-ms']) });
      polling.push(result);
      process.stderr.write(`polling run ${run + 1}/${runs}: daemon CPU ${fmt(result.daemonCpuPercent, 2)}% (${result.requestsAnswered} requests answered)\n`);
    }
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), node: process.version, scale, polling }, null, 2)}\n`);
    return;
  }
  const first = scale[0];
  const rows = [
    { what: `connections tracked (of ${first.connections}, ${first.backends} backends)`, value: medianSpread(scale.map((r) => r.tracked)), unit: '', digits: 0 },
    { what: 'packet-in handler rate (incl. building frames)', value: medianSpread(scale.map((r) => r.perSecond)), unit: 'conn/s', digits: 0 },
    { what: 'process RSS with all connections', value: medianSpread(scale.map((r) => r.rssAfterBytes / MiB)), unit: 'MiB', digits: 0 },
    { what: 'RSS growth per connection', value: medianSpread(scale.map((r) => r.rssBytesPerConnection)), unit: 'B', digits: 1 },
    { what: 'heap+buffers growth per connection', value: medianSpread(scale.map((r) => r.heapBytesPerConnection)), unit: 'B', digits: 1 },
    ...(polling.length ? [{
      what: `daemon CPU, stats of ${polling[0].backends} backends every ${polling[0].intervalMs} ms`,
      value: medianSpread(polling.map((r) => r.daemonCpuPercent)), unit: '% of a core', digits: 2,
    }] : []),
  ];
  process.stdout.write(`scale (no OVS), ${runs} runs, median and spread; GC exposed: ${first.gcExposed}\n`);
  process.stdout.write(`${formatTable(rows, [
    { header: 'MEASURE', get: 'what' }, { header: 'MEDIAN', get: (r) => fmt(r.value.median, r.digits) },
    { header: 'SPREAD', get: (r) => `${fmt(r.value.min, r.digits)}-${fmt(r.value.max, r.digits)}` }, { header: 'UNIT', get: 'unit' },
  ])}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`scale bench failed: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
