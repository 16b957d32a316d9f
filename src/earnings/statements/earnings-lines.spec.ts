import { AllocationPartRow, earningsLines, EarningsBreakdownInput, LedgerEntryRow, StatementMismatchError } from './earnings-lines';

const V = '00000000-0000-4000-8000-0000000000a1';
const A = '00000000-0000-4000-8000-0000000000a2';
const MV = '00000000-0000-4000-8000-0000000000b1';
const MA = '00000000-0000-4000-8000-0000000000b2';
const AG = '00000000-0000-4000-8000-0000000000c1';
const AG2 = '00000000-0000-4000-8000-0000000000c2';
const INV = '00000000-0000-4000-8000-0000000000d1';
const at = new Date('2026-11-10T10:00:00.000Z');

const entry = (over: Partial<LedgerEntryRow>): LedgerEntryRow => ({
  transactionId: 'tx-1', kind: 'INVOICE_PAID', occurredAt: at, invoiceId: INV, account: 'PAYABLE', amountMinor: 0n, ...over,
});

const part = (over: Partial<AllocationPartRow>): AllocationPartRow => ({
  invoiceId: INV, position: 1, kind: 'PLATFORM_FEE', organizationId: null, modelId: null, basis: null, grossMinor: null, feeMinor: null,
  payerOrganizationId: null, payerModelId: null, agreementId: null, policy: null, shareBps: null, depth: null, amountMinor: 0n, ...over,
});

function input(org: string, entries: LedgerEntryRow[], parts: AllocationPartRow[]): EarningsBreakdownInput {
  return {
    organizationId: org,
    entries,
    invoiceNumbers: new Map([[INV, 'BM-202611-000001']]),
    parts,
    legacyPayables: new Map(),
    vendorLines: [
      { invoiceId: INV, modelId: MV, agreementId: AG, kind: 'USAGE_INPUT', amountMinor: 6000n },
      { invoiceId: INV, modelId: MV, agreementId: AG, kind: 'USAGE_OUTPUT', amountMinor: 3000n },
      { invoiceId: INV, modelId: MV, agreementId: AG, kind: 'MINIMUM_COMMITMENT_TRUE_UP', amountMinor: 1000n },
    ],
  };
}

const cascade = [
  part({ position: 1, amountMinor: 1500n }),
  part({ position: 2, kind: 'VENDOR_SHARE', organizationId: V, modelId: MV, basis: 'REVENUE', grossMinor: 10000n, feeMinor: 1500n, amountMinor: 8500n }),
  part({ position: 3, kind: 'ROYALTY', organizationId: A, modelId: MA, basis: 'REVENUE', payerOrganizationId: V, payerModelId: MV, agreementId: AG2, policy: 'LRP', shareBps: 1000, depth: 1, amountMinor: 850n }),
];

describe('earnings lines', () => {
  it('breaks a cascade payment into gross by source, fee and royalties; the payer and the ancestor each see their side', () => {
    const v = earningsLines(input(V, [entry({ amountMinor: -8500n }), entry({ amountMinor: 850n })], cascade));
    expect(v.map((l) => [l.source, l.amountMinor, l.counterpartyOrganizationId])).toEqual([
      ['USAGE', '9000', null],
      ['MINIMUM_COMMITMENT', '1000', null],
      ['PLATFORM_FEE', '-1500', null],
      ['ROYALTIES_PAID', '-850', A],
    ]);
    const a = earningsLines(input(A, [entry({ amountMinor: -850n })], cascade));
    expect(a.map((l) => [l.source, l.amountMinor, l.modelId, l.counterpartyOrganizationId, l.agreementId])).toEqual([['ROYALTIES_RECEIVED', '850', MA, V, AG2]]);
  });

  it("splits a model's own revenue from the downstream royalty lines billed for it, by the share's basis", () => {
    const i = input(V, [entry({ amountMinor: -8500n }), entry({ amountMinor: -1700n })], [
      part({ position: 1, amountMinor: 1800n }),
      part({ position: 2, kind: 'VENDOR_SHARE', organizationId: V, modelId: MV, basis: 'REVENUE', grossMinor: 10000n, feeMinor: 1500n, amountMinor: 8500n }),
      part({ position: 3, kind: 'VENDOR_SHARE', organizationId: V, modelId: MV, basis: 'ROYALTY', grossMinor: 2000n, feeMinor: 300n, amountMinor: 1700n }),
    ]);
    i.vendorLines.push({ invoiceId: INV, modelId: MV, agreementId: AG, kind: 'ROYALTY', amountMinor: 2000n });
    expect(earningsLines(i).map((l) => [l.source, l.amountMinor])).toEqual([
      ['USAGE', '9000'],
      ['MINIMUM_COMMITMENT', '1000'],
      ['PLATFORM_FEE', '-1500'],
      ['DOWNSTREAM_ROYALTY_LINES', '2000'],
      ['PLATFORM_FEE', '-300'],
    ]);
  });

  it('refuses a payment whose allocation does not add up to what the ledger credited', () => {
    expect(() => earningsLines(input(V, [entry({ amountMinor: -8501n }), entry({ amountMinor: 850n })], cascade))).toThrow(StatementMismatchError);
    // Ignoring the royalty paid on would also be caught: the ledger has both lines.
    expect(() => earningsLines(input(V, [entry({ amountMinor: -8500n })], cascade))).toThrow(/explains 7650, the ledger moved 8500/);
  });

  it('explains a payment recorded per account only: lines as gross, the difference as the fee', () => {
    const i = input(V, [entry({ amountMinor: -8500n })], []);
    i.legacyPayables.set(INV, 8500n);
    expect(earningsLines(i).map((l) => [l.source, l.amountMinor])).toEqual([
      ['USAGE', '9000'],
      ['MINIMUM_COMMITMENT', '1000'],
      ['PLATFORM_FEE', '-1500'],
    ]);
  });

  it('gives a pool posting one line per entry, source POOL, with the model (and a royalty\'s agreement and other vendor) it was posted for', () => {
    const pool = (role: 'SHARE' | 'HELD' | 'ROYALTY_PAID' | 'ROYALTY_RECEIVED', modelId: string, royalty = false) =>
      ({ role, modelId, agreementId: royalty ? AG2 : null, counterpartyOrganizationId: royalty ? A : null });
    const lines = earningsLines(input(V, [
      entry({ transactionId: 'tx-5', kind: 'POOL_DISTRIBUTED', invoiceId: null, amountMinor: -900n, pool: pool('SHARE', MV) }),
      entry({ transactionId: 'tx-5', kind: 'POOL_DISTRIBUTED', invoiceId: null, amountMinor: 90n, pool: pool('ROYALTY_PAID', MV, true) }),
      entry({ transactionId: 'tx-5', kind: 'POOL_DISTRIBUTED', invoiceId: null, account: 'HELD', amountMinor: -300n, pool: pool('HELD', MA) }),
      entry({ transactionId: 'tx-6', kind: 'POOL_EARNINGS_RELEASED', invoiceId: null, account: 'HELD', amountMinor: 300n, pool: pool('HELD', MA) }),
      entry({ transactionId: 'tx-6', kind: 'POOL_EARNINGS_RELEASED', invoiceId: null, amountMinor: -300n, pool: pool('SHARE', MA) }),
    ], cascade));
    expect(lines.map((l) => [l.source, l.account, l.amountMinor, l.modelId, l.agreementId, l.counterpartyOrganizationId])).toEqual([
      ['POOL', 'PAYABLE', '900', MV, null, null],
      ['POOL', 'PAYABLE', '-90', MV, AG2, A],
      ['POOL', 'HELD', '300', MA, null, null],
      ['POOL', 'HELD', '-300', MA, null, null],
      ['POOL', 'PAYABLE', '300', MA, null, null],
    ]);
    expect(lines[1].description).toMatch(/royalty paid on, model/);
  });

  it('gives reversals one line per entry, vendor side, by ledger kind', () => {
    const lines = earningsLines(input(V, [
      entry({ transactionId: 'tx-2', kind: 'DISPUTE_HOLD', amountMinor: 700n }),
      entry({ transactionId: 'tx-2', kind: 'DISPUTE_HOLD', account: 'HELD', amountMinor: -700n }),
      entry({ transactionId: 'tx-3', kind: 'REFUND', amountMinor: 50n }),
      entry({ transactionId: 'tx-4', kind: 'PAYOUT', invoiceId: null, amountMinor: 100n }),
    ], cascade));
    expect(lines.map((l) => [l.seq, l.source, l.account, l.amountMinor, l.ledgerKind])).toEqual([
      [1, 'DISPUTE_HELD', 'PAYABLE', '-700', 'DISPUTE_HOLD'],
      [2, 'DISPUTE_HELD', 'HELD', '700', 'DISPUTE_HOLD'],
      [3, 'REFUNDS', 'PAYABLE', '-50', 'REFUND'],
      [4, 'OTHER', 'PAYABLE', '-100', 'PAYOUT'],
    ]);
  });
});
