/**
 * GraphiQL served from this server: one script and one stylesheet bundled at
 * build time (scripts/build-graphiql.ts: graphiql + React 18 + its CSS), no
 * CDN, works offline. Not registered in production (see platform.module.ts).
 */
import { Controller, Get, Header, NotFoundException, Param, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Public } from '../auth/decorators';
import { GRAPHIQL_ASSET_DIR, GRAPHIQL_ASSETS } from './graphiql-assets';

const cache = new Map<string, Buffer>();
function asset(name: string): Buffer {
  let buf = cache.get(name);
  if (!buf) {
    try {
      buf = readFileSync(join(GRAPHIQL_ASSET_DIR, GRAPHIQL_ASSETS[name].file));
    } catch {
      throw new ServiceUnavailableException('The GraphiQL bundle is not built: run `npm run build`');
    }
    cache.set(name, buf);
  }
  return buf;
}

// The bundle renders into #graphiql itself: the page has no inline script.
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Beiming GraphiQL</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/graphiql/assets/graphiql.css">
<style>html,body,#graphiql{height:100%;margin:0}</style></head>
<body><div id="graphiql">Loading…</div>
<script src="/graphiql/assets/graphiql.js"></script>
</body></html>`;

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
    if (!Object.hasOwn(GRAPHIQL_ASSETS, name)) throw new NotFoundException();
    void reply.header('content-type', GRAPHIQL_ASSETS[name].type).header('cache-control', 'public, max-age=86400').send(asset(name));
  }
}
