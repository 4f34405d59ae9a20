/**
 * The shape of the tree, checked by `npm test` (`npm run deps`): no import cycles, type-only imports included
 * (a type cycle marks a concept in the wrong file), and src/ reaches producers/ and workers/ only from its
 * composition roots: the library entry, the command line and the HTTP app.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle, type-only imports counted: move the shared piece to a module both can import.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-only-roots-import-up',
      severity: 'error',
      comment:
        'src/ is the shared core: only src/index.ts, src/cli/ and src/http/ put producers/ and workers/ together.',
      from: { path: '^src/', pathNot: ['^src/index\\.ts$', '^src/cli/', '^src/http/'] },
      to: { path: '^(producers|workers)/' },
    },
    {
      name: 'production-not-from-tests',
      severity: 'error',
      comment: 'Production code never imports the test tree or the bench.',
      from: { path: '^(src|producers|workers)/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
