/**
 * Approved payout batches inserted directly (for the executor's specs and the
 * payouts benchmark): vendor organizations with earnings old enough to be
 * available (one ledger posting crediting each vendor's payable against the
 * platform's cash, dated well before the holdback window), connected accounts
 * able to receive transfers (payout_accounts, and the processor's side: the
 * sandbox's account objects, or the fake Stripe's), and a batch APPROVED by a
 * second admin whose payouts are APPROVED, each with the ledger entry behind
 * its amount as its payout line (the entry's signed amount; their sum, negated,
 * is the vendor's available earnings).
 */
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { Accounts } from '../../src/ledger/accounts';
import { LedgerService } from '../../src/ledger/ledger.service';
import type { FakeStripe } from './fake-stripe';

export interface FixturePayout {
  id: string;
  organizationId: string;
  accountId: string;
  amountMinor: bigint;
  idempotencyKey: string;
}

export interface ApprovedBatchFixture {
  batchId: string;
  currency: string;
  creatorId: string;
  approverId: string;
  payouts: FixturePayout[];
  totalMinor: bigint;
}

export interface ApprovedBatchOptions {
  vendors: number;
  currency?: string;
  /** The amount of vendor i (default 2,500 + i units). */
  amountOf?: (i: number) => bigint;
  /** Where the accounts live: the sandbox (sandbox_payment_objects) or a fake Stripe (seeded in it). */
  mode: 'sandbox' | 'stripe';
  fake?: FakeStripe;
  /** When the earnings were collected (default: 90 days ago, past any holdback). */
  earnedAt?: Date;
  /** Accounts whose `transfers` capability is inactive at the processor (indexes), though our row says active. */
  inactiveAtProcessor?: number[];
}

const rnd = () => randomBytes(5).toString('hex');

export async function seedApprovedBatch(ds: DataSource, o: ApprovedBatchOptions): Promise<ApprovedBatchFixture> {
  const currency = o.currency ?? 'USD';
  const amountOf = o.amountOf ?? ((i: number) => 2500n + BigInt(i));
  const earnedAt = o.earnedAt ?? new Date(Date.now() - 90 * 86400_000);
  const tag = rnd();
  const [creator] = (await ds.query(`INSERT INTO users (email, password_hash, is_admin) VALUES ($1, 'x', true) RETURNING id`, [`creator-${tag}@fixture.test`])) as { id: string }[];
  const [approver] = (await ds.query(`INSERT INTO users (email, password_hash, is_admin) VALUES ($1, 'x', true) RETURNING id`, [`approver-${tag}@fixture.test`])) as { id: string }[];
  const orgs = (await ds.query(
    `INSERT INTO organizations (name) SELECT 'payout vendor ' || $1 || '-' || g FROM generate_series(1, $2::int) g ORDER BY g RETURNING id`,
    [tag, o.vendors],
  )) as { id: string }[];
  const orgIds = orgs.map((r) => r.id);
  const accountIds = orgIds.map((_, i) => `acct_fx${tag}${String(i).padStart(5, '0')}`);
  const amounts = orgIds.map((_, i) => amountOf(i));
  await ds.query(
    `INSERT INTO payout_accounts (organization_id, mode, account_id, charges_enabled, payouts_enabled, details_submitted, transfers_capability, synced_at)
     SELECT o, $3, a, true, true, true, 'active', now() FROM unnest($1::uuid[], $2::text[]) AS t(o, a)`,
    [orgIds, accountIds, o.mode],
  );
  const inactive = new Set(o.inactiveAtProcessor ?? []);
  if (o.mode === 'sandbox') {
    const objects = accountIds.map((id, i) => ({
      id,
      object: 'account',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type: 'none',
      capabilities: { transfers: inactive.has(i) ? 'inactive' : 'active' },
      charges_enabled: true,
      payouts_enabled: true,
      details_submitted: true,
      requirements: { currently_due: [], eventually_due: [], past_due: [], disabled_reason: null },
      metadata: { organization_id: orgIds[i] },
    }));
    await ds.query(`INSERT INTO sandbox_payment_objects (id, kind, data) SELECT d->>'id', 'account', d FROM jsonb_array_elements($1::jsonb) d`, [JSON.stringify(objects)]);
  } else {
    if (!o.fake) throw new Error('mode stripe needs the fake Stripe');
    accountIds.forEach((id, i) => o.fake!.seedAccount(id, inactive.has(i) ? 'inactive' : 'active'));
  }

  // Earnings: one posting, each vendor's payable credited, the platform's cash debited.
  const total = amounts.reduce((a, b) => a + b, 0n);
  const reference = `fixture:earnings:${tag}`;
  await ds.transaction(async (tx) => {
    await new LedgerService().post(tx, {
      reference,
      kind: 'FIXTURE_EARNINGS',
      description: 'Vendor earnings (test fixture)',
      occurredAt: earnedAt,
      lines: [
        { account: Accounts.platformCash, currency, amountMinor: total },
        ...orgIds.map((org, i) => ({ account: Accounts.vendorPayable(org), currency, amountMinor: -amounts[i] })),
      ],
    });
  });

  const [batch] = (await ds.query(
    `INSERT INTO payout_batches (currency, status, minimum_minor, as_of, holdback_days, total_minor, payout_count, snapshot_hash, created_by, created_at, approved_by, approved_at)
     VALUES ($1, 'APPROVED', 1, now(), 14, $2, $3, $4, $5, now(), $6, now()) RETURNING id`,
    [currency, total.toString(), o.vendors, randomBytes(32).toString('hex'), creator.id, approver.id],
  )) as { id: string }[];
  const payouts = (await ds.query(
    `INSERT INTO payouts (id, batch_id, organization_id, currency, amount_minor, account_id, status, idempotency_key, created_at)
     SELECT s.id, $1, s.o, $2, s.amt, s.a, 'APPROVED', 'payout:' || s.id, now()
       FROM (SELECT gen_random_uuid() AS id, o, a, amt, n FROM unnest($3::uuid[], $4::text[], $5::bigint[]) WITH ORDINALITY AS t(o, a, amt, n)) s
      ORDER BY s.n
     RETURNING id, organization_id, account_id, amount_minor::text AS amount_minor, idempotency_key`,
    [batch.id, currency, orgIds, accountIds, amounts.map(String)],
  )) as { id: string; organization_id: string; account_id: string; amount_minor: string; idempotency_key: string }[];
  await ds.query(
    `INSERT INTO payout_lines (payout_id, ledger_entry_id, amount_minor)
     SELECT p.id, e.id, e.amount_minor
       FROM payouts p
       JOIN ledger_accounts la ON la.code = 'vendor:' || p.organization_id || ':payable' AND la.currency = p.currency
       JOIN ledger_entries e ON e.account_id = la.id
       JOIN ledger_transactions t ON t.id = e.transaction_id AND t.reference = $2
      WHERE p.batch_id = $1`,
    [batch.id, reference],
  );
  const byOrg = new Map(payouts.map((p) => [p.organization_id, p]));
  return {
    batchId: batch.id,
    currency,
    creatorId: creator.id,
    approverId: approver.id,
    totalMinor: total,
    payouts: orgIds.map((org) => {
      const p = byOrg.get(org)!;
      return { id: p.id, organizationId: org, accountId: p.account_id, amountMinor: BigInt(p.amount_minor), idempotencyKey: p.idempotency_key };
    }),
  };
}

/** Funds the sandbox platform balance (a top-up balance transaction), in minor units. */
export async function topUpSandbox(ds: DataSource, currency: string, amountMinor: bigint): Promise<void> {
  const id = `txn_sandbox_topup_${rnd()}`;
  await ds.query(`INSERT INTO sandbox_payment_objects (id, kind, data) VALUES ($1, 'balance_transaction', $2::jsonb)`, [
    id,
    JSON.stringify({
      id,
      object: 'balance_transaction',
      created: Math.floor(Date.now() / 1000),
      amount: Number(amountMinor),
      currency: currency.toLowerCase(),
      fee: 0,
      net: Number(amountMinor),
      fee_details: [],
      reporting_category: 'topup',
      source: null,
      status: 'available',
      type: 'topup',
    }),
  ]);
}

/** Every payout of a batch with what the executor wrote. */
export async function payoutsOf(ds: DataSource, batchId: string) {
  const rows = (await ds.query(
    `SELECT id, status, transfer_id, attempts, failure_code, failure_message, amount_minor::text AS amount_minor, organization_id, currency, last_error
       FROM payouts WHERE batch_id = $1 ORDER BY id`,
    [batchId],
  )) as { id: string; status: string; transfer_id: string | null; attempts: number; failure_code: string | null; failure_message: string | null; amount_minor: string; organization_id: string; currency: string; last_error: string | null }[];
  return rows;
}

/**
 * The ledger checks of exactly-once execution: every transaction balances
 * (Σ = 0 per currency over the whole ledger), each payout has one PAYOUT
 * posting (and one PAYOUT_FAILED when FAILED), and no vendor has been paid
 * more than it earned (paid ≤ −payable, i.e. what is owed never went negative
 * through a payout).
 */
export async function ledgerChecks(ds: DataSource, batchId: string) {
  const [sum] = (await ds.query(`SELECT coalesce(sum(amount_minor), 0)::text AS s, count(*)::int AS n FROM ledger_entries`)) as { s: string; n: number }[];
  const postings = (await ds.query(
    `SELECT p.id, p.status,
            (SELECT count(*)::int FROM ledger_transactions t WHERE t.reference = 'payout:' || p.id) AS payout_postings,
            (SELECT count(*)::int FROM ledger_transactions t WHERE t.reference = 'payout:' || p.id || ':failed') AS failed_postings
       FROM payouts p WHERE p.batch_id = $1`,
    [batchId],
  )) as { id: string; status: string; payout_postings: number; failed_postings: number }[];
  const overpaid = (await ds.query(
    `SELECT la.organization_id, sum(e.amount_minor)::text AS owed
       FROM ledger_entries e JOIN ledger_accounts la ON la.id = e.account_id
      WHERE la.kind IN ('VENDOR_PAYABLE', 'VENDOR_PAID') AND la.organization_id IN (SELECT organization_id FROM payouts WHERE batch_id = $1)
      GROUP BY la.organization_id, la.currency HAVING sum(e.amount_minor) > 0`,
    [batchId],
  )) as { organization_id: string; owed: string }[];
  return { ledgerSum: BigInt(sum.s), postings, overpaid };
}
