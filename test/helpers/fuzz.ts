// One fuzz engine for every decoder: a seeded PRNG (printed, so a failure replays with VADC_FUZZ_SEED), byte and
// text mutators over a corpus of valid inputs, and a run loop that says which iteration and input failed.
// VADC_FUZZ_ITERATIONS sets every fuzz test's count (CI runs each decoder's default; locally 10,000,000).
// VADC_FUZZ_PROGRESS=N writes a line to stderr every N inputs (seed, inputs so far, outcomes so far), so a long local
// run stopped early still says how far it got.

/** mulberry32: small, fast, and the same sequence on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const fuzzSeed = (): number => Number(process.env.VADC_FUZZ_SEED ?? 20261204);
export const fuzzIterations = (ciDefault: number): number => Number(process.env.VADC_FUZZ_ITERATIONS ?? ciDefault);
/** Inputs between progress lines (0: none), from VADC_FUZZ_PROGRESS. */
export const fuzzProgressEvery = (): number => {
  const every = Number(process.env.VADC_FUZZ_PROGRESS ?? 0);
  return Number.isInteger(every) && every > 0 ? every : 0;
};

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const below = (r: () => number, n: number): number => Math.floor(r() * n);

/** Bytes an attacker or a broken peer would send instead: flips, random bytes, cuts, insertions, splices, repeats. */
export function mutateBytes(r: () => number, input: Buffer, corpus: readonly Buffer[] = []): Buffer {
  let b = Buffer.from(input);
  for (let n = 1 + below(r, 3); n > 0; n--) {
    const at = below(r, b.length + 1);
    switch (below(r, 7)) {
      case 0: if (b.length) b[Math.min(at, b.length - 1)] ^= 1 << below(r, 8); break;
      case 1: if (b.length) b[Math.min(at, b.length - 1)] = pick(r, [0, 0xff, 0x7f, 0x80, below(r, 256)]); break;
      case 2: b = b.subarray(0, at); break;
      case 3: b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + below(r, 8) }, () => below(r, 256))), b.subarray(at)]); break;
      case 4: b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + below(r, 16)))]); break;
      case 5: { const other = corpus.length ? pick(r, corpus) : b; b = Buffer.concat([b.subarray(0, at), other.subarray(below(r, other.length + 1))]); break; }
      default: { const from = below(r, b.length + 1); const chunk = b.subarray(from, from + 1 + below(r, 32)); b = Buffer.concat([b.subarray(0, at), chunk, chunk, b.subarray(at)]); }
    }
  }
  return b;
}

const TEXT_TOKENS = ['{', '}', '[', ']', ':', ',', '"', "'", '-', ' ', '\n', '  ', '\t', '#', '&a', '*a', '!!', '|', '>', 'null', 'true', '0', '-1',
  '1e309', '99999999999999999999', '"\\u0000"', '\\', '%', '@', '---', '...', '<<: *a', '~', 'NaN', '0x10', '"a"'];

/** Text with structure broken the ways people and tools break it: tokens, lines dropped or repeated, bytes changed. */
export function mutateText(r: () => number, input: string, corpus: readonly string[] = []): string {
  let s = input;
  for (let n = 1 + below(r, 3); n > 0; n--) {
    const at = below(r, s.length + 1);
    switch (below(r, 5)) {
      case 0: s = s.slice(0, at) + pick(r, TEXT_TOKENS) + s.slice(at); break;
      case 1: { const lines = s.split('\n'); lines.splice(below(r, lines.length), 1); s = lines.join('\n'); break; }
      case 2: { const lines = s.split('\n'); const i = below(r, lines.length); lines.splice(i, 0, corpus.length && r() < 0.5 ? pick(r, pick(r, corpus).split('\n')) : lines[i]); s = lines.join('\n'); break; }
      case 3: s = s.slice(0, at) + s.slice(at + 1 + below(r, 8)); break;
      default: s = mutateBytes(r, Buffer.from(s, 'utf8')).toString('utf8');
    }
  }
  return s;
}

const ODD_VALUES: unknown[] = [null, true, 0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, '', 'x'.repeat(300), '\u0000', 'uuid', 'map', 'set',
  ['uuid', 'not-a-uuid'], ['set', [1, 'a']], ['map', [[1]]], ['named-uuid', 'r'], [], {}, [[[[[]]]]], { a: { b: { c: {} } } }];

/** A JSON value with one part replaced, removed, retyped or nested deeper: valid JSON that breaks the shape. */
export function mutateJson(r: () => number, value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  const holders: Array<{ holder: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach((x, i) => { holders.push({ holder: v, key: i }); walk(x); });
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { holders.push({ holder: v as Record<string, unknown>, key: k }); walk(x); }
  };
  walk(copy);
  if (!holders.length) return pick(r, ODD_VALUES);
  for (let n = 1 + below(r, 2); n > 0; n--) {
    const { holder, key } = pick(r, holders);
    const old = (holder as Record<string | number, unknown>)[key];
    switch (below(r, 4)) {
      case 0: (holder as Record<string | number, unknown>)[key] = pick(r, ODD_VALUES); break;
      case 1: if (Array.isArray(holder)) holder.splice(key as number, 1); else delete holder[key as string]; break;
      case 2: (holder as Record<string | number, unknown>)[key] = r() < 0.5 ? [old] : { [String(key)]: old }; break;
      default: if (Array.isArray(holder)) holder.push(old); else holder[`${String(key)}_${below(r, 10)}`] = old;
    }
  }
  return copy;
}

export interface FuzzReport {
  seed: number;
  iterations: number;
  /** outcome name -> count (e.g. 'ok', 'ConfigError'). */
  outcomes: Map<string, number>;
}

/**
 * Runs `iterations` inputs through `check`, which returns the outcome's name (a typed rejection included) and throws
 * only for a real failure (an untyped exception, a broken invariant); the failure is rethrown with the seed, the
 * iteration and the input, so it can be replayed.
 */
export function fuzz<T>(opts: { iterations: number; seed?: number; input: (r: () => number, i: number) => T; check: (input: T) => string; show?: (input: T) => string }): FuzzReport {
  const seed = opts.seed ?? fuzzSeed();
  const r = rng(seed);
  const outcomes = new Map<string, number>();
  const progressEvery = fuzzProgressEvery();
  const started = Date.now();
  for (let i = 0; i < opts.iterations; i++) {
    if (progressEvery && i > 0 && i % progressEvery === 0) {
      // stderr directly: jest buffers console output until the test ends.
      process.stderr.write(`${progressLine({ seed, iterations: i, outcomes })} (of ${opts.iterations}, ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    }
    const input = opts.input(r, i);
    let outcome: string;
    try {
      outcome = opts.check(input);
    } catch (err) {
      const shown = opts.show ? opts.show(input) : Buffer.isBuffer(input) ? input.toString('hex') : JSON.stringify(input);
      throw new Error(`fuzz seed ${seed} iteration ${i}: ${(err as Error).stack ?? String(err)}\ninput: ${shown.slice(0, 4000)}`);
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  return { seed, iterations: opts.iterations, outcomes };
}

const outcomeList = (report: FuzzReport): string =>
  [...report.outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');

function progressLine(report: FuzzReport): string {
  return `fuzz seed ${report.seed}: ${report.iterations} inputs so far: ${outcomeList(report)}`;
}

export function describeReport(name: string, report: FuzzReport): string {
  return `fuzz ${name}, seed ${report.seed}: ${report.iterations} inputs: ${outcomeList(report)}`;
}
