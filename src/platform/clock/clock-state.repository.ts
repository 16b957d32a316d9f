/**
 * The sandbox clock's one row: how far business time is ahead of real time.
 * Advances lock the row, so concurrent advances are serialised; the offset
 * only grows (the UPDATE refuses a smaller one), and each change is announced
 * with NOTIFY on CLOCK_CHANNEL, delivered to listeners when the transaction
 * commits.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

export const CLOCK_CHANNEL = 'beiming_sandbox_clock';

export interface ClockStateRow {
  offsetMs: number;
  advancedAt: Date | null;
  advancedByUserId: string | null;
}

interface RawRow {
  offset_ms: string;
  advanced_at: Date | null;
  advanced_by_user_id: string | null;
}

const toRow = (r: RawRow): ClockStateRow => ({ offsetMs: Number(r.offset_ms), advancedAt: r.advanced_at, advancedByUserId: r.advanced_by_user_id });
const COLUMNS = 'offset_ms::text, advanced_at, advanced_by_user_id';

@Injectable()
export class ClockStateRepository {
  async read(em: EntityManager): Promise<ClockStateRow> {
    const rows: RawRow[] = await em.query(`SELECT ${COLUMNS} FROM sandbox_clock WHERE id = 1`);
    return rows[0] ? toRow(rows[0]) : { offsetMs: 0, advancedAt: null, advancedByUserId: null };
  }

  /** Reads the row FOR UPDATE: the caller's transaction holds it until commit. */
  async lock(em: EntityManager): Promise<ClockStateRow> {
    const rows: RawRow[] = await em.query(`SELECT ${COLUMNS} FROM sandbox_clock WHERE id = 1 FOR UPDATE`);
    if (!rows[0]) throw new Error('sandbox_clock has no row (migrations not applied?)');
    return toRow(rows[0]);
  }

  /**
   * Sets the offset if it does not move the clock back; returns whether it was
   * written. `advanced_at` is wall-clock time (when the admin acted).
   */
  async advance(em: EntityManager, offsetMs: number, userId: string | null): Promise<boolean> {
    const [rows] = (await em.query(
      `UPDATE sandbox_clock SET offset_ms = $1, advanced_at = now(), advanced_by_user_id = $2
        WHERE id = 1 AND offset_ms <= $1 RETURNING id`,
      [String(offsetMs), userId],
    )) as [unknown[], number];
    if (rows.length === 0) return false;
    await em.query(`SELECT pg_notify($1, $2)`, [CLOCK_CHANNEL, String(offsetMs)]);
    return true;
  }
}
