/**
 * Earnings balances as people read them through GraphQL: one organization's
 * (its members and platform admins; anyone else is told the organization does
 * not exist) and, for admins, every vendor with money owed or held in a
 * currency, keyset-paged by organization id.
 */
import { Injectable } from '@nestjs/common';
import { AccessService } from '../identity/access.service';
import type { Principal } from '../platform/auth/principal';
import { Database } from '../platform/database/transaction';
import { BadInputError, NotFoundError } from '../platform/errors/app-error';
import { assertUuid } from '../platform/errors/validation';
import { MAX_PAGE_SIZE } from '../platform/graphql/limits';
import { CursorParts, defineCursor } from '../platform/paging/cursor';
import { Page, pageOf } from '../platform/paging/page';
import { isCurrencyCode } from '../platform/validation/iso-codes';
import { EarningsBalance, EarningsBalanceService } from './earnings-balance.service';
import { EarningsBalanceRepository } from './earnings-balance.repository';

export interface EarningsBalanceRow extends EarningsBalance {
  cursor: string;
}

/** Vendors by organization id. */
const VENDOR_CURSOR = defineCursor('earnings-vendor', [CursorParts.uuid]);

@Injectable()
export class EarningsQueryService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly balances: EarningsBalanceService,
    private readonly repo: EarningsBalanceRepository,
  ) {}

  async ofOrganization(principal: Principal, organizationId: string): Promise<EarningsBalance[]> {
    assertUuid('organizationId', organizationId);
    const org = organizationId.toLowerCase();
    const em = this.db.reader;
    if (principal.isAdmin) {
      if (!(await this.repo.organizationExists(em, org))) throw new NotFoundError('Organization', organizationId);
    } else {
      await this.access.requireOrganization(em, principal, org, 'read', { entity: 'Organization', id: organizationId });
    }
    return this.balances.balancesOf(em, org);
  }

  /** Admins only (the resolver's guard): vendors with a non-zero payable or held balance in `currency`. */
  async vendors(currency: string, first: number, after: string | null): Promise<Page<EarningsBalanceRow>> {
    if (!isCurrencyCode(currency)) throw new BadInputError([{ field: 'currency', message: 'currency must be an ISO 4217 code, upper-case' }]);
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
      throw new BadInputError([{ field: 'first', message: `first must be between 1 and ${MAX_PAGE_SIZE}` }]);
    }
    const afterOrg = after == null ? null : VENDOR_CURSOR.decode(after)[0];
    const em = this.db.reader;
    const ids = await this.repo.vendorsWithBalance(em, currency, afterOrg, first + 1);
    const page = pageOf(ids, first);
    const rows = await this.balances.balancesOfMany(em, page.rows, currency);
    const byOrg = new Map(rows.map((r) => [r.organizationId, r]));
    // A vendor listed by the first statement is in the second (ledger accounts are never deleted).
    return {
      rows: page.rows.map((id) => ({ ...byOrg.get(id)!, cursor: VENDOR_CURSOR.encode([id]) })),
      hasNextPage: page.hasNextPage,
    };
  }
}
