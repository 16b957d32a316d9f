/** The SQL of admin refunds (invoice_refunds). */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface RefundRow {
  id: string;
  invoice_id: string;
  idempotency_key: string;
  client_idempotency_key: string | null;
  amount_minor: string;
  refunded_before_minor: string;
  reason: string | null;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED';
  failure_message: string | null;
}

const REFUND_COLUMNS = `id, invoice_id, idempotency_key, client_idempotency_key, amount_minor::text, refunded_before_minor::text, reason, status, failure_message`;

export interface NewAdminRefund {
  invoiceId: string;
  clientIdempotencyKey: string | null;
  amountMinor: bigint;
  refundedBeforeMinor: bigint;
  reason: string;
  requestedByUserId: string | null;
}

@Injectable()
export class RefundRepository {
  /** The admin refund of the invoice still in flight (at most one: UQ_invoice_refunds_one_pending). */
  async pendingAdminRefund(em: EntityManager, invoiceId: string): Promise<RefundRow | null> {
    const [r]: RefundRow[] = await em.query(`SELECT ${REFUND_COLUMNS} FROM invoice_refunds WHERE invoice_id = $1 AND status = 'PENDING' AND source = 'ADMIN'`, [
      invoiceId,
    ]);
    return r ?? null;
  }

  async byClientKey(em: EntityManager, clientIdempotencyKey: string): Promise<RefundRow | null> {
    const [r]: RefundRow[] = await em.query(`SELECT ${REFUND_COLUMNS} FROM invoice_refunds WHERE client_idempotency_key = $1`, [clientIdempotencyKey]);
    return r ?? null;
  }

  /**
   * A PENDING admin refund, written before the processor is called. Its
   * processor idempotency key derives from our ids (the n-th refund of the
   * invoice), so a retry after a crash asks the processor for the same refund.
   */
  async insertPendingAdminRefund(em: EntityManager, r: NewAdminRefund): Promise<RefundRow> {
    const [{ n }]: { n: number }[] = await em.query(`SELECT count(*)::int + 1 AS n FROM invoice_refunds WHERE invoice_id = $1`, [r.invoiceId]);
    const [row]: RefundRow[] = await em.query(
      `INSERT INTO invoice_refunds (invoice_id, source, idempotency_key, client_idempotency_key, amount_minor, refunded_before_minor, reason, status, requested_by_user_id)
       VALUES ($1, 'ADMIN', $2, $3, $4, $5, $6, 'PENDING', $7) RETURNING ${REFUND_COLUMNS}`,
      [r.invoiceId, `invoice:${r.invoiceId}:refund:${n}`, r.clientIdempotencyKey, r.amountMinor.toString(), r.refundedBeforeMinor.toString(), r.reason, r.requestedByUserId],
    );
    return row;
  }

  async markFailed(em: EntityManager, id: string, failureMessage: string, processorRefundId: string | null): Promise<void> {
    await em.query(
      `UPDATE invoice_refunds SET status = 'FAILED', processor_refund_id = COALESCE($3, processor_refund_id), failure_message = $2, completed_at = now() WHERE id = $1`,
      [id, failureMessage.slice(0, 500), processorRefundId],
    );
  }

  async setProcessorRefundId(em: EntityManager, id: string, processorRefundId: string): Promise<void> {
    await em.query(`UPDATE invoice_refunds SET processor_refund_id = $2 WHERE id = $1`, [id, processorRefundId]);
  }

  /** PENDING → SUCCEEDED; false when another request already completed it. */
  async markSucceeded(em: EntityManager, id: string, processorRefundId: string): Promise<boolean> {
    const [rows] = (await em.query(
      `UPDATE invoice_refunds SET status = 'SUCCEEDED', processor_refund_id = $2, completed_at = now() WHERE id = $1 AND status = 'PENDING' RETURNING id`,
      [id, processorRefundId],
    )) as [{ id: string }[], number];
    return rows.length > 0;
  }
}
