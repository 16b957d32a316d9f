import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OptionalPrincipal, Public } from '../../platform/auth/decorators';
import type { Principal } from '../../platform/auth/principal';
import { NotFoundError } from '../../platform/errors/app-error';
import { licenceHtml, modelHtml, notFoundHtml, verificationHtml } from './model-pages.html';
import { ModelPagesService } from './model-pages.service';

/** JSON when asked for (`?format=json`, or an Accept header that prefers JSON over HTML), else HTML. */
export function wantsJson(format: string | undefined, accept: string | undefined): boolean {
  if (format === 'json') return true;
  if (format === 'html') return false;
  const a = (accept ?? '').toLowerCase();
  return a.includes('application/json') && !a.includes('text/html');
}

/** The pages provenance exports link to (model, licence, verification); HTML or JSON. */
@Public()
@Controller()
export class ModelPagesController {
  constructor(private readonly pages: ModelPagesService) {}

  @Get('models/:id')
  model(@Param('id') id: string, @Query('format') format: string | undefined, @OptionalPrincipal() p: Principal | null, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.answer(req, reply, format, () => this.pages.modelPage(p, id), modelHtml, `No model ${id} is visible here.`);
  }

  @Get('models/:id/licence')
  licence(@Param('id') id: string, @Query('format') format: string | undefined, @OptionalPrincipal() p: Principal | null, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.answer(req, reply, format, () => this.pages.licencePage(p, id), licenceHtml, `No model ${id} is visible here.`);
  }

  @Get('verify/:digest')
  verify(@Param('digest') digest: string, @Query('format') format: string | undefined, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.answer(req, reply, format, () => this.pages.verificationPage(digest), verificationHtml, `No model is registered with weights ${digest}.`);
  }

  private async answer<T>(req: FastifyRequest, reply: FastifyReply, format: string | undefined, load: () => Promise<T>, html: (data: T) => string, missing: string) {
    const json = wantsJson(format, req.headers.accept);
    void reply.header('vary', 'Accept');
    try {
      const data = await load();
      return json ? reply.type('application/json; charset=utf-8').send(data) : reply.type('text/html; charset=utf-8').send(html(data));
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      return json
        ? reply.status(404).type('application/json; charset=utf-8').send({ error: { code: e.code, message: missing } })
        : reply.status(404).type('text/html; charset=utf-8').send(notFoundHtml(missing));
    }
  }
}
