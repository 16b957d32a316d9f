/**
 * The payouts story, end to end in the sandbox on PostgreSQL: a grand-parent
 * trainer A, its student's vendor B and the listed student's vendor C onboard
 * through the sandbox's onboarding page (the account link a vendor owner
 * gets, the page's form submitted, account.updated through the inbox); a
 * distiller pays C's upfront fee and the royalty cascade credits C, B and A;
 * the sandbox test clock waits out the holdback; admin A creates a batch of
 * all three (amounts = available, lines = the ledger entries behind them),
 * cannot approve it, admin B does; the executor sends one transfer per payout
 * and the transfer.created webhooks are processed; a refund of the invoice
 * already paid out leaves each vendor a negative carry-forward; new earnings
 * come in, the next batch nets them; and every day of the month reconciles
 * with the sandbox's balance transactions with zero differences. The ledger
 * invariant is checked after every step. Amounts are computed from the fee
 * and royalty rules, never read back.
 */
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { Clock } from '../src/platform/clock/clock';
import { PayoutExecutionService } from '../src/payouts/payout-execution.service';
import { startTestApp, TestApp } from './support/app';
import { invoicesOf } from './support/billing';
import { useLedgerInvariant } from './support/ledger-invariant';
import { publishOk } from './support/licensing';
import { acceptAgreement } from './support/metering';
import { PAYOUT_ACCOUNT, START_ONBOARDING, errorCode } from './support/payouts';
import { licensed, listedTeacher, registerStudent } from './support/provenance';
import { waitFor } from './support/race';
import { makeAdmin, signUp, TestUser } from './support/users';

const DAY = 86_400_000;
const HOLDBACK_DAYS = 7;
const FEE_BPS = 2000n;
/** A's offer (to B) and B's offer (to C): LAP, a share of the vendor's net after the platform fee. */
const A_SHARE_BPS = 500n;
const B_SHARE_BPS = 1000n;
/** The sandbox's processing fee on a card charge: 2.90 %. */
const PROCESSING_FEE_BPS = 290n;
const UPFRONT = 125_000n;
const REFUND = 50_000n;

/** The split of a payment of `gross` down the lineage (LAP on both edges; amounts chosen to divide exactly). */
function split(gross: bigint) {
  const fee = (gross * FEE_BPS) / 10_000n;
  const net = gross - fee;
  const a = (net * A_SHARE_BPS) / 10_000n;
  const b = (net * B_SHARE_BPS) / 10_000n;
  return { fee, a, b, c: net - a - b };
}

const MONEY = 'amountMinor currency';
const BATCH = `id currency status snapshotHash payoutCount total { ${MONEY} } createdBy { userId } approvedBy { userId }
  payouts(first: 100) { edges { node { id organizationId status amount { ${MONEY} } accountId
    lines { entryId transactionReference transactionKind amount { amountMinor } } } } }
  skipped(first: 100) { edges { node { organizationId reason available { amountMinor } } } }`;
const CREATE = `mutation($c: String!) { createPayoutBatch(input: { currency: $c }) { ${BATCH} } }`;
const GET = `query($id: ID!) { payoutBatch(id: $id) { ${BATCH} } }`;
const APPROVE = `mutation($id: ID!, $h: String!) { approvePayoutBatch(id: $id, snapshotHash: $h) { id status approvedBy { userId } } }`;
const EARNINGS = `query($org: ID!) { earnings(organizationId: $org) { currency payable { amountMinor } pending { amountMinor } available { amountMinor }
  negativeCarryForward { amountMinor } paidOut { amountMinor } } }`;
const VENDOR_PAYOUTS = `query($o: ID!) { payouts(organizationId: $o, first: 10) { edges { node { id status amount { ${MONEY} }
  lines { transactionReference amount { amountMinor } } } } } }`;
const RUN = `mutation($d: String!) { runReconciliation(date: $d) { date differenceCount timingCount
  categories { category matchedCount matched { amountMinor currency } }
  unmatched { side status category sourceId amount { amountMinor currency } reference note } } }`;
const ADVANCE = `mutation($to: DateTime!) { advanceSandboxClock(to: $to) { __typename ... on BusinessError { code message } } }`;

const isoDay = (d: Date) => d.toISOString().slice(0, 10);
type Batch = Record<string, any>;
type Line = [reference: string, amountMinor: string];
const sorted = (lines: Line[]) => [...lines].sort((x, y) => (x[0] + x[1] < y[0] + y[1] ? -1 : 1));
const sortedLines = (payout: any): Line[] => sorted(payout.lines.map((l: any) => [l.transactionReference, l.amount.amountMinor]));
/** What a payment of `gross` adds to each vendor's payout lines: A and B their royalty; C its share, less the royalties it passes on. */
function cascadeLines(reference: string, gross: bigint, vendor: 'a' | 'b' | 'c'): Line[] {
  const s = split(gross);
  if (vendor !== 'c') return [[reference, String(s[vendor])]];
  return [
    [reference, String(gross - s.fee)],
    [reference, String(-s.b)],
    [reference, String(-s.a)],
  ];
}
const nodes = (b: Batch) => b.payouts.edges.map((e: any) => e.node);

describe('the payouts story (sandbox, e2e)', () => {
  let t: TestApp;
  let inbox: WebhookInboxService;
  let clock: Clock;
  let adminA: TestUser;
  let adminB: TestUser;
  /** The original trainer (grand-parent), the student's vendor, the listed student's vendor. */
  let vendorA: TestUser;
  let vendorB: TestUser;
  let vendorC: TestUser;
  let offerC: { id: string; termsHash: string };
  let firstInvoice: string;
  let storyStart: Date;
  const accountOf = new Map<string, string>();
  let batch1: Batch;
  let batch2: Batch;
  jest.setTimeout(180_000);

  beforeAll(async () => {
    t = await startTestApp({ earningsHoldbackDays: HOLDBACK_DAYS, platformFeeBps: Number(FEE_BPS), payoutMinimums: 'USD:2500,EUR:2500,JPY:300' });
    inbox = t.app.get(WebhookInboxService);
    clock = t.app.get(Clock);
    adminA = await makeAdmin(t, await signUp(t));
    adminB = await makeAdmin(t, await signUp(t));
    [vendorA, vendorB, vendorC] = [await signUp(t, { country: 'US' }), await signUp(t, { country: 'US' }), await signUp(t, { country: 'DE' })];
    storyStart = clock.now();
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(() => t?.close());

  const q = (sql: string, params: unknown[] = []) => t.dataSource.query(sql, params);
  const earnings = async (u: TestUser) => {
    const r = await t.gql(EARNINGS, { org: u.organizationId }, u.token);
    expect(r.errors).toBeUndefined();
    const usd = r.data!.earnings.find((e: any) => e.currency === 'USD');
    return {
      payable: usd.payable.amountMinor,
      pending: usd.pending.amountMinor,
      available: usd.available.amountMinor,
      carry: usd.negativeCarryForward.amountMinor,
      paid: usd.paidOut.amountMinor,
    };
  };
  const advanceDays = async (days: number) => {
    const to = clock.now().getTime() + days * DAY;
    const r = await t.gql(ADVANCE, { to: new Date(to).toISOString() }, adminA.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.advanceSandboxClock.__typename).toBe('SandboxClockAdvance');
    await waitFor(() => clock.now().getTime() >= to - 1000);
  };
  async function payUpfront(distiller: TestUser): Promise<string> {
    await acceptAgreement(t, distiller, offerC);
    const [invoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
    expect(invoice.total.amountMinor).toBe(String(UPFRONT));
    const s = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: distiller.organizationId }, distiller.token);
    expect(s.errors).toBeUndefined();
    const c = await t.gql(
      `mutation($o: ID!, $s: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: "pm_sandbox_visa") { organizationId } }`,
      { o: distiller.organizationId, s: s.data!.createPaymentSetup.setupIntentId },
      distiller.token,
    );
    expect(c.errors).toBeUndefined();
    await inbox.drain();
    const paid = await t.gql(`mutation($id: ID!) { payInvoice(id: $id) { outcome } }`, { id: invoice.id }, distiller.token);
    expect(paid.data!.payInvoice.outcome).toBe('PAID');
    await inbox.drain();
    return invoice.id as string;
  }
  /** Ledger entries of one transaction as [account, amount] (summed per account), largest first. */
  async function posting(reference: string): Promise<[string, string][]> {
    const rows: { code: string; amount: string }[] = await q(
      `SELECT a.code, sum(e.amount_minor)::text AS amount FROM ledger_transactions x JOIN ledger_entries e ON e.transaction_id = x.id
         JOIN ledger_accounts a ON a.id = e.account_id WHERE x.reference = $1 GROUP BY a.code ORDER BY sum(e.amount_minor) DESC, a.code`,
      [reference],
    );
    return rows.map((r) => [r.code, r.amount]);
  }
  const payable = (u: TestUser) => `vendor:${u.organizationId}:payable`;

  /** Creates a batch as `creator`; the other admin approves it after the creator is refused; the executor sends it; webhooks are processed. */
  async function batchApproveExecute(creator: TestUser, approver: TestUser, expected: Map<string, bigint>): Promise<Batch> {
    const created = await t.gql(CREATE, { c: 'USD' }, creator.token);
    expect(created.errors).toBeUndefined();
    const batch = created.data!.createPayoutBatch;
    expect(batch).toMatchObject({ currency: 'USD', status: 'IN_REVIEW', payoutCount: expected.size, createdBy: { userId: creator.userId }, approvedBy: null });
    const total = [...expected.values()].reduce((x, y) => x + y, 0n);
    expect(batch.total).toEqual({ amountMinor: String(total), currency: 'USD' });
    expect(Object.fromEntries(nodes(batch).map((p: any) => [p.organizationId, p.amount.amountMinor]))).toEqual(
      Object.fromEntries([...expected].map(([org, amt]) => [org, String(amt)])),
    );
    expect(batch.skipped.edges).toEqual([]);
    for (const p of nodes(batch)) {
      expect(p.status).toBe('PENDING');
      expect(p.accountId).toBe(accountOf.get(p.organizationId));
      // The lines are the vendor's ledger entries (what each adds to the payout: the entry negated); their sum is the amount.
      const sum = p.lines.reduce((s: bigint, l: any) => s + BigInt(l.amount.amountMinor), 0n);
      expect(sum).toBe(BigInt(p.amount.amountMinor));
      const entryIds = p.lines.map((l: any) => l.entryId);
      const entries = await q(
        `SELECT e.id::text AS id, e.amount_minor::text AS amount, a.code FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE e.id::text = ANY($1::text[])`,
        [entryIds],
      );
      expect(entries).toHaveLength(entryIds.length);
      for (const e of entries) {
        expect(e.code).toBe(`vendor:${p.organizationId}:payable`);
        expect(BigInt(e.amount)).toBe(-BigInt(p.lines.find((l: any) => l.entryId === e.id).amount.amountMinor));
      }
    }

    // Four eyes: the creator is refused, and nothing changes.
    const own = await t.gql(APPROVE, { id: batch.id, h: batch.snapshotHash }, creator.token);
    expect(errorCode(own)).toBe('FORBIDDEN');
    expect(own.errors![0].extensions.reason).toBe('FOUR_EYES');
    expect((await t.gql(GET, { id: batch.id }, approver.token)).data!.payoutBatch).toMatchObject({ status: 'IN_REVIEW', approvedBy: null });
    const approved = await t.gql(APPROVE, { id: batch.id, h: batch.snapshotHash }, approver.token);
    expect(approved.errors).toBeUndefined();
    expect(approved.data!.approvePayoutBatch).toMatchObject({ id: batch.id, status: 'APPROVED', approvedBy: { userId: approver.userId } });

    // The executor sends it.
    const executor = t.app.get(PayoutExecutionService);
    const run = await executor.run({ batchId: batch.id });
    expect(run).toMatchObject({ sent: expected.size, failed: 0, deferred: 0 });
    await inbox.drain();
    // Another run finds nothing to send.
    expect((await executor.run({ batchId: batch.id })).picked).toBe(0);

    const after = (await t.gql(GET, { id: batch.id }, approver.token)).data!.payoutBatch;
    expect(after.status).toBe('COMPLETED');
    const payouts = await q(`SELECT id, status, transfer_id, amount_minor::text AS amount FROM payouts WHERE batch_id = $1`, [batch.id]);
    expect(payouts).toHaveLength(expected.size);
    for (const p of payouts) {
      expect(p.status).toBe('SENT');
      expect(p.transfer_id).toMatch(/^tr_sandbox_/);
      // Exactly one transfer at the processor per payout, for its amount, to its account.
      const transfers = await q(`SELECT id, data FROM sandbox_payment_objects WHERE kind = 'transfer' AND data->'metadata'->>'payout_id' = $1`, [p.id]);
      expect(transfers.map((x: any) => x.id)).toEqual([p.transfer_id]);
      expect(String(transfers[0].data.amount)).toBe(p.amount);
      // Its transfer.created reached the inbox and was handled.
      const events = await q(`SELECT outcome FROM payment_webhook_events WHERE type = 'transfer.created' AND payload->'data'->'object'->>'id' = $1`, [p.transfer_id]);
      expect(events).toEqual([{ outcome: 'handled' }]);
      // The PAYOUT posting, once: Dr vendor:<org>:paid (the payable's contra account), Cr platform cash.
      const org = nodes(batch).find((n: any) => n.id === p.id).organizationId;
      expect(await posting(`payout:${p.id}`)).toEqual([
        [`vendor:${org}:paid`, p.amount],
        ['platform:cash', `-${p.amount}`],
      ]);
    }
    return batch;
  }

  it('onboards the three vendors through the sandbox onboarding page; their accounts can receive transfers', async () => {
    for (const v of [vendorA, vendorB, vendorC]) {
      const started = await t.gql(START_ONBOARDING, { o: v.organizationId }, v.token);
      expect(started.errors).toBeUndefined();
      const link = started.data!.startPayoutOnboarding;
      expect(link.account).toMatchObject({ mode: 'SANDBOX', canReceiveTransfers: false });
      const path = new URL(link.url).pathname;
      expect(path).toMatch(/^\/v1\/sandbox\/connect\/onboarding\/acctlink_sandbox_[0-9a-f]{32}$/);

      // The page the link opens, and its "complete" form submitted as a browser would.
      const page = await t.request({ method: 'GET', url: path });
      expect(page.status).toBe(200);
      expect(page.text).toContain(`action="${path}"`);
      expect(page.text).toContain('name="outcome" value="complete"');
      const submitted = await t.request({ method: 'POST', url: path, body: 'outcome=complete', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(submitted.status).toBe(303);
      expect(new URL(String(submitted.headers.location), 'http://x').pathname).toBe('/v1/payouts/onboarding/return');
      await inbox.drain();

      const state = (await t.gql(PAYOUT_ACCOUNT, { o: v.organizationId }, v.token)).data!.payoutAccount;
      expect(state).toMatchObject({ accountId: link.account.accountId, mode: 'SANDBOX', payoutsEnabled: true, currentlyDue: [], disabledReason: null, canReceiveTransfers: true });
      accountOf.set(v.organizationId, link.account.accountId);
    }
    const updates = await q(`SELECT payload->>'account' AS account, outcome FROM payment_webhook_events WHERE type = 'account.updated' ORDER BY 1`);
    expect(updates.filter((u: any) => u.outcome === 'handled').map((u: any) => u.account).sort()).toEqual(expect.arrayContaining([...accountOf.values()].sort()));
  });

  it('a distiller pays the listed student: the cascade credits C, B and the grand-parent A, pending for the holdback', async () => {
    const a = await listedTeacher(t, vendorA, { royalty: { policy: 'LAP', shareBps: Number(A_SHARE_BPS) } });
    const edgeAB = await licensed(t, vendorB, a);
    const b = await registerStudent(t, vendorB, [edgeAB]);
    await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: b.id }, vendorB.token);
    const offerB = await publishOk(t, vendorB, b.id, { terms: { royalty: { policy: 'LAP', shareBps: Number(B_SHARE_BPS) } } });
    const edgeBC = await licensed(t, vendorC, { modelId: b.id, offer: offerB });
    const c = await registerStudent(t, vendorC, [edgeBC]);
    await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: c.id }, vendorC.token);
    offerC = await publishOk(t, vendorC, c.id, { pricing: { currency: 'USD', upfrontFeeMinor: String(UPFRONT) }, terms: { royalty: { policy: 'LAP', shareBps: 300 } } });

    const distiller = await signUp(t, { country: 'US' });
    firstInvoice = await payUpfront(distiller);
    const s = split(UPFRONT);
    expect(await posting(`invoice:${firstInvoice}:paid`)).toEqual(
      expect.arrayContaining([
        ['platform:cash', String(UPFRONT)],
        ['platform:fees', String(-s.fee)],
        [payable(vendorC), String(-s.c)],
        [payable(vendorB), String(-s.b)],
        [payable(vendorA), String(-s.a)],
      ]),
    );
    for (const [v, amt] of [
      [vendorA, s.a],
      [vendorB, s.b],
      [vendorC, s.c],
    ] as const) {
      expect(await earnings(v)).toMatchObject({ payable: String(amt), pending: String(amt), available: '0', carry: '0', paid: '0' });
    }
  });

  it('past the holdback (test clock), admin A batches all three at their available earnings; admin B approves; one transfer each', async () => {
    await advanceDays(HOLDBACK_DAYS + 1);
    const s = split(UPFRONT);
    for (const [v, amt] of [
      [vendorA, s.a],
      [vendorB, s.b],
      [vendorC, s.c],
    ] as const) {
      expect(await earnings(v)).toMatchObject({ pending: '0', available: String(amt) });
    }
    const expected = new Map([
      [vendorA.organizationId, s.a],
      [vendorB.organizationId, s.b],
      [vendorC.organizationId, s.c],
    ]);
    batch1 = await batchApproveExecute(adminA, adminB, expected);
    // Each payout's lines: the paid invoice's entries on the vendor's payable (C's share, less the royalties it passes on).
    for (const [v, key] of [
      [vendorA, 'a'],
      [vendorB, 'b'],
      [vendorC, 'c'],
    ] as const) {
      const p = nodes(batch1).find((n: any) => n.organizationId === v.organizationId);
      expect(sortedLines(p)).toEqual(sorted(cascadeLines(`invoice:${firstInvoice}:paid`, UPFRONT, key)));
    }
    for (const [v, amt] of [
      [vendorA, s.a],
      [vendorB, s.b],
      [vendorC, s.c],
    ] as const) {
      expect(await earnings(v)).toMatchObject({ payable: '0', available: '0', paid: String(amt) });
      const mine = (await t.gql(VENDOR_PAYOUTS, { o: v.organizationId }, v.token)).data!.payouts.edges.map((e: any) => e.node);
      expect(mine.map((p: any) => [p.status, p.amount.amountMinor])).toEqual([['SENT', String(amt)]]);
    }
  });

  it('a refund of the invoice already paid out leaves each vendor a negative carry-forward; the next batch nets it against new earnings', async () => {
    await advanceDays(1);
    const refund = await t.gql(
      `mutation($id: ID!, $a: String!) { refundInvoice(id: $id, amountMinor: $a, reason: "refund after payout") { ... on InvoiceRefund { outcome } } }`,
      { id: firstInvoice, a: String(REFUND) },
      adminA.token,
    );
    expect(refund.errors).toBeUndefined();
    await inbox.drain();
    // 40 % of the payment: every part of the cascade is taken back by 40 %.
    const back = split(REFUND);
    expect(await posting(`invoice:${firstInvoice}:refunded-to:${REFUND}`)).toEqual(
      expect.arrayContaining([
        ['platform:cash', String(-REFUND)],
        ['platform:fees', String(back.fee)],
        [payable(vendorC), String(back.c)],
        [payable(vendorB), String(back.b)],
        [payable(vendorA), String(back.a)],
      ]),
    );
    for (const [v, amt] of [
      [vendorA, back.a],
      [vendorB, back.b],
      [vendorC, back.c],
    ] as const) {
      expect(await earnings(v)).toMatchObject({ payable: String(-amt), available: '0', carry: String(amt) });
    }

    // New earnings: a second distiller pays; they net the carry-forward first.
    const second = await payUpfront(await signUp(t, { country: 'US' }));
    const earned = split(UPFRONT);
    const net = { a: earned.a - back.a, b: earned.b - back.b, c: earned.c - back.c };
    for (const [v, amt] of [
      [vendorA, net.a],
      [vendorB, net.b],
      [vendorC, net.c],
    ] as const) {
      expect(await earnings(v)).toMatchObject({ payable: String(amt), pending: String(amt), available: '0', carry: '0' });
    }
    await advanceDays(HOLDBACK_DAYS + 1);
    for (const [v, amt] of [
      [vendorA, net.a],
      [vendorB, net.b],
      [vendorC, net.c],
    ] as const) {
      expect(await earnings(v)).toMatchObject({ pending: '0', available: String(amt), carry: '0' });
    }

    // This time admin B creates and admin A approves.
    batch2 = await batchApproveExecute(
      adminB,
      adminA,
      new Map([
        [vendorA.organizationId, net.a],
        [vendorB.organizationId, net.b],
        [vendorC.organizationId, net.c],
      ]),
    );
    // The lines explain the netting: the refund's entry and the new earnings' entry.
    const byOrg = (org: string) => nodes(batch2).find((p: any) => p.organizationId === org);
    for (const [v, key] of [
      [vendorA, 'a'],
      [vendorB, 'b'],
      [vendorC, 'c'],
    ] as const) {
      expect(sortedLines(byOrg(v.organizationId))).toEqual(
        sorted([[`invoice:${firstInvoice}:refunded-to:${REFUND}`, String(-back[key])], ...cascadeLines(`invoice:${second}:paid`, UPFRONT, key)]),
      );
      expect(await earnings(v)).toMatchObject({ payable: '0', available: '0', carry: '0', paid: String(earned[key] - back[key] + earned[key]) });
    }
  });

  it('every day of the month reconciles with the processor: zero differences, and the month adds up', async () => {
    const today = clock.now();
    expect(today.getTime() - storyStart.getTime()).toBeGreaterThan(2 * HOLDBACK_DAYS * DAY);
    const totals = new Map<string, bigint>();
    let matched = 0;
    for (let i = 30; i >= 0; i--) {
      const day = isoDay(new Date(today.getTime() - i * DAY));
      const r = await t.gql(RUN, { d: day }, adminA.token);
      expect(r.errors).toBeUndefined();
      const run = r.data!.runReconciliation;
      expect([day, run.differenceCount, run.timingCount, run.unmatched]).toEqual([day, 0, 0, []]);
      for (const c of run.categories) {
        expect(c.matched.currency).toBe('USD');
        totals.set(c.category, (totals.get(c.category) ?? 0n) + BigInt(c.matched.amountMinor));
        matched += c.matchedCount;
      }
    }
    expect(isoDay(storyStart) >= isoDay(new Date(today.getTime() - 30 * DAY))).toBe(true);
    const earned = split(UPFRONT);
    const back = split(REFUND);
    const processingFee = (UPFRONT * PROCESSING_FEE_BPS) / 10_000n;
    expect(Object.fromEntries(totals)).toEqual({
      charge: 2n * UPFRONT,
      processing_fee: -2n * processingFee,
      refund: -REFUND,
      transfer: -(earned.a + earned.b + earned.c) - (earned.a - back.a + earned.b - back.b + earned.c - back.c),
    });
    // 2 charges, their 2 fees, 1 refund, 6 transfers.
    expect(matched).toBe(2 + 2 + 1 + 6);
  });
});
