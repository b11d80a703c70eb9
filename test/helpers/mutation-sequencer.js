// The test sequencer of jest.mutation.config.js (StrykerJS runs; docs/mutation.md). Stryker runs a mutant with
// findRelatedTests (every test file that imports the mutated file) and a testNamePattern naming the tests that
// covered the mutant in the dry run. Jest still loads every related file, most of a mutant's cost. This drops the
// files none of whose tests (as mutation-environment.js recorded them in the dry run) match the pattern: they
// would run no test. A file it has no record of is kept, and so is everything when nothing would be left. The files
// kept run the ones that failed last time first (they killed the mutant before), then the quickest: once a test has
// failed, mutation-environment.js skips the rest of the mutant's tests.
const fs = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;

function recordedNames() {
  const names = (globalThis.__vadcMutationTestNames ??= new Map());
  const file = process.env.VADC_MUTATION_NAMES_FILE;
  if (names.size === 0 && file && fs.existsSync(file)) {
    for (const [path, list] of Object.entries(JSON.parse(fs.readFileSync(file, 'utf8')))) names.set(path, new Set(list));
  }
  return names;
}

class MutationSequencer extends Sequencer {
  constructor(options) {
    super(options);
    this.testNamePattern = options.globalConfig.testNamePattern;
  }

  async sort(tests) {
    const sorted = (await super.sort(tests)).sort((a, b) =>
      Number(this.hasFailed(b)) - Number(this.hasFailed(a)) || (a.duration ?? Infinity) - (b.duration ?? Infinity));
    if (!this.testNamePattern) return sorted;
    const pattern = new RegExp(this.testNamePattern, 'i');
    const names = recordedNames();
    const kept = sorted.filter((test) => {
      const recorded = names.get(test.path);
      return recorded === undefined || [...recorded].some((name) => pattern.test(name));
    });
    return kept.length > 0 ? kept : sorted;
  }
}

module.exports = MutationSequencer;
