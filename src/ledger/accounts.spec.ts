import { AccountKind, Accounts, balanceOnNormalSide, isAccountCode, LedgerSide, normalSideOf, parseAccountCode } from './accounts';

const ORG = '0b7c5f0e-3d0a-4a53-9a53-5d1f2f1c9e11';

describe('ledger account codes', () => {
  it.each([
    [Accounts.platformCash, AccountKind.PLATFORM_CASH, null, LedgerSide.DEBIT],
    [Accounts.platformFees, AccountKind.PLATFORM_FEES, null, LedgerSide.CREDIT],
    [Accounts.platformProcessing, AccountKind.PLATFORM_PROCESSING, null, LedgerSide.DEBIT],
    [Accounts.platformBilled, AccountKind.PLATFORM_BILLED, null, LedgerSide.CREDIT],
    [Accounts.distillerReceivable(ORG), AccountKind.DISTILLER_RECEIVABLE, ORG, LedgerSide.DEBIT],
    [Accounts.vendorPayable(ORG), AccountKind.VENDOR_PAYABLE, ORG, LedgerSide.CREDIT],
    [Accounts.vendorHeld(ORG), AccountKind.VENDOR_HELD, ORG, LedgerSide.CREDIT],
    [Accounts.vendorPaid(ORG), AccountKind.VENDOR_PAID, ORG, LedgerSide.DEBIT],
    [Accounts.pool('2026-05'), AccountKind.POOL, null, LedgerSide.CREDIT],
  ])('%s → %s, owner %s, normally %s', (code, kind, org, side) => {
    expect(parseAccountCode(code)).toEqual({ kind, organizationId: org });
    expect(normalSideOf(kind)).toBe(side);
  });

  it('refuses anything else', () => {
    for (const code of ['platform:bank', `vendor:${ORG}:receivable`, `vendor:${ORG.toUpperCase()}:payable`, 'vendor:x:payable', 'pool:2026-13', 'pool:2026-5', ` ${Accounts.platformCash}`, '']) {
      expect(isAccountCode(code)).toBe(false);
      expect(() => parseAccountCode(code)).toThrow(RangeError);
    }
  });

  it('shows balances on the normal side as positive', () => {
    expect(balanceOnNormalSide(AccountKind.VENDOR_PAYABLE, -900n)).toBe(900n);
    expect(balanceOnNormalSide(AccountKind.VENDOR_PAYABLE, 50n)).toBe(-50n); // a payable gone negative after refunds
    expect(balanceOnNormalSide(AccountKind.PLATFORM_CASH, 1000n)).toBe(1000n);
  });
});
