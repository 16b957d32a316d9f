/**
 * SENT payouts for specs about what happens after a payout (reversals,
 * reconciliation), written directly: a completed batch, a SENT payout with its
 * transfer id, the PAYOUT ledger posting (Dr vendor paid, Cr platform cash),
 * and the transfer at the processor — a sandbox object with its balance
 * transaction, or an object of the local Stripe-compatible server — in the
 * shape the processor gives them. `processor: false` leaves the transfer out
 * at the processor (a planted difference).
 */
import { randomUUID } from 'node:crypto';
import { LedgerService } from '../../src/ledger/ledger.service';
import { sandboxId } from '../../src/payments/sandbox/sandbox-store';
import { Database } from '../../src/platform/database/transaction';
import { toStripeAmount } from '../../src/platform/money/stripe-units';
import { payoutPosting } from '../../src/payouts/payout-postings';
import type { TestApp } from './app';
import type { FakeStripe } from './fake-stripe';
import type { TestUser } from './users';

/** The admin mutation that reverses part of a sent payout's transfer. */
export const REVERSE = `mutation($p: ID!, $a: String!, $r: String!, $c: String, $k: String) {
  reverseTransfer(payoutId: $p, amountMinor: $a, reason: $r, currency: $c, requestKey: $k) {
    payoutId reversalId amount { amountMinor currency } payoutReversed { amountMinor } payoutAmount { amountMinor } created } }`;

export interface SentPayout {
  payoutId: string;
  batchId: string;
  transferId: string;
  accountId: string;
  amountMinor: bigint;
  currency: string;
}

export interface SentPayoutOptions {
  vendor: TestUser;
  /** The batch's creator. */
  admin: TestUser;
  amountMinor: bigint;
  currency?: string;
  /** When the payout was posted and the transfer created (default: now). */
  at?: Date;
  /** The transfer at the processor's side as well (default true). */
  processor?: boolean;
  /** The local Stripe-compatible server holding the transfer; without it, the sandbox. */
  fake?: FakeStripe;
  /** Another status than SENT (then no transfer is recorded). */
  status?: 'SENT' | 'FAILED' | 'CANCELLED';
}

export async function sentPayout(t: TestApp, o: SentPayoutOptions): Promise<SentPayout> {
  const currency = o.currency ?? 'USD';
  const at = o.at ?? new Date();
  const status = o.status ?? 'SENT';
  const batchId = randomUUID();
  const payoutId = randomUUID();
  const accountId = `acct_fixture${payoutId.replace(/-/g, '').slice(0, 16)}`;
  const stripeAmount = toStripeAmount(o.amountMinor, currency);
  const created = Math.floor(at.getTime() / 1000);
  const metadata = { payout_id: payoutId, batch_id: batchId, idempotency_key: `payout:${payoutId}` };
  const transferGroup = `payout_batch:${batchId}`;
  let transferId = `tr_sandbox_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  if (o.fake && o.processor !== false) {
    transferId = o.fake.seedTransfer({ amount: stripeAmount, currency: currency.toLowerCase(), destination: accountId, metadata, transfer_group: transferGroup, created }).id;
  } else if (o.fake) {
    transferId = `tr_fake_missing_${payoutId.slice(0, 8)}`;
  } else if (o.processor !== false) {
    transferId = sandboxId('transfer', `payout:${payoutId}`);
    const txn = sandboxId('balance_transaction', transferId);
    const transfer = {
      id: transferId,
      object: 'transfer',
      amount: stripeAmount,
      amount_reversed: 0,
      balance_transaction: txn,
      created,
      currency: currency.toLowerCase(),
      description: `Payout ${payoutId}`,
      destination: accountId,
      livemode: false,
      metadata,
      reversals: { object: 'list', data: [], has_more: false, total_count: 0, url: `/v1/transfers/${transferId}/reversals` },
      reversed: false,
      source_transaction: null,
      transfer_group: transferGroup,
    };
    const bt = {
      id: txn,
      object: 'balance_transaction',
      created,
      amount: -stripeAmount,
      currency: currency.toLowerCase(),
      fee: 0,
      net: -stripeAmount,
      fee_details: [],
      source: transferId,
      status: 'available',
      type: 'transfer',
      reporting_category: 'transfer',
    };
    await t.dataSource.query(
      `INSERT INTO sandbox_payment_objects (id, kind, idempotency_key, request_hash, response, data) VALUES ($1, 'transfer', $2, 'fixture', $3::jsonb, $3::jsonb), ($4, 'balance_transaction', NULL, NULL, NULL, $5::jsonb)`,
      [transferId, `payout:${payoutId}`, JSON.stringify(transfer), txn, JSON.stringify(bt)],
    );
  }

  await t.dataSource.query(
    `INSERT INTO payout_batches (id, currency, status, minimum_minor, as_of, holdback_days, total_minor, payout_count, snapshot_hash, created_by, created_at)
     VALUES ($1, $2, 'COMPLETED', 1, $3, 0, $4, 1, $5, $6, $3)`,
    [batchId, currency, at.toISOString(), o.amountMinor.toString(), 'a'.repeat(64), o.admin.userId],
  );
  await t.dataSource.query(
    `INSERT INTO payouts (id, batch_id, organization_id, currency, amount_minor, account_id, status, idempotency_key, transfer_id, transfer_created_at, sent_at,
                          failure_code, failed_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $10)`,
    [
      payoutId,
      batchId,
      o.vendor.organizationId,
      currency,
      o.amountMinor.toString(),
      accountId,
      status,
      `payout:${payoutId}`,
      status === 'SENT' ? transferId : null,
      at.toISOString(),
      status === 'FAILED' ? 'account_invalid' : null,
      status === 'FAILED' ? at.toISOString() : null,
    ],
  );
  if (status === 'SENT') {
    const ledger = t.app.get(LedgerService);
    await t.app.get(Database).transaction((tx) =>
      ledger.post(tx, payoutPosting({ payoutId, batchId, organizationId: o.vendor.organizationId, currency, amountMinor: o.amountMinor }, at)),
    );
  }
  return { payoutId, batchId, transferId, accountId, amountMinor: o.amountMinor, currency };
}
