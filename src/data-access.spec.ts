/**
 * The data-access convention, checked: SQL text runs only from `*.repository.ts`
 * files, whose methods take the caller's EntityManager first. A `.query(` call
 * anywhere else in src/ fails this spec — except platform infrastructure that is
 * not a module's data (starting the embedded server, the health probe's own
 * pool, the metrics scrape), listed below with the reason.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

const SRC = resolve(__dirname);

/** Files allowed to send SQL outside a repository, and why. */
const INFRASTRUCTURE: Record<string, string> = {
  'platform/database/embedded-postgres.ts': 'creates the database of an embedded server before any module exists',
  'platform/health/health.controller.ts': "the health probe's SELECT 1 on its own small pool",
  'platform/metrics/metrics.service.ts': 'reads pg_stat_activity at scrape time',
  'platform/clock/clock-sync.service.ts': "LISTENs for the sandbox clock's changes on a connection of its own (a pooled one cannot hold a LISTEN)",
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [join(dir, e.name)] : [],
  );
}

/** Lines of `text` that call `.query(` (comments ignored). */
export function queryCalls(text: string): number[] {
  const lines: number[] = [];
  text.split('\n').forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    if (/^\s*\*/.test(code)) return;
    if (/\.query\s*[(<]/.test(code)) lines.push(i + 1);
  });
  return lines;
}

describe('data access: SQL only in *.repository.ts', () => {
  it('recognises a query call, typed or not, and ignores comments', () => {
    expect(queryCalls("await em.query('SELECT 1')")).toEqual([1]);
    expect(queryCalls('const rows = await em.query<Row[]>(sql, [id]);')).toEqual([1]);
    expect(queryCalls("// em.query('x')\n * em.query('y')")).toEqual([]);
  });

  it('no service, job, loader or resolver sends SQL itself', () => {
    const offenders = sourceFiles(SRC)
      .map((file) => ({ file: relative(SRC, file).split(sep).join('/'), lines: queryCalls(readFileSync(file, 'utf8')) }))
      .filter(({ file, lines }) => lines.length > 0 && !file.endsWith('.repository.ts') && !(file in INFRASTRUCTURE))
      .map(({ file, lines }) => `${file}:${lines.join(',')}`);
    expect(offenders).toEqual([]);
  });

  it('every allowed exception still exists (the list does not go stale)', () => {
    for (const file of Object.keys(INFRASTRUCTURE)) {
      expect({ file, calls: queryCalls(readFileSync(join(SRC, file), 'utf8')).length > 0 }).toEqual({ file, calls: true });
    }
  });
});
