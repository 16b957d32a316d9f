import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AllocationPartRow, LedgerEntryRow, PoolEntryRole, VendorInvoiceLineSum } from './earnings-lines';
import type { StatementKind } from './statement.types';

export interface StoredStatementRow {
  id: string;
  organizationId: string;
  kind: StatementKind;
  period: string;
  currency: string | null;
  keyId: string;
  payload: string;
  signature: string;
  issuedAt: Date;
}

export interface NewStatementRow {
  organizationId: string;
  kind: StatementKind;
  period: string;
  currency: string | null;
  keyId: string;
  payload: string;
  signature: string;
  payloadSha256: string;
  issuedAt: Date;
}

export interface BillingPeriodRow {
  period: string;
  status: string;
  closedAt: Date | null;
}

export interface AccountSums {
  payable: bigint;
  held: bigint;
}

export interface UsageAgreementRow {
  id: string;
  modelId: string;
  vendorOrganizationId: string;
}

export interface ChargeRow {
  invoiceId: string;
  invoiceNumber: string;
  invoiceKind: string;
  agreementId: string;
  position: number;
  kind: string;
  currency: string;
  usagePeriod: string | null;
  quantity: string | null;
  unitPriceMinor: string | null;
  amountMinor: string;
}

const STORED_COLUMNS = `id, organization_id AS "organizationId", kind, period, currency, key_id AS "keyId", payload, signature, issued_at AS "issuedAt"`;

const VENDOR_ACCOUNT_KINDS = `('VENDOR_PAYABLE', 'VENDOR_HELD')`;

@Injectable()
export class StatementsRepository {
  async billingPeriod(em: EntityManager, period: string): Promise<BillingPeriodRow | null> {
    const [row]: { period: string; status: string; closed_at: Date | null }[] = await em.query(
      `SELECT period, status, closed_at FROM billing_periods WHERE period = $1`,
      [period],
    );
    return row ? { period: row.period, status: row.status, closedAt: row.closed_at ? new Date(row.closed_at) : null } : null;
  }

  async stored(em: EntityManager, organizationId: string, kind: StatementKind, period: string, currency: string | null): Promise<StoredStatementRow | null> {
    const [row]: StoredStatementRow[] = await em.query(
      `SELECT ${STORED_COLUMNS} FROM signed_statements
        WHERE organization_id = $1 AND kind = $2 AND period = $3 AND coalesce(currency, '-') = coalesce($4::text, '-')`,
      [organizationId, kind, period, currency],
    );
    return row ? { ...row, currency: row.currency?.trim() ?? null, issuedAt: new Date(row.issuedAt) } : null;
  }

  /** Stores the statement unless one is already there (a concurrent first request waits for the other and stores nothing). */
  async insertIfAbsent(em: EntityManager, s: NewStatementRow): Promise<StoredStatementRow | null> {
    const [row]: StoredStatementRow[] = await em.query(
      `INSERT INTO signed_statements (organization_id, kind, period, currency, key_id, payload, signature, payload_sha256, issued_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (organization_id, kind, period, coalesce(currency, '-')) DO NOTHING
       RETURNING ${STORED_COLUMNS}`,
      [s.organizationId, s.kind, s.period, s.currency, s.keyId, s.payload, s.signature, s.payloadSha256, s.issuedAt.toISOString()],
    );
    return row ? { ...row, currency: row.currency?.trim() ?? null, issuedAt: new Date(row.issuedAt) } : null;
  }

  /** The vendor's payable and held entries in [from, to), in ledger order. */
  async vendorEntries(em: EntityManager, organizationId: string, currency: string, from: Date, to: Date): Promise<LedgerEntryRow[]> {
    const rows: {
      transaction_id: string; kind: string; occurred_at: Date; invoice_id: string | null; account_kind: string; amount_minor: string;
      pool_role: string | null; pool_model_id: string | null; pool_agreement_id: string | null; pool_counterparty: string | null;
    }[] = await em.query(
      `SELECT t.id AS transaction_id, t.kind, t.occurred_at, t.metadata ->> 'invoiceId' AS invoice_id, a.kind AS account_kind, e.amount_minor::text,
              pa.role AS pool_role, pa.model_id AS pool_model_id, pa.agreement_id AS pool_agreement_id, pa.counterparty_organization_id AS pool_counterparty
         FROM ledger_accounts a
         JOIN ledger_entries e ON e.account_id = a.id AND e.currency = a.currency
         JOIN ledger_transactions t ON t.id = e.transaction_id
         LEFT JOIN pool_ledger_attributions pa ON pa.ledger_reference = t.reference AND pa.line_no = e.line_no
        WHERE a.organization_id = $1 AND a.currency = $2 AND a.kind IN ${VENDOR_ACCOUNT_KINDS}
          AND t.occurred_at >= $3 AND t.occurred_at < $4
        ORDER BY t.occurred_at, t.id, e.line_no`,
      [organizationId, currency, from.toISOString(), to.toISOString()],
    );
    return rows.map((r) => ({
      transactionId: r.transaction_id,
      kind: r.kind,
      occurredAt: new Date(r.occurred_at),
      invoiceId: r.invoice_id && /^[0-9a-f-]{36}$/.test(r.invoice_id) ? r.invoice_id : null,
      account: r.account_kind === 'VENDOR_HELD' ? 'HELD' : 'PAYABLE',
      amountMinor: BigInt(r.amount_minor),
      ...(r.pool_model_id
        ? { pool: { role: r.pool_role as PoolEntryRole, modelId: r.pool_model_id, agreementId: r.pool_agreement_id, counterpartyOrganizationId: r.pool_counterparty } }
        : {}),
    }));
  }

  /** Sum of the vendor's payable and held entries (ledger sign) in [from, to); `from` null: since the beginning. */
  async vendorSums(em: EntityManager, organizationId: string, currency: string, from: Date | null, to: Date): Promise<AccountSums> {
    const rows: { account_kind: string; total: string }[] = await em.query(
      `SELECT a.kind AS account_kind, sum(e.amount_minor)::text AS total
         FROM ledger_accounts a
         JOIN ledger_entries e ON e.account_id = a.id AND e.currency = a.currency
         JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE a.organization_id = $1 AND a.currency = $2 AND a.kind IN ${VENDOR_ACCOUNT_KINDS}
          AND ($3::timestamptz IS NULL OR t.occurred_at >= $3) AND t.occurred_at < $4
        GROUP BY a.kind`,
      [organizationId, currency, from?.toISOString() ?? null, to.toISOString()],
    );
    const of = (k: string) => BigInt(rows.find((r) => r.account_kind === k)?.total ?? '0');
    return { payable: of('VENDOR_PAYABLE'), held: of('VENDOR_HELD') };
  }

  async invoiceNumbers(em: EntityManager, invoiceIds: readonly string[]): Promise<Map<string, string>> {
    if (invoiceIds.length === 0) return new Map();
    const rows: { id: string; number: string }[] = await em.query(`SELECT id, number FROM invoices WHERE id = ANY($1::uuid[])`, [invoiceIds]);
    return new Map(rows.map((r) => [r.id, r.number]));
  }

  /** Allocation parts of the payments that concern the vendor (as receiver or payer). */
  async allocationParts(em: EntityManager, invoiceIds: readonly string[]): Promise<AllocationPartRow[]> {
    if (invoiceIds.length === 0) return [];
    const rows: Array<{
      invoice_id: string; position: number; kind: AllocationPartRow['kind']; organization_id: string | null; model_id: string | null; basis: string | null;
      gross_minor: string | null; fee_minor: string | null; payer_organization_id: string | null; payer_model_id: string | null; agreement_id: string | null;
      policy: string | null; share_bps: number | null; depth: number | null; amount_minor: string;
    }> = await em.query(
      `SELECT invoice_id, position, kind, organization_id, model_id, basis, gross_minor::text, fee_minor::text, payer_organization_id, payer_model_id,
              agreement_id, policy, share_bps, depth, amount_minor::text
         FROM invoice_allocation_parts WHERE invoice_id = ANY($1::uuid[]) ORDER BY invoice_id, position`,
      [invoiceIds],
    );
    return rows.map((r) => ({
      invoiceId: r.invoice_id,
      position: r.position,
      kind: r.kind,
      organizationId: r.organization_id,
      modelId: r.model_id,
      basis: r.basis,
      grossMinor: r.gross_minor === null ? null : BigInt(r.gross_minor),
      feeMinor: r.fee_minor === null ? null : BigInt(r.fee_minor),
      payerOrganizationId: r.payer_organization_id,
      payerModelId: r.payer_model_id,
      agreementId: r.agreement_id,
      policy: r.policy,
      shareBps: r.share_bps,
      depth: r.depth,
      amountMinor: BigInt(r.amount_minor),
    }));
  }

  /** The vendor's payable as allocated by payments recorded per account only (invoice_allocations). */
  async legacyPayables(em: EntityManager, organizationId: string, invoiceIds: readonly string[]): Promise<Map<string, bigint>> {
    if (invoiceIds.length === 0) return new Map();
    const rows: { invoice_id: string; amount_minor: string }[] = await em.query(
      `SELECT invoice_id, amount_minor::text FROM invoice_allocations WHERE invoice_id = ANY($1::uuid[]) AND account = $2`,
      [invoiceIds, `vendor:${organizationId}:payable`],
    );
    return new Map(rows.map((r) => [r.invoice_id, BigInt(r.amount_minor)]));
  }

  /** The vendor's invoice lines on these invoices, summed per (invoice, model, agreement, kind). */
  async vendorLineSums(em: EntityManager, organizationId: string, invoiceIds: readonly string[]): Promise<VendorInvoiceLineSum[]> {
    if (invoiceIds.length === 0) return [];
    const rows: { invoice_id: string; model_id: string; agreement_id: string; kind: string; amount_minor: string }[] = await em.query(
      `SELECT invoice_id, model_id, agreement_id, kind, sum(amount_minor)::text AS amount_minor
         FROM invoice_lines WHERE invoice_id = ANY($1::uuid[]) AND vendor_organization_id = $2
        GROUP BY invoice_id, model_id, agreement_id, kind`,
      [invoiceIds, organizationId],
    );
    return rows.map((r) => ({ invoiceId: r.invoice_id, modelId: r.model_id, agreementId: r.agreement_id, kind: r.kind, amountMinor: BigInt(r.amount_minor) }));
  }

  /** The distiller's agreements that may have usage or charges up to the end of the period. */
  async distillerAgreements(em: EntityManager, organizationId: string, periodEnd: Date): Promise<UsageAgreementRow[]> {
    return em.query(
      `SELECT id, model_id AS "modelId", vendor_organization_id AS "vendorOrganizationId"
         FROM license_agreements WHERE distiller_organization_id = $1 AND accepted_at < $2
        ORDER BY id`,
      [organizationId, periodEnd.toISOString()],
    );
  }

  /**
   * The distiller's charges of the period: lines of its PERIOD invoices for
   * the period and of upfront invoices issued in it (issued ones: not DRAFT, not VOID).
   */
  async charges(em: EntityManager, organizationId: string, period: string, from: Date, to: Date): Promise<ChargeRow[]> {
    return em.query(
      `SELECT i.id AS "invoiceId", i.number AS "invoiceNumber", i.kind AS "invoiceKind", l.agreement_id AS "agreementId", l.position, l.kind,
              i.currency, l.usage_period AS "usagePeriod", l.quantity::text AS quantity, l.unit_price_minor::text AS "unitPriceMinor",
              l.amount_minor::text AS "amountMinor"
         FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
        WHERE i.distiller_organization_id = $1 AND i.status NOT IN ('DRAFT', 'VOID')
          AND ((i.kind = 'PERIOD' AND i.period = $2) OR (i.kind = 'UPFRONT' AND i.issued_at >= $3 AND i.issued_at < $4))
        ORDER BY i.number, l.position`,
      [organizationId, period, from.toISOString(), to.toISOString()],
    );
  }
}
