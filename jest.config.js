// Jest runs the project as native ES modules (p-retry 7 ships ESM only), so it must be started with
// --experimental-vm-modules; see the "test:*" scripts in package.json.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  // Sources import './x.js' for their .ts files; a package's own "…/metadata.min.json.js" stays as it is.
  moduleNameMapper: { '^(\\.{1,2}/.*)(?<!\\.json)\\.js$': '$1' },
  testEnvironment: 'node',
};

// A minute or more each on 2 cores: `npm run test:slow` runs them, `npm test` does not; CI runs both.
const slow = ['test/integration/bench.test.ts', 'test/reliability/scenarios.test.ts'];
const notSlow = slow.map((file) => `<rootDir>/${file.replaceAll('.', '\\.')}$`);

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'reliability',
      testMatch: ['<rootDir>/test/reliability/**/*.test.ts'],
      testPathIgnorePatterns: notSlow,
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      testPathIgnorePatterns: notSlow,
    },
    { ...common, displayName: 'slow', testMatch: slow.map((file) => `<rootDir>/${file}`) },
  ],
  // Once per run: Redis for every project but unit (skipped when only unit tests run).
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  testTimeout: 60_000,
  // Every test closes what it opens, but a full run leaves a handle in jest's own process that we have
  // not traced; end the run once the results are reported rather than hang CI.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.cjs'],
};
