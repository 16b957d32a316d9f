/**
 * Billing test set-up: teachers with priced offers, agreements accepted
 * through the API (then dated back to the start of the previous month, so
 * that month can carry usage and be closed), usage reported through the real
 * ingestion path (POST /v1/usage/events), and the billing GraphQL operations.
 */
import { periodOf, previousPeriod, PeriodRange } from '../../src/billing/billing-period';
import type { TestApp } from './app';
import { createModel, publishOk } from './licensing';
import { acceptAgreement, createApiKey, reportUsage } from './metering';
import { signUp, TestUser } from './users';

const INVOICE_HEAD = `id number organizationId kind status currency period agreementId lineCount issuedAt dueAt paidAt
  total { amountMinor currency formatted } amountDue { amountMinor } amountPaid { amountMinor }`;

export const INVOICE_FIELDS = `${INVOICE_HEAD}
  lines(first: 100) { totalCount edges { node { position kind description agreementId modelId vendorOrganizationId usagePeriod quantity
    unitPricePerMillion { amountMinor currency } amount { amountMinor currency } overageTokens } } }`;

export const CLOSE = `mutation($p: String!) { closeBillingPeriod(period: $p) {
  __typename
  ... on BillingPeriodClose { period status closedAt invoicesCreated invoiceCount alreadyClosed totals { currency invoiceCount total { amountMinor currency } } }
  ... on BusinessError { code message }
  ... on BillingPeriodNotEndedError { currentPeriod }
  ... on EarlierBillingPeriodOpenError { openPeriod } } }`;

export const INVOICE = `query($id: ID!) { invoice(id: $id) { ${INVOICE_FIELDS} } }`;
export const INVOICES = `query($org: ID!, $filter: InvoiceFilterInput, $first: Int, $after: String) {
  invoices(organizationId: $org, filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${INVOICE_HEAD} } } } }`;

/** The month before the current one (UTC) — the latest period that can be closed. */
export const lastPeriod = (): PeriodRange => previousPeriod(periodOf(new Date()));

/**
 * An instant inside `p`, `minutesBeforeEnd` before its end: the end of the
 * previous month is always less than 35 days ago, so usage there can still be
 * reported.
 */
export const inPeriod = (p: PeriodRange, minutesBeforeEnd = 60): string =>
  new Date(p.end.getTime() - minutesBeforeEnd * 60_000).toISOString();

export interface PricedOffer {
  modelId: string;
  offer: { id: string; termsHash: string };
}

/** A listed model of `vendor` with one offer at this pricing (decimal strings of minor units). */
export async function pricedOffer(
  t: TestApp,
  vendor: TestUser,
  pricing: { currency: string; inputPerMillionMinor: string; outputPerMillionMinor: string; minimumCommitmentMinor?: string; upfrontFeeMinor?: string },
  tokensPerPeriod: string | null = null,
): Promise<PricedOffer> {
  const { id: modelId } = await createModel(t, vendor);
  const offer = await publishOk(t, vendor, modelId, {
    pricing: { minimumCommitmentMinor: '0', upfrontFeeMinor: '0', ...pricing },
    terms: { limits: { tokensPerPeriod, tokensPerMinute: null } },
  });
  return { modelId, offer };
}

/** Accepts the offer for the distiller and dates the agreement's start back to `startsAt`. */
export async function acceptFrom(t: TestApp, distiller: TestUser, o: PricedOffer, startsAt: Date): Promise<string> {
  const id = await acceptAgreement(t, distiller, o.offer);
  await t.dataSource.query(`UPDATE license_agreements SET starts_at = $2, accepted_at = $2 WHERE id = $1`, [id, startsAt.toISOString()]);
  return id;
}

export async function usageReporter(t: TestApp, vendor: TestUser): Promise<string> {
  return (await createApiKey(t, vendor, ['USAGE_REPORT'])).secret;
}

let eventCounter = 0;

/** Reports usage events through POST /v1/usage/events and insists they were all accepted. */
export async function report(
  t: TestApp,
  key: string,
  events: { agreementId: string; at: string; input: number; output: number }[],
): Promise<{ overageTokens: number }[]> {
  const body = {
    events: events.map((e) => ({ id: `bill-${++eventCounter}`, agreementId: e.agreementId, occurredAt: e.at, inputTokens: e.input, outputTokens: e.output })),
  };
  const r = await reportUsage(t, key, body);
  if (r.status !== 200 || r.body.accepted !== events.length) throw new Error(`usage report: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.results;
}

export async function closePeriod(t: TestApp, token: string, period: string): Promise<any> {
  const r = await t.gql(CLOSE, { p: period }, token);
  if (r.errors) throw new Error(`closeBillingPeriod: ${JSON.stringify(r.errors)}`);
  return r.data!.closeBillingPeriod;
}

/** All invoices of an organization (first 100), newest first, each read again with its lines through invoice(id). */
export async function invoicesOf(t: TestApp, token: string, organizationId: string, filter: Record<string, unknown> = {}): Promise<any[]> {
  const r = await t.gql(INVOICES, { org: organizationId, filter, first: 100 }, token);
  if (r.errors) throw new Error(`invoices: ${JSON.stringify(r.errors)}`);
  const out = [];
  for (const e of r.data!.invoices.edges) {
    const one = await t.gql(INVOICE, { id: e.node.id }, token);
    if (one.errors) throw new Error(`invoice: ${JSON.stringify(one.errors)}`);
    expect(one.data!.invoice).toMatchObject(e.node);
    out.push(one.data!.invoice);
  }
  return out;
}

/** The lines of an invoice as [kind, agreementId, usagePeriod, quantity, amountMinor, overageTokens]. */
export const lineSummary = (invoice: any): unknown[][] =>
  invoice.lines.edges.map(({ node: l }: any) => [l.kind, l.agreementId, l.usagePeriod, l.quantity, l.amount.amountMinor, l.overageTokens]);

/** Row counts of what a close writes, to prove a repeat writes nothing. */
export async function billingCounts(t: TestApp): Promise<Record<string, number>> {
  const [r] = await t.dataSource.query(
    `SELECT (SELECT count(*) FROM invoices)::int AS invoices, (SELECT count(*) FROM invoice_lines)::int AS lines,
            (SELECT count(*) FROM ledger_transactions)::int AS ledger_transactions, (SELECT count(*) FROM ledger_entries)::int AS ledger_entries,
            (SELECT count(*) FROM audit_log)::int AS audit, (SELECT count(*) FROM billing_periods)::int AS periods`,
  );
  return r;
}

/** The ledger transaction an invoice's issue posted: kind and entries as [account, currency, amount]. */
export async function issuedPosting(t: TestApp, invoiceId: string): Promise<{ kind: string; entries: [string, string, string][] } | null> {
  const rows: { kind: string; code: string; currency: string; amount: string }[] = await t.dataSource.query(
    `SELECT t.kind, a.code, e.currency, e.amount_minor::text AS amount
       FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id JOIN ledger_accounts a ON a.id = e.account_id
      WHERE t.reference = $1 ORDER BY e.amount_minor DESC`,
    [`invoice:${invoiceId}:issued`],
  );
  if (rows.length === 0) return null;
  return { kind: rows[0].kind, entries: rows.map((r) => [r.code, r.currency, r.amount]) };
}

/**
 * A new distiller accepts a USD offer of `vendor` with an upfront fee and pays
 * the invoice with the sandbox test card (inbox drained after the card is
 * saved and after the payment). Returns the paid invoice's id.
 */
export async function paidUpfrontInvoice(t: TestApp, inbox: { drain(): Promise<unknown> }, vendor: TestUser, fee: string): Promise<string> {
  const distiller = await signUp(t, { country: 'FR' });
  const o = await pricedOffer(t, vendor, { currency: 'USD', inputPerMillionMinor: '100', outputPerMillionMinor: '300', upfrontFeeMinor: fee });
  await acceptAgreement(t, distiller, o.offer);
  const [invoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
  const s = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: distiller.organizationId }, distiller.token);
  await t.gql(
    `mutation($o: ID!, $s: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: "pm_sandbox_visa") { organizationId } }`,
    { o: distiller.organizationId, s: s.data!.createPaymentSetup.setupIntentId },
    distiller.token,
  );
  await inbox.drain();
  const paid = await t.gql(`mutation($id: ID!) { payInvoice(id: $id) { outcome } }`, { id: invoice.id }, distiller.token);
  if (paid.data?.payInvoice.outcome !== 'PAID') throw new Error(`invoice ${invoice.id} not paid: ${JSON.stringify(paid)}`);
  await inbox.drain();
  return invoice.id as string;
}
