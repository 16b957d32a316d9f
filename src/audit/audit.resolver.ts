import { Args, Int, Query, Resolver } from '@nestjs/graphql';
import { AdminOnly } from '../platform/auth/decorators';
import { BadInputError } from '../platform/errors/app-error';
import { pageOf } from '../platform/paging/page';
import { AUDIT_CURSOR, AuditService } from './audit.service';
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
    const afterSeq = after == null ? null : BigInt(AUDIT_CURSOR.decode(after)[0]);
    const page = pageOf(await this.audit.list(filter ?? {}, first, afterSeq), first);
    const last = page.rows.at(-1);
    return {
      entries: page.rows.map((r): AuditEntryOutput => ({ ...r, seq: r.seq.toString() })),
      nextCursor: page.hasNextPage && last ? AUDIT_CURSOR.encode([last.seq.toString()]) : null,
    };
  }

  @AdminOnly()
  @Query(() => AuditVerificationOutput, { description: 'Recomputes the hash chain. Admins only.' })
  async verifyAuditLog(): Promise<AuditVerificationOutput> {
    const v = await this.audit.verify();
    return { ...v, firstInvalidSeq: v.firstInvalidSeq?.toString() ?? null };
  }
}
