/**
 * Builds the GraphiQL page's assets (graphiql + react + react-dom + its CSS)
 * into dist/graphiql with esbuild, so the page loads nothing from a CDN and
 * needs no UMD file from React (React 18 no longer exports them).
 *
 * Run by `npm run build` (and so by `npm start`) and, when the bundle is
 * missing or was built from another entry or other package versions, by the test run's global
 * set-up. `ensureGraphiqlBundle()` is that check; the command line always builds.
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRAPHIQL_ASSET_DIR, GRAPHIQL_ASSETS, projectRoot } from '../src/platform/graphql/graphiql-assets';

const ROOT = projectRoot(__dirname);
const MANIFEST = join(GRAPHIQL_ASSET_DIR, 'manifest.json');
const PACKAGES = ['graphiql', '@graphiql/react', '@graphiql/toolkit', 'react', 'react-dom', 'esbuild'];

// The page's whole script: no inline code in the HTML, the fetcher posts to this origin's /graphql.
const ENTRY = `
import React from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/graphiql.css';

const fetcher = createGraphiQLFetcher({ url: '/graphql' });
createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: true,
    // A placeholder Authorization header would be sent as is and refuse every query,
    // public ones included: the hint lives in the default query instead.
    defaultQuery: [
      '# Beiming GraphQL API. Public reads need no token, for example:',
      '#   { catalog(first: 5) { totalCount edges { node { id name } } } }',
      '# For everything else, run logIn (or signUp) and put its accessToken in',
      '# the Headers tab below: { "Authorization": "Bearer <accessToken>" }',
      '',
      '{ __typename }',
      '',
    ].join('\\n'),
  }),
);
`;

/** What a bundle was built from: the entry above and the versions of what it bundles. */
function versions(): Record<string, string> {
  const out: Record<string, string> = { entry: createHash('sha256').update(ENTRY).digest('hex').slice(0, 16) };
  for (const name of PACKAGES) {
    out[name] = (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  }
  return out;
}

export async function buildGraphiqlBundle(): Promise<void> {
  mkdirSync(GRAPHIQL_ASSET_DIR, { recursive: true });
  await build({
    stdin: { contents: ENTRY, resolveDir: ROOT, sourcefile: 'graphiql-entry.js', loader: 'js' },
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    platform: 'browser',
    // The bundle is named graphiql.js; esbuild names the CSS it extracts after it.
    outfile: join(GRAPHIQL_ASSET_DIR, GRAPHIQL_ASSETS['graphiql.js'].file),
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'linked',
    logLevel: 'warning',
  });
  writeFileSync(MANIFEST, JSON.stringify({ versions: versions() }, null, 2));
}

/** Builds the bundle unless an up-to-date one (same entry and package versions) is already there. */
export async function ensureGraphiqlBundle(): Promise<boolean> {
  const present = Object.values(GRAPHIQL_ASSETS).every((a) => existsSync(join(GRAPHIQL_ASSET_DIR, a.file)));
  if (present && existsSync(MANIFEST)) {
    const built = (JSON.parse(readFileSync(MANIFEST, 'utf8')) as { versions?: unknown }).versions;
    if (JSON.stringify(built) === JSON.stringify(versions())) return false;
  }
  await buildGraphiqlBundle();
  return true;
}

if (require.main === module) {
  buildGraphiqlBundle().catch((err: unknown) => {
    console.error('GraphiQL bundle build failed:', err);
    process.exit(1);
  });
}
