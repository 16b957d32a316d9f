/**
 * The SQL of collecting an invoice's payment: its collection state
 * (invoice_collections: the payment it was paid by, failures and the next
 * attempt, the processor's fee), how the payment was allocated
 * (invoice_allocations), and its disputes (invoice_disputes).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface CollectionRow {
  invoice_id: string;
  payment_intent_id: string | null;
  charge_id: string | null;
  failures: number;
  last_failure_code: string | null;
  next_attempt_at: Date | null;
  processing_fee_minor: string | null;
  processing_fee_currency: string | null;
}

export interface AllocationRow {
  account: string;
  vendor_organization_id: string | null;
  currency: string;
  amount_minor: string;
  fee_bps: number | null;
}

export interface NewAllocation {
  account: string;
  vendorOrganizationId: string | null;
  amount: bigint;
  feeBps: number | null;
}

export interface DisputeRow {
  invoice_id: string;
  dispute_id: string;
  status: string;
  amount_minor: string;
  currency: string;
  reason: string | null;
  opened_at: Date;
  closed_at: Date | null;
}

@Injectable()
export class CollectionRepository {
  /**
   * OPEN invoices whose first or next charge attempt is due at `now`, the
   * longest waiting first. Attempts are scheduled in business time (the
   * platform Clock): the dunning schedule follows the invoice's dates.
   */
  async dueInvoiceIds(em: EntityManager, limit: number, now: Date): Promise<string[]> {
    const rows: { id: string }[] = await em.query(
      `SELECT i.id FROM invoices i LEFT JOIN invoice_collections c ON c.invoice_id = i.id
        WHERE i.status = 'OPEN' AND i.total_minor > 0
          AND (c.invoice_id IS NULL OR (c.settled_at IS NULL AND (c.next_attempt_at IS NULL AND c.failures = 0 OR c.next_attempt_at <= $2)))
        ORDER BY coalesce(c.next_attempt_at, i.issued_at), i.id LIMIT $1`,
      [limit, now],
    );
    return rows.map((r) => r.id);
  }

  async invoiceOfCharge(em: EntityManager, chargeId: string): Promise<string | null> {
    const [c]: { invoice_id: string }[] = await em.query(`SELECT invoice_id FROM invoice_collections WHERE charge_id = $1`, [chargeId]);
    return c?.invoice_id ?? null;
  }

  async invoiceOfIntent(em: EntityManager, paymentIntentId: string): Promise<string | null> {
    const [c]: { invoice_id: string }[] = await em.query(`SELECT invoice_id FROM invoice_collections WHERE payment_intent_id = $1`, [paymentIntentId]);
    return c?.invoice_id ?? null;
  }

  /** The processor's PaymentIntent that paid the invoice (null: not paid through the processor). */
  async paymentIntentOf(em: EntityManager, invoiceId: string): Promise<string | null> {
    const [c]: { payment_intent_id: string | null }[] = await em.query(`SELECT payment_intent_id FROM invoice_collections WHERE invoice_id = $1`, [invoiceId]);
    return c?.payment_intent_id ?? null;
  }

  /** Keeps the first PaymentIntent and charge that paid the invoice (whichever path learns them first). */
  async rememberPayment(em: EntityManager, invoiceId: string, paymentIntentId: string, chargeId: string | null): Promise<void> {
    await em.query(
      `INSERT INTO invoice_collections (invoice_id, payment_intent_id, charge_id) VALUES ($1, $2, $3)
       ON CONFLICT (invoice_id) DO UPDATE SET payment_intent_id = coalesce(invoice_collections.payment_intent_id, excluded.payment_intent_id),
         charge_id = coalesce(invoice_collections.charge_id, excluded.charge_id), updated_at = now()`,
      [invoiceId, paymentIntentId, chargeId],
    );
  }

  /** Asks again `seconds` after `now` (an outcome still unknown). */
  async askAgainIn(em: EntityManager, invoiceId: string, seconds: number, now: Date): Promise<void> {
    await em.query(
      `INSERT INTO invoice_collections (invoice_id, next_attempt_at) VALUES ($1, $3::timestamptz + make_interval(secs => $2))
       ON CONFLICT (invoice_id) DO UPDATE SET next_attempt_at = excluded.next_attempt_at, updated_at = now()`,
      [invoiceId, seconds, now],
    );
  }

  /** Counts one more failed attempt; returns the count and when the first failed. */
  async countFailure(em: EntityManager, invoiceId: string, failure: { code: string; message: string }, now: Date): Promise<{ failures: number; firstFailureAt: Date }> {
    const [c]: { failures: number; first_failure_at: Date }[] = await em.query(
      `INSERT INTO invoice_collections (invoice_id, failures, first_failure_at, last_failure_code, last_failure_message)
       VALUES ($1, 1, $4, $2, $3)
       ON CONFLICT (invoice_id) DO UPDATE SET failures = invoice_collections.failures + 1,
         first_failure_at = coalesce(invoice_collections.first_failure_at, excluded.first_failure_at),
         last_failure_code = excluded.last_failure_code, last_failure_message = excluded.last_failure_message, updated_at = now()
       RETURNING failures, first_failure_at`,
      [invoiceId, failure.code, failure.message.slice(0, 500), now],
    );
    return { failures: c.failures, firstFailureAt: new Date(c.first_failure_at) };
  }

  /** The next scheduled attempt (null: none). */
  async setNextAttempt(em: EntityManager, invoiceId: string, at: Date | null): Promise<void> {
    await em.query(`UPDATE invoice_collections SET next_attempt_at = $2, updated_at = now() WHERE invoice_id = $1`, [invoiceId, at]);
  }

  async markSettled(em: EntityManager, invoiceId: string, at: Date): Promise<void> {
    await em.query(`UPDATE invoice_collections SET settled_at = $2, next_attempt_at = NULL, updated_at = now() WHERE invoice_id = $1`, [invoiceId, at]);
  }

  /** Records the processor's fee once; false when it was already recorded. */
  async setProcessingFee(em: EntityManager, invoiceId: string, fee: { feeMinor: bigint; currency: string }): Promise<boolean> {
    const [rows] = (await em.query(
      `UPDATE invoice_collections SET processing_fee_minor = $2, processing_fee_currency = $3, updated_at = now()
        WHERE invoice_id = $1 AND processing_fee_minor IS NULL RETURNING invoice_id`,
      [invoiceId, fee.feeMinor.toString(), fee.currency],
    )) as [{ invoice_id: string }[], number];
    return rows.length > 0;
  }

  /** Paid invoices whose processing fee is not recorded yet, oldest payment first. */
  async missingProcessingFees(em: EntityManager, limit: number): Promise<{ invoiceId: string; chargeId: string }[]> {
    const rows: { invoice_id: string; charge_id: string }[] = await em.query(
      `SELECT invoice_id, charge_id FROM invoice_collections
        WHERE settled_at IS NOT NULL AND charge_id IS NOT NULL AND processing_fee_minor IS NULL ORDER BY settled_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ invoiceId: r.invoice_id, chargeId: r.charge_id }));
  }

  async collectionsOf(em: EntityManager, invoiceIds: readonly string[]): Promise<CollectionRow[]> {
    return em.query(
      `SELECT invoice_id, payment_intent_id, charge_id, failures, last_failure_code, next_attempt_at, processing_fee_minor::text, processing_fee_currency
         FROM invoice_collections WHERE invoice_id = ANY($1::uuid[])`,
      [[...invoiceIds]],
    );
  }

  /** How the invoice's payment was allocated (platform fee first, then vendors in line order). */
  async allocationsOf(em: EntityManager, invoiceId: string): Promise<AllocationRow[]> {
    return em.query(
      `SELECT account, vendor_organization_id, currency, amount_minor::text, fee_bps FROM invoice_allocations WHERE invoice_id = $1 ORDER BY position`,
      [invoiceId],
    );
  }

  async insertAllocations(em: EntityManager, invoiceId: string, currency: string, parts: readonly NewAllocation[]): Promise<void> {
    await em.query(
      `INSERT INTO invoice_allocations (invoice_id, account, vendor_organization_id, currency, amount_minor, fee_bps, position)
       SELECT $1, * FROM unnest($2::text[], $3::uuid[], $4::text[], $5::bigint[], $6::int[], $7::int[])`,
      [
        invoiceId,
        parts.map((p) => p.account),
        parts.map((p) => p.vendorOrganizationId),
        parts.map(() => currency),
        parts.map((p) => p.amount.toString()),
        parts.map((p) => p.feeBps),
        parts.map((_, i) => i + 1),
      ],
    );
  }

  async hasOpenDispute(em: EntityManager, invoiceId: string): Promise<boolean> {
    const [r]: { open: boolean }[] = await em.query(`SELECT EXISTS (SELECT 1 FROM invoice_disputes WHERE invoice_id = $1 AND status = 'OPEN') AS open`, [invoiceId]);
    return r.open;
  }

  /** Records the dispute once (keyed by the processor's id); true when this call created it. */
  async insertDispute(
    em: EntityManager,
    d: { disputeId: string; invoiceId: string; chargeId: string; amountMinor: bigint; currency: string; reason: string | null },
  ): Promise<boolean> {
    const created: { dispute_id: string }[] = await em.query(
      `INSERT INTO invoice_disputes (dispute_id, invoice_id, charge_id, amount_minor, currency, status, reason)
       VALUES ($1, $2, $3, $4, $5, 'OPEN', $6) ON CONFLICT (dispute_id) DO NOTHING RETURNING dispute_id`,
      [d.disputeId, d.invoiceId, d.chargeId, d.amountMinor.toString(), d.currency, d.reason],
    );
    return created.length > 0;
  }

  /** OPEN → WON | LOST; returns the disputed amount, or null when it was already closed. */
  async closeDispute(em: EntityManager, disputeId: string, status: 'WON' | 'LOST'): Promise<bigint | null> {
    const [rows] = (await em.query(
      `UPDATE invoice_disputes SET status = $2, closed_at = now() WHERE dispute_id = $1 AND status = 'OPEN' RETURNING amount_minor::text`,
      [disputeId, status],
    )) as [{ amount_minor: string }[], number];
    return rows.length > 0 ? BigInt(rows[0].amount_minor) : null;
  }

  async disputesOf(em: EntityManager, invoiceIds: readonly string[]): Promise<DisputeRow[]> {
    return em.query(
      `SELECT invoice_id, dispute_id, status, amount_minor::text, currency, reason, opened_at, closed_at
         FROM invoice_disputes WHERE invoice_id = ANY($1::uuid[]) ORDER BY opened_at, dispute_id`,
      [[...invoiceIds]],
    );
  }
}
