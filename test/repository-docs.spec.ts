/**
 * The repository stands alone: its code, tests, docs and README never cite
 * documents that live outside it (team notes, issue numbers), and every
 * relative link of the README and docs/ points at a file that exists.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const ROOT = join(__dirname, '..');
const DIRS = ['src', 'test', 'bench', 'scripts', 'migrations', 'docs'];

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.(ts|js|mjs|md|sql|json|ya?ml)$/.test(name) ? [path] : [];
  });
}

// Built from parts so that this file does not match itself.
const OUTSIDE = [new RegExp(['\\.\\./', 'shared', '/'].join('')), new RegExp(['DESIGN', '\\.md'].join('')), new RegExp(['\\bissue', ' #?\\d'].join(''), 'i')];

describe('repository documents', () => {
  it('cite nothing outside the repository', () => {
    const hits = [...DIRS.flatMap((d) => files(join(ROOT, d))), join(ROOT, 'README.md')].flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (OUTSIDE.some((re) => re.test(line)) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(hits).toEqual([]);
  });

  it('link only to files that exist', () => {
    const docs = [join(ROOT, 'README.md'), ...files(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))];
    const broken = docs.flatMap((doc) =>
      [...readFileSync(doc, 'utf8').matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
        .map((m) => m[1])
        .filter((target) => !/^[a-z]+:/.test(target) && !existsSync(join(dirname(doc), target)))
        .map((target) => `${relative(ROOT, doc)} → ${target}`),
    );
    expect(broken).toEqual([]);
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('](docs/architecture.md)');
  });
});
