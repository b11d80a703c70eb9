// Shared jest settings. ts-jest transpiles each file on its own (isolatedModules) for speed;
// `npm run typecheck` is the full type check.
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json', diagnostics: false }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
};
