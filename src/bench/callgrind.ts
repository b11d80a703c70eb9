// Pure reading of callgrind's output file (valgrind --tool=callgrind --dump-instr=no --dump-line=no): the run's total
// instructions (Ir), and by function self and inclusive Ir, so V8's compile work can be told apart from the rest.
// Used by `vadc bench flowsetup --instructions` (./instructions.ts) and scripts/count-instructions.js.

/**
 * V8's compile work: the inclusive cost of these runtime entries. It spreads over however many connections a run
 * reaches, so a per-connection figure is given with and without it.
 */
export const COMPILE_ENTRY = /Runtime_\w*(Compile|Optimiz|Baseline|Deoptimiz)\w*|Runtime_NotifyDeoptimized/;

/** One entry of V8's perf map (/tmp/perf-PID.map, node --perf-basic-prof): JIT code from start to end is `name`. */
export type PerfMapEntry = [start: number, end: number, name: string];

export interface CallgrindProfile {
  /** The run's instructions in all (the file's `totals:` or `summary:` line). */
  total: number;
  /** Of them V8's compile work (inclusive Ir of the COMPILE_ENTRY functions). */
  compile: number;
  /** By function, the instructions of its own code. */
  self: Record<string, number>;
  /** By function, with all it calls (a call between two pieces of one name counted once). */
  inclusive: Record<string, number>;
  /** By `callee NUL caller`: [calls, inclusive Ir of those calls]. */
  edges: Record<string, [number, number]>;
}

/** V8's perf map, sorted by start address. */
export function parsePerfMap(text: string): PerfMapEntry[] {
  const entries: PerfMapEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m) entries.push([parseInt(m[1], 16), parseInt(m[1], 16) + parseInt(m[2], 16), m[3]]);
  }
  return entries.sort((a, b) => a[0] - b[0]);
}

function nameOfAddress(names: readonly PerfMapEntry[], address: number): string | null {
  let lo = 0;
  let hi = names.length - 1;
  let found: PerfMapEntry | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (names[mid][0] <= address) {
      found = names[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found && address < found[1] ? found[2] : null;
}

/**
 * A callgrind output's total and, by function (JIT code named through the perf map when given), self and inclusive Ir.
 * Cost lines after `calls=` are a call's inclusive cost: counted in the caller's inclusive figure, not its self.
 * @param source names the file in errors.
 */
export function parseCallgrind(text: string, source: string, names: readonly PerfMapEntry[] | null = null): CallgrindProfile {
  const fnNames = new Map<string, string>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const edges = new Map<string, [number, number]>();
  let total: number | null = null;
  let fn: string | null = null;
  let callee: string | null = null;
  let calls = 0;
  const named = (compressed: string): string => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(compressed);
    let name = compressed;
    if (m) {
      if (m[2] !== undefined) fnNames.set(m[1], m[2]);
      const known = fnNames.get(m[1]);
      if (known === undefined) throw new SyntaxError(`${source}: function (${m[1]}) used before it is named`);
      name = known;
    }
    // callgrind marks a function's recursion depth ('2, '3 ...) after its name.
    const address = /^0x([0-9a-f]+)('\d+)?$/.exec(name);
    if (names && address) name = `${nameOfAddress(names, parseInt(address[1], 16)) ?? `JIT code at 0x${address[1]} (not in the perf map)`}${address[2] ?? ''}`;
    // V8 names a function by its file's full path: the file's own name says enough.
    return name.replace(/ \/\S*\/([^/\s]+)$/, ' $1');
  };
  const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);
  for (const line of text.split('\n')) {
    if (line.startsWith('fn=')) {
      fn = named(line.slice(3));
      continue;
    }
    if (line.startsWith('cfn=')) {
      callee = named(line.slice(4));
      continue;
    }
    if (line.startsWith('calls=')) {
      calls = Number(line.slice(6).split(/\s+/)[0]);
      continue;
    }
    if (line.startsWith('summary:') || line.startsWith('totals:')) {
      total = Number(line.split(/\s+/)[1]);
      continue;
    }
    if (fn === null || !/^[0-9+\-*]/.test(line)) continue;
    const cost = Number(line.split(/\s+/)[1] ?? 0);
    // A call between two pieces of code of one name (JIT code entered by a jump, callgrind's separate pieces of one
    // function) is already in that name's figures through the callee's own lines: not counted twice.
    if (calls === 0 || callee !== fn) add(inclusive, fn, cost);
    if (calls > 0) {
      const edge = `${callee}\u0000${fn}`;
      const have = edges.get(edge) ?? [0, 0];
      edges.set(edge, [have[0] + calls, have[1] + cost]);
    } else add(self, fn, cost);
    calls = 0;
  }
  if (total === null || !Number.isFinite(total)) throw new SyntaxError(`${source}: no summary/totals line (did the child exit cleanly?)`);
  let compile = 0;
  for (const [name, cost] of inclusive) if (COMPILE_ENTRY.test(name)) compile += cost;
  return { total, compile, self: Object.fromEntries(self), inclusive: Object.fromEntries(inclusive), edges: Object.fromEntries(edges) };
}
