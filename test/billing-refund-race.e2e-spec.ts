/**
 * Concurrent refund requests on one invoice are each answered for
 * themselves: one refund happens, every other request is told that a refund
 * is in flight (RefundInProgressError) or that nothing is left — never
 * "REFUNDED" for a refund that is not its own. A client idempotency key makes
 * a request safe to repeat: the same key gets the same refund back.
 *
 * Barrier: a separate session holds the invoice's row lock (what every refund
 * claim takes) while 20 requests are sent; they are released together once
 * as many as the app's connection pool allows are blocked on that lock (the
 * rest are queued for a connection behind them).
 */
import { Client } from 'pg';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { GqlResponse, startTestApp, TestApp } from './support/app';
import { invoicesOf, pricedOffer } from './support/billing';
import { useLedgerInvariant } from './support/ledger-invariant';
import { acceptAgreement } from './support/metering';
import { makeAdmin, signUp, TestUser } from './support/users';

const REFUND = `mutation($id: ID!, $amount: String, $reason: String!, $key: String) {
  refundInvoice(id: $id, amountMinor: $amount, reason: $reason, idempotencyKey: $key) {
    __typename
    ... on InvoiceRefund { outcome refundId amount { amountMinor currency } invoice { amountRefunded { amountMinor } } }
    ... on BusinessError { code message }
    ... on RefundInProgressError { refundId amount { amountMinor currency } } } }`;

const CALLERS = 20;

describe('concurrent refunds (e2e)', () => {
  let t: TestApp;
  let vendor: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    t = await startTestApp({ platformFeeBps: 1500 });
    vendor = await signUp(t, { country: 'US' });
    admin = await makeAdmin(t, await signUp(t));
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(() => t.close());

  const drain = () => t.app.get(WebhookInboxService).drain();

  /** A PAID upfront invoice of `fee` minor units USD, paid through the sandbox processor. */
  async function paidInvoice(fee: string): Promise<string> {
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
    await drain();
    const paid = await t.gql(`mutation($id: ID!) { payInvoice(id: $id) { outcome } }`, { id: invoice.id }, distiller.token);
    expect(paid.data!.payInvoice.outcome).toBe('PAID');
    await drain();
    return invoice.id;
  }

  async function poll(what: string, done: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Sends every request while the invoice is locked, and releases them together. */
  async function race(invoiceId: string, vars: (i: number) => Record<string, unknown>): Promise<GqlResponse[]> {
    const holder = new Client({ connectionString: t.db.url });
    const watcher = new Client({ connectionString: t.db.url });
    await holder.connect();
    await watcher.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT id FROM invoices WHERE id = $1 FOR UPDATE`, [invoiceId]);
      const pending = Array.from({ length: CALLERS }, (_, i) => t.gql(REFUND, { id: invoiceId, ...vars(i) }, admin.token));
      const poolSize = Math.min(CALLERS, (t.dataSource.options.extra as { max: number }).max);
      await poll(`${poolSize} requests blocked on the invoice lock`, async () => {
        const [{ n }] = (
          await watcher.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> $1`, [
            (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid,
          ])
        ).rows;
        return n >= poolSize;
      });
      await holder.query('COMMIT');
      return await Promise.all(pending);
    } finally {
      await holder.end();
      await watcher.end();
    }
  }

  const refundsOf = async (invoiceId: string): Promise<{ reason: string; status: string; amount: string; client_idempotency_key: string | null }[]> =>
    t.dataSource.query(`SELECT reason, status, amount_minor::text AS amount, client_idempotency_key FROM invoice_refunds WHERE invoice_id = $1 ORDER BY created_at`, [
      invoiceId,
    ]);
  const count = async (sql: string, params: unknown[]): Promise<number> => (await t.dataSource.query(sql, params))[0].n;

  /** One REFUNDED answer; every other one tells its caller that this refund is in flight or that nothing is left. */
  function expectOneRefundEachToldApart(results: GqlResponse[]): { winner: number; refundId: string } {
    const refunded = results.flatMap((r, i) => (r.data?.refundInvoice?.__typename === 'InvoiceRefund' ? [i] : []));
    expect(refunded).toHaveLength(1);
    const winner = refunded[0];
    const won = results[winner].data!.refundInvoice;
    expect(won).toMatchObject({ outcome: 'REFUNDED', amount: { amountMinor: '10000', currency: 'USD' }, invoice: { amountRefunded: { amountMinor: '10000' } } });
    let inProgress = 0;
    let nothingLeft = 0;
    results.forEach((r, i) => {
      if (i === winner) return;
      if (r.errors) {
        // Asked after the winner completed: nothing is left to refund.
        expect(r.errors).toHaveLength(1);
        expect(r.errors[0].extensions.code).toBe('CONFLICT');
        expect(r.errors[0].message).toContain('already fully refunded');
        nothingLeft++;
      } else {
        expect(r.data!.refundInvoice).toEqual({
          __typename: 'RefundInProgressError',
          code: 'REFUND_IN_PROGRESS',
          message: expect.stringContaining('100.00 USD'),
          refundId: won.refundId,
          amount: { amountMinor: '10000', currency: 'USD' },
        });
        inProgress++;
      }
    });
    expect(inProgress + nothingLeft).toBe(CALLERS - 1);
    return { winner, refundId: won.refundId };
  }

  it('20 concurrent refunds with different reasons: one refund, and every other caller is told it was not carried out', async () => {
    const invoiceId = await paidInvoice('10000');
    const results = await race(invoiceId, (i) => ({ amount: '10000', reason: `reason ${i}` }));
    const { winner } = expectOneRefundEachToldApart(results);
    // Stored: the one refund, with its own caller's reason; no other request left a trace.
    expect(await refundsOf(invoiceId)).toEqual([{ reason: `reason ${winner}`, status: 'SUCCEEDED', amount: '10000', client_idempotency_key: null }]);
    expect(
      await count(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'billing.invoice.refund_requested' AND target_id = $1`, [invoiceId]),
    ).toBe(1);
    await drain();
    expect(await count(`SELECT count(*)::int AS n FROM ledger_transactions WHERE kind = 'REFUND' AND reference LIKE $1`, [`invoice:${invoiceId}:%`])).toBe(1);
  });

  it('20 concurrent requests with different idempotency keys: one refund; the others told apart, their keys unused', async () => {
    const invoiceId = await paidInvoice('10000');
    const results = await race(invoiceId, (i) => ({ amount: '10000', reason: `keyed ${i}`, key: `race-distinct-${i}` }));
    const { winner } = expectOneRefundEachToldApart(results);
    expect(await refundsOf(invoiceId)).toEqual([{ reason: `keyed ${winner}`, status: 'SUCCEEDED', amount: '10000', client_idempotency_key: `race-distinct-${winner}` }]);
  });

  it('20 concurrent requests with the same idempotency key are one request: the same refund in every answer', async () => {
    const invoiceId = await paidInvoice('10000');
    const results = await race(invoiceId, () => ({ amount: '4000', reason: 'one request, sent 20 times', key: 'race-same-key' }));
    const ids = new Set<string>();
    for (const r of results) {
      expect(r.errors).toBeUndefined();
      expect(r.data!.refundInvoice).toMatchObject({ __typename: 'InvoiceRefund', outcome: 'REFUNDED', amount: { amountMinor: '4000' } });
      ids.add(r.data!.refundInvoice.refundId);
    }
    expect(ids.size).toBe(1);
    expect(await refundsOf(invoiceId)).toEqual([{ reason: 'one request, sent 20 times', status: 'SUCCEEDED', amount: '4000', client_idempotency_key: 'race-same-key' }]);
    await drain();
    const [{ refunded }] = await t.dataSource.query(`SELECT amount_refunded_minor::text AS refunded FROM invoices WHERE id = $1`, [invoiceId]);
    expect(refunded).toBe('4000');
  });

  it('idempotency keys in sequence: same key → same answer; a new key → a separate refund within what is left; a reused key → BAD_USER_INPUT', async () => {
    const invoiceId = await paidInvoice('10000');
    const first = await t.gql(REFUND, { id: invoiceId, amount: '3000', reason: 'late delivery', key: 'seq-1' }, admin.token);
    expect(first.data!.refundInvoice).toMatchObject({ __typename: 'InvoiceRefund', outcome: 'REFUNDED', invoice: { amountRefunded: { amountMinor: '3000' } } });
    const again = await t.gql(REFUND, { id: invoiceId, amount: '3000', reason: 'late delivery', key: 'seq-1' }, admin.token);
    expect(again.data!.refundInvoice).toEqual(first.data!.refundInvoice);

    // The same key with other parameters: refused, nothing written.
    for (const vars of [
      { amount: '3001', reason: 'late delivery' },
      { amount: '3000', reason: 'something else' },
    ]) {
      const reused = await t.gql(REFUND, { id: invoiceId, ...vars, key: 'seq-1' }, admin.token);
      expect(reused.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(reused.errors![0].message + JSON.stringify(reused.errors![0].extensions)).toContain('idempotencyKey');
    }
    const other = await paidInvoice('500');
    const elsewhere = await t.gql(REFUND, { id: other, amount: '3000', reason: 'late delivery', key: 'seq-1' }, admin.token);
    expect(elsewhere.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(await refundsOf(other)).toEqual([]);
    const badKey = await t.gql(REFUND, { id: invoiceId, amount: '1', reason: 'x', key: 'has a space' }, admin.token);
    expect(badKey.errors![0].extensions.code).toBe('BAD_USER_INPUT');

    // A new key: a separate refund, limited to what is left.
    const tooMuch = await t.gql(REFUND, { id: invoiceId, amount: '7001', reason: 'more', key: 'seq-2' }, admin.token);
    expect(tooMuch.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    const second = await t.gql(REFUND, { id: invoiceId, amount: '7000', reason: 'more', key: 'seq-2' }, admin.token);
    expect(second.data!.refundInvoice).toMatchObject({ outcome: 'REFUNDED', invoice: { amountRefunded: { amountMinor: '10000' } } });
    expect(second.data!.refundInvoice.refundId).not.toBe(first.data!.refundInvoice.refundId);
    expect((await refundsOf(invoiceId)).map((r) => [r.client_idempotency_key, r.amount, r.reason])).toEqual([
      ['seq-1', '3000', 'late delivery'],
      ['seq-2', '7000', 'more'],
    ]);
    // Asking the first again after the invoice is fully refunded still answers with the first refund.
    expect((await t.gql(REFUND, { id: invoiceId, amount: '3000', reason: 'late delivery', key: 'seq-1' }, admin.token)).data!.refundInvoice.refundId).toBe(
      first.data!.refundInvoice.refundId,
    );
    await drain();
  });
});
