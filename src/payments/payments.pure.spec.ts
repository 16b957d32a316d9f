import { feeFromStripeUnits, feeToStripeUnits } from '../platform/money/stripe-units';
import { requestHash, sandboxId } from './sandbox/sandbox-store';
import { failureCodeOf, paymentIntentResult } from './stripe-shapes';
import { retryDelaySeconds } from './webhooks/webhook-inbox.service';

describe('processor fee units', () => {
  it('converts exactly where the units agree or are coarser', () => {
    expect(feeFromStripeUnits(320, 'usd')).toBe(320n);
    expect(feeFromStripeUnits(175, 'JPY')).toBe(175n);
    expect(feeFromStripeUnits(358, 'bhd')).toBe(358n);
    expect(feeFromStripeUnits(300, 'isk')).toBe(3n);
  });

  it('rounds half-up, once, where Stripe is finer than ISO (ISK), symmetric for negative fees', () => {
    expect(feeFromStripeUnits(349, 'ISK')).toBe(3n);
    expect(feeFromStripeUnits(350, 'ISK')).toBe(4n);
    expect(feeFromStripeUnits(-350, 'ISK')).toBe(-4n);
  });

  it('round-trips our minor units, without the charge-amount rules (BHD need not end in 0)', () => {
    for (const [minor, currency] of [
      [357n, 'BHD'],
      [3n, 'ISK'],
      [290n, 'USD'],
      [36n, 'JPY'],
    ] as const) {
      expect(feeFromStripeUnits(feeToStripeUnits(minor, currency), currency)).toBe(minor);
    }
  });

  it('refuses non-integers', () => {
    expect(() => feeFromStripeUnits(1.5, 'USD')).toThrow(RangeError);
  });
});

describe('Stripe shapes', () => {
  it('reports the most specific failure code', () => {
    expect(failureCodeOf('card_declined', 'insufficient_funds')).toBe('insufficient_funds');
    expect(failureCodeOf('card_declined', 'generic_decline')).toBe('card_declined');
    expect(failureCodeOf('authentication_required', null)).toBe('authentication_required');
    expect(failureCodeOf(null, null)).toBe('payment_failed');
  });

  it('maps a PaymentIntent into our units and upper-case currency', () => {
    const r = paymentIntentResult({
      id: 'pi_1',
      status: 'succeeded',
      amount: 15000,
      currency: 'isk',
      latest_charge: { id: 'ch_1' },
      last_payment_error: null,
      metadata: { invoice_id: 'x' },
    });
    expect(r).toEqual({ id: 'pi_1', status: 'succeeded', amountMinor: 150n, currency: 'ISK', latestChargeId: 'ch_1', failureCode: null, failureMessage: null, metadata: { invoice_id: 'x' } });
  });
});

describe('sandbox ids and request hashes', () => {
  it('derives the same id from the same key, different ones per kind and key', () => {
    expect(sandboxId('payment_intent', 'invoice:1:attempt:1')).toBe(sandboxId('payment_intent', 'invoice:1:attempt:1'));
    expect(sandboxId('payment_intent', 'invoice:1:attempt:1')).toMatch(/^pi_sandbox_[0-9a-f]{24}$/);
    expect(sandboxId('payment_intent', 'invoice:1:attempt:2')).not.toBe(sandboxId('payment_intent', 'invoice:1:attempt:1'));
    expect(sandboxId('charge', 'k').slice(3)).not.toBe(sandboxId('refund', 'k').slice(3));
  });

  it('hashes parameters independently of key order', () => {
    expect(requestHash({ a: 1, b: { c: 2, d: [1, 2] } })).toBe(requestHash({ b: { d: [1, 2], c: 2 }, a: 1 }));
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: 2 }));
    expect(requestHash({ a: [1, 2] })).not.toBe(requestHash({ a: [2, 1] }));
  });
});

describe('webhook retry backoff', () => {
  it('doubles from 30 s and is capped at an hour', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map(retryDelaySeconds)).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
  });
});
