/**
 * Builds the console (web/console: React, urql + graphcache, recharts,
 * @xyflow/react + dagre) into dist/console with esbuild: index.html, one
 * script and one stylesheet, nothing from a CDN. The GraphQL client's cache
 * is given the schema (from schema.gql, minified introspection) so unions and
 * interfaces are matched exactly and types without an id are embedded.
 *
 * Run by `npm run build` (and so by `npm start`) and, when the bundle is
 * missing or stale (other sources, schema or package versions), by the test
 * run's global set-up. `ensureConsoleBundle()` is that check; the command
 * line always builds.
 */
import { build, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildSchema, introspectionFromSchema } from 'graphql';
import { minifyIntrospectionQuery } from '@urql/introspection';
import { projectRoot } from '../src/platform/graphql/graphiql-assets';
import { CONSOLE_ASSET_DIR, CONSOLE_ASSETS } from '../src/platform/console/console-assets';

const ROOT = projectRoot(__dirname);
const SOURCE = join(ROOT, 'web', 'console');
const MANIFEST = join(CONSOLE_ASSET_DIR, 'manifest.json');
const PACKAGES = ['react', 'react-dom', 'urql', '@urql/exchange-graphcache', '@urql/introspection', 'recharts', '@xyflow/react', '@dagrejs/dagre', 'canonicalize', 'graphql', 'esbuild'];

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Beiming console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/console.css">
</head>
<body><div id="root"><p class="boot">Loading the console…</p></div>
<script src="/console/assets/console.js"></script>
</body></html>
`;

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
}

/** What a bundle was built from: the sources, the schema, this script and the versions of what it bundles. */
function versions(): Record<string, string> {
  const h = createHash('sha256');
  for (const f of [...files(SOURCE), join(ROOT, 'schema.gql'), join(ROOT, 'scripts', 'build-console.ts')]) {
    if (!existsSync(f)) continue;
    h.update(relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  const out: Record<string, string> = { sources: h.digest('hex').slice(0, 16) };
  for (const name of PACKAGES) {
    out[name] = (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  }
  return out;
}

/** `import schema from 'virtual:schema'`: the minified introspection of schema.gql. */
const schemaPlugin: Plugin = {
  name: 'schema',
  setup(b) {
    b.onResolve({ filter: /^virtual:schema$/ }, () => ({ path: 'schema', namespace: 'virtual' }));
    b.onLoad({ filter: /.*/, namespace: 'virtual' }, () => {
      const schema = buildSchema(readFileSync(join(ROOT, 'schema.gql'), 'utf8'));
      return { contents: JSON.stringify(minifyIntrospectionQuery(introspectionFromSchema(schema))), loader: 'json' };
    });
  },
};

export async function buildConsoleBundle(): Promise<void> {
  mkdirSync(CONSOLE_ASSET_DIR, { recursive: true });
  await build({
    entryPoints: [join(SOURCE, 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    platform: 'browser',
    jsx: 'automatic',
    tsconfig: join(SOURCE, 'tsconfig.json'),
    outfile: join(CONSOLE_ASSET_DIR, CONSOLE_ASSETS['console.js'].file),
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [schemaPlugin],
    legalComments: 'linked',
    logLevel: 'warning',
  });
  writeFileSync(join(CONSOLE_ASSET_DIR, 'index.html'), PAGE);
  writeFileSync(MANIFEST, JSON.stringify({ versions: versions() }, null, 2));
}

/** Builds the bundle unless an up-to-date one (same sources, schema and package versions) is already there. */
export async function ensureConsoleBundle(): Promise<boolean> {
  const present = [...Object.values(CONSOLE_ASSETS).map((a) => a.file), 'index.html'].every((f) => existsSync(join(CONSOLE_ASSET_DIR, f)));
  if (present && existsSync(MANIFEST)) {
    const built = (JSON.parse(readFileSync(MANIFEST, 'utf8')) as { versions?: unknown }).versions;
    if (JSON.stringify(built) === JSON.stringify(versions())) return false;
  }
  await buildConsoleBundle();
  return true;
}

if (require.main === module) {
  const started = Date.now();
  buildConsoleBundle().then(
    () => console.log(`console built in ${Date.now() - started} ms (dist/console)`),
    (err: unknown) => {
      console.error('Console bundle build failed:', err);
      process.exit(1);
    },
  );
}
