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

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'reliability',
      testMatch: ['<rootDir>/test/reliability/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
  ],
  // Once per run: Redis for the integration and reliability projects (skipped when only unit tests run).
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  testTimeout: 60_000,
  // Every test closes what it opens, but a full run leaves a handle in jest's own process that we have
  // not traced; end the run once the results are reported rather than hang CI.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.cjs'],
};
