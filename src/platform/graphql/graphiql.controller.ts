/**
 * GraphiQL served from node_modules (graphiql 3 UMD + React 18 UMD): no CDN,
 * works offline. Not registered in production (see platform.module.ts).
 */
import { Controller, Get, Header, NotFoundException, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { Public } from '../auth/decorators';

const ASSETS: Record<string, { file: string; type: string }> = {
  'react.js': { file: 'react/umd/react.production.min.js', type: 'application/javascript' },
  'react-dom.js': { file: 'react-dom/umd/react-dom.production.min.js', type: 'application/javascript' },
  'graphiql.js': { file: 'graphiql/graphiql.min.js', type: 'application/javascript' },
  'graphiql.css': { file: 'graphiql/graphiql.min.css', type: 'text/css' },
};

const cache = new Map<string, Buffer>();
function asset(name: string): Buffer {
  let buf = cache.get(name);
  if (!buf) {
    buf = readFileSync(require.resolve(ASSETS[name].file));
    cache.set(name, buf);
  }
  return buf;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Beiming GraphiQL</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/graphiql/assets/graphiql.css">
<style>html,body,#graphiql{height:100%;margin:0}</style></head>
<body><div id="graphiql">Loading…</div>
<script src="/graphiql/assets/react.js"></script>
<script src="/graphiql/assets/react-dom.js"></script>
<script src="/graphiql/assets/graphiql.js"></script>
<script>
const fetcher = GraphiQL.createFetcher({ url: '/graphql' });
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true,
    defaultHeaders: '{\\n  "Authorization": "Bearer <accessToken from logIn>"\\n}' }));
</script></body></html>`;

@Public()
@Controller('graphiql')
export class GraphiqlController {
  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }

  @Get('assets/:name')
  file(@Param('name') name: string, @Res() reply: FastifyReply): void {
    if (!Object.hasOwn(ASSETS, name)) throw new NotFoundException();
    void reply.header('content-type', ASSETS[name].type).header('cache-control', 'public, max-age=86400').send(asset(name));
  }
}
