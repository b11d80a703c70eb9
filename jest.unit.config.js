const base = require('./jest.base.config');
module.exports = {
  ...base,
  reporters: ['default', ['<rootDir>/test/helpers/summary-reporter.js', { name: 'unit' }]],
  displayName: 'unit',
  // bench/test: unit tests of the benchmark tooling in bench/lib (kept out of src/, not shipped).
  roots: ['<rootDir>/test/unit', '<rootDir>/bench/test'],
  testMatch: ['**/*.test.ts'],
  maxWorkers: 2,
};
