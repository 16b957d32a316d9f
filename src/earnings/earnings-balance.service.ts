/**
 * What the platform owes each vendor, split by when it may be paid out.
 *
 * For one vendor organization and one currency, from the ledger:
 * - payable (P): what is still owed — `vendor:<org>:payable` on its normal
 *   (credit) side less what was paid out (`vendor:<org>:paid`, its contra
 *   account: a payout debits it against the platform's cash, a failed
 *   transfer or a reversal credits it back);
 * - pending: fresh earnings still inside the holdback window
 *   (`EARNINGS_HOLDBACK_DAYS` after they were collected: the refund and
 *   dispute exposure). A journal transaction counts as fresh earnings when its
 *   net effect on the payable is a credit — an INVOICE_PAID that credits the
 *   vendor's share and debits the royalties it passes on counts once, by its
 *   net — and it is pending while its occurred_at is later than
 *   now − holdback. Their sum is capped at what is owed:
 *   pending = min(Σ fresh nets, max(P, 0));
 * - available = max(P − pending, 0): what a payout may take now;
 * - negativeCarryForward = max(−P, 0): refunds took back more than was owed;
 *   later earnings land on the same account and cover it first;
 * - held: `vendor:<org>:held` (shares set aside while a dispute is open);
 * - paidOut: `vendor:<org>:paid`.
 * pending + available − negativeCarryForward = P always, with each ≥ 0
 * (see earnings-figures.ts for the arithmetic).
 *
 * "Now" is the platform Clock. Each call is one SQL statement, so the
 * figures of one answer all come from the same snapshot of the ledger.
 * A payout must read `availableFor` inside its own transaction, after taking
 * whatever lock serialises payouts of that vendor: this service locks nothing.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AccountKind, balanceOnNormalSide } from '../ledger/accounts';
import { Clock } from '../platform/clock/clock';
import { AppConfig } from '../platform/config/app-config';
import { BadInputError } from '../platform/errors/app-error';
import { isCurrencyCode } from '../platform/validation/iso-codes';
import { isUuid } from '../platform/validation/uuid';
import { EarningsBalanceRepository, EarningsLedgerRow } from './earnings-balance.repository';
import { earningsFigures, holdbackCutoff, releasedAt } from './earnings-figures';

export interface EarningsBalance {
  organizationId: string;
  currency: string;
  /** P: what the platform still owes the vendor, net of payouts (negative after refunds of more than was owed). */
  payable: bigint;
  pending: bigint;
  available: bigint;
  negativeCarryForward: bigint;
  held: bigint;
  paidOut: bigint;
  /** When the oldest pending earnings stop being pending; null when nothing is pending. */
  availableAt: Date | null;
  /** The Clock's "now" the figures were computed for. */
  asOf: Date;
  holdbackDays: number;
}

@Injectable()
export class EarningsBalanceService {
  constructor(
    private readonly repo: EarningsBalanceRepository,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /** One balance per currency in which the organization has a vendor account (none for an organization that never earned). */
  async balancesOf(em: EntityManager, organizationId: string): Promise<EarningsBalance[]> {
    return this.compute(em, [checkOrganization(organizationId)], null);
  }

  /** The balance in one currency; all zero when the organization has no vendor account in it. */
  async availableFor(em: EntityManager, organizationId: string, currency: string): Promise<EarningsBalance> {
    const org = checkOrganization(organizationId);
    if (!isCurrencyCode(currency)) throw new BadInputError([{ field: 'currency', message: 'currency must be an ISO 4217 code, upper-case' }]);
    const [found] = await this.compute(em, [org], currency);
    return found ?? this.zero(org, currency, this.clock.now());
  }

  /** Balances of several organizations at once (one statement), in one currency or all of them; by organization, then currency. */
  async balancesOfMany(em: EntityManager, organizationIds: readonly string[], currency: string | null): Promise<EarningsBalance[]> {
    return this.compute(em, organizationIds.map(checkOrganization), currency);
  }

  private async compute(em: EntityManager, organizationIds: string[], currency: string | null): Promise<EarningsBalance[]> {
    const asOf = this.clock.now();
    const holdbackDays = this.config.earningsHoldbackDays;
    const rows = await this.repo.balances(em, organizationIds, currency, holdbackCutoff(asOf, holdbackDays));
    return rows.map((r) => this.toBalance(r, asOf, holdbackDays));
  }

  private toBalance(r: EarningsLedgerRow, asOf: Date, holdbackDays: number): EarningsBalance {
    // What is paid out sits on `vendor:<org>:paid`, the payable's contra account: what is still owed is their sum.
    const payable = balanceOnNormalSide(AccountKind.VENDOR_PAYABLE, r.payableSigned + r.paidSigned);
    const f = earningsFigures(payable, r.recentCredits);
    return {
      organizationId: r.organizationId,
      currency: r.currency,
      payable,
      pending: f.pending,
      available: f.available,
      negativeCarryForward: f.negativeCarryForward,
      held: balanceOnNormalSide(AccountKind.VENDOR_HELD, r.heldSigned),
      paidOut: balanceOnNormalSide(AccountKind.VENDOR_PAID, r.paidSigned),
      availableAt: f.pending > 0n && r.oldestRecentCreditMs !== null ? releasedAt(new Date(r.oldestRecentCreditMs), holdbackDays) : null,
      asOf,
      holdbackDays,
    };
  }

  private zero(organizationId: string, currency: string, asOf: Date): EarningsBalance {
    return {
      organizationId,
      currency,
      payable: 0n,
      pending: 0n,
      available: 0n,
      negativeCarryForward: 0n,
      held: 0n,
      paidOut: 0n,
      availableAt: null,
      asOf,
      holdbackDays: this.config.earningsHoldbackDays,
    };
  }
}

function checkOrganization(id: string): string {
  if (!isUuid(id)) throw new BadInputError([{ field: 'organizationId', message: 'organizationId must be a UUID' }]);
  return id.toLowerCase();
}
