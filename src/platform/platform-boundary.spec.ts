/**
 * platform/ is the layer every feature module builds on, so it must not depend
 * on any of them (nor on the composition roots above it, such as
 * src/database-schema.ts): each import, export-from, dynamic import() and
 * require() of a file under src/platform must stay inside src/platform or name
 * a package.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';

const PLATFORM = resolve(__dirname);
const REPO = resolve(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier a file names, dynamic imports and require() included. */
function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** Imports of `file` that leave platform/ (relative paths out of it, or paths into the repository). */
function escapes(file: string, text: string): string[] {
  return specifiersOf(text).filter((spec) => {
    if (spec.startsWith('.')) {
      const target = resolve(dirname(file), spec);
      return target !== PLATFORM && !target.startsWith(PLATFORM + sep);
    }
    return /^(src|migrations|test|scripts|bench)(\/|$)/.test(spec);
  });
}

describe('platform/ imports no feature module', () => {
  it('finds the imports it checks (dynamic ones and require included)', () => {
    const probe = join(PLATFORM, 'database', 'probe.ts');
    const text = [
      `import { A } from '../../licensing/license-agreement.service';`,
      `export * from '../../database-schema';`,
      `import type { B } from './transaction';`,
      `const c = require('../../../migrations');`,
      `const d = import('../../audit/audit.service');`,
      `import { DataSource } from 'typeorm';`,
    ].join('\n');
    expect(escapes(probe, text)).toEqual([
      '../../licensing/license-agreement.service',
      '../../database-schema',
      '../../../migrations',
      '../../audit/audit.service',
    ]);
  });

  it('holds for every file under src/platform', () => {
    const files = sourceFiles(PLATFORM);
    expect(files.length).toBeGreaterThan(20);
    const offending = files.flatMap((file) =>
      escapes(file, readFileSync(file, 'utf8')).map((spec) => `${relative(REPO, file)} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });
});
