/**
 * The SQL of organizations' processor customers (payment_customers): one row
 * per organization, its mode, and the default payment method the latest
 * setup saved. Every method takes the EntityManager of the caller's
 * transaction (or the reader).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { PaymentsMode } from './payments.port';

export interface PaymentCustomerRow {
  mode: PaymentsMode;
  customerId: string;
  defaultPaymentMethodId: string | null;
}

export interface DefaultPaymentMethod {
  customerId: string;
  paymentMethodId: string;
  setupIntentId: string;
  /** The SetupIntent's creation time, in seconds since the epoch (Stripe's resolution). */
  createdSeconds: number;
}

@Injectable()
export class PaymentsRepository {
  async customerOf(em: EntityManager, organizationId: string): Promise<PaymentCustomerRow | null> {
    const [row] = (await em.query(
      `SELECT mode, customer_id, default_payment_method_id FROM payment_customers WHERE organization_id = $1`,
      [organizationId],
    )) as { mode: PaymentsMode; customer_id: string; default_payment_method_id: string | null }[];
    return row ? { mode: row.mode, customerId: row.customer_id, defaultPaymentMethodId: row.default_payment_method_id } : null;
  }

  /** The organization's name (what the processor customer is called), or null when there is no such organization. */
  async organizationName(em: EntityManager, organizationId: string): Promise<string | null> {
    const [org] = (await em.query(`SELECT name FROM organizations WHERE id = $1`, [organizationId])) as { name: string }[];
    return org ? org.name : null;
  }

  /**
   * The organization's customer in `mode`: inserted, or replacing one of the
   * other mode (its saved method too); a row of the same mode is kept (the
   * first of concurrent setups wins).
   */
  async saveCustomer(em: EntityManager, organizationId: string, mode: PaymentsMode, customerId: string): Promise<void> {
    await em.query(
      `INSERT INTO payment_customers (organization_id, mode, customer_id) VALUES ($1, $2, $3)
       ON CONFLICT (organization_id) DO UPDATE
         SET mode = EXCLUDED.mode, customer_id = EXCLUDED.customer_id, default_payment_method_id = NULL,
             default_setup_intent_id = NULL, default_payment_method_at = NULL, updated_at = now()
       WHERE payment_customers.mode <> EXCLUDED.mode`,
      [organizationId, mode, customerId],
    );
  }

  /**
   * Saves the default payment method unless a setup created later was already
   * saved (same second: the last processed wins). Returns how many customers
   * changed (0: unknown customer, or a newer setup is saved).
   */
  async saveDefaultPaymentMethod(em: EntityManager, m: DefaultPaymentMethod): Promise<number> {
    const rows = (await em.query(
      `UPDATE payment_customers
          SET default_payment_method_id = $2, default_setup_intent_id = $3, default_payment_method_at = to_timestamp($4), updated_at = now()
        WHERE customer_id = $1
          AND (default_payment_method_at IS NULL
               OR default_payment_method_at <= to_timestamp($4))
        RETURNING organization_id`,
      [m.customerId, m.paymentMethodId, m.setupIntentId, m.createdSeconds],
    )) as [unknown[], number] | unknown[];
    return Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : rows.length;
  }
}
