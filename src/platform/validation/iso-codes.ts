/**
 * ISO 3166-1 alpha-2 countries and ISO 4217 currencies, from maintained data
 * packages rather than a hand-kept list. Codes are upper-case only.
 */
import currencyCodes from 'currency-codes';
import countries from 'i18n-iso-countries';
import { predicateDecorator } from './decorator';

export function isCountryCode(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Z]{2}$/.test(value) && countries.isValid(value);
}

/** Metals, fund units, test and "no currency" codes: not money we can charge. */
const NON_MONEY = new Set(['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX']);

export function isCurrencyCode(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Z]{3}$/.test(value) && !NON_MONEY.has(value) && !!currencyCodes.code(value);
}

/** Minor-unit exponent (JPY 0, USD 2, BHD 3): the one table money uses. */
export function currencyExponent(currency: string): number {
  const c = isCurrencyCode(currency) ? currencyCodes.code(currency) : undefined;
  if (!c) throw new Error(`Unknown currency ${currency}`);
  return c.digits;
}

export const IsCountryCode = predicateDecorator('isCountryCode', isCountryCode, 'an ISO 3166-1 alpha-2 country code, upper-case (got "$value")');
export const IsCurrencyCode = predicateDecorator('isCurrencyCode', isCurrencyCode, 'an ISO 4217 currency code, upper-case (got "$value")');
