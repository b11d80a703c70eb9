// The test runner of jest.mutation.config.js (StrykerJS runs; docs/mutation.md): jest's own, one test file at a time
// (Stryker runs jest in band), and once a test has failed for the active mutant (mutation-environment.js notes it)
// the files after it are not loaded at all: the mutant is killed, and loading a file is most of a mutant's cost.
// Without an active mutant (the dry run) every file runs.
const TestRunner = require('jest-runner').default;

const ACTIVE_MUTANT = '__STRYKER_ACTIVE_MUTANT__';

class MutationRunner extends TestRunner {
  async runTests(tests, watcher, options) {
    const active = process.env[ACTIVE_MUTANT];
    if (!options.serial || active === undefined) return super.runTests(tests, watcher, options);
    for (const test of tests) {
      if (globalThis.__vadcMutationKilled === active) break;
      await super.runTests([test], watcher, options);
    }
  }
}

module.exports = MutationRunner;
