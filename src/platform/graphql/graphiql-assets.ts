/**
 * Where the GraphiQL bundle lives (built by scripts/build-graphiql.ts) and
 * what the page may load from it. One list, shared by the build and the
 * controller that serves it.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The project root (the nearest directory with a package.json), from src/… or dist/src/… alike. */
export function projectRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

export const GRAPHIQL_ASSET_DIR = join(projectRoot(__dirname), 'dist', 'graphiql');

export const GRAPHIQL_ASSETS: Record<string, { file: string; type: string }> = {
  'graphiql.js': { file: 'graphiql.js', type: 'application/javascript; charset=utf-8' },
  'graphiql.css': { file: 'graphiql.css', type: 'text/css; charset=utf-8' },
};
