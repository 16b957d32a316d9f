/**
 * Transfer reversals in the sandbox: an admin reverses part of a SENT payout
 * (TRANSFER_REVERSAL posting, payout_reversals row, reversed_minor, audit, the
 * sandbox's balance transaction), the rules (not SENT, over-reversal, another
 * currency, non-admin, unknown payout: a clear error and nothing written),
 * replays of the same request, concurrent requests that never reverse more
 * than the payout (barrier, separate connections), `transfer.reversed`
 * delivered twice or before the admin's own booking (booked once), and a
 * refund of money already paid out leaving a negative carry-forward that the
 * next earnings net.
 */
import { randomUUID } from 'node:crypto';
import { EarningsBalanceService } from '../src/earnings/earnings-balance.service';
import { PaymentsUnavailableError } from '../src/payments/payments.errors';
import { PAYMENTS_PORT, PaymentsPort } from '../src/payments/payments.port';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { Clock } from '../src/platform/clock/clock';
import { Database } from '../src/platform/database/transaction';
import { PayoutReversalsRepository } from '../src/payouts/payout-reversals.repository';
import { PayoutReversalsService } from '../src/payouts/payout-reversals.service';
import { startTestApp, TestApp } from './support/app';
import { paidUpfrontInvoice } from './support/billing';
import { useLedgerInvariant } from './support/ledger-invariant';
import { REVERSE, sentPayout } from './support/payout-sent-fixtures';
import { errorCode } from './support/payouts';
import { waitFor } from './support/race';
import { makeAdmin, signUp, TestUser } from './support/users';

describe('payout transfer reversals (sandbox, e2e)', () => {
  let t: TestApp;
  let port: PaymentsPort;
  let inbox: WebhookInboxService;
  let admin: TestUser;
  let admin2: TestUser;
  let vendor: TestUser;

  beforeAll(async () => {
    t = await startTestApp({ earningsHoldbackDays: 0, platformFeeBps: 1500 });
    port = t.app.get(PAYMENTS_PORT);
    inbox = t.app.get(WebhookInboxService);
    admin = await makeAdmin(t, await signUp(t));
    admin2 = await makeAdmin(t, await signUp(t));
    vendor = await signUp(t, { country: 'US' });
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(() => t.close());

  const q = async (sql: string, params: unknown[] = []) => t.dataSource.query(sql, params);
  const reversalPostings = async (payoutId: string) =>
    (await q(`SELECT reference FROM ledger_transactions WHERE kind = 'TRANSFER_REVERSAL' AND reference LIKE $1 ORDER BY reference`, [`payout:${payoutId}:reversal:%`])).map(
      (r: any) => r.reference,
    );
  const reversed = async (payoutId: string) => BigInt((await q(`SELECT reversed_minor::text AS r FROM payouts WHERE id = $1`, [payoutId]))[0].r);
  const counts = async () =>
    (await q(`SELECT (SELECT count(*) FROM payout_reversals)::int AS reversals, (SELECT count(*) FROM payout_reversal_requests)::int AS requests,
                     (SELECT count(*) FROM ledger_transactions WHERE kind = 'TRANSFER_REVERSAL')::int AS postings,
                     (SELECT count(*) FROM sandbox_payment_objects WHERE kind = 'transfer_reversal')::int AS at_processor`))[0];

  it('reverses part of a SENT payout: posting, row, reversed total, audit and the processor balance transaction; transfer.reversed books nothing more', async () => {
    const p = await sentPayout(t, { vendor, admin, amountMinor: 10_000n });
    const r = await t.gql(REVERSE, { p: p.payoutId, a: '3000', r: 'vendor asked to return an overpayment' }, admin2.token);
    expect(r.errors).toBeUndefined();
    const out = r.data!.reverseTransfer;
    expect(out).toMatchObject({ payoutId: p.payoutId, amount: { amountMinor: '3000', currency: 'USD' }, payoutReversed: { amountMinor: '3000' }, payoutAmount: { amountMinor: '10000' }, created: true });
    expect(out.reversalId).toMatch(/^trr_sandbox_[0-9a-f]{24}$/);

    const entries = await q(
      `SELECT a.code, e.amount_minor::text AS amount FROM ledger_transactions x JOIN ledger_entries e ON e.transaction_id = x.id JOIN ledger_accounts a ON a.id = e.account_id
        WHERE x.reference = $1 ORDER BY e.amount_minor DESC`,
      [`payout:${p.payoutId}:reversal:${out.reversalId}`],
    );
    expect(entries).toEqual([
      { code: 'platform:cash', amount: '3000' },
      { code: `vendor:${vendor.organizationId}:paid`, amount: '-3000' },
    ]);
    expect(await q(`SELECT id, amount_minor::text AS amount, currency, reason, requested_by FROM payout_reversals WHERE payout_id = $1`, [p.payoutId])).toEqual([
      { id: out.reversalId, amount: '3000', currency: 'USD', reason: 'vendor asked to return an overpayment', requested_by: admin2.userId },
    ]);
    expect(await reversed(p.payoutId)).toBe(3000n);
    // Booked by the admin's call or by the sandbox's transfer.reversed, whichever came first (then the actor is the system): once.
    const audit = await q(`SELECT action, actor_user_id, data->>'requestedBy' AS by FROM audit_log WHERE target_id = $1 ORDER BY seq`, [p.payoutId]);
    expect(audit.map((a: any) => [a.action, a.by])).toEqual([
      ['payouts.reversal.requested', null],
      ['payouts.transfer_reversed', admin2.userId],
    ]);
    expect(audit[0].actor_user_id).toBe(admin2.userId);
    expect([admin2.userId, null]).toContain(audit[1].actor_user_id);
    const [bt] = await q(`SELECT data FROM sandbox_payment_objects WHERE kind = 'balance_transaction' AND data->>'source' = $1`, [out.reversalId]);
    expect(bt.data).toMatchObject({ amount: 3000, type: 'transfer_refund', reporting_category: 'transfer_reversal', fee: 0 });

    // The sandbox emitted transfer.reversed: handled, and the re-read finds nothing new.
    await inbox.drain();
    await t.app.get(PayoutReversalsService).syncReversals(p.payoutId);
    expect(await q(`SELECT outcome FROM payment_webhook_events WHERE type = 'transfer.reversed' AND payload->'data'->'object'->>'id' = $1`, [p.transferId])).toEqual([{ outcome: 'handled' }]);
    expect(await reversalPostings(p.payoutId)).toHaveLength(1);
    expect(await reversed(p.payoutId)).toBe(3000n);
    expect(await q(`SELECT reversal_sync_requested_at FROM payouts WHERE id = $1`, [p.payoutId])).toEqual([{ reversal_sync_requested_at: null }]);

    // The rest can be reversed; then nothing is left.
    const rest = await t.gql(REVERSE, { p: p.payoutId, a: '7000', r: 'rest', c: 'USD' }, admin.token);
    expect(rest.errors).toBeUndefined();
    expect(rest.data!.reverseTransfer.payoutReversed.amountMinor).toBe('10000');
    const more = await t.gql(REVERSE, { p: p.payoutId, a: '1', r: 'more' }, admin.token);
    expect(errorCode(more)).toBe('BAD_USER_INPUT');
  });

  it('refuses with a clear error and writes nothing: not SENT, over-reversal, another currency, bad input, unknown payout, non-admin', async () => {
    const p = await sentPayout(t, { vendor, admin, amountMinor: 5000n });
    const failed = await sentPayout(t, { vendor, admin, amountMinor: 5000n, status: 'FAILED' });
    const before = await counts();
    const cases: [Record<string, unknown>, string | undefined, string][] = [
      [{ p: failed.payoutId, a: '100', r: 'x' }, admin.token, 'CONFLICT'],
      [{ p: p.payoutId, a: '5001', r: 'x' }, admin.token, 'BAD_USER_INPUT'],
      [{ p: p.payoutId, a: '100', r: 'x', c: 'EUR' }, admin.token, 'BAD_USER_INPUT'],
      [{ p: p.payoutId, a: '0', r: 'x' }, admin.token, 'BAD_USER_INPUT'],
      [{ p: p.payoutId, a: '-5', r: 'x' }, admin.token, 'BAD_USER_INPUT'],
      [{ p: p.payoutId, a: '1.5', r: 'x' }, admin.token, 'BAD_USER_INPUT'],
      [{ p: p.payoutId, a: '100', r: '   ' }, admin.token, 'BAD_USER_INPUT'],
      [{ p: randomUUID(), a: '100', r: 'x' }, admin.token, 'NOT_FOUND'],
      [{ p: p.payoutId, a: '100', r: 'x' }, vendor.token, 'FORBIDDEN'],
      [{ p: p.payoutId, a: '100', r: 'x' }, undefined, 'UNAUTHENTICATED'],
    ];
    for (const [vars, token, code] of cases) {
      const r = await t.gql(REVERSE, vars, token);
      expect([JSON.stringify(vars), errorCode(r)]).toEqual([JSON.stringify(vars), code]);
    }
    expect(await counts()).toEqual(before);
    expect(await reversed(p.payoutId)).toBe(0n);
  });

  it('the same request again (requestKey) answers the same reversal; the key with another amount is refused', async () => {
    const p = await sentPayout(t, { vendor, admin, amountMinor: 4000n });
    const first = await t.gql(REVERSE, { p: p.payoutId, a: '1000', r: 'dup', k: 'ticket-42' }, admin.token);
    const again = await t.gql(REVERSE, { p: p.payoutId, a: '1000', r: 'dup', k: 'ticket-42' }, admin.token);
    expect(first.errors).toBeUndefined();
    expect(again.errors).toBeUndefined();
    expect(again.data!.reverseTransfer).toMatchObject({ reversalId: first.data!.reverseTransfer.reversalId, created: false, payoutReversed: { amountMinor: '1000' } });
    expect(errorCode(await t.gql(REVERSE, { p: p.payoutId, a: '2000', r: 'dup', k: 'ticket-42' }, admin.token))).toBe('CONFLICT');
    expect(await reversalPostings(p.payoutId)).toHaveLength(1);
    expect(await reversed(p.payoutId)).toBe(1000n);
  });

  describe('an unknown processor outcome', () => {
    /** The processor makes the reversal but its answer is lost (the first call only). */
    function loseFirstAnswer(): { keys: string[]; restore(): void } {
      const original = port.reverseTransfer.bind(port);
      const keys: string[] = [];
      const spy = jest.spyOn(port, 'reverseTransfer').mockImplementation(async (input) => {
        keys.push(input.idempotencyKey);
        const made = await original(input);
        if (keys.length === 1) throw new PaymentsUnavailableError('connection reset (test)', 'connection_error', true);
        return made;
      });
      return { keys, restore: () => spy.mockRestore() };
    }

    it('leaves the request pending; asking again finishes it with the same key (one reversal)', async () => {
      const p = await sentPayout(t, { vendor, admin, amountMinor: 4000n });
      const lose = loseFirstAnswer();
      // The processor's event waits in the inbox meanwhile (not processed).
      const kick = jest.spyOn(inbox, 'kick').mockResolvedValue(undefined);
      try {
        const lost = await t.gql(REVERSE, { p: p.payoutId, a: '1500', r: 'lost answer' }, admin.token);
        expect(errorCode(lost)).toBe('INTERNAL');
        expect(lost.errors![0].message).toContain('Ask again');
        expect(await q(`SELECT status FROM payout_reversal_requests WHERE payout_id = $1`, [p.payoutId])).toEqual([{ status: 'PENDING' }]);
        // The pending amount is reserved meanwhile.
        expect(errorCode(await t.gql(REVERSE, { p: p.payoutId, a: '3000', r: 'other' }, admin.token))).toBe('CONFLICT');
        const retry = await t.gql(REVERSE, { p: p.payoutId, a: '1500', r: 'lost answer' }, admin.token);
        expect(retry.errors).toBeUndefined();
        expect(lose.keys).toHaveLength(2);
        expect(lose.keys[0]).toBe(lose.keys[1]);
      } finally {
        lose.restore();
        kick.mockRestore();
      }
      await inbox.drain();
      expect(await reversalPostings(p.payoutId)).toHaveLength(1);
      expect(await reversed(p.payoutId)).toBe(1500n);
      expect(Number((await q(`SELECT count(*)::int AS n FROM sandbox_payment_objects WHERE kind = 'transfer_reversal' AND data->>'transfer' = $1`, [p.transferId]))[0].n)).toBe(1);
    });

    it("when the processor's event booked it before the admin asks again, asking again answers that reversal (no second one)", async () => {
      const p = await sentPayout(t, { vendor, admin, amountMinor: 4000n });
      const lose = loseFirstAnswer();
      try {
        expect(errorCode(await t.gql(REVERSE, { p: p.payoutId, a: '1500', r: 'lost answer' }, admin.token))).toBe('INTERNAL');
        await inbox.drain();
        await waitFor(async () => (await reversalPostings(p.payoutId)).length === 1);
        const retry = await t.gql(REVERSE, { p: p.payoutId, a: '1500', r: 'lost answer' }, admin.token);
        expect(retry.errors).toBeUndefined();
        expect(retry.data!.reverseTransfer).toMatchObject({ created: false, payoutReversed: { amountMinor: '1500' } });
        expect(lose.keys).toHaveLength(1);
        // Told once: the same request made again now is a new reversal.
        const next = await t.gql(REVERSE, { p: p.payoutId, a: '1500', r: 'lost answer' }, admin.token);
        expect(next.data!.reverseTransfer).toMatchObject({ created: true, payoutReversed: { amountMinor: '3000' } });
      } finally {
        lose.restore();
      }
      await inbox.drain();
      expect(await reversalPostings(p.payoutId)).toHaveLength(2);
      expect(await reversed(p.payoutId)).toBe(3000n);
    });
  });

  it('a pending request nobody asks again about is sent again by the sweep with its key: booked once, the reservation released', async () => {
    const reversals = t.app.get(PayoutReversalsService);
    const p = await sentPayout(t, { vendor, admin, amountMinor: 2000n });
    const keys: string[] = [];
    const original = port.reverseTransfer.bind(port);
    // The request never reaches the processor the first time (connection refused).
    const down = jest.spyOn(port, 'reverseTransfer').mockImplementation(async (input) => {
      keys.push(input.idempotencyKey);
      if (keys.length === 1) throw new PaymentsUnavailableError('connection refused (test)', 'connection_error', true);
      return original(input);
    });
    try {
      expect(errorCode(await t.gql(REVERSE, { p: p.payoutId, a: '600', r: 'forgotten' }, admin.token))).toBe('INTERNAL');
      expect(await reversals.resumeStale(10, 60_000)).toEqual({ resumed: 0, failed: 0 }); // not old enough yet
      const later = jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(new Date(Date.now() + 11 * 60_000));
      try {
        expect(await reversals.resumeStale(10, 10 * 60_000)).toEqual({ resumed: 1, failed: 0 });
      } finally {
        later.mockRestore();
      }
      expect(keys).toHaveLength(2);
      expect(keys[1]).toBe(keys[0]);
    } finally {
      down.mockRestore();
    }
    await inbox.drain();
    expect(await reversalPostings(p.payoutId)).toHaveLength(1);
    expect(await reversed(p.payoutId)).toBe(600n);
    expect(await q(`SELECT status, answered_at FROM payout_reversal_requests WHERE payout_id = $1`, [p.payoutId])).toEqual([{ status: 'SUCCEEDED', answered_at: null }]);
    // The admin asking again is told that reversal; the rest of the payout can be reversed.
    const again = await t.gql(REVERSE, { p: p.payoutId, a: '600', r: 'forgotten' }, admin.token);
    expect(again.data!.reverseTransfer).toMatchObject({ created: false, payoutReversed: { amountMinor: '600' } });
    const rest = await t.gql(REVERSE, { p: p.payoutId, a: '1400', r: 'rest' }, admin.token);
    expect(rest.errors).toBeUndefined();
  });

  it('concurrent reversals (separate connections, released together) never reverse more than the payout; the losers never reach the processor', async () => {
    const p = await sentPayout(t, { vendor, admin, amountMinor: 1000n });
    const repo = t.app.get(PayoutReversalsRepository);
    const original = repo.payout.bind(repo);
    const N = 5;
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const barrier = jest.spyOn(repo, 'payout').mockImplementation(async (em, id, lock) => {
      if (lock && id === p.payoutId && arrived < N) {
        if (++arrived >= N) open();
        await gate;
      }
      return original(em, id, lock);
    });
    const processorCalls = jest.spyOn(port, 'reverseTransfer');
    try {
      const results = await Promise.all(Array.from({ length: N }, (_, i) => t.gql(REVERSE, { p: p.payoutId, a: '300', r: `race ${i}` }, admin.token)));
      const ok = results.filter((r) => !r.errors);
      const refused = results.filter((r) => r.errors).map(errorCode);
      expect(ok).toHaveLength(3); // 3 × 300 ≤ 1000 < 4 × 300
      expect(refused.every((c) => c === 'BAD_USER_INPUT' || c === 'CONFLICT')).toBe(true);
      expect(processorCalls).toHaveBeenCalledTimes(3);
    } finally {
      barrier.mockRestore();
      processorCalls.mockRestore();
    }
    await inbox.drain();
    expect(await reversed(p.payoutId)).toBe(900n);
    expect(await reversalPostings(p.payoutId)).toHaveLength(3);
    const [{ s }] = await q(`SELECT coalesce(sum(amount_minor), 0)::text AS s FROM payout_reversals WHERE payout_id = $1`, [p.payoutId]);
    expect(s).toBe('900');
  });

  it('transfer.reversed delivered twice, or before the admin books its own reversal: booked once', async () => {
    const reversals = t.app.get(PayoutReversalsService);
    // A reversal made at the processor (its dashboard): only the event tells us.
    const a = await sentPayout(t, { vendor, admin, amountMinor: 2000n });
    await port.reverseTransfer({ transferId: a.transferId, amountMinor: 500n, idempotencyKey: `dashboard:${a.payoutId}`, metadata: { reason: 'dashboard' } });
    await inbox.drain();
    expect(await reversalPostings(a.payoutId)).toHaveLength(1);
    expect(await reversed(a.payoutId)).toBe(500n);
    // The same event delivered again (another event id, the same transfer): nothing new.
    const [stored] = await q(`SELECT payload FROM payment_webhook_events WHERE type = 'transfer.reversed' AND payload->'data'->'object'->>'id' = $1`, [a.transferId]);
    await t.app.get(Database).transaction((tx) => inbox.store(tx, { ...stored.payload, id: `evt_again_${a.payoutId.slice(0, 8)}` }, 'sandbox'));
    await inbox.drain();
    await reversals.syncReversals(a.payoutId);
    expect(await reversalPostings(a.payoutId)).toHaveLength(1);
    expect(await reversed(a.payoutId)).toBe(500n);
    expect(await q(`SELECT reason, requested_by FROM payout_reversals WHERE payout_id = $1`, [a.payoutId])).toEqual([{ reason: 'dashboard', requested_by: null }]);

    // The event is processed between the processor's answer and the admin's booking.
    const b = await sentPayout(t, { vendor, admin, amountMinor: 2000n });
    const original = port.reverseTransfer.bind(port);
    const spy = jest.spyOn(port, 'reverseTransfer').mockImplementation(async (input) => {
      const made = await original(input);
      await inbox.drain();
      return made;
    });
    try {
      const r = await t.gql(REVERSE, { p: b.payoutId, a: '700', r: 'webhook first' }, admin.token);
      expect(r.errors).toBeUndefined();
      expect(r.data!.reverseTransfer.payoutReversed.amountMinor).toBe('700');
    } finally {
      spy.mockRestore();
    }
    expect(await reversalPostings(b.payoutId)).toHaveLength(1);
    expect(await reversed(b.payoutId)).toBe(700n);
    // The event's re-read tied the reversal to the admin's request (its metadata names it).
    expect(await q(`SELECT reason, requested_by FROM payout_reversals WHERE payout_id = $1`, [b.payoutId])).toEqual([{ reason: 'webhook first', requested_by: admin.userId }]);
    expect(await q(`SELECT status FROM payout_reversal_requests WHERE payout_id = $1`, [b.payoutId])).toEqual([{ status: 'SUCCEEDED' }]);
  });

  it('when reading the reversed transfer fails, the flag stays and the sweep books it later', async () => {
    const reversals = t.app.get(PayoutReversalsService);
    const p = await sentPayout(t, { vendor, admin, amountMinor: 3000n });
    const read = jest.spyOn(port, 'retrieveTransfer').mockRejectedValueOnce(new Error('processor down (test)'));
    try {
      await port.reverseTransfer({ transferId: p.transferId, amountMinor: 800n, idempotencyKey: `dashboard:${p.payoutId}`, metadata: {} });
      await inbox.drain();
      await new Promise((r) => setTimeout(r, 50)); // the after-commit read has failed by now
      expect(read).toHaveBeenCalled();
    } finally {
      read.mockRestore();
    }
    expect(await reversalPostings(p.payoutId)).toHaveLength(0);
    expect((await q(`SELECT reversal_sync_requested_at FROM payouts WHERE id = $1`, [p.payoutId]))[0].reversal_sync_requested_at).not.toBeNull();
    const swept = await reversals.syncPending(50);
    expect(swept.booked).toBeGreaterThanOrEqual(1);
    expect(await reversalPostings(p.payoutId)).toHaveLength(1);
    expect(await reversed(p.payoutId)).toBe(800n);
    expect(await q(`SELECT reversal_sync_requested_at FROM payouts WHERE id = $1`, [p.payoutId])).toEqual([{ reversal_sync_requested_at: null }]);
  });

  it('a refund of money already paid out leaves a negative payable that later earnings net (EarningsBalanceService)', async () => {
    const earnings = t.app.get(EarningsBalanceService);
    const db = t.app.get(Database);
    const v = await signUp(t, { country: 'US' });
    const pay = (fee: string) => paidUpfrontInvoice(t, inbox, v, fee);
    const first = await pay('10000'); // 85 % → 8500 payable
    const available = await earnings.availableFor(db.reader, v.organizationId, 'USD');
    expect(available.available).toBe(8500n);
    await sentPayout(t, { vendor: v, admin, amountMinor: 8500n });
    expect((await earnings.availableFor(db.reader, v.organizationId, 'USD')).available).toBe(0n);

    // The whole payment is refunded after it was paid out: the vendor owes its share back.
    const refund = await t.gql(`mutation($id: ID!) { refundInvoice(id: $id, reason: "refund after payout") { ... on InvoiceRefund { outcome } } }`, { id: first }, admin.token);
    expect(refund.errors).toBeUndefined();
    await inbox.drain();
    const after = await earnings.availableFor(db.reader, v.organizationId, 'USD');
    expect({ available: after.available, carry: after.negativeCarryForward, payable: after.payable }).toEqual({ available: 0n, carry: 8500n, payable: -8500n });

    // New earnings net the carry-forward first: 2 × 8500 earned, 8500 owed back → 8500 available.
    await pay('10000');
    await pay('10000');
    const netted = await earnings.availableFor(db.reader, v.organizationId, 'USD');
    expect({ available: netted.available, carry: netted.negativeCarryForward }).toEqual({ available: 8500n, carry: 0n });
  });
});
