// The test environment of jest.mutation.config.js (StrykerJS runs; docs/mutation.md). Two things that make a
// mutant cheaper without changing its verdict (killed = some covering test fails):
// - In the dry run (no active mutant) it records every test's full name per test file (`test_start` fires for
//   skipped tests too), in memory and in VADC_MUTATION_NAMES_FILE, for mutation-sequencer.js, which then runs only
//   the test files that hold a test covering the mutant instead of every related file.
// - In a mutant run, once a test has failed the mutant is killed: the tests after it are skipped (jest has no
//   programmatic bail), and mutation-runner.js loads no file after this one.
const fs = require('node:fs');
const { TestEnvironment } = require('jest-environment-node');

const ACTIVE_MUTANT = '__STRYKER_ACTIVE_MUTANT__';
const names = (globalThis.__vadcMutationTestNames ??= new Map());

function fullName(test) {
  const titles = [];
  for (let block = test; block && block.parent; block = block.parent) titles.unshift(block.name);
  return titles.join(' ');
}

class MutationEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
  }

  async handleTestEvent(event) {
    const active = process.env[ACTIVE_MUTANT];
    if (event.name === 'test_start') {
      if (active === undefined) {
        if (!names.has(this.testPath)) names.set(this.testPath, new Set());
        names.get(this.testPath).add(fullName(event.test));
      } else if (globalThis.__vadcMutationKilled === active) {
        event.test.mode = 'skip';
      }
    } else if (event.name === 'test_done' && active !== undefined && event.test.errors.length > 0) {
      globalThis.__vadcMutationKilled = active;
    }
  }

  async teardown() {
    const file = process.env.VADC_MUTATION_NAMES_FILE;
    if (process.env[ACTIVE_MUTANT] === undefined && file && names.has(this.testPath)) {
      const all = Object.fromEntries([...names].map(([path, set]) => [path, [...set]]));
      fs.writeFileSync(file, JSON.stringify(all));
    }
    await super.teardown();
  }
}

module.exports = MutationEnvironment;
