// `vadc bench flowsetup --family both --instructions`: instructions per new connection of the controller's packet-in
// path, counted by callgrind on the internal controller child, for each family, and IPv6's over IPv4's beside issue
// 16's 1.10 ceiling. CPU time per connection moves with the machine's load; an instruction count barely does.
// Per family two fixed-count runs (SHORT and LONG connections per switch and loop, two loops) with the child under
// `valgrind --tool=callgrind`; per new connection = (Ir of the long run - Ir of the short run) / (responses of the long
// run - responses of the short run): the child's start-up and shut-down cancel. V8's compile work (./callgrind.ts) is
// shown apart: it spreads over however many connections a run reaches.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildLauncher, ChildTimeouts } from './child-protocol';
import { gcContextOptions, parseCallgrind } from './callgrind';
import { FlowSetupError, FlowSetupOptionError } from './errors';
import { runFlowSetup, type FlowSetupProgress } from './flowsetup';
import type { BenchFamily } from './frames';
import type { FlowSetupOptions } from './plan';
import { fmt } from './side-by-side';

/** The child under valgrind runs ~50x slower: its start, exit, handshakes and echoes get this long. */
export const VALGRIND_CHILD_TIMEOUTS: Required<ChildTimeouts> = { startMs: 1_800_000, stopMs: 600_000, handshakeMs: 600_000, echoIntervalMs: 600_000 };
/** The bench's own wait for the handshakes, a loop's stall and the closing echo under valgrind (the most validateOptions allows). */
const VALGRIND_BENCH_WAIT_MS = 600_000;
/** Connections per switch and loop of the short and the long run (16 switches x 2 loops: 10,016 and 50,016). */
export const DEFAULT_INSTRUCTION_CONNECTIONS: readonly [number, number] = [313, 1563];

/**
 * valgrind's version (`valgrind --version`); valgrind is a bench tool, not a dependency of vadc: without it
 * --instructions is a usage error (exit 2) that says so.
 */
export function valgrindVersion(run: typeof spawnSync = spawnSync): string {
  const probe = run('valgrind', ['--version'], { encoding: 'utf8' });
  const version = typeof probe.stdout === 'string' ? probe.stdout.trim() : '';
  if (probe.error || probe.status !== 0 || !version) {
    const why = probe.error ? probe.error.message : `exit status ${probe.status}`;
    throw new FlowSetupOptionError('instructions', `needs valgrind, and \`valgrind --version\` failed (${why}): install it (Debian: apt-get install valgrind)`);
  }
  return version;
}

/**
 * What runs the child under callgrind: each child's output in outDir/callgrind.out.PID. perfMap adds node's
 * --perf-basic-prof (V8 writes /tmp/perf-PID.map, naming JIT code by function: scripts/count-instructions.js).
 */
export function callgrindLauncher(outDir: string, perfMap = false): ChildLauncher {
  return {
    prefix: [
      'valgrind', '--tool=callgrind', '-q', `--callgrind-out-file=${path.join(outDir, 'callgrind.out.%p')}`, '--dump-instr=no', '--dump-line=no',
      // The collector's entries named with their callers: a collection inside a compile entry is told exactly.
      ...gcContextOptions(),
    ],
    // One thread for V8's compiles and collections, so they are counted the same way each run.
    nodeFlags: ['--predictable', ...(perfMap ? ['--perf-basic-prof'] : [])],
  };
}

/** One counted run: its connections per switch and loop, responses, and the children's instructions summed. */
export interface CountedRun {
  connectionsPerLoop: number;
  responses: number;
  ir: number;
  compileIr: number;
  /** Of ir, the garbage collector's (./callgrind.ts GC_ENTRY; none of it inside compileIr). */
  gcIr: number;
}

export interface FamilyInstructions {
  family: BenchFamily;
  runs: [CountedRun, CountedRun];
  /** Connections between the two runs: what the difference is divided by. */
  connections: number;
  perConnection: number;
  perConnectionWithoutCompile: number;
  compilePerConnection: number;
  /** Without compile and without the collector: the verdict's measure (the collector's work lands unevenly between runs). */
  perConnectionWithoutCompileAndGc: number;
  gcPerConnection: number;
}

/** Pure: per new connection from the short and the long run. */
export function perConnection(family: BenchFamily, short: CountedRun, long: CountedRun): FamilyInstructions {
  const connections = long.responses - short.responses;
  if (connections <= 0) throw new FlowSetupError(`${family}: the long counted run answered no more connections than the short one (${long.responses} vs ${short.responses})`);
  return {
    family, runs: [short, long], connections,
    perConnection: (long.ir - short.ir) / connections,
    perConnectionWithoutCompile: (long.ir - long.compileIr - (short.ir - short.compileIr)) / connections,
    compilePerConnection: (long.compileIr - short.compileIr) / connections,
    perConnectionWithoutCompileAndGc: (long.ir - long.compileIr - long.gcIr - (short.ir - short.compileIr - short.gcIr)) / connections,
    gcPerConnection: (long.gcIr - short.gcIr) / connections,
  };
}

/** The children's callgrind outputs in dir, summed. */
export function readCountedDir(dir: string): { ir: number; compileIr: number; gcIr: number } {
  const files = readdirSync(dir).filter((f) => f.startsWith('callgrind.out.'));
  if (files.length === 0) throw new FlowSetupError(`${dir}: no callgrind output (did the controller child exit cleanly?)`);
  let ir = 0;
  let compileIr = 0;
  let gcIr = 0;
  for (const file of files) {
    const profile = parseCallgrind(readFileSync(path.join(dir, file), 'utf8'), path.join(dir, file));
    ir += profile.total;
    compileIr += profile.compile;
    gcIr += profile.gc;
  }
  return { ir, compileIr, gcIr };
}

/**
 * The bench's options for a counted run: the caller's, with fixed-count loops, the child under callgrind, no pacing,
 * and nothing pinned (a count does not depend on the core; pinned, every counted child of the machine shared core 1).
 */
export function countedRunOptions(partial: Partial<FlowSetupOptions>, family: BenchFamily, connections: number, outDir: string): Partial<FlowSetupOptions> {
  return {
    ...partial, family, loops: 2, warmupLoops: 1, connections, rate: undefined, profileDir: undefined, pin: false,
    handshakeTimeoutMs: VALGRIND_BENCH_WAIT_MS, childLauncher: callgrindLauncher(outDir), childTimeouts: VALGRIND_CHILD_TIMEOUTS,
  };
}

/** Where a counted run's callgrind files go: keepDir/FAMILY-cCONNECTIONS when kept (emptied first), else a temporary directory. */
export function countedRunDir(family: BenchFamily, connections: number, keepDir?: string): string {
  if (!keepDir) return mkdtempSync(path.join(os.tmpdir(), `vadc-instructions-${family}-`));
  const dir = path.join(keepDir, `${family}-c${connections}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Counts one family: the short run, then the long one, each in a directory of its own: under keepDir
 * (--instructions-dir) when given, kept; otherwise temporary, removed after reading.
 */
export async function countFamilyInstructions(
  partial: Partial<FlowSetupOptions>, family: BenchFamily, sizes: readonly [number, number], onRun?: (family: BenchFamily, connections: number) => void, onLoop?: FlowSetupProgress,
  keepDir?: string,
): Promise<FamilyInstructions> {
  const runs: CountedRun[] = [];
  for (const connections of sizes) {
    onRun?.(family, connections);
    const dir = countedRunDir(family, connections, keepDir);
    try {
      const result = await runFlowSetup(countedRunOptions(partial, family, connections, dir), onLoop);
      runs.push({ connectionsPerLoop: connections, responses: result.totals.responses, ...readCountedDir(dir) });
    } finally {
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    }
  }
  return perConnection(family, runs[0], runs[1]);
}

export interface InstructionComparison {
  ipv4: FamilyInstructions;
  ipv6: FamilyInstructions;
  /** IPv6's instructions per new connection over IPv4's without V8's compile and collector (the verdict's measure). */
  ratioWithoutCompileAndGc: number;
  /** The same with the collector in, and with compile in too. */
  ratioWithoutCompile: number;
  ratio: number;
  ceiling: number;
  verdict: 'within' | 'over';
}

/**
 * Pure: the families' counts against the ceiling, on the figure without compile (it follows how far a run gets, not the
 * family) and without the collector (where its collections land between the short and the long run moves it by percents).
 */
export function compareInstructions(ipv4: FamilyInstructions, ipv6: FamilyInstructions, ceiling: number): InstructionComparison {
  const ratioWithoutCompileAndGc = ipv6.perConnectionWithoutCompileAndGc / ipv4.perConnectionWithoutCompileAndGc;
  return {
    ipv4, ipv6, ratioWithoutCompileAndGc, ratioWithoutCompile: ipv6.perConnectionWithoutCompile / ipv4.perConnectionWithoutCompile,
    ratio: ipv6.perConnection / ipv4.perConnection, ceiling, verdict: ratioWithoutCompileAndGc <= ceiling ? 'within' : 'over',
  };
}

/** Counts both families (IPv4 first) and compares them; keepDir: keep the callgrind files there (--instructions-dir). */
export async function countInstructions(
  partial: Partial<FlowSetupOptions>, sizes: readonly [number, number], ceiling: number, onRun?: (family: BenchFamily, connections: number) => void, onLoop?: FlowSetupProgress,
  keepDir?: string,
): Promise<InstructionComparison> {
  const ipv4 = await countFamilyInstructions(partial, 'ipv4', sizes, onRun, onLoop, keepDir);
  const ipv6 = await countFamilyInstructions(partial, 'ipv6', sizes, onRun, onLoop, keepDir);
  return compareInstructions(ipv4, ipv6, ceiling);
}

/** `SHORT,LONG` (--instructions-connections): connections per switch and loop of the two counted runs. */
export function parseInstructionConnections(text: string): [number, number] {
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || !parts.every((n) => Number.isInteger(n) && n >= 1 && n <= 10_000_000)) {
    throw new FlowSetupOptionError('instructions-connections', `expected SHORT,LONG (two integers 1..10000000), got '${text}'`);
  }
  if (parts[1] <= parts[0]) throw new FlowSetupOptionError('instructions-connections', `LONG (${parts[1]}) must be more than SHORT (${parts[0]})`);
  return [parts[0], parts[1]];
}

/** The lines of the report: each family's count, then the ratio beside the ceiling. */
export function formatInstructions(c: InstructionComparison): string {
  const row = (what: string, get: (f: FamilyInstructions) => number) =>
    `  ${what.padEnd(34)}${fmt(get(c.ipv4)).padStart(16)}${fmt(get(c.ipv6)).padStart(16)}${`${fmt((100 * get(c.ipv6)) / get(c.ipv4), 1)} %`.padStart(12)}`;
  const [short, long] = c.ipv4.runs;
  return [
    `  instructions per new connection (callgrind on the controller child; runs of ${fmt(short.connectionsPerLoop)} and ` +
      `${fmt(long.connectionsPerLoop)} connections per switch and loop, the difference over ${fmt(c.ipv4.connections)} connections):`,
    row('Ir without compile and GC', (f) => f.perConnectionWithoutCompileAndGc),
    row("  V8's garbage collector", (f) => f.gcPerConnection),
    row('Ir without compile', (f) => f.perConnectionWithoutCompile),
    row("  V8's compile", (f) => f.compilePerConnection),
    row('Ir with compile', (f) => f.perConnection),
    `  IPv6 instructions per new connection / IPv4's: ${fmt(c.ratioWithoutCompileAndGc, 3)} without compile and GC ` +
      `(${fmt(c.ratioWithoutCompile, 3)} with GC, ${fmt(c.ratio, 3)} with both), ceiling ${fmt(c.ceiling, 2)}: ${c.verdict === 'within' ? 'WITHIN' : 'OVER'}`,
  ].join('\n');
}
