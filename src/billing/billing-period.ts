/**
 * Billing periods are calendar months in UTC, named 'YYYY-MM' — the same
 * months as usage_period_totals.period_start (metering).
 */
import { BadInputError } from '../platform/errors/app-error';

export const PERIOD_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;
const DAY_MS = 86_400_000;

export interface PeriodRange {
  /** 'YYYY-MM' */
  period: string;
  /** First instant of the month, UTC (inclusive). */
  start: Date;
  /** First instant of the next month, UTC (exclusive). */
  end: Date;
  /** Calendar days in the month. */
  days: number;
}

function rangeOf(year: number, monthIndex: number): PeriodRange {
  const start = new Date(Date.UTC(year, monthIndex, 1));
  const end = new Date(Date.UTC(year, monthIndex + 1, 1));
  const period = `${String(start.getUTCFullYear()).padStart(4, '0')}-${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
  return { period, start, end, days: Math.round((end.getTime() - start.getTime()) / DAY_MS) };
}

/** 'YYYY-MM' (years 2000–9998) → its range; anything else → BAD_USER_INPUT on `field`. */
export function parsePeriod(text: unknown, field = 'period'): PeriodRange {
  const m = typeof text === 'string' ? PERIOD_PATTERN.exec(text) : null;
  const year = m ? Number(m[1]) : NaN;
  if (!m || year < 2000 || year > 9998) {
    throw new BadInputError([{ field, message: `${field} must be a month as YYYY-MM (UTC), e.g. 2026-10` }]);
  }
  return rangeOf(year, Number(m[2]) - 1);
}

/** The period an instant falls in (UTC). */
export function periodOf(t: Date): PeriodRange {
  return rangeOf(t.getUTCFullYear(), t.getUTCMonth());
}

export function previousPeriod(p: PeriodRange): PeriodRange {
  return rangeOf(p.start.getUTCFullYear(), p.start.getUTCMonth() - 1);
}

export function nextPeriod(p: PeriodRange): PeriodRange {
  return rangeOf(p.start.getUTCFullYear(), p.start.getUTCMonth() + 1);
}

/**
 * Calendar days (UTC) of the period during which a term [from, to) runs: a
 * day counts when any part of it is inside the term. 0 when they do not meet.
 */
export function coveredDays(p: PeriodRange, from: Date, to: Date | null): number {
  const a = Math.max(from.getTime(), p.start.getTime());
  const b = Math.min(to === null ? p.end.getTime() : to.getTime(), p.end.getTime());
  if (b <= a) return 0;
  const first = Math.floor((a - p.start.getTime()) / DAY_MS);
  const last = Math.ceil((b - p.start.getTime()) / DAY_MS);
  return last - first;
}
