/**
 * CSV renderings of signed statements (RFC 4180, CRLF line ends). The first
 * rows are `#` comments naming the statement (type, organization, period,
 * currency), its totals and its signature: `# keyId,<kid>`, `# signature,<base64url>`,
 * `# payloadSha256,<hex>` — the signature is over the JSON payload (download
 * the .json to verify it); the CSV is the same statement, one row per line.
 */
import { createHash } from 'node:crypto';
import { EARNINGS_SOURCES, type EarningsStatement, type StatementDocument, type UsageStatement } from './statement.types';

function cell(value: string | number | null): string {
  const s = value === null ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const row = (values: (string | number | null)[]): string => values.map(cell).join(',');

function signatureRows(doc: StatementDocument): string[] {
  return [
    row(['# keyId', doc.keyId]),
    row(['# signature', doc.signature]),
    row(['# payloadSha256', createHash('sha256').update(doc.payload, 'utf8').digest('hex')]),
    row(['# verify', 'npm run verify-statement -- <statement.json> <keys.json> (the signature covers the JSON payload)']),
  ];
}

export function earningsCsv(doc: StatementDocument<EarningsStatement>): string {
  const s = doc.statement;
  const out = [
    row(['# type', s.type]),
    row(['# organizationId', s.organizationId]),
    row(['# period', s.period]),
    row(['# currency', s.currency]),
    row(['# issuedAt', s.issuedAt]),
    ...EARNINGS_SOURCES.map((src) => row([`# total ${src}`, s.totalsBySource[src]])),
    row(['# total payable', s.totals.payableMinor]),
    row(['# total held', s.totals.heldMinor]),
    row(['# total net', s.totals.netMinor]),
    row(['# ledger opening net', s.ledger.opening.netMinor]),
    row(['# ledger closing net', s.ledger.closing.netMinor]),
    ...signatureRows(doc),
    row(['seq', 'source', 'account', 'amountMinor', 'currency', 'occurredAt', 'ledgerTransactionId', 'ledgerKind', 'invoiceId', 'invoiceNumber',
      'modelId', 'agreementId', 'counterpartyOrganizationId', 'description']),
    ...s.lines.map((l) => row([l.seq, l.source, l.account, l.amountMinor, s.currency, l.occurredAt, l.ledgerTransactionId, l.ledgerKind, l.invoiceId,
      l.invoiceNumber, l.modelId, l.agreementId, l.counterpartyOrganizationId, l.description])),
  ];
  return `${out.join('\r\n')}\r\n`;
}

export function usageCsv(doc: StatementDocument<UsageStatement>): string {
  const s = doc.statement;
  const out = [
    row(['# type', s.type]),
    row(['# organizationId', s.organizationId]),
    row(['# period', s.period]),
    row(['# issuedAt', s.issuedAt]),
    row(['# merkle', `${s.merkle.hashing}; leaf ${s.merkle.leaf}; order ${s.merkle.order}`]),
    ...s.totals.map((t) => row([`# total ${t.currency}`, t.amountMinor])),
    ...signatureRows(doc),
    row(['row', 'agreementId', 'modelId', 'vendorOrganizationId', 'eventCount', 'inputTokens', 'outputTokens', 'merkleRoot',
      'invoiceNumber', 'position', 'kind', 'usagePeriod', 'quantity', 'unitPricePerMillionMinor', 'amountMinor', 'currency']),
  ];
  for (const a of s.agreements) {
    out.push(row(['USAGE', a.agreementId, a.modelId, a.vendorOrganizationId, a.usage.eventCount, a.usage.inputTokens, a.usage.outputTokens, a.usage.merkleRoot,
      null, null, null, null, null, null, null, null]));
    for (const c of a.charges) {
      out.push(row(['CHARGE', a.agreementId, a.modelId, a.vendorOrganizationId, null, null, null, null,
        c.invoiceNumber, c.position, c.kind, c.usagePeriod, c.quantity, c.unitPricePerMillionMinor, c.amountMinor, c.currency]));
    }
  }
  return `${out.join('\r\n')}\r\n`;
}
