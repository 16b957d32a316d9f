import { validatePosting } from '../ledger/posting';
import { payoutFailedPosting, payoutPosting, transferReversalPosting } from './payout-postings';

const p = {
  payoutId: '11111111-1111-4111-8111-111111111111',
  batchId: '22222222-2222-4222-8222-222222222222',
  organizationId: '33333333-3333-4333-8333-333333333333',
  currency: 'USD',
  amountMinor: 12_345n,
};
const at = new Date('2026-12-01T00:00:00Z');

describe('payout postings', () => {
  it('are valid, balanced postings with one reference each', () => {
    const all = [payoutPosting(p, at), payoutFailedPosting(p, 'account_invalid', at), transferReversalPosting(p, 'trr_1', 100n, at, 'refund')];
    for (const posting of all) expect(() => validatePosting(posting)).not.toThrow();
    expect(new Set(all.map((x) => x.reference)).size).toBe(3);
  });

  it('a payout moves the amount onto the contra account against cash; a failure and a full reversal undo it', () => {
    const net = (lines: { account: string; amountMinor: bigint }[], account: string) =>
      lines.filter((l) => l.account === account).reduce((s, l) => s + l.amountMinor, 0n);
    const paid = `vendor:${p.organizationId}:paid`;
    const sent = payoutPosting(p, at).lines;
    expect(net(sent, paid)).toBe(12_345n);
    expect(net(sent, 'platform:cash')).toBe(-12_345n);
    expect(net([...sent, ...payoutFailedPosting(p, 'x', at).lines], paid)).toBe(0n);
    expect(net([...sent, ...transferReversalPosting(p, 'trr_2', 12_345n, at, null).lines], 'platform:cash')).toBe(0n);
  });

  it('refuses zero, negative and excessive amounts', () => {
    expect(() => payoutPosting({ ...p, amountMinor: 0n }, at)).toThrow(RangeError);
    expect(() => transferReversalPosting(p, 'trr_3', -1n, at, null)).toThrow(RangeError);
    expect(() => transferReversalPosting(p, 'trr_3', 12_346n, at, null)).toThrow(RangeError);
  });
});
