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
  // "A worker process has failed to exit gracefully" under load was not a leak: with a diagnostic preload (tidy14,
  // load 14-22) the workers exited 0-1 ms after they got jest's END message, with only their stdio pipes open; jest's
  // own process saw those exits 0.6-5.5 s later (busy or not scheduled), after its 500 ms force-exit timer. A worker
  // that really hangs is still killed, after this long.
  workerGracefulExitTimeout: 10000,
  // Fails a test file that leaves a daemon's election record in the host's /var/lib/vadc/ha (the helper says why).
  setupFilesAfterEnv: ['<rootDir>/test/helpers/ha-dir-guard.ts'],
};
