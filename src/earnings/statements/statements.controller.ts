/**
 * Statement downloads (bearer auth, as every non-public route):
 *   GET /v1/statements/:organizationId/earnings/:period.json|.csv?currency=USD
 *   GET /v1/statements/:organizationId/usage/:period.json|.csv
 * JSON is the signed document {payload, signature, keyId, statement}; CSV is
 * one row per line with the signature in the leading `#` rows. Both are
 * attachments; errors answer {error: {code, message}} like the rest of the REST API.
 */
import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal } from '../../platform/auth/decorators';
import type { Principal } from '../../platform/auth/principal';
import { BadInputError, NotFoundError } from '../../platform/errors/app-error';
import { earningsCsv, usageCsv } from './statement-csv';
import type { EarningsStatement, StatementDocument, UsageStatement } from './statement.types';
import { StatementsService } from './statements.service';

const FILE = /^(\d{4}-\d{2})\.(json|csv)$/;

@Controller('v1/statements')
export class StatementsController {
  constructor(private readonly statements: StatementsService) {}

  @Get(':organizationId/:kind/:file')
  async download(
    @CurrentPrincipal() principal: Principal,
    @Param('organizationId') organizationId: string,
    @Param('kind') kind: string,
    @Param('file') file: string,
    @Query('currency') currency: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    if (kind !== 'earnings' && kind !== 'usage') throw new NotFoundError('Statement kind', kind);
    const m = FILE.exec(file);
    if (!m) throw new BadInputError([{ field: 'file', message: 'the file must be <YYYY-MM>.json or <YYYY-MM>.csv' }]);
    const [, period, format] = m;
    let body: string;
    let name: string;
    if (kind === 'earnings') {
      if (!currency) throw new BadInputError([{ field: 'currency', message: 'an earnings statement needs ?currency=<ISO 4217 code>' }]);
      const s = await this.statements.earnings(principal, organizationId, period, currency);
      const doc = s.document as StatementDocument<EarningsStatement>;
      body = format === 'json' ? JSON.stringify(doc) : earningsCsv(doc);
      name = `beiming-earnings-${s.row.organizationId}-${period}-${doc.statement.currency}.${format}`;
    } else {
      const s = await this.statements.usage(principal, organizationId, period);
      const doc = s.document as StatementDocument<UsageStatement>;
      body = format === 'json' ? JSON.stringify(doc) : usageCsv(doc);
      name = `beiming-usage-${s.row.organizationId}-${period}.${format}`;
    }
    return reply
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('cache-control', 'private, no-store')
      .type(format === 'json' ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8')
      .send(body);
  }
}
