/** The SQL of per-vendor platform-fee overrides (vendor_fee_overrides). */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

@Injectable()
export class VendorFeeRepository {
  /** The vendor's override in basis points (null: none); `lock` holds the row for a change. */
  async overrideBps(em: EntityManager, vendorOrganizationId: string, opts: { lock?: boolean } = {}): Promise<number | null> {
    const [row]: { fee_bps: number }[] = await em.query(
      `SELECT fee_bps FROM vendor_fee_overrides WHERE vendor_organization_id = $1${opts.lock ? ' FOR UPDATE' : ''}`,
      [vendorOrganizationId],
    );
    return row ? row.fee_bps : null;
  }

  /** Sets the override; returns when it was set. */
  async upsert(em: EntityManager, vendorOrganizationId: string, feeBps: number, setByUserId: string | null): Promise<Date> {
    const [row]: { set_at: Date }[] = await em.query(
      `INSERT INTO vendor_fee_overrides (vendor_organization_id, fee_bps, set_by_user_id, set_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (vendor_organization_id) DO UPDATE SET fee_bps = excluded.fee_bps, set_by_user_id = excluded.set_by_user_id, set_at = now()
       RETURNING set_at`,
      [vendorOrganizationId, feeBps, setByUserId],
    );
    return new Date(row.set_at);
  }

  async delete(em: EntityManager, vendorOrganizationId: string): Promise<void> {
    await em.query(`DELETE FROM vendor_fee_overrides WHERE vendor_organization_id = $1`, [vendorOrganizationId]);
  }
}
