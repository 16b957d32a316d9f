/**
 * Payout batches and their four-eyes review, end to end on PostgreSQL:
 * earnings posted through LedgerService, connected accounts in every state,
 * the platform Clock fixed by the spec. Batch contents and every skip reason,
 * lines that explain each amount, the snapshot hash (stable, changed by a
 * hold), four eyes through GraphQL and the service (and the database CHECK
 * behind them), stale hashes, approval limits, rejection, hold/release rules,
 * vendors' view of their payouts, and the races: concurrent batch creation in
 * one currency, concurrent approvals, approve against hold.
 *
 * Each scenario uses its own currency: a batch takes every vendor of its
 * currency in the database, so scenarios would otherwise see each other's
 * vendors.
 */
import { randomUUID } from 'node:crypto';
import { Accounts } from '../src/ledger/accounts';
import { LedgerService, PostingInput, PostingLine } from '../src/ledger/ledger.service';
import type { UserPrincipal } from '../src/platform/auth/principal';
import { Clock } from '../src/platform/clock/clock';
import { Database } from '../src/platform/database/transaction';
import { PayoutBatchApproved, PayoutBatchEvents } from '../src/payouts/payout-batch-events';
import { PayoutBatchesRepository } from '../src/payouts/payout-batches.repository';
import { PayoutBatchesService } from '../src/payouts/payout-batches.service';
import { PayoutReviewService } from '../src/payouts/payout-review.service';
import { snapshotHash } from '../src/payouts/payout-snapshot';
import { startTestApp, TestApp } from './support/app';
import { useLedgerInvariant } from './support/ledger-invariant';
import { errorCode } from './support/payouts';
import { makeAdmin, signUp, TestUser } from './support/users';

const DAY = 86_400_000;
const NOW = new Date('2030-06-15T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const OLD = ago(30 * DAY);
const LIMITED_EMAIL = `limited-approver-${randomUUID().slice(0, 8)}@example.test`;
const MINIMUMS = 'USD:2500,EUR:2500,GBP:2500,CHF:2500,CAD:2500,AUD:2500,SEK:2500,NOK:2500,DKK:2500,PLN:2500,NZD:2500,SGD:2500,HKD:2500,MXN:2500,CZK:2500,ILS:2500,JPY:300';

const MONEY = 'amountMinor currency';
const BATCH = `id currency status snapshotHash payoutCount total { ${MONEY} } minimum { ${MONEY} } asOf holdbackDays
  createdBy { userId email } approvedBy { userId email } approvedAt rejectedBy rejectReason
  skipCounts { reason count } progress { byStatus { status count amount { amountMinor } } sent { amountMinor } toSend { amountMinor } }
  payouts(first: 100) { edges { node { id organizationId status amount { ${MONEY} } accountId hold { reason heldBy }
    accountNow { canReceiveTransfers disabledReason }
    lines { entryId transactionReference transactionKind occurredAt amount { amountMinor } memo } } } pageInfo { hasNextPage endCursor } }
  skipped(first: 100) { edges { node { organizationId reason available { amountMinor } detail } } }`;
const CREATE = `mutation($c: String!) { createPayoutBatch(input: { currency: $c }) { ${BATCH} } }`;
const GET = `query($id: ID!) { payoutBatch(id: $id) { ${BATCH} } }`;
const APPROVE = `mutation($id: ID!, $h: String!) { approvePayoutBatch(id: $id, snapshotHash: $h) { id status snapshotHash approvedBy { userId } approvedAt } }`;
const REJECT = `mutation($id: ID!, $r: String!) { rejectPayoutBatch(id: $id, reason: $r) { id status rejectReason rejectedBy } }`;
const HOLD = `mutation($p: ID!, $r: String!) { holdPayout(payoutId: $p, reason: $r) { id status hold { reason heldBy } } }`;
const RELEASE = `mutation($p: ID!) { releasePayout(payoutId: $p) { id status hold { reason } } }`;
const HOLD_VENDOR = `mutation($o: ID!, $r: String!) { holdVendorPayouts(organizationId: $o, reason: $r) { organizationId reason heldBy } }`;
const RELEASE_VENDOR = `mutation($o: ID!) { releaseVendorPayouts(organizationId: $o) { organizationId reason } }`;
const VENDOR_HOLDS = `query { vendorPayoutHolds { organizationId organizationName reason heldBy heldAt } }`;
const LIST = `query($s: PayoutBatchStatus, $c: String, $first: Int, $after: String) { payoutBatches(status: $s, currency: $c, first: $first, after: $after) {
  edges { cursor node { id currency status } } pageInfo { hasNextPage endCursor } } }`;
const VENDOR_PAYOUTS = `query($o: ID!, $first: Int, $after: String) { payouts(organizationId: $o, first: $first, after: $after) {
  edges { node { id status amount { ${MONEY} } currency batchCreatedAt hold { reason } failureCode failureMessage failureAdvice reversed { amountMinor }
    lines { entryId transactionReference transactionKind amount { amountMinor } } } } pageInfo { hasNextPage endCursor } } }`;

type Batch = Record<string, any>;
const payoutOf = (b: Batch, org: string) => b.payouts.edges.map((e: any) => e.node).find((p: any) => p.organizationId === org);
const skipOf = (b: Batch, org: string) => b.skipped.edges.map((e: any) => e.node).find((s: any) => s.organizationId === org);

describe('payout batches (e2e)', () => {
  let t: TestApp;
  let ledger: LedgerService;
  let db: Database;
  let batches: PayoutBatchesService;
  let review: PayoutReviewService;
  let repo: PayoutBatchesRepository;
  let creator: TestUser;
  let approver: TestUser;
  let thirdAdmin: TestUser;
  let limited: TestUser;
  let outsider: TestUser;
  let now: Date;
  let seq = 0;
  const approvedEvents: PayoutBatchApproved[] = [];

  const principal = (u: TestUser): UserPrincipal => ({ kind: 'user', userId: u.userId, isAdmin: true });

  beforeAll(async () => {
    t = await startTestApp({ earningsHoldbackDays: 7, payoutMinimums: MINIMUMS, payoutApprovalLimits: `${LIMITED_EMAIL}:GBP:5000` });
    ledger = t.app.get(LedgerService);
    db = t.app.get(Database);
    batches = t.app.get(PayoutBatchesService);
    review = t.app.get(PayoutReviewService);
    repo = t.app.get(PayoutBatchesRepository);
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now.getTime()));
    t.app.get(PayoutBatchEvents).onBatchApproved((e) => void approvedEvents.push(e));
    now = NOW;
    creator = await makeAdmin(t, await signUp(t));
    approver = await makeAdmin(t, await signUp(t));
    thirdAdmin = await makeAdmin(t, await signUp(t));
    limited = await makeAdmin(t, await signUp(t, { email: LIMITED_EMAIL }));
    outsider = await signUp(t);
  });
  beforeEach(() => {
    now = NOW;
  });
  afterAll(() => t.close());
  useLedgerInvariant(() => t?.dataSource);

  // ---------------------------------------------------------------- fixtures

  const post = (kind: string, at: Date, lines: PostingLine[]) =>
    db.transaction((tx) => ledger.post(tx, { reference: `test:batches:${++seq}`, kind, description: kind, occurredAt: at, lines } satisfies PostingInput));
  const earn = (org: string, share: bigint, at: Date, currency: string) =>
    post('INVOICE_PAID', at, [
      { account: Accounts.platformCash, currency, amountMinor: share + 100n },
      { account: Accounts.vendorPayable(org), currency, amountMinor: -share, memo: 'vendor share' },
      { account: Accounts.platformFees, currency, amountMinor: -100n },
    ]);
  const refund = (org: string, amount: bigint, at: Date, currency: string) =>
    post('REFUND', at, [
      { account: Accounts.vendorPayable(org), currency, amountMinor: amount, memo: 'refunded' },
      { account: Accounts.platformCash, currency, amountMinor: -amount },
    ]);

  /** A bare vendor organization (no user): most vendors here only need to be owed money. */
  const vendorOrg = async (name = 'Vendor'): Promise<string> => {
    const [row] = await t.dataSource.query(`INSERT INTO organizations (name) VALUES ($1) RETURNING id`, [`${name} ${++seq}`]);
    return row.id as string;
  };
  type AccountState = 'ready' | 'disabled' | 'requirements-due';
  const onboard = async (org: string, state: AccountState = 'ready'): Promise<string> => {
    const accountId = `acct_test${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const [cap, disabled, due] =
      state === 'ready' ? ['active', null, []] : state === 'disabled' ? ['inactive', 'rejected.fraud', []] : ['inactive', null, ['external_account', 'tos_acceptance.date']];
    await t.dataSource.query(
      `INSERT INTO payout_accounts (organization_id, mode, account_id, charges_enabled, payouts_enabled, details_submitted, transfers_capability, disabled_reason, currently_due)
       VALUES ($1, 'sandbox', $2, true, $3, true, $4, $5, $6::text[])`,
      [org, accountId, state === 'ready', cap, disabled, due],
    );
    return accountId;
  };
  /** A vendor owed `amount` since long ago, with an account that can receive transfers. */
  const readyVendor = async (currency: string, amount = 3_000n): Promise<string> => {
    const org = await vendorOrg();
    await onboard(org);
    await earn(org, amount, OLD, currency);
    return org;
  };

  const create = async (currency: string, as: TestUser = creator): Promise<Batch> => {
    const r = await t.gql(CREATE, { c: currency }, as.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.createPayoutBatch;
  };
  const get = async (id: string): Promise<Batch> => {
    const r = await t.gql(GET, { id }, creator.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.payoutBatch;
  };
  const count = async (table: string): Promise<number> => Number((await t.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n);
  const writes = async () => ({
    batches: await count('payout_batches'), payouts: await count('payouts'), lines: await count('payout_lines'), skips: await count('payout_batch_skips'),
    audit: await count('audit_log'),
  });
  const dbPayout = async (id: string) => (await t.dataSource.query(`SELECT status, next_attempt_at, hold_reason FROM payouts WHERE id = $1`, [id]))[0];
  const dbBatch = async (id: string) => (await t.dataSource.query(`SELECT status, snapshot_hash, approved_by, rejected_by FROM payout_batches WHERE id = $1`, [id]))[0];

  /** The hash recomputed from the stored rows, independently of the service's code path. */
  const recomputedHash = async (batchId: string): Promise<string> => {
    const [b] = await t.dataSource.query(`SELECT id, currency, minimum_minor::text AS m, as_of, holdback_days FROM payout_batches WHERE id = $1`, [batchId]);
    const payouts = await t.dataSource.query(`SELECT id, organization_id, account_id, amount_minor::text AS a, status FROM payouts WHERE batch_id = $1`, [batchId]);
    const lines = await t.dataSource.query(
      `SELECT l.payout_id, l.ledger_entry_id::text AS e, l.amount_minor::text AS a FROM payout_lines l JOIN payouts p ON p.id = l.payout_id WHERE p.batch_id = $1`,
      [batchId],
    );
    return snapshotHash(
      { id: b.id, currency: b.currency, minimumMinor: BigInt(b.m), asOf: b.as_of, holdbackDays: b.holdback_days },
      payouts.map((p: any) => ({
        id: p.id, organizationId: p.organization_id, accountId: p.account_id, amountMinor: BigInt(p.a), status: p.status,
        lines: lines.filter((l: any) => l.payout_id === p.id).map((l: any) => ({ entryId: l.e, amountMinor: BigInt(l.a) })),
      })),
    );
  };

  // ---------------------------------------------------------------- contents

  describe('what a batch takes and what it skips', () => {
    it('pays available earnings above the minimum, explained by ledger lines; lists everyone else owed something with the reason', async () => {
      const C = 'EUR';
      // Paid: 30.00 + 10.00 earned long ago, 5.00 refunded long ago → 35.00; 20.00 earned yesterday is pending and not in the lines.
      const paid = await vendorOrg();
      const paidAccount = await onboard(paid);
      await earn(paid, 3_000n, OLD, C);
      await earn(paid, 1_000n, ago(10 * DAY), C);
      await refund(paid, 500n, ago(9 * DAY), C);
      await earn(paid, 2_000n, ago(DAY), C);
      // A refund inside the holdback window is not pending: it lowers the amount at once.
      const refundedRecently = await readyVendor(C, 6_000n);
      await refund(refundedRecently, 1_000n, ago(2 * DAY), C);

      const below = await readyVendor(C, 2_499n);
      const noAccount = await vendorOrg();
      await earn(noAccount, 5_000n, OLD, C);
      const disabled = await vendorOrg();
      await onboard(disabled, 'disabled');
      await earn(disabled, 5_000n, OLD, C);
      const due = await vendorOrg();
      await onboard(due, 'requirements-due');
      await earn(due, 5_000n, OLD, C);
      const held = await readyVendor(C, 5_000n);
      expect((await t.gql(HOLD_VENDOR, { o: held, r: 'compliance review' }, approver.token)).data!.holdVendorPayouts).toMatchObject({ organizationId: held, reason: 'compliance review', heldBy: approver.userId });
      // Admins list the vendors on hold (with the organization's name); anyone else is refused.
      const holds = (await t.gql(VENDOR_HOLDS, {}, creator.token)).data!.vendorPayoutHolds;
      expect(holds).toEqual([expect.objectContaining({ organizationId: held, reason: 'compliance review', heldBy: approver.userId })]);
      expect(holds[0].organizationName).toBe((await t.dataSource.query(`SELECT name FROM organizations WHERE id = $1`, [held]))[0].name);
      expect(errorCode(await t.gql(VENDOR_HOLDS, {}, (await signUp(t)).token))).toBe('FORBIDDEN');
      const tinyAndPending = await readyVendor(C, 1n); // 0.01 old …
      await earn(tinyAndPending, 4_000n, ago(DAY), C); // … and 40.00 pending: available 0.01 — below the minimum (pending does not count)
      const fresh = await vendorOrg();
      await onboard(fresh);
      await earn(fresh, 5_000n, ago(2 * DAY), C); // only pending
      const negative = await vendorOrg();
      await onboard(negative);
      await earn(negative, 1_000n, OLD, C);
      await refund(negative, 3_000n, ago(8 * DAY), C); // owes 20.00
      const settled = await vendorOrg(); // earned and refunded in full: nothing owed, not listed
      await earn(settled, 1_000n, OLD, C);
      await refund(settled, 1_000n, OLD, C);

      const batch = await create(C);
      expect(batch).toMatchObject({
        currency: C, status: 'IN_REVIEW', payoutCount: 2, total: { amountMinor: String(3_500 + 5_000), currency: C }, minimum: { amountMinor: '2500' },
        asOf: NOW.toISOString(), holdbackDays: 7, createdBy: { userId: creator.userId, email: creator.email }, approvedBy: null,
      });
      const p = payoutOf(batch, paid);
      expect(p).toMatchObject({ status: 'PENDING', amount: { amountMinor: '3500' }, accountId: paidAccount, hold: null, accountNow: { canReceiveTransfers: true } });
      expect(p.lines.map((l: any) => [l.transactionKind, l.amount.amountMinor, l.memo])).toEqual([
        ['INVOICE_PAID', '3000', 'vendor share'],
        ['INVOICE_PAID', '1000', 'vendor share'],
        ['REFUND', '-500', 'refunded'],
      ]);
      expect(payoutOf(batch, refundedRecently)).toMatchObject({ amount: { amountMinor: '5000' } });
      for (const edge of batch.payouts.edges) {
        const sum = edge.node.lines.reduce((s: bigint, l: any) => s + BigInt(l.amount.amountMinor), 0n);
        expect(sum.toString()).toBe(edge.node.amount.amountMinor);
      }
      // The stored lines add up too.
      const sums = await t.dataSource.query(
        `SELECT p.amount_minor::text AS amount, sum(l.amount_minor)::text AS lines FROM payouts p JOIN payout_lines l ON l.payout_id = p.id WHERE p.batch_id = $1 GROUP BY p.id`,
        [batch.id],
      );
      expect(sums.every((r: any) => r.amount === r.lines)).toBe(true);

      expect(skipOf(batch, below)).toMatchObject({ reason: 'BELOW_MINIMUM', available: { amountMinor: '2499' } });
      expect(skipOf(batch, noAccount)).toMatchObject({ reason: 'NO_PAYOUT_ACCOUNT', available: { amountMinor: '5000' } });
      expect(skipOf(batch, disabled)).toMatchObject({ reason: 'ACCOUNT_CANNOT_RECEIVE_TRANSFERS' });
      expect(skipOf(batch, disabled).detail).toContain('rejected.fraud');
      expect(skipOf(batch, due)).toMatchObject({ reason: 'ACCOUNT_CANNOT_RECEIVE_TRANSFERS' });
      expect(skipOf(batch, due).detail).toContain('external_account');
      expect(skipOf(batch, held)).toMatchObject({ reason: 'VENDOR_ON_HOLD', detail: 'on hold: compliance review' });
      expect(skipOf(batch, tinyAndPending)).toMatchObject({ reason: 'BELOW_MINIMUM', available: { amountMinor: '1' } });
      expect(skipOf(batch, fresh)).toMatchObject({ reason: 'NOTHING_AVAILABLE', available: { amountMinor: '0' } });
      expect(skipOf(batch, fresh).detail).toBe(`pending 50.00 EUR (available from ${new Date(ago(2 * DAY).getTime() + 7 * DAY).toISOString()}); negative carry-forward 0.00 EUR`);
      expect(skipOf(batch, negative)).toMatchObject({ reason: 'NOTHING_AVAILABLE', detail: 'pending 0.00 EUR; negative carry-forward 20.00 EUR' });
      expect(skipOf(batch, settled)).toBeUndefined();
      expect(batch.skipCounts).toEqual([
        { reason: 'ACCOUNT_CANNOT_RECEIVE_TRANSFERS', count: 2 },
        { reason: 'BELOW_MINIMUM', count: 2 },
        { reason: 'NOTHING_AVAILABLE', count: 2 },
        { reason: 'NO_PAYOUT_ACCOUNT', count: 1 },
        { reason: 'VENDOR_ON_HOLD', count: 1 },
      ]);
      expect(batch.snapshotHash).toBe(await recomputedHash(batch.id));
      expect(batch.progress).toMatchObject({ byStatus: [{ status: 'PENDING', count: 2, amount: { amountMinor: '8500' } }], sent: { amountMinor: '0' }, toSend: { amountMinor: '8500' } });

      // The audit log has the creation, by the creator.
      const [audit] = await t.dataSource.query(`SELECT actor_user_id, data FROM audit_log WHERE action = 'payouts.batch.created' AND target_id = $1`, [batch.id]);
      expect(audit).toMatchObject({ actor_user_id: creator.userId, data: { currency: C, payoutCount: 2, totalMinor: '8500' } });

      // Releasing the vendor hold: the vendor is batched again (after this batch is rejected, everyone's lines are free again).
      expect((await t.gql(RELEASE_VENDOR, { o: held }, approver.token)).data!.releaseVendorPayouts).toMatchObject({ reason: 'compliance review' });
      expect((await t.gql(RELEASE_VENDOR, { o: held }, approver.token)).data!.releaseVendorPayouts).toBeNull();
      expect((await t.gql(VENDOR_HOLDS, {}, creator.token)).data!.vendorPayoutHolds).toEqual([]);
      expect(errorCode(await t.gql(HOLD_VENDOR, { o: randomUUID(), r: 'nobody' }, approver.token))).toBe('NOT_FOUND');
      const vendorAudit = await t.dataSource.query(
        `SELECT action, actor_user_id, data->>'reason' AS reason FROM audit_log WHERE target_id = $1 AND action LIKE 'payouts.vendor.%' ORDER BY seq`,
        [held],
      );
      expect(vendorAudit).toEqual([
        { action: 'payouts.vendor.held', actor_user_id: approver.userId, reason: 'compliance review' },
        { action: 'payouts.vendor.released', actor_user_id: approver.userId, reason: null },
      ]);
      expect((await t.gql(REJECT, { id: batch.id, r: 'recheck after the hold' }, approver.token)).data!.rejectPayoutBatch).toMatchObject({ status: 'REJECTED' });
      const next = await create(C);
      expect(payoutOf(next, held)).toMatchObject({ amount: { amountMinor: '5000' } });
      // The cancelled payout's lines are claimed again, the same entries.
      expect(payoutOf(next, paid).lines.map((l: any) => l.entryId)).toEqual(p.lines.map((l: any) => l.entryId));
      expect((await t.gql(REJECT, { id: next.id, r: 'test cleanup' }, approver.token)).errors).toBeUndefined();
    });

    it('a vendor with an open payout is skipped; when nobody can be paid nothing is written (NOTHING_TO_PAY with the counts)', async () => {
      const C = 'CHF';
      const v = await readyVendor(C, 4_000n);
      const first = await create(C);
      await earn(v, 9_000n, ago(20 * DAY), C); // more earnings while the first batch is in review
      const before = await writes();
      const r = await t.gql(CREATE, { c: C }, creator.token);
      expect(errorCode(r)).toBe('CONFLICT');
      expect(r.errors![0].extensions).toMatchObject({ reason: 'NOTHING_TO_PAY', skipped: 1, skipCounts: { OPEN_PAYOUT: 1 } });
      expect(await writes()).toEqual(before);

      // Another vendor makes a second batch possible: the first vendor is listed as OPEN_PAYOUT in it.
      const other = await readyVendor(C, 2_500n);
      const second = await create(C);
      expect(payoutOf(second, other)).toMatchObject({ amount: { amountMinor: '2500' } });
      expect(skipOf(second, v)).toMatchObject({ reason: 'OPEN_PAYOUT', available: { amountMinor: '13000' } });
      expect(skipOf(second, v).detail).toBe(`payout ${payoutOf(first, v).id} is PENDING`);
    });

    it('a currency without a minimum is refused (BAD_USER_INPUT naming PAYOUT_MINIMUMS); malformed ones and non-admins too; nothing written', async () => {
      await readyVendor('ZAR', 90_000n);
      const before = await writes();
      const r = await t.gql(CREATE, { c: 'ZAR' }, creator.token);
      expect(errorCode(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0].message).toContain('PAYOUT_MINIMUMS');
      expect(errorCode(await t.gql(CREATE, { c: 'usd' }, creator.token))).toBe('BAD_USER_INPUT');
      // Platform admins only.
      expect(errorCode(await t.gql(CREATE, { c: 'USD' }, outsider.token))).toBe('FORBIDDEN');
      await expect(batches.create({ kind: 'user', userId: outsider.userId, isAdmin: false }, 'USD')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(await writes()).toEqual(before);
    });

    it('a vendor whose lines do not explain its available earnings is skipped (LEDGER_MISMATCH), never paid', async () => {
      const C = 'SEK';
      const ok = await readyVendor(C, 3_000n);
      const odd = await readyVendor(C, 3_000n);
      // A line of the odd vendor is claimed by a live payout that no ledger posting accounts for.
      const [entry] = await t.dataSource.query(
        `SELECT e.id FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE a.code = $1 AND a.currency = $2`,
        [Accounts.vendorPayable(odd), C],
      );
      const stray = randomUUID();
      await t.dataSource.query(
        `INSERT INTO payout_batches (id, currency, status, minimum_minor, as_of, holdback_days, total_minor, payout_count, snapshot_hash, created_by, created_at, approved_by, approved_at)
         VALUES ($1, 'NOK', 'APPROVED', 1, now(), 7, 1, 1, repeat('0', 64), $2, now(), $3, now())`,
        [stray, creator.userId, approver.userId],
      );
      const strayPayout = randomUUID();
      await t.dataSource.query(
        `INSERT INTO payouts (id, batch_id, organization_id, currency, amount_minor, account_id, status, idempotency_key, created_at, transfer_id, sent_at)
         VALUES ($1, $2, $3, 'NOK', 1, 'acct_stray', 'SENT', $4, now(), $5, now())`,
        [strayPayout, stray, odd, `payout:${strayPayout}`, `tr_${strayPayout.slice(0, 8)}`],
      );
      await t.dataSource.query(`INSERT INTO payout_lines (payout_id, ledger_entry_id, amount_minor) VALUES ($1, $2, 1)`, [strayPayout, entry.id]);
      const batch = await create(C);
      expect(payoutOf(batch, ok)).toMatchObject({ amount: { amountMinor: '3000' } });
      expect(payoutOf(batch, odd)).toBeUndefined();
      expect(skipOf(batch, odd)).toMatchObject({ reason: 'LEDGER_MISMATCH', available: { amountMinor: '3000' } });
    });
  });

  // ---------------------------------------------------------------- review

  describe('four eyes, snapshot hash, limits, reject, holds', () => {
    it('the creator cannot approve — through GraphQL and through the service; the database refuses it too; nothing is written', async () => {
      const C = 'CAD';
      await readyVendor(C);
      const batch = await create(C);
      const before = await writes();
      const r = await t.gql(APPROVE, { id: batch.id, h: batch.snapshotHash }, creator.token);
      expect(errorCode(r)).toBe('FORBIDDEN');
      expect(r.errors![0].extensions.reason).toBe('FOUR_EYES');
      await expect(review.approve(principal(creator), batch.id, batch.snapshotHash)).rejects.toMatchObject({ code: 'FORBIDDEN', details: { reason: 'FOUR_EYES' } });
      await expect(t.dataSource.query(`UPDATE payout_batches SET approved_by = created_by, approved_at = now() WHERE id = $1`, [batch.id])).rejects.toThrow(
        /CHK_payout_batches_four_eyes/,
      );
      expect(await writes()).toEqual(before);
      expect(await dbBatch(batch.id)).toMatchObject({ status: 'IN_REVIEW', approved_by: null });

      // Non-admins are refused whatever the batch.
      expect(errorCode(await t.gql(APPROVE, { id: batch.id, h: batch.snapshotHash }, outsider.token))).toBe('FORBIDDEN');
      await expect(review.approve({ kind: 'user', userId: outsider.userId, isAdmin: false }, batch.id, batch.snapshotHash)).rejects.toMatchObject({ code: 'FORBIDDEN' });

      // Another admin approves: PENDING payouts become APPROVED and due now; the sender hears of it after commit.
      now = new Date(NOW.getTime() + 60_000);
      const ok = await t.gql(APPROVE, { id: batch.id, h: batch.snapshotHash }, approver.token);
      expect(ok.data!.approvePayoutBatch).toMatchObject({ status: 'APPROVED', approvedBy: { userId: approver.userId }, approvedAt: now.toISOString() });
      const p = payoutOf(batch, batch.payouts.edges[0].node.organizationId);
      expect(await dbPayout(p.id)).toMatchObject({ status: 'APPROVED', next_attempt_at: now });
      expect(approvedEvents.find((e) => e.batchId === batch.id)).toMatchObject({ currency: C, payoutIds: [p.id] });
      const [audit] = await t.dataSource.query(`SELECT actor_user_id, data FROM audit_log WHERE action = 'payouts.batch.approved' AND target_id = $1`, [batch.id]);
      expect(audit).toMatchObject({ actor_user_id: approver.userId, data: { snapshotHash: batch.snapshotHash, toSendMinor: '3000' } });

      // Not twice, and not rejected afterwards.
      expect((await t.gql(APPROVE, { id: batch.id, h: batch.snapshotHash }, thirdAdmin.token)).errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'BATCH_NOT_IN_REVIEW' });
      expect((await t.gql(REJECT, { id: batch.id, r: 'too late' }, thirdAdmin.token)).errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'BATCH_NOT_IN_REVIEW' });
      expect(errorCode(await t.gql(APPROVE, { id: randomUUID(), h: batch.snapshotHash }, approver.token))).toBe('NOT_FOUND');
    });

    it('the hash is stable, changed by a hold and back on release; an approval against a stale hash is refused', async () => {
      const C = 'AUD';
      const a = await readyVendor(C, 3_000n);
      const b = await readyVendor(C, 4_000n);
      const batch = await create(C);
      expect((await get(batch.id)).snapshotHash).toBe(batch.snapshotHash);
      expect((await get(batch.id)).snapshotHash).toBe(await recomputedHash(batch.id));

      const pa = payoutOf(batch, a);
      const held = await t.gql(HOLD, { p: pa.id, r: 'bank details look wrong' }, thirdAdmin.token);
      expect(held.data!.holdPayout).toMatchObject({ status: 'HELD', hold: { reason: 'bank details look wrong', heldBy: thirdAdmin.userId } });
      const afterHold = await get(batch.id);
      expect(afterHold.snapshotHash).not.toBe(batch.snapshotHash);
      expect(afterHold.snapshotHash).toBe(await recomputedHash(batch.id));
      expect(afterHold.progress.toSend).toEqual({ amountMinor: '4000' });

      const before = await writes();
      const stale = await t.gql(APPROVE, { id: batch.id, h: batch.snapshotHash }, approver.token);
      expect(stale.errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'SNAPSHOT_CHANGED' });
      expect(await writes()).toEqual(before);
      expect(await dbBatch(batch.id)).toMatchObject({ status: 'IN_REVIEW' });

      // Released: the same snapshot as at creation, so its hash again.
      expect((await t.gql(RELEASE, { p: pa.id }, thirdAdmin.token)).data!.releasePayout).toMatchObject({ status: 'PENDING', hold: null });
      expect((await get(batch.id)).snapshotHash).toBe(batch.snapshotHash);
      expect((await t.gql(RELEASE, { p: pa.id }, thirdAdmin.token)).errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'PAYOUT_NOT_HELD' });

      // Held again, approved with the current hash: the held payout stays HELD (not sent), the other is APPROVED.
      await t.gql(HOLD, { p: pa.id, r: 'second look' }, thirdAdmin.token);
      const current = (await get(batch.id)).snapshotHash;
      expect((await t.gql(APPROVE, { id: batch.id, h: current }, approver.token)).data!.approvePayoutBatch).toMatchObject({ status: 'APPROVED', snapshotHash: current });
      expect(await dbPayout(pa.id)).toMatchObject({ status: 'HELD', next_attempt_at: null });
      expect(await dbPayout(payoutOf(batch, b).id)).toMatchObject({ status: 'APPROVED' });
      // After approval a held payout cannot be released (it is cancelled when the batch finishes); an APPROVED one can still be held.
      expect((await t.gql(RELEASE, { p: pa.id }, thirdAdmin.token)).errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'BATCH_NOT_IN_REVIEW' });
      const pb = payoutOf(batch, b);
      expect((await t.gql(HOLD, { p: pb.id, r: 'stop it' }, thirdAdmin.token)).data!.holdPayout).toMatchObject({ status: 'HELD' });
      // The approved hash stays the one approved.
      expect((await get(batch.id)).snapshotHash).toBe(current);
      // Once SENDING (or SENT) a payout cannot be held.
      await t.dataSource.query(`UPDATE payouts SET status = 'SENDING', sending_since = now() WHERE id = $1`, [pb.id]);
      expect((await t.gql(HOLD, { p: pb.id, r: 'too late' }, thirdAdmin.token)).errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'PAYOUT_NOT_HOLDABLE', status: 'SENDING' });
      expect(errorCode(await t.gql(HOLD, { p: randomUUID(), r: 'x' }, thirdAdmin.token))).toBe('NOT_FOUND');
      expect(errorCode(await t.gql(HOLD, { p: pb.id, r: '  ' }, thirdAdmin.token))).toBe('BAD_USER_INPUT');
    });

    it("refuses an approval above the approver's PAYOUT_APPROVAL_LIMITS ceiling for the currency (held payouts do not count)", async () => {
      const C = 'GBP';
      const big = await readyVendor(C, 4_000n);
      await readyVendor(C, 3_000n);
      const batch = await create(C);
      const r = await t.gql(APPROVE, { id: batch.id, h: batch.snapshotHash }, limited.token);
      expect(r.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'APPROVAL_LIMIT_EXCEEDED', limitMinor: '5000', totalMinor: '7000' });
      expect(await dbBatch(batch.id)).toMatchObject({ status: 'IN_REVIEW' });
      await t.gql(HOLD, { p: payoutOf(batch, big).id, r: 'above my limit: next batch' }, approver.token);
      const h = (await get(batch.id)).snapshotHash;
      expect((await t.gql(APPROVE, { id: batch.id, h }, limited.token)).data!.approvePayoutBatch).toMatchObject({ status: 'APPROVED' });
    });

    it('rejects a batch in review: payouts CANCELLED, their earnings batched again; a reason is required', async () => {
      const C = 'DKK';
      const v = await readyVendor(C, 3_000n);
      const batch = await create(C);
      await t.gql(HOLD, { p: payoutOf(batch, v).id, r: 'hold before reject' }, approver.token);
      expect(errorCode(await t.gql(REJECT, { id: batch.id, r: '' }, approver.token))).toBe('BAD_USER_INPUT');
      const r = await t.gql(REJECT, { id: batch.id, r: 'wrong exchange day' }, creator.token); // the creator may reject
      expect(r.data!.rejectPayoutBatch).toMatchObject({ status: 'REJECTED', rejectReason: 'wrong exchange day', rejectedBy: creator.userId });
      expect(await dbPayout(payoutOf(batch, v).id)).toMatchObject({ status: 'CANCELLED' });
      expect(errorCode(await t.gql(APPROVE, { id: batch.id, h: batch.snapshotHash }, approver.token))).toBe('CONFLICT');
      const [audit] = await t.dataSource.query(`SELECT actor_user_id, data FROM audit_log WHERE action = 'payouts.batch.rejected' AND target_id = $1`, [batch.id]);
      expect(audit).toMatchObject({ actor_user_id: creator.userId, data: { reason: 'wrong exchange day', cancelledPayouts: 1 } });
      const again = await create(C);
      expect(payoutOf(again, v)).toMatchObject({ amount: { amountMinor: '3000' }, status: 'PENDING' });
    });

    it('lists batches newest first, filtered by status and currency, paged', async () => {
      const all = await t.gql(LIST, { first: 2 }, creator.token);
      expect(all.data!.payoutBatches.edges).toHaveLength(2);
      expect(all.data!.payoutBatches.pageInfo.hasNextPage).toBe(true);
      const next = await t.gql(LIST, { first: 2, after: all.data!.payoutBatches.pageInfo.endCursor }, creator.token);
      const ids = [...all.data!.payoutBatches.edges, ...next.data!.payoutBatches.edges].map((e: any) => e.node.id);
      expect(new Set(ids).size).toBe(ids.length);
      const rejected = await t.gql(LIST, { s: 'REJECTED', c: 'EUR' }, creator.token);
      expect(rejected.data!.payoutBatches.edges.length).toBeGreaterThanOrEqual(2);
      expect(rejected.data!.payoutBatches.edges.every((e: any) => e.node.status === 'REJECTED' && e.node.currency === 'EUR')).toBe(true);
      expect(errorCode(await t.gql(LIST, { first: 2, after: 'bogus' }, creator.token))).toBe('BAD_USER_INPUT');
      expect(errorCode(await t.gql(LIST, {}, outsider.token))).toBe('FORBIDDEN');
      expect(errorCode(await t.gql(GET, { id: randomUUID() }, creator.token))).toBe('NOT_FOUND');
    });
  });

  // ---------------------------------------------------------------- vendors

  describe("vendors' payouts", () => {
    it('members see their payouts with the statement lines, failures with what to do, reversals; others see nothing', async () => {
      const C = 'PLN';
      const owner = await signUp(t);
      await onboard(owner.organizationId);
      await earn(owner.organizationId, 3_000n, OLD, C);
      const batch = await create(C);
      const pid = payoutOf(batch, owner.organizationId).id;
      await t.gql(HOLD, { p: pid, r: 'internal: sanctions screening' }, approver.token);

      const r = await t.gql(VENDOR_PAYOUTS, { o: owner.organizationId }, owner.token);
      const [node] = r.data!.payouts.edges.map((e: any) => e.node);
      expect(node).toMatchObject({
        id: pid, status: 'HELD', hold: null, amount: { amountMinor: '3000', currency: C }, currency: C, batchCreatedAt: NOW.toISOString(),
        failureCode: null, failureAdvice: null, reversed: { amountMinor: '0' },
      });
      expect(node.lines).toEqual([expect.objectContaining({ transactionKind: 'INVOICE_PAID', amount: { amountMinor: '3000' } })]);
      // Admins see the hold's reason.
      const asAdmin = await t.gql(VENDOR_PAYOUTS, { o: owner.organizationId }, approver.token);
      expect(asAdmin.data!.payouts.edges[0].node.hold).toEqual({ reason: 'internal: sanctions screening' });

      // A failed transfer (as the sender records it) comes with advice.
      await t.dataSource.query(
        `UPDATE payouts SET status = 'FAILED', failure_code = 'account_cannot_receive_transfers', failure_message = 'transfers capability inactive', failed_at = now() WHERE id = $1`,
        [pid],
      );
      const failed = (await t.gql(VENDOR_PAYOUTS, { o: owner.organizationId }, owner.token)).data!.payouts.edges[0].node;
      expect(failed).toMatchObject({ status: 'FAILED', failureCode: 'account_cannot_receive_transfers', failureMessage: 'transfers capability inactive' });
      expect(failed.failureAdvice).toMatch(/Finish onboarding/);

      expect(errorCode(await t.gql(VENDOR_PAYOUTS, { o: owner.organizationId }, outsider.token))).toBe('NOT_FOUND');
      expect(errorCode(await t.gql(VENDOR_PAYOUTS, { o: randomUUID() }, approver.token))).toBe('NOT_FOUND');
    });
  });

  // ---------------------------------------------------------------- races

  /** Holds each call of `method` until `n` calls wait, then lets them all run (each in its own transaction and connection). */
  function barrier<K extends 'lockCurrency' | 'lockBatch'>(method: K, n: number): { restore(): void } {
    const original = (repo[method] as (...a: unknown[]) => Promise<unknown>).bind(repo);
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const spy = jest.spyOn(repo, method).mockImplementation((async (...args: unknown[]) => {
      if (++arrived >= n) open();
      await gate;
      return original(...args);
    }) as never);
    return { restore: () => spy.mockRestore() };
  }

  describe('races', () => {
    it('N concurrent createPayoutBatch in one currency: one batch takes every vendor, the others find nothing to pay', async () => {
      const C = 'NZD';
      const vendors = await Promise.all(Array.from({ length: 6 }, () => readyVendor(C, 3_000n)));
      const N = 4;
      const gate = barrier('lockCurrency', N);
      let results: PromiseSettledResult<unknown>[];
      try {
        results = await Promise.allSettled(Array.from({ length: N }, () => batches.create(principal(creator), C)));
      } finally {
        gate.restore();
      }
      const ok = results.filter((r) => r.status === 'fulfilled');
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(ok).toHaveLength(1);
      expect(failed.map((f) => [f.reason.code, f.reason.details?.reason])).toEqual(Array(N - 1).fill(['CONFLICT', 'NOTHING_TO_PAY']));
      const rows = await t.dataSource.query(`SELECT organization_id, count(*)::int AS n FROM payouts WHERE currency = $1 GROUP BY organization_id`, [C]);
      expect(rows.map((r: any) => r.organization_id).sort()).toEqual([...vendors].sort());
      expect(rows.every((r: any) => r.n === 1)).toBe(true);
    });

    it('two admins approve at once: exactly one approval', async () => {
      const C = 'SGD';
      await readyVendor(C);
      const batch = await create(C);
      const gate = barrier('lockBatch', 2);
      let results: PromiseSettledResult<unknown>[];
      try {
        results = await Promise.allSettled([approver, thirdAdmin].map((a) => review.approve(principal(a), batch.id, batch.snapshotHash)));
      } finally {
        gate.restore();
      }
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const [rejected] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected.reason).toMatchObject({ code: 'CONFLICT', details: { reason: 'BATCH_NOT_IN_REVIEW' } });
      const audits = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'payouts.batch.approved' AND target_id = $1`, [batch.id]);
      expect(audits[0].n).toBe(1);
    });

    it('approve against hold at the same moment ends consistent either way (rounds)', async () => {
      const C = 'HKD';
      const outcomes = new Set<string>();
      for (let round = 0; round < 6; round++) {
        const a = await readyVendor(C, 3_000n);
        const b = await readyVendor(C, 3_000n);
        const batch = await create(C);
        const pa = payoutOf(batch, a).id;
        const gate = barrier('lockBatch', 2);
        let approve: PromiseSettledResult<unknown>;
        let hold: PromiseSettledResult<unknown>;
        try {
          [approve, hold] = await Promise.allSettled([review.approve(principal(approver), batch.id, batch.snapshotHash), review.hold(principal(thirdAdmin), pa, 'race')]);
        } finally {
          gate.restore();
        }
        // The hold always succeeds (PENDING or APPROVED can be held); the approval only if it came first.
        expect(hold.status).toBe('fulfilled');
        const state = await dbBatch(batch.id);
        expect(await dbPayout(pa)).toMatchObject({ status: 'HELD' });
        if (approve.status === 'fulfilled') {
          outcomes.add('approve-first');
          expect(state.status).toBe('APPROVED');
          expect(await dbPayout(payoutOf(batch, b).id)).toMatchObject({ status: 'APPROVED' });
        } else {
          outcomes.add('hold-first');
          expect(approve.reason).toMatchObject({ code: 'CONFLICT', details: { reason: 'SNAPSHOT_CHANGED' } });
          expect(state.status).toBe('IN_REVIEW');
          expect(state.snapshot_hash).toBe(await recomputedHash(batch.id));
          expect(await dbPayout(payoutOf(batch, b).id)).toMatchObject({ status: 'PENDING' });
          await review.reject(principal(approver), batch.id, 'race round over');
        }
        // Leave no open payout for the next round.
        await t.dataSource.query(`UPDATE payouts SET status = 'CANCELLED' WHERE batch_id = $1 AND status IN ('PENDING', 'HELD', 'APPROVED')`, [batch.id]);
      }
      expect(outcomes.size).toBeGreaterThanOrEqual(1);
    });
  });

  // ---------------------------------------------------------------- scale

  describe('scale', () => {
    it('creates a 2,000-vendor batch with a fixed number of statements', async () => {
      const C = 'MXN';
      const n = 2_000;
      const orgs: string[] = (
        await t.dataSource.query(`INSERT INTO organizations (name) SELECT 'Bulk vendor ' || g FROM generate_series(1, $1) g RETURNING id`, [n])
      ).map((r: any) => r.id);
      await t.dataSource.query(
        `INSERT INTO payout_accounts (organization_id, mode, account_id, payouts_enabled, details_submitted, transfers_capability)
         SELECT id, 'sandbox', 'acct_bulk' || replace(id::text, '-', ''), true, true, 'active' FROM unnest($1::uuid[]) AS o(id)`,
        [orgs],
      );
      await db.transaction((tx) =>
        ledger.postMany(
          tx,
          orgs.map((org, i) => ({
            reference: `test:bulk:${org}`, kind: 'INVOICE_PAID', description: 'bulk', occurredAt: OLD,
            lines: [
              { account: Accounts.platformCash, currency: C, amountMinor: 3_000n + BigInt(i) },
              { account: Accounts.vendorPayable(org), currency: C, amountMinor: -(3_000n + BigInt(i)) },
            ],
          })),
        ),
      );
      const queries = jest.spyOn(repo, 'candidateLines');
      const started = Date.now();
      const batch = await batches.create(principal(creator), C);
      const ms = Date.now() - started;
      expect(batch.payoutCount).toBe(n);
      expect(batch.totalMinor).toBe(BigInt(n) * 3_000n + BigInt((n * (n - 1)) / 2));
      expect(queries).toHaveBeenCalledTimes(1);
      queries.mockRestore();
      // eslint-disable-next-line no-console
      console.log(`createPayoutBatch: ${n} vendors in ${ms} ms`);
      expect(ms).toBeLessThan(20_000);
    }, 120_000);
  });
});
