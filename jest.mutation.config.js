// The unit tests StrykerJS judges mutants with (stryker.config.mjs): those of the mutated parts (src/lb, src/flows,
// src/openflow), of the app that drives them and the decoders' fuzz, in band (Stryker runs its own workers) and
// without the summary reporter (it writes a file per run). VADC_MUTATION_TESTS (comma-separated folders under
// test/unit) narrows them, e.g. VADC_MUTATION_TESTS=lb for a quick look at src/lb; VADC_MUTATION_TEST_FILES
// (comma-separated file names) narrows them to some files, e.g. connection-table.test.ts,ipv6.test.ts: each mutant
// run loads every test file that imports the mutated file, so fewer files is much faster (the score is then a
// lower bound). mutation-environment.js and mutation-sequencer.js make a mutant cheaper without changing its
// verdict: only the related files that hold a test covering the mutant are loaded, and once one of its tests has
// failed the rest are skipped and the files after it not loaded (mutation-runner.js; VADC_MUTATION_PLAIN=1 turns
// all three off, to compare).
const path = require('node:path');
const unit = require('./jest.unit.config');
const folders = (process.env.VADC_MUTATION_TESTS ?? 'lb,flows,openflow,app,fuzz').split(',').filter(Boolean);
const files = (process.env.VADC_MUTATION_TEST_FILES ?? '').split(',').filter(Boolean);
module.exports = {
  ...unit,
  reporters: ['default'],
  maxWorkers: 1,
  ...(process.env.VADC_MUTATION_PLAIN === '1' ? {} : {
    // Absolute paths: Stryker loads the environment itself (its coverage mixin), without jest's <rootDir>.
    testEnvironment: path.join(__dirname, 'test/helpers/mutation-environment.js'),
    testSequencer: path.join(__dirname, 'test/helpers/mutation-sequencer.js'),
    runner: path.join(__dirname, 'test/helpers/mutation-runner.js'),
  }),
  ...(files.length > 0 ? { testMatch: files.map((file) => `**/${file}`) } : {}),
  // src too: findRelatedTests follows imports only through files under the roots (src/lb/index.ts to its schedulers).
  roots: ['<rootDir>/src', ...folders.map((folder) => `<rootDir>/test/unit/${folder}`)],
};
