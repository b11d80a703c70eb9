#!/usr/bin/env node
// Instructions per new connection of `vadc bench flowsetup`'s controller child, counted by callgrind: load-insensitive,
// where the wall clock on a shared 2-core machine is not (docs/benchmarks.md, issue 15's flow-setup sections).
//
//   node scripts/count-instructions.js --tree DIR[=LABEL] [--tree DIR2[=LABEL2] ...] [--nat conntrack|flows]
//        [--family ipv4|ipv6|both] [--short-ms 10000] [--long-ms 50000] [--top 25] [--callers REGEX] [--out DIR] [--json]
//        [--short-connections N --long-connections M] [--clients-from IPV4] [--vip ADDRESS]
//
// Each DIR is a vadc tree with dist/ built and node_modules beside it (a worktree, or `git archive COMMIT` extracted
// with node_modules linked and built with `npx tsc -p tsconfig.build.json`). Its dist/ is copied to --out/LABEL. The
// bench runs as runFlowSetup({ nat, family, 16 switches, throughput, loops 2 of T ms, end copies off as in November })
// with only the controller child under
//   valgrind --tool=callgrind --dump-instr=no --dump-line=no node --predictable --perf-basic-prof
// and the child's timeouts raised for valgrind's pace (its start and stop, the bench's handshake, the controller's
// session handshake and echo: none is on the packet-in path). A tree with dist/bench/instructions.js (`bench flowsetup
// --instructions`) takes both as the bench's options (childLauncher, childTimeouts); an older tree gets them the old
// way: the copy's timeouts patched and process.execPath pointed at a wrapper script. callgrind's output is read by
// this script's own tree's dist/bench/callgrind.js (the code `bench flowsetup --instructions` uses), so build it first.
// twice, T = --short-ms and T = --long-ms. Per new connection = (Ir of the long run - Ir of the short run) /
// (responses of the long run - responses of the short run): start-up and shut-down cancel. V8's compile work
// (the inclusive cost of the Runtime_*Compile* / *Optimiz* entries) spreads over however many connections a run
// reaches, so it is shown apart; so is V8's garbage collector (src/bench/callgrind.ts GC_ENTRY: where its collections land
// between the short and the long run moves a figure with it by percents), callgrind naming its allocation entries with
// their callers as `bench flowsetup --instructions` does. Functions of JIT code are named through V8's /tmp/perf-PID.map.
// --family both counts each tree in both families (IPv4 first) and adds, per tree, IPv6 minus IPv4 by function: self
// (the function's own code) and inclusive (with all it calls; a function met again deeper in its own calls through
// another function is counted at each level, so read inclusive figures of recursive code with care; recursion levels
// and V8's call builtins are left out of the inclusive ranking). A function's
// name is V8's: `*name` optimized, `~name` interpreted or baseline, so a function tiered differently in the two
// families shows as two rows.
// --short-connections/--long-connections: fixed-count runs instead of timed ones (the bench's `connections`: each of the
// two loops, every switch sends exactly that many packet-ins and the loop ends when all are answered), so each run
// does the same work whatever the machine's load and whole-run totals can be compared between runs and trees. The
// report then also gives each run's whole total.
// --clients-from / --vip: the bench's first client address and switch 0's VIP (its options of those names; --vip with one
// --family). Whether an address is a small integer in V8 (below 2^31) or a heap number (at or above 128.0.0.0 for IPv4;
// an IPv6 address's fold, the xor of its words) moves the count: compare families at like addresses.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

/**
 * Left out of the inclusive ranking: a recursion level (callgrind's 'N mark) and V8's call and entry builtins, whose
 * inclusive cost is whatever JS they enter (the same cost again under each caller, nested).
 */
const CALL_MACHINERY = /'\d+$|^Builtins_(Call|Construct|JSEntry|JSRunMicrotasks|RunMicrotasks|InterpreterEntry|BaselineOutOfLine|\w*Trampoline|\w*Prologue)/;
const OWN_DIST = path.join(__dirname, '..', 'dist', 'bench', 'callgrind.js');
/** A tree whose bench takes the child's launcher and timeouts as options (no patching, no wrapper). */
const launchable = (copy) => fs.existsSync(path.join(copy, 'dist', 'bench', 'instructions.js'));
/** An older tree's counting copy: raised for valgrind's pace (file, pattern, what): each must match exactly once. */
const PATCHES = [
  ['bench/internal-controller.js', /const START_TIMEOUT_MS = [0-9_]+;/, 'const START_TIMEOUT_MS = 1800000;'],
  ['bench/internal-controller.js', /const STOP_TIMEOUT_MS = [0-9_]+;/, 'const STOP_TIMEOUT_MS = 600000;'],
  ['controller/session.js', /handshakeTimeoutMs: [0-9_]+,/, 'handshakeTimeoutMs: 600000,'],
  ['controller/session.js', /echoIntervalMs: [0-9_]+,/, 'echoIntervalMs: 600000,'],
];

function main() {
  if (!fs.existsSync(OWN_DIST)) {
    console.error(`count-instructions: ${OWN_DIST} is missing: build this tree first (npx tsc -p tsconfig.build.json)`);
    process.exit(1);
  }
  const { values } = parseArgs({
    options: {
      tree: { type: 'string', multiple: true },
      nat: { type: 'string', default: 'conntrack' },
      family: { type: 'string', default: 'ipv4' },
      'short-ms': { type: 'string', default: '10000' },
      'long-ms': { type: 'string', default: '50000' },
      'short-connections': { type: 'string' },
      'long-connections': { type: 'string' },
      top: { type: 'string', default: '25' },
      out: { type: 'string', default: path.join(os.tmpdir(), 'vadc-count') },
      json: { type: 'boolean', default: false },
      callers: { type: 'string' },
      reuse: { type: 'boolean', default: false },
      run: { type: 'string' },
      'clients-from': { type: 'string' },
      vip: { type: 'string' },
    },
  });
  if (values.run) return runBench(JSON.parse(values.run));
  if (!values.tree?.length) usage('at least one --tree DIR is needed');
  if (!['conntrack', 'flows'].includes(values.nat)) usage(`--nat: expected conntrack or flows, got ${values.nat}`);
  if (!['ipv4', 'ipv6', 'both'].includes(values.family)) usage(`--family: expected ipv4, ipv6 or both, got ${values.family}`);
  const families = values.family === 'both' ? ['ipv4', 'ipv6'] : [values.family];
  if (values.vip !== undefined && families.length > 1) usage('--vip is of one family: give --family ipv4 or ipv6');
  const addresses = { clientsFrom: values['clients-from'], vip: values.vip };
  const counted = values['short-connections'] !== undefined || values['long-connections'] !== undefined;
  if (counted && (values['short-connections'] === undefined || values['long-connections'] === undefined)) {
    usage('--short-connections and --long-connections go together');
  }
  // A run's size: { loopMs } (timed loops) or { connections } (fixed-count loops, per switch and loop).
  const sizes = counted
    ? [{ connections: positive('short-connections', values['short-connections']) }, { connections: positive('long-connections', values['long-connections']) }]
    : [{ loopMs: positive('short-ms', values['short-ms']) }, { loopMs: positive('long-ms', values['long-ms']) }];
  if (counted && sizes[1].connections <= sizes[0].connections) usage('--long-connections must be more than --short-connections');
  if (!counted && sizes[1].loopMs <= sizes[0].loopMs) usage('--long-ms must be longer than --short-ms');
  const results = [];
  for (const spec of values.tree) {
    const [dir, label = path.basename(path.resolve(dir))] = spec.split('=');
    const copy = path.join(path.resolve(values.out), label);
    // --reuse: the runs already in --out/LABEL are read again (another report of the same counts), not rerun.
    if (!values.reuse) prepare(path.resolve(dir), copy);
    for (const family of families) {
      const kind = { nat: values.nat, family, ...addresses };
      const runs = sizes.map((size) => (values.reuse ? readRun(copy, kind, size) : countRun(copy, kind, size)));
      results.push({ label, ...kind, ...perConnection(runs[0], runs[1]) });
    }
  }
  const top = positive('top', values.top);
  if (values.json) console.log(JSON.stringify({ results, familyDifferences: familyDifferences(results) }, null, 2));
  else console.log([report(results, top, values.callers && new RegExp(values.callers)), ...familyDifferences(results).map((d) => differenceReport(d, top))].join('\n\n'));
}

function usage(problem) {
  console.error(`count-instructions: ${problem}\nusage: node scripts/count-instructions.js --tree DIR[=LABEL] ... [--nat conntrack|flows] [--family ipv4|ipv6|both] [--short-ms N] [--long-ms N]`);
  process.exit(2);
}

function positive(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) usage(`--${name}: expected a positive integer, got ${text}`);
  return n;
}

/** The counting copy of DIR's dist (timeouts raised), its node_modules linked; returns the copy's root. */
function prepare(dir, copy) {
  const dist = path.join(dir, 'dist');
  if (!fs.existsSync(path.join(dist, 'bench', 'flowsetup.js'))) throw new Error(`${dir}: no dist/bench/flowsetup.js (build it first)`);
  if (!fs.existsSync(path.join(dir, 'node_modules'))) throw new Error(`${dir}: no node_modules`);
  fs.rmSync(copy, { recursive: true, force: true });
  fs.mkdirSync(copy, { recursive: true });
  fs.cpSync(dist, path.join(copy, 'dist'), { recursive: true });
  fs.symlinkSync(fs.realpathSync(path.join(dir, 'node_modules')), path.join(copy, 'node_modules'));
  fs.copyFileSync(path.join(dir, 'package.json'), path.join(copy, 'package.json'));
  if (launchable(copy)) return copy;
  for (const [file, pattern, replacement] of PATCHES) {
    const target = path.join(copy, 'dist', file);
    const text = fs.readFileSync(target, 'utf8');
    const hits = text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
    if (hits !== 1) throw new Error(`${target}: ${pattern} matched ${hits} times, expected once`);
    fs.writeFileSync(target, text.replace(pattern, replacement));
  }
  return copy;
}

/** One bench run with the controller child under callgrind: its total Ir, per-function costs, responses. */
function countRun(copy, kind, size) {
  const outDir = runDir(copy, kind, size);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir);
  const launcher = {
    // The collector's allocation entries named with their callers (src/bench/callgrind.ts), as `bench flowsetup --instructions`.
    prefix: ['valgrind', '--tool=callgrind', `--callgrind-out-file=${outDir}/callgrind.%p`, '--dump-instr=no', '--dump-line=no', ...require(OWN_DIST).gcContextOptions()],
    nodeFlags: ['--predictable', '--perf-basic-prof'],
  };
  let wrapper;
  if (!launchable(copy)) {
    wrapper = path.join(outDir, 'valgrind-node.sh');
    fs.writeFileSync(wrapper, ['#!/bin/sh', `exec ${[...launcher.prefix, process.execPath, ...launcher.nodeFlags].join(' ')} "$@"`, ''].join('\n'), { mode: 0o755 });
  }
  const started = Date.now();
  const args = [__filename, '--run', JSON.stringify({ copy, ...kind, ...size, launcher, wrapper })];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`bench run (${kind.nat}, ${kind.family}, ${sizeText(size)}) failed with status ${run.status}`);
  fs.writeFileSync(path.join(outDir, 'bench.json'), run.stdout);
  const pid = readRunPid(outDir);
  const perfMap = `/tmp/perf-${pid}.map`;
  if (fs.existsSync(perfMap)) fs.renameSync(perfMap, path.join(outDir, `perf-${pid}.map`));
  const counted = readRun(copy, kind, size);
  process.stderr.write(`  ${path.basename(copy)} ${kind.nat} ${kind.family} ${sizeText(size)}: ${counted.responses} responses, ${counted.total} Ir ` +
    `(${((Date.now() - started) / 1000).toFixed(0)} s, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})\n`);
  return counted;
}

const sizeText = (size) => (size.connections === undefined ? `${size.loopMs} ms` : `${size.connections} connections per switch and loop`);

/** IPv4's timed runs keep the directory name they had before --family (so --reuse reads earlier counts). */
function runDir(copy, { nat, family }, size) {
  const length = size.connections === undefined ? `${size.loopMs}` : `c${size.connections}`;
  return path.join(copy, family === 'ipv4' ? `run-${nat}-${length}` : `run-${nat}-${family}-${length}`);
}

function readRunPid(outDir) {
  const files = fs.readdirSync(outDir).filter((f) => f.startsWith('callgrind.'));
  if (files.length !== 1) throw new Error(`${outDir}: expected one callgrind output, found ${files.length}`);
  return Number(files[0].slice('callgrind.'.length));
}

/** A run's counts from its directory (the callgrind output, the perf map kept beside it, the bench's figures). */
function readRun(copy, kind, size) {
  const outDir = runDir(copy, kind, size);
  const pid = readRunPid(outDir);
  const perfMap = path.join(outDir, `perf-${pid}.map`);
  const bench = JSON.parse(fs.readFileSync(path.join(outDir, 'bench.json'), 'utf8'));
  const { parseCallgrind, parsePerfMap } = require(OWN_DIST);
  const file = path.join(outDir, `callgrind.${pid}`);
  const profile = parseCallgrind(fs.readFileSync(file, 'utf8'), file, fs.existsSync(perfMap) ? parsePerfMap(fs.readFileSync(perfMap, 'utf8')) : null);
  return { ...size, responses: bench.responses, errors: bench.errors, unmatched: bench.unmatched, ...profile };
}

/** --run: the bench itself (a fresh process whose execPath is the valgrind wrapper); prints its counts as JSON. */
async function runBench({ copy, nat, family, loopMs = 1000, connections, launcher, wrapper, clientsFrom, vip }) {
  // An older tree (no launcher option): its child is started through process.execPath.
  if (wrapper) process.execPath = wrapper;
  const { runFlowSetup } = require(path.join(copy, 'dist', 'bench', 'flowsetup.js'));
  const child = wrapper ? {} : { childLauncher: launcher, childTimeouts: require(path.join(copy, 'dist', 'bench', 'instructions.js')).VALGRIND_CHILD_TIMEOUTS };
  const result = await runFlowSetup({
    nat, family, switches: 16, mode: 'throughput', loops: 2, loopMs, connections, warmupLoops: 1, expectedFlowMods: nat === 'conntrack' ? 0 : 2,
    handshakeTimeoutMs: 600_000, clientsFrom, vip, ...child,
  });
  const t = result.totals;
  const events = result.appEvents ?? {};
  // Unmatched flow-mods are the switch-up flows (pipeline, services), not per connection.
  const refusals = Object.entries(events).filter(([kind]) => !kind.startsWith('backend_'));
  if (t.errorsReceived || refusals.length) {
    process.stderr.write(`  warning: errors ${t.errorsReceived}, app events ${JSON.stringify(events)}\n`);
  }
  process.stdout.write(JSON.stringify({ responses: t.responses, errors: t.errorsReceived, unmatched: t.unmatched, appEvents: events }));
}

/** The long run minus the short one, per response between them; by function, self Ir per connection. */
function perConnection(short, long) {
  const connections = long.responses - short.responses;
  if (connections <= 0) throw new Error(`the long run answered no more connections than the short one (${long.responses} vs ${short.responses})`);
  const perFunction = (field) => {
    const out = {};
    for (const name of new Set([...Object.keys(short[field]), ...Object.keys(long[field])])) {
      const d = ((long[field][name] ?? 0) - (short[field][name] ?? 0)) / connections;
      if (Math.abs(d) >= 0.5) out[name] = d;
    }
    return out;
  };
  const callers = {};
  for (const edge of new Set([...Object.keys(short.edges), ...Object.keys(long.edges)])) {
    const [a, b] = [short.edges[edge] ?? [0, 0], long.edges[edge] ?? [0, 0]];
    const ir = (b[1] - a[1]) / connections;
    if (Math.abs(ir) >= 0.5) callers[edge] = { calls: (b[0] - a[0]) / connections, ir };
  }
  return {
    connections,
    perConnection: (long.total - short.total) / connections,
    perConnectionWithoutCompile: (long.total - long.compile - (short.total - short.compile)) / connections,
    compilePerConnection: (long.compile - short.compile) / connections,
    perConnectionWithoutCompileAndGc: (long.total - long.compile - long.gc - (short.total - short.compile - short.gc)) / connections,
    gcPerConnection: (long.gc - short.gc) / connections,
    runs: [short, long].map((r) => ({
      loopMs: r.loopMs, connections: r.connections, responses: r.responses, errors: r.errors, ir: r.total, compileIr: r.compile, gcIr: r.gc,
    })),
    functions: perFunction('self'),
    inclusive: perFunction('inclusive'),
    callers,
  };
}

function report(results, top, callersOf) {
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const lines = ['instructions per new connection (callgrind, the controller child; long run minus short run)', ''];
  lines.push('| tree | NAT | family | without compile and GC | GC | without compile | with compile | compile | connections counted |', '|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    lines.push(`| ${r.label} | ${r.nat} | ${r.family} | ${fmt(r.perConnectionWithoutCompileAndGc)} | ${fmt(r.gcPerConnection)} | ${fmt(r.perConnectionWithoutCompile)} | ` +
      `${fmt(r.perConnection)} | ${fmt(r.compilePerConnection)} | ${fmt(r.connections)} |`);
  }
  lines.push('', 'each run whole (the child from start to exit)', '', '| tree | NAT | family | run | responses | Ir | compile Ir | GC Ir | Ir without compile |', '|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    for (const run of r.runs) {
      lines.push(`| ${r.label} | ${r.nat} | ${r.family} | ${sizeText(run)} | ${fmt(run.responses)} | ${fmt(run.ir)} | ${fmt(run.compileIr)} | ${fmt(run.gcIr)} | ${fmt(run.ir - run.compileIr)} |`);
    }
  }
  const names = new Set();
  for (const r of results) {
    Object.entries(r.functions).sort((a, b) => b[1] - a[1]).slice(0, top).forEach(([name]) => names.add(name));
  }
  lines.push('', `self instructions per connection, the top ${top} of each tree`, '');
  lines.push(`| function | ${results.map(column).join(' | ')} |`, `|---|${results.map(() => '---').join('|')}|`);
  const first = results[0].functions;
  for (const name of [...names].sort((a, b) => (first[b] ?? 0) - (first[a] ?? 0))) {
    lines.push(`| ${short(name).replace(/\|/g, '\\|')} | ${results.map((r) => fmt(r.functions[name] ?? 0)).join(' | ')} |`);
  }
  if (callersOf) {
    for (const r of results) {
      lines.push('', `${column(r)}: callers of /${callersOf.source}/ (calls and inclusive Ir per connection)`, '');
      const edges = Object.entries(r.callers).filter(([edge]) => callersOf.test(edge.split('\u0000')[0])).sort((a, b) => b[1].ir - a[1].ir);
      for (const [edge, { calls, ir }] of edges.slice(0, 4 * top)) {
        const [callee, caller] = edge.split('\u0000');
        lines.push(`  ${short(callee)} <- ${short(caller)}: ${calls.toFixed(2)} calls, ${fmt(ir)} Ir`);
      }
    }
  }
  return lines.join('\n');
}

const short = (name) => (name.length > 90 ? `${name.slice(0, 87)}...` : name);
const column = (r) => `${r.label} ${r.family}`;

/** Per tree counted in both families: IPv6 minus IPv4 per connection, in total and by function (self and inclusive). */
function familyDifferences(results) {
  const out = [];
  for (const v4 of results.filter((r) => r.family === 'ipv4')) {
    const v6 = results.find((r) => r.family === 'ipv6' && r.label === v4.label && r.nat === v4.nat);
    if (!v6) continue;
    const functions = {};
    for (const name of new Set([...Object.keys(v4.functions), ...Object.keys(v6.functions), ...Object.keys(v4.inclusive), ...Object.keys(v6.inclusive)])) {
      const self = [v4.functions[name] ?? 0, v6.functions[name] ?? 0];
      const inclusive = [v4.inclusive[name] ?? 0, v6.inclusive[name] ?? 0];
      functions[name] = { self: [...self, self[1] - self[0]], inclusive: [...inclusive, inclusive[1] - inclusive[0]] };
    }
    out.push({
      label: v4.label, nat: v4.nat,
      perConnection: [v4.perConnection, v6.perConnection, v6.perConnection / v4.perConnection],
      perConnectionWithoutCompile: [v4.perConnectionWithoutCompile, v6.perConnectionWithoutCompile, v6.perConnectionWithoutCompile / v4.perConnectionWithoutCompile],
      perConnectionWithoutCompileAndGc: [v4.perConnectionWithoutCompileAndGc, v6.perConnectionWithoutCompileAndGc, v6.perConnectionWithoutCompileAndGc / v4.perConnectionWithoutCompileAndGc],
      functions,
    });
  }
  return out;
}

function differenceReport(d, top) {
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const signed = (n) => (Math.round(n) > 0 ? `+${fmt(n)}` : fmt(n));
  const lines = [`${d.label}, ${d.nat}: IPv6 against IPv4 per new connection`, ''];
  lines.push('| | IPv4 | IPv6 | IPv6 / IPv4 |', '|---|---|---|---|');
  for (const [what, [a, b, ratio]] of [['without compile and GC', d.perConnectionWithoutCompileAndGc], ['without compile', d.perConnectionWithoutCompile], ['with compile', d.perConnection]]) {
    lines.push(`| ${what} | ${fmt(a)} | ${fmt(b)} | ${ratio.toFixed(3)}x |`);
  }
  const entries = Object.entries(d.functions);
  for (const by of ['self', 'inclusive']) {
    lines.push('', `IPv6 minus IPv4 by function, the ${top} largest differences of ${by} instructions per connection either way`, '');
    lines.push('| function | self IPv4 | self IPv6 | self IPv6 - IPv4 | inclusive IPv4 | inclusive IPv6 | inclusive IPv6 - IPv4 |', '|---|---|---|---|---|---|---|');
    const rows = entries.filter(([name, f]) => Math.round(f[by][2]) !== 0 && (by === 'self' || !CALL_MACHINERY.test(name))).sort((a, b) => Math.abs(b[1][by][2]) - Math.abs(a[1][by][2])).slice(0, top);
    for (const [name, f] of rows.sort((a, b) => b[1][by][2] - a[1][by][2])) {
      lines.push(`| ${short(name).replace(/\|/g, '\\|')} | ${fmt(f.self[0])} | ${fmt(f.self[1])} | ${signed(f.self[2])} | ` +
        `${fmt(f.inclusive[0])} | ${fmt(f.inclusive[1])} | ${signed(f.inclusive[2])} |`);
    }
  }
  return lines.join('\n');
}

main();
