/**
 * An organization's money at a glance, from the ledger (per currency): what
 * it owes as a distiller (receivable on open invoices), and as a vendor what
 * it is owed (payable; negative after refunds of money already paid out),
 * what is held by open disputes, and what has been paid out. Amounts are shown
 * in the people's sign (what is owed is positive). Members (read) and admins.
 */
import { Injectable } from '@nestjs/common';
import { AccessService } from '../../identity/access.service';
import { Accounts } from '../../ledger/accounts';
import { LedgerService } from '../../ledger/ledger.service';
import type { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { BillingRepository } from '../billing.repository';

export interface CurrencyBalances {
  currency: string;
  receivable: bigint;
  payable: bigint;
  held: bigint;
  paid: bigint;
}

@Injectable()
export class BalancesService {
  constructor(
    private readonly db: Database,
    private readonly ledger: LedgerService,
    private readonly access: AccessService,
    private readonly billing: BillingRepository,
  ) {}

  async balances(principal: Principal, organizationId: string): Promise<CurrencyBalances[]> {
    assertUuid('organizationId', organizationId);
    const em = this.db.reader;
    if (principal.isAdmin) {
      if (!(await this.billing.organizationExists(em, organizationId))) throw new NotFoundError('Organization', organizationId);
    } else {
      await this.access.requireOrganization(em, principal, organizationId, 'read');
    }
    const codes = {
      receivable: Accounts.distillerReceivable(organizationId),
      payable: Accounts.vendorPayable(organizationId),
      held: Accounts.vendorHeld(organizationId),
      paid: Accounts.vendorPaid(organizationId),
    };
    const rows = await this.ledger.balances(em, Object.values(codes).map((account) => ({ account })));
    const byCurrency = new Map<string, CurrencyBalances>();
    for (const r of rows) {
      const b = byCurrency.get(r.currency) ?? { currency: r.currency, receivable: 0n, payable: 0n, held: 0n, paid: 0n };
      // Debit-normal accounts (receivable, paid) as they are; credit-normal ones (payable, held) negated.
      if (r.account === codes.receivable) b.receivable = r.balanceMinor;
      else if (r.account === codes.payable) b.payable = -r.balanceMinor;
      else if (r.account === codes.held) b.held = -r.balanceMinor;
      else if (r.account === codes.paid) b.paid = r.balanceMinor;
      byCurrency.set(r.currency, b);
    }
    return [...byCurrency.values()].sort((a, b) => a.currency.localeCompare(b.currency));
  }
}
