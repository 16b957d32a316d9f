/**
 * The SQL of charge attempts (invoice_payment_attempts): each is committed
 * with its idempotency key before the processor is called, and leased
 * (claimed_until) while one worker calls for it.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface AttemptRow {
  id: string;
  attempt_no: number;
  idempotency_key: string;
  amount_minor: string;
  currency: string;
  payment_intent_id: string | null;
}

const ATTEMPT_COLUMNS = `id, attempt_no, idempotency_key, amount_minor::text, currency, payment_intent_id`;

@Injectable()
export class PaymentAttemptRepository {
  /** The invoice's attempt whose outcome is not known yet, and whether a worker holds its lease now. */
  async pendingOf(em: EntityManager, invoiceId: string): Promise<(AttemptRow & { leased: boolean }) | null> {
    const [r]: (AttemptRow & { leased: boolean })[] = await em.query(
      `SELECT ${ATTEMPT_COLUMNS}, claimed_until > now() AS leased FROM invoice_payment_attempts WHERE invoice_id = $1 AND status = 'PENDING'`,
      [invoiceId],
    );
    return r ?? null;
  }

  async hasPending(em: EntityManager, invoiceId: string): Promise<boolean> {
    const [r]: unknown[] = await em.query(`SELECT 1 FROM invoice_payment_attempts WHERE invoice_id = $1 AND status = 'PENDING'`, [invoiceId]);
    return r !== undefined;
  }

  /** Whether any charge attempt still waits for the processor's answer without knowing its PaymentIntent. */
  async anyUnanswered(em: EntityManager): Promise<boolean> {
    const [r]: unknown[] = await em.query(`SELECT 1 FROM invoice_payment_attempts WHERE status = 'PENDING' AND payment_intent_id IS NULL LIMIT 1`);
    return r !== undefined;
  }

  async lease(em: EntityManager, id: string, seconds: number): Promise<void> {
    await em.query(`UPDATE invoice_payment_attempts SET claimed_until = now() + make_interval(secs => $2) WHERE id = $1`, [id, seconds]);
  }

  /** The invoice's next attempt (numbered from 1; the key derives from invoice and number), leased to the caller. */
  async insertLeased(em: EntityManager, a: { invoiceId: string; amountMinor: bigint; currency: string; leaseSeconds: number }): Promise<AttemptRow> {
    const [{ n }]: { n: number }[] = await em.query(`SELECT coalesce(max(attempt_no), 0) + 1 AS n FROM invoice_payment_attempts WHERE invoice_id = $1`, [
      a.invoiceId,
    ]);
    const [row]: AttemptRow[] = await em.query(
      `INSERT INTO invoice_payment_attempts (invoice_id, attempt_no, idempotency_key, amount_minor, currency, claimed_until)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
       RETURNING ${ATTEMPT_COLUMNS}`,
      [a.invoiceId, n, `invoice:${a.invoiceId}:attempt:${n}`, a.amountMinor.toString(), a.currency, a.leaseSeconds],
    );
    return row;
  }

  async markFailed(em: EntityManager, id: string, failure: { code: string; message: string }): Promise<void> {
    await em.query(
      `UPDATE invoice_payment_attempts SET status = 'FAILED', completed_at = now(), claimed_until = NULL, failure_code = $2, failure_message = $3 WHERE id = $1`,
      [id, failure.code, failure.message],
    );
  }

  /** The PENDING attempt of this PaymentIntent → FAILED; false when it was already recorded. */
  async markFailedByIntent(em: EntityManager, paymentIntentId: string, failure: { code: string; message: string }): Promise<boolean> {
    const [rows] = (await em.query(
      `UPDATE invoice_payment_attempts SET status = 'FAILED', completed_at = now(), claimed_until = NULL, failure_code = $2, failure_message = $3
        WHERE payment_intent_id = $1 AND status = 'PENDING' RETURNING id`,
      [paymentIntentId, failure.code, failure.message],
    )) as [{ id: string }[], number];
    return rows.length > 0;
  }

  async markSucceeded(em: EntityManager, invoiceId: string, paymentIntentId: string, chargeId: string | null): Promise<void> {
    await em.query(
      `UPDATE invoice_payment_attempts SET status = 'SUCCEEDED', completed_at = now(), claimed_until = NULL, charge_id = coalesce(charge_id, $2)
        WHERE invoice_id = $1 AND payment_intent_id = $3 AND status <> 'SUCCEEDED'`,
      [invoiceId, chargeId, paymentIntentId],
    );
  }

  /** Gives up the lease (the outcome is still unknown), noting why. */
  async release(em: EntityManager, id: string, note: string | null = null): Promise<void> {
    if (note === null) await em.query(`UPDATE invoice_payment_attempts SET claimed_until = NULL WHERE id = $1`, [id]);
    else await em.query(`UPDATE invoice_payment_attempts SET claimed_until = NULL, failure_message = $2 WHERE id = $1`, [id, note.slice(0, 500)]);
  }

  /** Ties a PaymentIntent to the attempt, unless the attempt has one or another attempt has this one. */
  async link(em: EntityManager, attemptId: string, paymentIntentId: string): Promise<void> {
    await em.query(
      `UPDATE invoice_payment_attempts SET payment_intent_id = $2
        WHERE id = $1 AND payment_intent_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM invoice_payment_attempts o WHERE o.payment_intent_id = $2)`,
      [attemptId, paymentIntentId],
    );
  }

  async countsOf(em: EntityManager, invoiceIds: readonly string[]): Promise<Map<string, number>> {
    const rows: { invoice_id: string; n: number }[] = await em.query(
      `SELECT invoice_id, count(*)::int AS n FROM invoice_payment_attempts WHERE invoice_id = ANY($1::uuid[]) GROUP BY invoice_id`,
      [[...invoiceIds]],
    );
    return new Map(rows.map((r) => [r.invoice_id, r.n]));
  }

  async invoiceOfIntent(em: EntityManager, paymentIntentId: string): Promise<string | null> {
    const [a]: { invoice_id: string }[] = await em.query(`SELECT invoice_id FROM invoice_payment_attempts WHERE payment_intent_id = $1`, [paymentIntentId]);
    return a?.invoice_id ?? null;
  }
}
