const base = require('./jest.base.config');
module.exports = {
  ...base,
  reporters: ['default', ['<rootDir>/test/helpers/summary-reporter.js', { name: 'unit' }]],
  displayName: 'unit',
  roots: ['<rootDir>/test/unit'],
  testMatch: ['**/*.test.ts'],
  maxWorkers: 2,
};
