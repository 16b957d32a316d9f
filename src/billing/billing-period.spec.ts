import { BadInputError } from '../platform/errors/app-error';
import { coveredDays, nextPeriod, parsePeriod, periodOf, previousPeriod } from './billing-period';

describe('billing periods', () => {
  it('parses YYYY-MM into UTC month bounds', () => {
    const p = parsePeriod('2026-02');
    expect(p.start.toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(p.end.toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(p.days).toBe(28);
    expect(parsePeriod('2028-02').days).toBe(29);
    expect(parsePeriod('2026-12').end.toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it.each(['2026-13', '2026-00', '2026-1', '26-10', '2026-10-01', ' 2026-10', '1999-12', '', 'abcd-ef'])('refuses %p', (text) => {
    expect(() => parsePeriod(text)).toThrow(BadInputError);
  });

  it('finds the period of an instant in UTC and its neighbours', () => {
    expect(periodOf(new Date('2026-10-31T23:59:59.999Z')).period).toBe('2026-10');
    expect(periodOf(new Date('2026-11-01T00:00:00.000Z')).period).toBe('2026-11');
    expect(previousPeriod(parsePeriod('2026-01')).period).toBe('2025-12');
    expect(nextPeriod(parsePeriod('2026-12')).period).toBe('2027-01');
  });

  it('counts the days of a month a term covers (any part of a day counts)', () => {
    const oct = parsePeriod('2026-10');
    expect(coveredDays(oct, new Date('2026-01-01T00:00:00Z'), null)).toBe(31);
    expect(coveredDays(oct, new Date('2026-10-23T10:00:00Z'), null)).toBe(9);
    expect(coveredDays(oct, new Date('2026-10-01T00:00:00Z'), new Date('2026-10-02T00:00:00Z'))).toBe(1);
    expect(coveredDays(oct, new Date('2026-10-01T00:00:00Z'), new Date('2026-10-02T00:00:01Z'))).toBe(2);
    expect(coveredDays(oct, new Date('2026-09-01T00:00:00Z'), new Date('2026-10-01T00:00:00Z'))).toBe(0);
    expect(coveredDays(oct, new Date('2026-11-01T00:00:00Z'), null)).toBe(0);
  });
});
