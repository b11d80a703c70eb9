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
  htmlReporter: { fileName: `reports/mutation/${part}/index.html` },
  jsonReporter: { fileName: `reports/mutation/${part}/mutation.json` },
  incremental: true,
  incrementalFile: `reports/mutation/${part}/incremental.json`,
  concurrency: Number(process.env.VADC_MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 10000,
  dryRunTimeoutMinutes: 30,
  thresholds: { high: 90, low: 80, break: null },
  // Copied into each sandbox: the sources and tests only (not the local Node 24, the build or reports).
  ignorePatterns: ['.tools', 'dist', 'reports', 'coverage', '.lab', '.vadc'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
