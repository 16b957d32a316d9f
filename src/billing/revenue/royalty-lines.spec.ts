import { allocate } from '../../platform/money/allocation';
import { InvoiceLineKind } from '../billing.entity';
import { CurrentRevision, percentOf, RoyaltyBilled, royaltiesOf, royaltyDeltas, royaltyLinesFor, RoyaltyStackOverflowError, RoyaltyTarget } from './royalty-lines';

const entry = (modelId: string, shareBps: number, policy: 'LAP' | 'LRP' = 'LAP') => ({
  modelId,
  organizationId: `org-${modelId}`,
  agreementId: `agr-${modelId}`,
  policy,
  shareBps,
  depth: 1,
});

describe('royalties of a reported revenue', () => {
  it('splits all entries at once by the allocation rule: exact within one unit, parts and remainder sum to the gross', () => {
    const gross = 1_001n;
    const r = royaltiesOf(gross, [entry('a', 500), entry('b', 333), entry('c', 250, 'LRP')]);
    const expected = allocate(gross, [500n, 333n, 250n, 10_000n - 1_083n]);
    expect(r.map((x) => x.amountMinor)).toEqual(expected.slice(0, 3));
    // ideal shares 50.05, 33.3333, 25.025
    expect(r.map((x) => x.amountMinor)).toEqual([50n, 33n, 25n]);
    const rest = expected[3];
    expect(r.reduce((s, x) => s + x.amountMinor, 0n) + rest).toBe(gross);
  });

  it('owes nothing without entries, zero on a zero gross, and refuses a stack above 100 %', () => {
    expect(royaltiesOf(5_000n, [])).toEqual([]);
    expect(royaltiesOf(0n, [entry('a', 500)]).map((x) => x.amountMinor)).toEqual([0n]);
    expect(() => royaltiesOf(100n, [entry('a', 6_000), entry('b', 5_000)])).toThrow(RoyaltyStackOverflowError);
    expect(royaltiesOf(100n, [entry('a', 6_000), entry('b', 4_000)]).map((x) => x.amountMinor)).toEqual([60n, 40n]);
  });

  it('renders a share as a percentage with integers only', () => {
    expect(percentOf(500)).toBe('5.00%');
    expect(percentOf(1_234)).toBe('12.34%');
    expect(percentOf(5)).toBe('0.05%');
  });
});

const current: CurrentRevision = { reportId: 'r2', distillerOrganizationId: 'd', studentModelId: 's', studentName: 'Student', period: '2026-11', currency: 'EUR' };
const target = (ancestor: string, amount: bigint, vendor = `v-${ancestor}`): RoyaltyTarget => ({
  ...current,
  ancestorModelId: ancestor,
  vendorOrganizationId: vendor,
  agreementId: `agr-${ancestor}`,
  policy: 'LAP',
  shareBps: 500,
  amountMinor: amount,
});
const billed = (ancestor: string, amount: bigint, vendor = `v-${ancestor}`): RoyaltyBilled => ({
  studentModelId: 's',
  period: '2026-11',
  currency: 'EUR',
  ancestorModelId: ancestor,
  policy: 'LAP',
  vendorOrganizationId: vendor,
  agreementId: `agr-${ancestor}`,
  shareBps: 500,
  amountMinor: amount,
});

describe('what the close still bills per entry', () => {
  it('bills the difference to what was billed, credits a decrease, and credits an entry no longer owed', () => {
    const deltas = royaltyDeltas([current], [target('a', 700n), target('b', 100n), target('c', 50n)], [billed('a', 500n), billed('b', 300n), billed('c', 50n), billed('z', 40n)]);
    expect(deltas.map((d) => [d.ancestorModelId, d.owedMinor, d.billedMinor, d.deltaMinor, d.reportId])).toEqual([
      ['a', 700n, 500n, 200n, 'r2'],
      ['b', 100n, 300n, -200n, 'r2'],
      ['z', 0n, 40n, -40n, 'r2'],
    ]);
  });

  it('puts positives on the invoice and takes a credit only as far as the vendor’s lines absorb it; the rest stays owed', () => {
    const deltas = royaltyDeltas([current], [target('a', 300n, 'V'), target('b', 0n, 'V'), target('c', 0n, 'W')], [billed('b', 1_000n, 'V'), billed('c', 10n, 'W')]);
    const lines = royaltyLinesFor([{ vendorOrganizationId: 'V', amount: 200n }], deltas);
    expect(lines.map((l) => [l.kind, l.modelId, l.vendorOrganizationId, l.amount])).toEqual([
      [InvoiceLineKind.ROYALTY, 'a', 'V', 300n],
      [InvoiceLineKind.ROYALTY, 'b', 'V', -500n], // 200 of usage + 300 of royalty: 500 of the 1000 credit
    ]);
    expect(lines[1].description).toContain('the rest later');
    // W has nothing on this invoice: its credit waits.
    const sums = new Map<string, bigint>();
    for (const l of [{ vendorOrganizationId: 'V', amount: 200n }, ...lines]) sums.set(l.vendorOrganizationId!, (sums.get(l.vendorOrganizationId!) ?? 0n) + l.amount);
    expect([...sums.values()].every((s) => s >= 0n)).toBe(true);
    expect(lines[0]).toMatchObject({ quantity: null, unitPrice: null, usagePeriod: '2026-11', royalty: { reportId: 'r2', studentModelId: 's', policy: 'LAP', shareBps: 500 } });
    expect(lines[0].description).toBe('Royalty LAP 5.00% on Student revenue 2026-11');
  });
});
