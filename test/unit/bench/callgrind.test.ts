import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCallgrind, parsePerfMap } from '../../../src/bench/callgrind';

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

  it('says which file has no totals line (a child killed before it dumped) and refuses a name used before it is given', () => {
    expect(() => parseCallgrind('events: Ir\nfn=(1) main\n1 5\n', 'run-a/callgrind.out.77')).toThrow(/run-a\/callgrind.out.77: no summary\/totals line/);
    expect(() => parseCallgrind('events: Ir\nfn=(9)\n1 5\ntotals: 5\n', 'run-b')).toThrow(/run-b: function \(9\) used before it is named/);
  });
});
