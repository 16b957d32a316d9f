import { Accounts } from './accounts';
import { InvalidPostingError, PostingErrorReason, UnbalancedPostingError } from './ledger.errors';
import { linesFingerprint, MAX_POSTING_LINES, PostingInput, validatePosting } from './posting';

const base = (): PostingInput => ({
  reference: 'invoice:1:paid',
  kind: 'INVOICE_PAID',
  description: 'paid',
  lines: [
    { account: Accounts.platformCash, currency: 'USD', amountMinor: 100n },
    { account: Accounts.platformFees, currency: 'USD', amountMinor: -10n },
    { account: Accounts.platformBilled, currency: 'USD', amountMinor: -90n },
  ],
});

const reasonOf = (p: PostingInput): PostingErrorReason | null => {
  try {
    validatePosting(p);
    return null;
  } catch (e) {
    if (!(e instanceof InvalidPostingError)) throw e;
    return e.reason;
  }
};

describe('validatePosting', () => {
  it('accepts a balanced posting', () => {
    expect(reasonOf(base())).toBeNull();
  });

  it('names the broken rule', () => {
    const cases: [PostingErrorReason, (p: PostingInput) => void][] = [
      [PostingErrorReason.BAD_REFERENCE, (p) => (p.reference = 'has space')],
      [PostingErrorReason.BAD_REFERENCE, (p) => (p.reference = 'x'.repeat(201))],
      [PostingErrorReason.BAD_KIND, (p) => (p.kind = '')],
      [PostingErrorReason.BAD_DESCRIPTION, (p) => (p.description = 'x'.repeat(1001))],
      [PostingErrorReason.BAD_OCCURRED_AT, (p) => (p.occurredAt = new Date(NaN))],
      [PostingErrorReason.BAD_METADATA, (p) => (p.metadata = [] as unknown as Record<string, string>)],
      [PostingErrorReason.TOO_FEW_LINES, (p) => (p.lines = [])],
      [PostingErrorReason.TOO_MANY_LINES, (p) => (p.lines = Array.from({ length: MAX_POSTING_LINES + 2 }, (_, i) => ({ ...p.lines[0], amountMinor: i % 2 ? 1n : -1n })))],
      [PostingErrorReason.BAD_AMOUNT, (p) => (p.lines[0].amountMinor = 2n ** 63n)],
      [PostingErrorReason.BAD_MEMO, (p) => (p.lines[0].memo = 5 as unknown as string)],
      [PostingErrorReason.UNBALANCED, (p) => (p.lines[2].amountMinor = -91n)],
    ];
    for (const [reason, spoil] of cases) {
      const p = base();
      spoil(p);
      expect(reasonOf(p)).toBe(reason);
    }
  });

  it('reports every unbalanced currency', () => {
    const p = base();
    p.lines.push({ account: Accounts.platformCash, currency: 'JPY', amountMinor: 5n });
    p.lines[0].amountMinor = 101n;
    const e = (() => {
      try {
        validatePosting(p);
      } catch (err) {
        return err as UnbalancedPostingError;
      }
    })();
    expect(e).toBeInstanceOf(UnbalancedPostingError);
    expect(e!.imbalances).toEqual({ USD: '1', JPY: '5' });
  });
});

describe('linesFingerprint', () => {
  it('ignores line order and memos, not amounts', () => {
    const a = base().lines;
    expect(linesFingerprint([...a].reverse())).toBe(linesFingerprint(a));
    expect(linesFingerprint(a.map((l) => ({ ...l, memo: 'x' })))).toBe(linesFingerprint(a));
    expect(linesFingerprint(a.map((l, i) => (i === 0 ? { ...l, amountMinor: 1n } : l)))).not.toBe(linesFingerprint(a));
  });
});
