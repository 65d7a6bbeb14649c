/** Jest runs the TypeScript sources through ts-jest (CommonJS), except the
 * package-import test, which loads the built `dist/` the way a user would. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }],
  },
  // Examples import the package by name, as users do; in tests that name is the source.
  moduleNameMapper: { '^statechart-consensus$': '<rootDir>/index.ts' },
  testTimeout: 60000,
  // Jest's default of one worker per core less one leaves a 2-core machine one
  // worker; the suites never read the wall clock, so both cores can run them.
  maxWorkers: 2,
};
