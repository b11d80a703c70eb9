// Pure reading of callgrind's output file (valgrind --tool=callgrind --dump-instr=no --dump-line=no): the run's total
// instructions (Ir), and by function self and inclusive Ir, so V8's compile work can be told apart from the rest.
// Used by `vadc bench flowsetup --instructions` (./instructions.ts) and scripts/count-instructions.js.

/**
 * V8's compile work: the inclusive cost of these runtime entries. It spreads over however many connections a run
 * reaches, so a per-connection figure is given with and without it.
 */
export const COMPILE_ENTRY = /Runtime_\w*(Compile|Optimiz|Baseline|Deoptimiz)\w*|Runtime_NotifyDeoptimized/;

/**
 * V8's garbage collector: its collections (Heap::CollectGarbage and what it runs), incremental marking steps taken on
 * allocation or as tasks, sweeping on the main thread, and cppgc's (Oilpan's) marker and sweeper. Named as callgrind
 * names them in node 20-24's binary (a recursion level's 'N mark aside). Counted where code outside this set calls into
 * it, so a collection is counted once however deep its own entries nest.
 */
export const GC_ENTRY = new RegExp(
  '^(v8::internal::(Heap::(CollectGarbage|CollectAllGarbage|CollectAllAvailableGarbage|PerformGarbageCollection|' +
    'StartIncrementalMarking\\w*|FinalizeIncrementalMarking\\w*|HandleGCRequest|Scavenge|MarkCompact|MinorMarkCompact|MinorMarkSweep)\\(|' +
    '(IncrementalMarking|IncrementalMarkingJob|ScavengeJob|MinorGCJob|MemoryReducer|ScavengerCollector|Scavenger|MarkCompactCollector|' +
    'MinorMarkCompactCollector|MinorMarkSweepCollector|Sweeper|ArrayBufferSweeper|ConcurrentMarking|CppHeap)::)|' +
    'cppgc::internal::(MarkerBase|Marker|Sweeper|Compactor|ConcurrentMarkerBase|ConcurrentMarker)::)',
);

/**
 * The collector's entries that allocation can reach (so compile too): callgrind names each of them with its callers
 * (`--separate-callers`, GC_CONTEXT_DEPTH deep), so a collection inside a compile entry is told exactly.
 */
export const GC_CONTEXT_ENTRIES: readonly string[] = [
  'v8::internal::Heap::CollectGarbage(*', 'v8::internal::Heap::CollectAllGarbage(*', 'v8::internal::Heap::StartIncrementalMarking*',
  'v8::internal::Heap::HandleGCRequest(*', 'v8::internal::IncrementalMarking::Observer::Step(*', 'v8::internal::Sweeper::ParallelSweepSpace(*',
  'v8::internal::Sweeper::EnsureCompleted(*',
];
export const GC_CONTEXT_DEPTH = 60;

/** callgrind's options that name GC_CONTEXT_ENTRIES with their callers. */
export function gcContextOptions(): string[] {
  return GC_CONTEXT_ENTRIES.map((pattern) => `--separate-callers${GC_CONTEXT_DEPTH}=${pattern}`);
}

/** One entry of V8's perf map (/tmp/perf-PID.map, node --perf-basic-prof): JIT code from start to end is `name`. */
export type PerfMapEntry = [start: number, end: number, name: string];

export interface CallgrindProfile {
  /** The run's instructions in all (the file's `totals:` or `summary:` line). */
  total: number;
  /** Of them V8's compile work (inclusive Ir of the COMPILE_ENTRY functions). */
  compile: number;
  /**
   * Of them the garbage collector's outside compile: what GC_ENTRY functions cost where called from outside the set,
   * less gcInCompile.
   */
  gc: number;
  /**
   * The collector's work inside the compile entries (already in `compile`): exact for the entries callgrind named with
   * their callers (GC_CONTEXT_ENTRIES), estimated from the callers' share for the others (collectorCost).
   */
  gcInCompile: number;
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
  for (const [name, cost] of inclusive) if (isCompile(name)) compile += cost;
  const { gc, gcInCompile } = collectorCost(edges);
  return { total, compile, gc: gc - gcInCompile, gcInCompile, self: Object.fromEntries(self), inclusive: Object.fromEntries(inclusive), edges: Object.fromEntries(edges) };
}

/**
 * A function's own name, without what callgrind adds after it: a recursion level ('2) or, with --separate-callers,
 * its callers ('caller'caller's caller...).
 */
const ownName = (name: string) => name.split("'")[0];
/** The callers callgrind named a function with (--separate-callers), nearest first; none without. */
const namedCallers = (name: string) => name.split("'").slice(1).filter((part) => !/^\d+$/.test(part));
const isGc = (name: string) => GC_ENTRY.test(ownName(name));
const isCompile = (name: string) => COMPILE_ENTRY.test(ownName(name));

/**
 * Share of a function's Ir spent where `root` functions called it (directly or through others), estimated from who
 * calls it: the weighted share of its callers (callgrind's output keeps one level of callers, so a function's calls
 * are taken as alike whoever made them). A function met again on its own path of callers counts 0 there.
 */
function shareUnder(root: (name: string) => boolean, callers: Map<string, Array<[string, number]>>): (name: string) => number {
  const known = new Map<string, number>();
  const onPath = new Set<string>();
  const share = (fn: string): number => {
    if (root(fn)) return 1;
    const memo = known.get(fn);
    if (memo !== undefined) return memo;
    if (onPath.has(fn)) return 0;
    onPath.add(fn);
    let weight = 0;
    let under = 0;
    for (const [caller, cost] of callers.get(fn) ?? []) {
      weight += cost;
      under += cost * share(caller);
    }
    onPath.delete(fn);
    const result = weight > 0 ? under / weight : 0;
    known.set(fn, result);
    return result;
  };
  return share;
}

/**
 * The collector's cost: what GC_ENTRY functions cost where code outside the collector called them (a helper the
 * collector itself calls, such as a job's Join, is inside it: shareUnder), and of it the part inside compile entries
 * (exact for an entry named with its callers, GC_CONTEXT_ENTRIES; estimated by shareUnder for the others).
 */
function collectorCost(edges: Map<string, [number, number]>): { gc: number; gcInCompile: number } {
  const callers = new Map<string, Array<[string, number]>>();
  for (const [key, [, cost]] of edges) {
    const [callee, caller] = key.split('\u0000');
    if (callee === caller) continue;
    const list = callers.get(callee);
    if (list) list.push([caller, cost]);
    else callers.set(callee, [[caller, cost]]);
  }
  const inGc = shareUnder(isGc, callers);
  const inCompile = shareUnder(isCompile, callers);
  let gc = 0;
  let gcInCompile = 0;
  for (const [callee, from] of callers) {
    if (!isGc(callee)) continue;
    for (const [caller, cost] of from) {
      if (isGc(caller)) continue;
      const entered = cost * (1 - inGc(caller));
      gc += entered;
      // Named with its callers: inside compile exactly when one of them is a compile entry; otherwise estimated.
      const chain = namedCallers(callee);
      gcInCompile += entered * (chain.length > 0 ? Number(chain.some(isCompile)) : inCompile(caller));
    }
  }
  return { gc: Math.round(gc), gcInCompile: Math.round(gcInCompile) };
}
