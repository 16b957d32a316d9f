import fc from 'fast-check';
import { checkUsageEvent, MAX_TOKENS_PER_EVENT, usagePayloadHash, UsageRejection } from './usage-event.validation';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const AGREEMENT = '3f2b8f4e-9d7a-4c1e-8b6a-2a9f0c1d2e3f';
const base = { id: 'evt-1', agreementId: AGREEMENT, occurredAt: '2026-11-27T11:00:00Z', inputTokens: 10, outputTokens: 5 };

describe('checkUsageEvent', () => {
  it('accepts a well-formed event and converts counts to bigint', () => {
    const c = checkUsageEvent({ ...base, metadata: { run: 7 } }, NOW);
    expect(c).toEqual({
      ok: true,
      event: { id: 'evt-1', agreementId: AGREEMENT, occurredAt: new Date('2026-11-27T11:00:00Z'), inputTokens: 10n, outputTokens: 5n, metadata: { run: 7 } },
    });
  });

  it('accepts the window edges and refuses just beyond them', () => {
    const at = (ms: number) => checkUsageEvent({ ...base, occurredAt: new Date(ms).toISOString() }, NOW);
    expect(at(NOW + 5 * 60_000).ok).toBe(true);
    expect(at(NOW + 5 * 60_000 + 1)).toMatchObject({ reason: UsageRejection.OCCURRED_IN_FUTURE });
    expect(at(NOW - 35 * 86_400_000).ok).toBe(true);
    expect(at(NOW - 35 * 86_400_000 - 1)).toMatchObject({ reason: UsageRejection.OCCURRED_TOO_LONG_AGO });
  });

  it('accepts every whole count in range and refuses everything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: MAX_TOKENS_PER_EVENT }), fc.double(), fc.integer({ max: -1 }), fc.string()), (n) => {
        const c = checkUsageEvent({ ...base, inputTokens: n }, NOW);
        const valid = typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_TOKENS_PER_EVENT;
        expect(c.ok).toBe(valid);
        if (!c.ok) expect(c.reason).toBe(UsageRejection.INVALID_TOKENS);
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});

describe('usagePayloadHash', () => {
  const ev = { occurredAt: new Date('2026-11-27T11:00:00Z'), inputTokens: 10n, outputTokens: 5n, metadata: { a: 1, b: [1, 2] } };

  it('ignores metadata key order and the spelling of the instant', () => {
    const again = { ...ev, occurredAt: new Date('2026-11-27T12:00:00.000+01:00'), metadata: { b: [1, 2], a: 1 } };
    expect(usagePayloadHash(again).equals(usagePayloadHash(ev))).toBe(true);
  });

  it('changes when any part of the payload changes', () => {
    const h = usagePayloadHash(ev);
    for (const changed of [
      { ...ev, inputTokens: 11n },
      { ...ev, outputTokens: 4n },
      { ...ev, occurredAt: new Date('2026-11-27T11:00:00.001Z') },
      { ...ev, metadata: { a: 2, b: [1, 2] } },
      { ...ev, metadata: null },
      // The separator cannot be forged by moving digits between the counts.
      { ...ev, inputTokens: 1n, outputTokens: 105n },
    ]) {
      expect(usagePayloadHash(changed).equals(h)).toBe(false);
    }
  });
});
