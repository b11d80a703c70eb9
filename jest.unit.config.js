const base = require('./jest.base.config');
module.exports = {
  ...base,
  reporters: ['default', ['<rootDir>/test/helpers/summary-reporter.js', { name: 'unit' }]],
  displayName: 'unit',
  // bench/test: unit tests of the benchmark tooling in bench/lib (kept out of src/, not shipped).
  roots: ['<rootDir>/test/unit', '<rootDir>/bench/test'],
  testMatch: ['**/*.test.ts'],
  maxWorkers: 2,
  // The default 5 s is too tight on a loaded 2-core host for tests that run CLI commands in-process.
  testTimeout: 30000,
  // Fails a test file that leaves a daemon's election record in the host's /var/lib/vadc/ha (the helper says why).
  setupFilesAfterEnv: ['<rootDir>/test/helpers/ha-dir-guard.ts'],
};
