import fc from 'fast-check';
import { fromStripeAmount, StripeAmountError, stripeExponent, toStripeAmount } from './stripe-units';

describe('Stripe units', () => {
  it.each([
    ['USD', 1234n, 1234],
    ['EUR', 5n, 5],
    ['JPY', 1200n, 1200], // zero-decimal in ISO and at Stripe
    ['KRW', 50_000n, 50_000],
    ['ISK', 5n, 500], // ISO 0 decimals; Stripe wants two, always 00
    ['UGX', 5n, 500], // same special case as ISK
    ['BHD', 1230n, 1230], // three decimals, last digit 0
    ['KWD', 10n, 10],
  ])('%s: %s minor units ↔ %s at Stripe', (currency, minor, stripe) => {
    expect(toStripeAmount(minor, currency)).toBe(stripe);
    expect(fromStripeAmount(stripe, currency)).toBe(minor);
    // Stripe sends currencies in lower case.
    expect(fromStripeAmount(stripe, currency.toLowerCase())).toBe(minor);
    expect(toStripeAmount(minor, currency.toLowerCase())).toBe(stripe);
  });

  it('exponents', () => {
    expect([stripeExponent('USD'), stripeExponent('JPY'), stripeExponent('KRW'), stripeExponent('ISK'), stripeExponent('BHD')]).toEqual([2, 0, 0, 2, 3]);
  });

  it('round-trips every amount it accepts', () => {
    const currencies = ['USD', 'JPY', 'KRW', 'ISK', 'UGX', 'BHD', 'EUR', 'CLP', 'MGA'];
    fc.assert(
      fc.property(fc.constantFrom(...currencies), fc.bigInt({ min: 0n, max: 10n ** 12n }), (c, minor) => {
        let stripe: number;
        try {
          stripe = toStripeAmount(minor, c);
        } catch (e) {
          expect(e).toBeInstanceOf(StripeAmountError);
          return;
        }
        expect(fromStripeAmount(stripe, c)).toBe(minor);
      }),
      { seed: 20_260_503, numRuns: 10_000 },
    );
  });

  it('refuses what Stripe cannot take or what is not a whole number of minor units', () => {
    expect(() => toStripeAmount(1235n, 'BHD')).toThrow(StripeAmountError); // must end in 0
    expect(() => toStripeAmount(150n, 'MGA')).toThrow(StripeAmountError); // ISO 2 decimals, Stripe 0: 1.50 MGA cannot be charged
    expect(toStripeAmount(300n, 'MGA')).toBe(3);
    expect(() => fromStripeAmount(550, 'ISK')).toThrow(StripeAmountError); // 5.50 ISK is not whole krónur
    expect(() => fromStripeAmount(1.5, 'USD')).toThrow(StripeAmountError);
    expect(() => fromStripeAmount(Number.MAX_SAFE_INTEGER + 1, 'USD')).toThrow(StripeAmountError);
    expect(() => toStripeAmount(2n ** 60n, 'USD')).toThrow(StripeAmountError);
    expect(() => toStripeAmount(1n, 'XYZ')).toThrow(/Unknown currency/);
    expect(() => fromStripeAmount(1, 'xyz')).toThrow(/Unknown currency/);
    expect(() => toStripeAmount(1 as unknown as bigint, 'USD')).toThrow(TypeError);
  });
});
