/**
 * Layering of DESIGN.md: imports point down only. Each package may import only the packages below
 * it in the diagram; core imports nothing of ours and no Node built-in.
 */
const allowed = {
  core: [],
  codec: ['core'],
  // ZooKeeper's jute wire protocol, beside codec: pure encode/decode of core's shapes.
  jute: ['core'],
  'transport-tcp': ['jute', 'codec', 'core'],
  storage: ['core'],
  // sim runs the real storage on its simulated disk; a test tool, nothing at runtime imports it.
  sim: ['storage', 'codec', 'core'],
  client: ['transport-tcp', 'codec', 'core'],
  server: ['client', 'storage', 'transport-tcp', 'codec', 'core'],
  cli: ['client', 'codec', 'core'],
  // bench makes its TLS run's certificates with transport-tcp's test PKI.
  bench: ['server', 'client', 'transport-tcp', 'codec', 'core'],
};
const where = { server: 'apps', cli: 'apps', bench: 'apps' };
const dir = (name) => `^${where[name] ?? 'packages'}/${name}/`;
const all = Object.keys(allowed);

module.exports = {
  forbidden: [
    {
      name: 'core-no-node-builtins',
      comment: '@zabkit/core runs anywhere: no Node built-ins (I/O is data the host carries out).',
      severity: 'error',
      from: { path: '^packages/core/src/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'core-no-dependencies',
      comment: '@zabkit/core has no runtime dependencies.',
      severity: 'error',
      from: { path: '^packages/core/src/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    ...all.map((name) => {
      const forbiddenNames = all.filter((other) => other !== name && !allowed[name].includes(other));
      return {
        name: `layering-${name}`,
        comment: `${name} may import only: ${allowed[name].join(', ') || 'nothing of ours'} (DESIGN.md: imports point down only)`,
        severity: 'error',
        from: { path: dir(name) },
        to: {
          path: forbiddenNames.length
            ? `(${forbiddenNames.map((n) => `${dir(n).slice(1)}|node_modules/@zabkit/${n}/|^@zabkit/${n}($|/)`).join('|')})`
            : '^$',
        },
      };
    }),
    {
      name: 'no-unresolvable',
      comment: 'an import that does not resolve is a missing dependency in package.json (or an unbuilt package)',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|reports|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
