/** Row shapes and small SQL helpers shared by the collection services. */
import type { EntityManager } from 'typeorm';
import { isUuid } from '../../platform/errors/validation';
import type { InvoiceKind, InvoiceStatus } from '../billing.entity';

export interface InvoiceRow {
  id: string;
  number: string;
  distiller_organization_id: string;
  currency: string;
  kind: InvoiceKind;
  agreement_id: string | null;
  status: InvoiceStatus;
  total_minor: string;
  amount_paid_minor: string;
  amount_refunded_minor: string;
}

const INVOICE_COLUMNS = `id, number, distiller_organization_id, currency, kind, agreement_id, status,
  total_minor::text, amount_paid_minor::text, amount_refunded_minor::text`;

/** One invoice, optionally locked FOR UPDATE (every money change on an invoice holds this lock). */
export async function invoiceRow(em: EntityManager, id: string, lock = false): Promise<InvoiceRow | null> {
  const rows: InvoiceRow[] = await em.query(`SELECT ${INVOICE_COLUMNS} FROM invoices WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export interface AllocationRow {
  account: string;
  vendor_organization_id: string | null;
  currency: string;
  amount_minor: string;
  fee_bps: number | null;
}

/** How the invoice's payment was allocated (platform fee first, then vendors in line order). */
export async function allocationsOf(em: EntityManager, invoiceId: string): Promise<AllocationRow[]> {
  return em.query(
    `SELECT account, vendor_organization_id, currency, amount_minor::text, fee_bps FROM invoice_allocations WHERE invoice_id = $1 ORDER BY position`,
    [invoiceId],
  );
}

/** Finds our invoice for a processor object: by charge, then payment intent, then our metadata. */
export async function invoiceIdFor(
  em: EntityManager,
  ref: { chargeId?: string | null; paymentIntentId?: string | null; metadataInvoiceId?: string | null },
): Promise<string | null> {
  if (ref.chargeId) {
    const [c]: { invoice_id: string }[] = await em.query(`SELECT invoice_id FROM invoice_collections WHERE charge_id = $1`, [ref.chargeId]);
    if (c) return c.invoice_id;
  }
  if (ref.paymentIntentId) {
    const [a]: { invoice_id: string }[] = await em.query(`SELECT invoice_id FROM invoice_payment_attempts WHERE payment_intent_id = $1`, [ref.paymentIntentId]);
    if (a) return a.invoice_id;
    const [c]: { invoice_id: string }[] = await em.query(`SELECT invoice_id FROM invoice_collections WHERE payment_intent_id = $1`, [ref.paymentIntentId]);
    if (c) return c.invoice_id;
  }
  const id = ref.metadataInvoiceId;
  if (isUuid(id)) {
    const [i]: { id: string }[] = await em.query(`SELECT id FROM invoices WHERE id = $1`, [id]);
    if (i) return i.id;
  }
  return null;
}
