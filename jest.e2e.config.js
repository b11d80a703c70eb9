// End-to-end tests run against a real Open vSwitch lab; they share the host's CPU and
// network namespaces, so they run one file at a time.
const base = require('./jest.base.config');
module.exports = {
  ...base,
  reporters: ['default', ['<rootDir>/test/helpers/summary-reporter.js', { name: 'e2e' }]],
  displayName: 'e2e',
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['**/*.e2e.ts'],
  maxWorkers: 1,
  testTimeout: 120000,
  // A failed test runs once more, reported by name in the summary (test/helpers/e2e-retry.ts says why); a test file
  // that leaves a daemon's election record in the host's /var/lib/vadc/ha fails (test/helpers/ha-dir-guard.ts).
  setupFilesAfterEnv: ['<rootDir>/test/helpers/e2e-retry.ts', '<rootDir>/test/helpers/ha-dir-guard.ts'],
};
