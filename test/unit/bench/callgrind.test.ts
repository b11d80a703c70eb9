import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { gcContextOptions, parseCallgrind, parsePerfMap } from '../../../src/bench/callgrind';

const FIXTURES = path.join(__dirname, '../../fixtures/callgrind');
const realOutput = readFileSync(path.join(FIXTURES, 'bin-true.callgrind.out'), 'utf8');

describe("callgrind's output file", () => {
  it("reads a real run's total: the figure valgrind printed as Collected", () => {
    const collected = /Collected : (\d+)/.exec(readFileSync(path.join(FIXTURES, 'bin-true.valgrind-stderr.txt'), 'utf8'));
    const profile = parseCallgrind(realOutput, 'bin-true');
    expect(profile.total).toBe(Number(collected![1]));
    expect(profile.total).toBe(126_467);
  });

  it("splits a real run into functions whose own instructions add up to the total, with callgrind_annotate's inclusive figures", () => {
    const profile = parseCallgrind(realOutput, 'bin-true');
    expect(Object.values(profile.self).reduce((a, b) => a + b, 0)).toBe(profile.total);
    // callgrind_annotate --inclusive=yes on the same file.
    expect(profile.inclusive._dl_start).toBe(123_793);
    expect(profile.inclusive.dl_main).toBe(95_250);
    expect(profile.inclusive._dl_relocate_object).toBe(68_989);
    expect(profile.inclusive.do_lookup_x).toBe(30_423);
    // annotate splits a function by source file: 18,529 in dl-tunables.c and 1,867 inlined from dl-tunables.h.
    expect(profile.self.__GI___tunables_init).toBe(20_396);
    expect(profile.compile).toBe(0);
  });

  it("counts V8's compile entries' inclusive cost apart and names JIT code through the perf map", () => {
    const text = [
      'events: Ir', 'summary: 1000',
      'fn=(1) Builtins_JSEntry', '1 40', 'cfn=(2) Runtime_CompileLazy', 'calls=2 0', '1 300', 'cfn=(3) 0x1010', 'calls=5 0', '1 600',
      'fn=(2)', '1 120', 'cfn=(4) v8::internal::Parser::Parse', 'calls=1 0', '1 180',
      'fn=(4)', '1 180',
      'fn=(3)', '1 600',
      'totals: 1000',
    ].join('\n');
    const names = parsePerfMap('1000 40 JS:*handle packet-in.js\n2000 10 JS:~other x.js\n');
    const profile = parseCallgrind(text, 'synthetic', names);
    expect(profile.total).toBe(1000);
    expect(profile.compile).toBe(300);
    expect(profile.self).toEqual({ Builtins_JSEntry: 40, Runtime_CompileLazy: 120, 'v8::internal::Parser::Parse': 180, 'JS:*handle packet-in.js': 600 });
    expect(profile.inclusive.Builtins_JSEntry).toBe(940);
    expect(profile.edges['JS:*handle packet-in.js\u0000Builtins_JSEntry']).toEqual([5, 600]);
  });

  it("counts the collector where code outside it calls it, and the part inside compile: estimated, or exact when named with callers", () => {
    const CG = 'v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace)';
    const file = (collections: string[]) => ['events: Ir',
      'fn=(1) main', '1 10', 'cfn=(2) v8::internal::Runtime_CompileLazy(int)', 'calls=1 0', '1 400', 'cfn=(3) 0x2000', 'calls=1 0', '1 1000',
      'fn=(2)', '1 100', 'cfn=(4) v8::internal::Factory::AllocateRaw(int)', 'calls=1 0', '1 300',
      'fn=(3)', '1 400', 'cfn=(4)', 'calls=2 0', '1 600',
      ...collections,
      'fn=(6)', '1 50', 'cfn=(7) v8::internal::ScavengerCollector::JobTask::Run(v8::JobDelegate*)', 'calls=3 0', '1 550',
      'fn=(7)', '1 550',
      'totals: 1410'].join('\n');
    // One CollectGarbage: 800 Ir from AllocateRaw, which compile calls for 300 of its 900 (a third, so 267 estimated).
    const flat = parseCallgrind(file([
      'fn=(4)', '1 100', `cfn=(5) ${CG}`, 'calls=3 0', '1 800',
      'fn=(5)', '1 200', 'cfn=(6) v8::platform::DefaultJobState::Join()', 'calls=3 0', '1 600',
    ]), 'flat');
    expect(flat.compile).toBe(400);
    // The scavenger's job (550) runs under Join, which only the collector calls: not counted again.
    expect(flat.gcInCompile).toBe(267);
    expect(flat.gc).toBe(800 - 267);
    // Named with callers (--separate-callers): 250 of the 800 came through compile, exactly.
    const named = parseCallgrind(file([
      'fn=(4)', '1 100', `cfn=(5) ${CG}'v8::internal::Factory::AllocateRaw(int)'v8::internal::Runtime_CompileLazy(int)'main`, 'calls=1 0', '1 250',
      `cfn=(8) ${CG}'v8::internal::Factory::AllocateRaw(int)'0x2000'main`, 'calls=2 0', '1 550',
      'fn=(5)', '1 50', 'cfn=(6) v8::platform::DefaultJobState::Join()', 'calls=1 0', '1 200',
      'fn=(8)', '1 150', 'cfn=(6)', 'calls=2 0', '1 400',
    ]), 'named');
    expect(named.compile).toBe(400);
    expect(named.gcInCompile).toBe(250);
    expect(named.gc).toBe(550);
  });

  it('says which file has no totals line (a child killed before it dumped) and refuses a name used before it is given', () => {
    expect(() => parseCallgrind('events: Ir\nfn=(1) main\n1 5\n', 'run-a/callgrind.out.77')).toThrow(/run-a\/callgrind.out.77: no summary\/totals line/);
    expect(() => parseCallgrind('events: Ir\nfn=(9)\n1 5\ntotals: 5\n', 'run-b')).toThrow(/run-b: function \(9\) used before it is named/);
  });
});

describe("callgrind's output of node: V8's collector counted apart", () => {
  // node 20 --predictable --expose-gc gc-fixture.js under the options `bench flowsetup --instructions` uses.
  const nodeOutput = gunzipSync(readFileSync(path.join(FIXTURES, 'node-gc.callgrind.out.gz'))).toString('utf8');
  const profile = parseCallgrind(nodeOutput, 'node-gc');

  it("reads the total valgrind printed and compile as the sum of callgrind_annotate's inclusive compile entries", () => {
    const collected = /Collected : (\d+)/.exec(readFileSync(path.join(FIXTURES, 'node-gc.valgrind-stderr.txt'), 'utf8'));
    expect(profile.total).toBe(Number(collected![1]));
    expect(profile.total).toBe(886_830_821);
    // callgrind_annotate --inclusive=yes: Runtime_CompileOptimizedOSR 22,874,178 + Runtime_CompileLazy 21,472,943 +
    // Runtime_NotifyDeoptimized 32,334 + two static initializers named after compile entries, 110 each. The collector's
    // entries named with callers that hold a compile entry (...'Runtime_CompileLazy'...) are not compile entries.
    expect(profile.compile).toBe(22_874_178 + 21_472_943 + 32_334 + 110 + 110);
  });

  it("counts each collection once: annotate's outermost collector entries, not the job a collection runs again", () => {
    // callgrind_annotate --inclusive=yes on the file: Heap::CollectGarbage named with its callers, six times (five from
    // the allocation slow path, one from gc()), Sweeper::EnsureCompleted at tear-down, and Sweeper::ParallelSweepSpace
    // from ContributeToSweepingMain; the rest (0.42 %) is small entries (incremental marking's start checks, root
    // visitors, array buffer sweeping) called from outside the collector.
    const outermost = 39_521_914 + 35_812_203 + 23_397_105 + 17_492_181 + 6_518_674 + 4_827_072 + 4_010_517 + 16_813;
    expect(profile.gc).toBeGreaterThanOrEqual(outermost);
    expect(profile.gc).toBeLessThan(outermost * 1.005);
    // The scavenger's job (101,105,068 Ir in 18 calls) is called from DefaultJobState::Join, which only the collector
    // calls: inside a collection already counted, not a second one.
    const job = profile.edges['v8::internal::ScavengerCollector::JobTask::Run(v8::JobDelegate*)\u0000v8::platform::DefaultJobState::Join()'];
    expect(job).toEqual([18, 101_105_068]);
    // One allocation inside a compile entry asked whether to start incremental marking: its callers say so.
    expect(profile.gcInCompile).toBe(677);
    expect(profile.gc + profile.gcInCompile).toBeLessThan(outermost * 1.005);
  });

  it("asks callgrind to name the collector's allocation entries with their callers", () => {
    expect(gcContextOptions()).toContain('--separate-callers60=v8::internal::Heap::CollectGarbage(*');
    expect(nodeOutput).toContain("fn=(13680) v8::internal::Heap::StartIncrementalMarkingIfAllocationLimitIsReached(int, v8::GCCallbackFlags)'");
  });
});
