import { InvoiceLineKind } from '../billing.entity';
import { parsePeriod } from '../billing-period';
import { AgreementToRate, proratedCommitment, rateAgreement, splitOverage } from './period-rating';

const OCT = parsePeriod('2026-10');

const agreement = (over: Partial<AgreementToRate> = {}): AgreementToRate => ({
  id: 'a1',
  distillerOrganizationId: 'd1',
  vendorOrganizationId: 'v1',
  modelId: 'm1',
  modelName: 'Teacher',
  currency: 'EUR',
  inputPrice: 150n,
  outputPrice: 600n,
  minimumCommitment: 0n,
  termStart: new Date('2026-01-01T00:00:00Z'),
  termEnd: null,
  commitmentApplies: true,
  usage: null,
  earlier: [],
  ...over,
});

const summary = (lines: ReturnType<typeof rateAgreement>) => lines.map((l) => [l.kind, l.usagePeriod, l.quantity, l.amount, l.overage]);

describe('rating an agreement for a period', () => {
  it('rates input and output separately, half-up per line', () => {
    // 3,333,333 × 150 / 1e6 = 499.99995 → 500; 1,000,001 × 600 / 1e6 = 600.0006 → 600
    const lines = rateAgreement(agreement({ usage: { input: 3_333_333n, output: 1_000_001n, overage: 0n } }), OCT);
    expect(summary(lines)).toEqual([
      [InvoiceLineKind.USAGE_INPUT, '2026-10', 3_333_333n, 500n, 0n],
      [InvoiceLineKind.USAGE_OUTPUT, '2026-10', 1_000_001n, 600n, 0n],
    ]);
    expect(lines[0].description).toContain('3,333,333 tokens × 1.50 EUR per million tokens = 5.00 EUR');
  });

  it('keeps a zero-price line with tokens and skips an empty one', () => {
    const lines = rateAgreement(agreement({ inputPrice: 0n, usage: { input: 10n, output: 0n, overage: 0n } }), OCT);
    expect(summary(lines)).toEqual([[InvoiceLineKind.USAGE_INPUT, '2026-10', 10n, 0n, 0n]]);
  });

  it('marks overage on the lines by the allocation rule, billed at the licence price', () => {
    const lines = rateAgreement(agreement({ usage: { input: 300n, output: 100n, overage: 101n } }), OCT);
    // 101 over [300, 100]: ideal 75.75 / 25.25 → 76 / 25
    expect(lines.map((l) => l.overage)).toEqual([76n, 25n]);
    expect(lines[0].description).toContain('76 of them beyond the period quota');
    expect(splitOverage(5n, 0n, 0n)).toEqual([0n, 0n]);
    expect(splitOverage(10n, 3n, 2n)).toEqual([3n, 2n]);
  });

  it('trues up to the minimum commitment, prorated for a partial month', () => {
    const full = rateAgreement(agreement({ minimumCommitment: 10_000n, usage: { input: 1_000_000n, output: 0n, overage: 0n } }), OCT);
    expect(summary(full).at(-1)).toEqual([InvoiceLineKind.MINIMUM_COMMITMENT_TRUE_UP, '2026-10', null, 9_850n, 0n]);
    // Started on Oct 23: 9 of 31 days → 10,000 × 9 / 31 = 2903.2 → 2903.
    const partial = rateAgreement(agreement({ minimumCommitment: 10_000n, termStart: new Date('2026-10-23T10:00:00Z') }), OCT);
    expect(summary(partial)).toEqual([[InvoiceLineKind.MINIMUM_COMMITMENT_TRUE_UP, '2026-10', null, 2_903n, 0n]]);
    expect(partial[0].description).toContain('9 of 31 days');
    expect(proratedCommitment(31n, 15, 31)).toBe(15n); // 15.0 exactly
    expect(proratedCommitment(1n, 15, 30)).toBe(1n); // 0.5 → 1 (half-up)
  });

  it('owes no minimum above it, while PENDING_PAYMENT, or outside the term', () => {
    expect(rateAgreement(agreement({ minimumCommitment: 100n, usage: { input: 1_000_000n, output: 0n, overage: 0n } }), OCT)).toHaveLength(1);
    expect(rateAgreement(agreement({ minimumCommitment: 100n, commitmentApplies: false }), OCT)).toEqual([]);
    expect(rateAgreement(agreement({ minimumCommitment: 100n, termEnd: new Date('2026-09-15T00:00:00Z') }), OCT)).toEqual([]);
  });

  it('bills late tokens of earlier closed periods as adjustments, and gives back what their true-up already charged', () => {
    const lines = rateAgreement(
      agreement({
        earlier: [
          { period: '2026-09', rollup: { input: 2_000_000n, output: 500n, overage: 0n }, billed: { input: 1_000_000n, output: 500n, overage: 0n }, trueUpBilled: 100n },
          { period: '2026-08', rollup: { input: 10n, output: 20n, overage: 30n }, billed: { input: 0n, output: 0n, overage: 0n }, trueUpBilled: 0n },
        ],
      }),
      OCT,
    );
    expect(summary(lines)).toEqual([
      [InvoiceLineKind.ADJUSTMENT_INPUT, '2026-08', 10n, 0n, 10n],
      [InvoiceLineKind.ADJUSTMENT_OUTPUT, '2026-08', 20n, 0n, 20n],
      [InvoiceLineKind.ADJUSTMENT_INPUT, '2026-09', 1_000_000n, 150n, 0n],
      [InvoiceLineKind.MINIMUM_COMMITMENT_TRUE_UP, '2026-09', null, -100n, 0n],
    ]);
  });
});
