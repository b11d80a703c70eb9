#!/usr/bin/env node
// `npm run bench`: every benchmark in turn, each in its own process, each printing its table (or, with
// --json, one JSON document with every benchmark's result). Benchmarks print figures; they assert nothing.
//   node scripts/bench.js [--json] [--only codec,conntable,packetin-family,end-copy,flowsetup,scale,realovs] [--quick]
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});

const root = path.join(__dirname, '..');
const tsNode = ['-r', 'ts-node/register/transpile-only'];
const quick = values.quick;
const BENCHMARKS = [
  { name: 'codec', argv: [...tsNode, 'bench/codec.bench.ts'], json: false },
  { name: 'conntable', argv: [...tsNode, 'bench/conn-table.bench.ts', ...(quick ? ['--rounds', '3'] : [])], json: false },
  { name: 'packetin-family', argv: [...tsNode, 'bench/packet-in-family.bench.ts', ...(quick ? ['--rounds', '3'] : [])], json: false },
  { name: 'end-copy', argv: [...tsNode, 'bench/end-copy.bench.ts', ...(quick ? ['--rounds', '3'] : [])], json: false },
  {
    name: 'flowsetup', json: true,
    argv: [...tsNode, 'bench/flowsetup.bench.ts', ...(quick ? ['--runs', '1', '--loops', '3'] : [])],
  },
  {
    name: 'scale', json: true,
    argv: ['--expose-gc', ...tsNode, 'bench/real-ovs/scale.bench.ts', ...(quick ? ['--runs', '1', '--connections', '200000', '--window-ms', '4000'] : [])],
  },
  {
    name: 'realovs', json: true, needsRoot: true,
    argv: [...tsNode, 'bench/real-ovs/realovs.bench.ts', ...(quick ? ['--runs', '1', '--connections', '1000', '--hold', '2000'] : [])],
  },
];

const wanted = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : null;
if (wanted) {
  for (const name of wanted) {
    if (!BENCHMARKS.some((b) => b.name === name)) {
      console.error(`bench: unknown benchmark '${name}'; expected some of ${BENCHMARKS.map((b) => b.name).join(', ')}`);
      process.exit(2);
    }
  }
}

const results = {};
let failures = 0;
for (const bench of BENCHMARKS) {
  if (wanted && !wanted.has(bench.name)) continue;
  if (bench.needsRoot && process.getuid && process.getuid() !== 0) {
    const why = 'needs root (it runs a private Open vSwitch lab); skipped';
    if (values.json) results[bench.name] = { skipped: why };
    else console.log(`\n== ${bench.name}: ${why}`);
    continue;
  }
  const argv = [...bench.argv, ...(values.json && bench.json ? ['--json'] : [])];
  if (!values.json) console.log(`\n== ${bench.name}: node ${argv.join(' ')}`);
  // Progress goes to stderr (shown as it comes); the table or JSON is stdout.
  const run = spawnSync(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) {
    failures++;
    if (values.json) results[bench.name] = { failed: `exit ${run.status ?? run.signal}`, output: run.stdout };
    else console.log(`${run.stdout}\n${bench.name} FAILED (exit ${run.status ?? run.signal})`);
    continue;
  }
  if (!values.json) process.stdout.write(run.stdout);
  else results[bench.name] = bench.json ? JSON.parse(run.stdout) : { text: run.stdout };
}
if (values.json) process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2)}\n`);
process.exitCode = failures ? 1 : 0;
