import { snapshotDocument, snapshotHash, SnapshotPayoutFacts } from './payout-snapshot';

const batch = { id: 'b1', currency: 'USD', minimumMinor: 2500n, asOf: new Date('2030-06-15T12:00:00.000Z'), holdbackDays: 7 };
const p = (id: string, org: string, status = 'PENDING'): SnapshotPayoutFacts => ({
  id, organizationId: org, accountId: `acct_${org}`, amountMinor: 3000n, status,
  lines: [{ entryId: '10', amountMinor: 1000n }, { entryId: '9', amountMinor: 2000n }],
});

describe('payout snapshot hash', () => {
  it('is independent of the order payouts and lines are given in', () => {
    const a = snapshotHash(batch, [p('x', 'org-b'), p('y', 'org-a')]);
    const reversed = [p('y', 'org-a'), p('x', 'org-b')].map((q) => ({ ...q, lines: [...q.lines].reverse() }));
    expect(snapshotHash(batch, reversed)).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('orders lines numerically by entry id and writes amounts as strings', () => {
    const doc = JSON.parse(snapshotDocument(batch, [p('x', 'org-a')]));
    expect(doc.payouts[0].lines).toEqual([{ amountMinor: '2000', entryId: '9' }, { amountMinor: '1000', entryId: '10' }]);
    expect(doc.batch).toEqual({ asOf: '2030-06-15T12:00:00.000Z', currency: 'USD', holdbackDays: 7, id: 'b1', minimumMinor: '2500' });
  });

  it('changes with a held payout, an amount, an account, a line, or the batch facts', () => {
    const base = snapshotHash(batch, [p('x', 'org-a')]);
    expect(snapshotHash(batch, [p('x', 'org-a', 'HELD')])).not.toBe(base);
    expect(snapshotHash(batch, [{ ...p('x', 'org-a'), amountMinor: 3001n }])).not.toBe(base);
    expect(snapshotHash(batch, [{ ...p('x', 'org-a'), accountId: 'acct_other' }])).not.toBe(base);
    expect(snapshotHash(batch, [{ ...p('x', 'org-a'), lines: [{ entryId: '9', amountMinor: 3000n }] }])).not.toBe(base);
    expect(snapshotHash({ ...batch, holdbackDays: 8 }, [p('x', 'org-a')])).not.toBe(base);
    expect(snapshotHash({ ...batch, asOf: new Date(batch.asOf.getTime() + 1) }, [p('x', 'org-a')])).not.toBe(base);
  });
});
