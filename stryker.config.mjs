import fs from 'node:fs';
import path from 'node:path';

// Mutation testing (issue 18): StrykerJS over the pure cores, src/lb, src/flows and src/openflow, with the unit
// suite as the judge. Slow (thousands of mutants, each re-running the tests that cover it): run locally, not in
// `npm test`. `npm run mutation` mutates all three; VADC_MUTATION_PART=lb|flows|openflow one of them (its own
// report and incremental file, so re-runs after new tests only re-test what changed); VADC_MUTATION_CONCURRENCY
// sets the worker count (default 2). Reports: reports/mutation/<part>/ (HTML + JSON). docs/mutation.md keeps the
// figures and the survivors judged equivalent.
const parts = {
  lb: ['src/lb/**/*.ts'],
  flows: ['src/flows/**/*.ts'],
  openflow: ['src/openflow/**/*.ts'],
};
const part = process.env.VADC_MUTATION_PART ?? 'all';
if (part !== 'all' && !(part in parts)) throw new Error(`VADC_MUTATION_PART must be lb, flows, openflow or all, not ${part}`);
const mutate = part === 'all' ? Object.values(parts).flat() : parts[part];
// A run over some files of a part (`-- --mutate ...`) keeps its report and incremental file apart under this name.
const name = process.env.VADC_MUTATION_NAME ?? part;
// The dry run's test names per test file (test/helpers/mutation-environment.js writes it, mutation-sequencer.js
// reads it): made anew by every run's dry run, so a stale one never drops a file that now covers a mutant.
const namesFile = path.resolve(`reports/mutation/${name}/test-names.json`);
fs.rmSync(namesFile, { force: true });
fs.mkdirSync(path.dirname(namesFile), { recursive: true });
process.env.VADC_MUTATION_NAMES_FILE = namesFile;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  // findRelatedTests: a mutant of a file runs only the test files that import it (and, with perTest coverage,
  // only the tests that reached it), so a mutant costs a few test files rather than the whole suite.
  jest: { configFile: 'jest.mutation.config.js', enableFindRelatedTests: true },
  coverageAnalysis: 'perTest',
  // index.ts files only re-export.
  mutate: [...mutate, '!src/**/index.ts'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}/index.html` },
  jsonReporter: { fileName: `reports/mutation/${name}/mutation.json` },
  incremental: true,
  incrementalFile: `reports/mutation/${name}/incremental.json`,
  concurrency: Number(process.env.VADC_MUTATION_CONCURRENCY ?? 2),
  // Added to the tests' own time before a mutant counts as timed out (an endless probe loop, say): long enough
  // for a loaded 2-core host, short enough that the table's many looping mutants do not dominate the run.
  timeoutMS: 5000,
  dryRunTimeoutMinutes: 30,
  thresholds: { high: 90, low: 80, break: null },
  // Copied into each sandbox: the sources and tests only (not the local Node 24, the build or reports).
  ignorePatterns: ['.tools', 'dist', 'reports', 'coverage', '.lab', '.vadc'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
