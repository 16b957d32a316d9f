import { Args, Int, Query, Resolver } from '@nestjs/graphql';
import { AdminOnly } from '../platform/auth/decorators';
import { BadInputError } from '../platform/errors/app-error';
import { AuditService } from './audit.service';
import { AuditLogFilter } from './dto/audit-filter.input';
import { AuditEntryOutput, AuditLogPage, AuditVerificationOutput } from './dto/audit.output';

@Resolver()
export class AuditResolver {
  constructor(private readonly audit: AuditService) {}

  @AdminOnly()
  @Query(() => AuditLogPage, { description: 'Newest first. Admins only.' })
  async auditLog(
    @Args('filter', { type: () => AuditLogFilter, nullable: true }) filter: AuditLogFilter | null,
    @Args('first', { type: () => Int, defaultValue: 50 }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
  ): Promise<AuditLogPage> {
    if (first < 1 || first > 100) throw new BadInputError([{ field: 'first', message: 'must be between 1 and 100' }]);
    if (after != null && !/^\d{1,19}$/.test(after)) throw new BadInputError([{ field: 'after', message: 'invalid cursor' }]);
    const rows = await this.audit.list(filter ?? {}, first, after == null ? null : BigInt(after));
    const page = rows.slice(0, first);
    return {
      entries: page.map((r): AuditEntryOutput => ({ ...r, seq: r.seq.toString() })),
      nextCursor: rows.length > first ? page[page.length - 1].seq.toString() : null,
    };
  }

  @AdminOnly()
  @Query(() => AuditVerificationOutput, { description: 'Recomputes the hash chain. Admins only.' })
  async verifyAuditLog(): Promise<AuditVerificationOutput> {
    const v = await this.audit.verify();
    return { ...v, firstInvalidSeq: v.firstInvalidSeq?.toString() ?? null };
  }
}
