/**
 * The console (a single-page app for vendors, distillers and admins) served
 * from this server: one script and one stylesheet bundled at build time
 * (scripts/build-console.ts), no CDN, works offline. Every /console/… path
 * that is not an asset answers the same page, so deep links work; the app
 * reads the path itself. Public: the page holds no data, the API checks every
 * call.
 */
import { Controller, Get, NotFoundException, Param, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Public } from '../auth/decorators';
import { CONSOLE_ASSET_DIR, CONSOLE_ASSETS, CONSOLE_CSP } from './console-assets';

const cache = new Map<string, Buffer>();
function read(file: string): Buffer {
  let buf = cache.get(file);
  if (!buf) {
    try {
      buf = readFileSync(join(CONSOLE_ASSET_DIR, file));
    } catch {
      throw new ServiceUnavailableException('The console is not built: run `npm run build`');
    }
    cache.set(file, buf);
  }
  return buf;
}

function page(reply: FastifyReply): void {
  void reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache')
    .send(read('index.html'));
}

@Public()
@Controller('console')
export class ConsoleController {
  @Get()
  index(@Res() reply: FastifyReply): void {
    page(reply);
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() reply: FastifyReply): void {
    if (!Object.hasOwn(CONSOLE_ASSETS, name)) throw new NotFoundException();
    void reply
      .header('content-type', CONSOLE_ASSETS[name].type)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-cache')
      .send(read(CONSOLE_ASSETS[name].file));
  }

  /** Deep links (/console/o/…/invoices/…): the same page. */
  @Get('*')
  deepLink(@Res() reply: FastifyReply): void {
    page(reply);
  }
}
