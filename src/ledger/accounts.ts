/**
 * Ledger account codes. An account is (code, currency); the
 * code says whose money it is and in what role. Signs: an entry's amount is
 * positive for a debit and negative for a credit; every transaction sums to
 * zero per currency. Asset accounts (cash, receivable, processing expense)
 * carry debit (positive) balances; liability and revenue accounts (payable,
 * held, fees) carry credit (negative) balances, shown to people as positive.
 */
import { UUID_PATTERN } from '../platform/validation/uuid';

export const Accounts = {
  /** Money at Stripe (the platform's balance). Asset. */
  platformCash: 'platform:cash',
  /** The platform's fee revenue. Revenue (credit). */
  platformFees: 'platform:fees',
  /** Stripe's processing fees. Expense (debit). */
  platformProcessing: 'platform:processing',
  /** Invoiced to distillers and not yet collected, awaiting allocation on collection. Credit. */
  platformBilled: 'platform:billed',
  /** What a distiller owes on open invoices. Asset (debit). */
  distillerReceivable: (org: string) => `distiller:${org}:receivable`,
  /** What the platform owes a vendor (may go negative after refunds; nets later). Liability (credit). */
  vendorPayable: (org: string) => `vendor:${org}:payable`,
  /** A vendor's share held while a dispute is open. Liability (credit). */
  vendorHeld: (org: string) => `vendor:${org}:held`,
  /**
   * What has been paid out to a vendor, net of failed transfers and reversals:
   * the payable's contra account (a payout debits it and credits the
   * platform's cash), so what is still owed is payable + paid. Debit.
   */
  vendorPaid: (org: string) => `vendor:${org}:paid`,
  /** A pool-plan period's subscription money awaiting distribution. */
  pool: (period: string) => `pool:${period}`,
} as const;

// Codes are text written by this module from PostgreSQL's (lower-case) uuids: only the canonical form names an account.
export const ACCOUNT_CODE_PATTERN = new RegExp(
  `^(platform:(cash|fees|processing|billed)|distiller:${UUID_PATTERN}:receivable|vendor:${UUID_PATTERN}:(payable|held|paid)|pool:\\d{4}-(0[1-9]|1[0-2]))$`,
);

export function isAccountCode(code: string): boolean {
  return ACCOUNT_CODE_PATTERN.test(code);
}

/** What an account is, derived from its code (the database checks the same derivation). */
export enum AccountKind {
  PLATFORM_CASH = 'PLATFORM_CASH',
  PLATFORM_FEES = 'PLATFORM_FEES',
  PLATFORM_PROCESSING = 'PLATFORM_PROCESSING',
  PLATFORM_BILLED = 'PLATFORM_BILLED',
  DISTILLER_RECEIVABLE = 'DISTILLER_RECEIVABLE',
  VENDOR_PAYABLE = 'VENDOR_PAYABLE',
  VENDOR_HELD = 'VENDOR_HELD',
  VENDOR_PAID = 'VENDOR_PAID',
  POOL = 'POOL',
}

/** The side on which an account's balance normally sits. */
export enum LedgerSide {
  DEBIT = 'DEBIT',
  CREDIT = 'CREDIT',
}

/**
 * Assets and expenses are debit-normal; liabilities and revenue credit-normal.
 * `vendor:<org>:paid` counts what has left the platform for the vendor, so it
 * is debit-normal like the cash it replaced (a contra account of the payable).
 */
const NORMAL_SIDE: Record<AccountKind, LedgerSide> = {
  [AccountKind.PLATFORM_CASH]: LedgerSide.DEBIT,
  [AccountKind.PLATFORM_FEES]: LedgerSide.CREDIT,
  [AccountKind.PLATFORM_PROCESSING]: LedgerSide.DEBIT,
  [AccountKind.PLATFORM_BILLED]: LedgerSide.CREDIT,
  [AccountKind.DISTILLER_RECEIVABLE]: LedgerSide.DEBIT,
  [AccountKind.VENDOR_PAYABLE]: LedgerSide.CREDIT,
  [AccountKind.VENDOR_HELD]: LedgerSide.CREDIT,
  [AccountKind.VENDOR_PAID]: LedgerSide.DEBIT,
  [AccountKind.POOL]: LedgerSide.CREDIT,
};

export interface AccountCodeParts {
  kind: AccountKind;
  /** The distiller or vendor organization the account belongs to; null for platform and pool accounts. */
  organizationId: string | null;
}

/** Kind and owner of a valid account code; throws RangeError for anything `isAccountCode` refuses. */
export function parseAccountCode(code: string): AccountCodeParts {
  if (!isAccountCode(code)) throw new RangeError(`Not a ledger account code: ${code}`);
  const [head, second, third] = code.split(':');
  if (head === 'platform') return { kind: `PLATFORM_${second.toUpperCase()}` as AccountKind, organizationId: null };
  if (head === 'pool') return { kind: AccountKind.POOL, organizationId: null };
  return { kind: `${head.toUpperCase()}_${third.toUpperCase()}` as AccountKind, organizationId: second };
}

export function normalSideOf(kind: AccountKind): LedgerSide {
  return NORMAL_SIDE[kind];
}

/** A signed balance (debit positive) as people read it: positive when on the account's normal side. */
export function balanceOnNormalSide(kind: AccountKind, signedMinor: bigint): bigint {
  return NORMAL_SIDE[kind] === LedgerSide.DEBIT ? signedMinor : -signedMinor;
}
