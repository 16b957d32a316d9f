import { match, ReconItem } from './reconciliation-matching';

const at = new Date('2030-01-01T12:00:00Z');
const L = (category: string, sourceId: string | null, amount: bigint, reference = `ledger:${category}:${sourceId}`): ReconItem => ({
  side: 'LEDGER', category, sourceId, currency: 'USD', amountMinor: amount, reference, at,
});
const P = (category: string, sourceId: string | null, amount: bigint, reference = `txn:${category}:${sourceId}:${amount}`): ReconItem => ({
  side: 'PROCESSOR', category, sourceId, currency: 'USD', amountMinor: amount, reference, at,
});

describe('reconciliation matching', () => {
  it('matches by category, source and amount, and totals per category', () => {
    const r = match(
      [L('charge', 'ch_1', 1000n), L('processing_fee', 'ch_1', -29n), L('transfer', 'tr_1', -500n)],
      [P('charge', 'ch_1', 1000n), P('processing_fee', 'ch_1', -29n), P('transfer', 'tr_1', -500n)],
    );
    expect(r.differences).toEqual([]);
    expect(r.categories.map((c) => [c.category, c.matchedCount, c.matchedMinor])).toEqual([
      ['charge', 1, 1000n],
      ['processing_fee', 1, -29n],
      ['transfer', 1, -500n],
    ]);
  });

  it('reports each side of a different amount, and one-sided items', () => {
    const r = match([L('transfer', 'tr_1', -500n), L('transfer', 'tr_2', -10n)], [P('transfer', 'tr_1', -501n), P('transfer', 'tr_3', -7n)]);
    expect(r.differences.map((d) => [d.sourceId, d.ledgerMinor, d.processorMinor, d.items.length])).toEqual([
      ['tr_1', -500n, -501n, 2],
      ['tr_2', -10n, 0n, 1],
      ['tr_3', 0n, -7n, 1],
    ]);
    expect(r.categories).toEqual([]);
  });

  it('nets what cancels out the same day: a dispute won, a payout failed before any transfer', () => {
    const r = match([L('transfer', 'payout:x', -300n, 'payout:x'), L('transfer', 'payout:x', 300n, 'payout:x:failed')], [P('dispute', 'du_1', -400n), P('dispute', 'du_1', 400n)]);
    expect(r.differences).toEqual([]);
    expect(r.categories.map((c) => [c.category, c.matchedCount, c.matchedMinor])).toEqual([['dispute', 2, 0n]]);
  });

  it('matches a ledger movement that names no processor object by amount, once', () => {
    const r = match([L('refund', null, -300n, 'r1'), L('refund', null, -300n, 'r2')], [P('refund', 're_1', -300n)]);
    expect(r.categories.map((c) => [c.category, c.matchedCount])).toEqual([['refund', 1]]);
    expect(r.differences.map((d) => [d.category, d.ledgerMinor, d.items[0].reference])).toEqual([['refund', -300n, 'r2']]);
  });

  it('never matches an unknown kind of cash movement', () => {
    const r = match([L('other', null, 50n, 'odd')], [P('other_adjustment', null, 50n)]);
    expect(r.differences).toHaveLength(2);
  });
});
