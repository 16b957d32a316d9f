/**
 * Webhook deliveries in every order, each delivered twice: the same final
 * state. Stripe adapter (the official SDK) against the local Stripe-compatible
 * server, real signatures on both endpoints.
 *
 * One vendor payout per permutation (24 vendors in one approved batch): the
 * payout is claimed by the executor's own claim (SENDING, PAYOUT posted) and
 * its transfer made at the processor with the executor's request — then the
 * executor "crashed" before recording it, so only `transfer.created` records
 * it. At the processor, part of the transfer is reversed (from the dashboard:
 * only the event tells us), the connected account's requirements change, and
 * a payout of the connected account fails. Four events —
 * account.updated (Connect; its payload a stale snapshot of the account),
 * transfer.created (platform), transfer.reversed (platform), payout.failed
 * (Connect) — are delivered in all 24 orders, each one a second time at a
 * later position chosen by a seeded generator. The second copy is the same
 * payload under another event id (the same fact announced again): an exact
 * redelivery is already dropped by the inbox's unique event id, so only a new
 * id reaches the handlers' own guards. The
 * inbox is processed after every delivery (the 24 permutations advance in
 * lock step: delivery k of every permutation, then the inbox). Then the
 * reversal sweep runs once (a reversal announced before its transfer was
 * recorded is read by the sweep, by design). Every permutation must end in the
 * same state: payout SENT with the transfer's id, the reversal booked once
 * (one TRANSFER_REVERSAL posting, one payout_reversals row, reversed_minor),
 * the account row equal to the processor's account, the failed payout of the
 * connected account recorded, nothing left to sync, every event processed
 * once, and the ledger balanced.
 */
import { PAYMENTS_PORT, PaymentsPort, TransferResult } from '../src/payments/payments.port';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { Database } from '../src/platform/database/transaction';
import { transferGroupOf } from '../src/payouts/payout-execution.service';
import { PayoutExecutionTransitions } from '../src/payouts/payout-execution.transitions';
import { PayoutReversalsService } from '../src/payouts/payout-reversals.service';
import { startTestApp, TestApp } from './support/app';
import { deliverConnectEvent, deliverEvent, FakeStripe } from './support/fake-stripe';
import { useLedgerInvariant } from './support/ledger-invariant';
import { ApprovedBatchFixture, FixturePayout, ledgerChecks, seedApprovedBatch } from './support/payout-fixtures';

jest.setTimeout(120_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type StripeObject = Record<string, any> & { id: string };

const PLATFORM_SECRET = 'whsec_order_platform';
const CONNECT_SECRET = 'whsec_order_connect';
const REVERSED = 700n;
const PAYOUT_AMOUNT = 5000n;
const SEED = 0x5eed_0413;

type EventKind = 'account.updated' | 'transfer.created' | 'transfer.reversed' | 'payout.failed';
const KINDS: EventKind[] = ['account.updated', 'transfer.created', 'transfer.reversed', 'payout.failed'];

/** mulberry32: a small deterministic generator, so every run delivers the same sequences. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((first, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [first, ...rest]));
}

/** The permutation with each event a second time at a random position after its first delivery. */
function withDuplicates(order: readonly EventKind[], random: () => number): EventKind[] {
  const out = [...order];
  for (const kind of order) {
    const first = out.indexOf(kind);
    const at = first + 1 + Math.floor(random() * (out.length - first)); // in (first, out.length]
    out.splice(at, 0, kind);
  }
  return out;
}

interface Case {
  index: number;
  sequence: EventKind[];
  payout: FixturePayout;
  transfer: TransferResult;
  events: Record<EventKind, StripeObject>;
  /** The second delivery of each event: the same payload, another event id. */
  copies: Record<EventKind, StripeObject>;
  failedPayoutId: string;
}

describe('payout webhooks in every order, duplicated: the same final state (Stripe adapter)', () => {
  let fake: FakeStripe;
  let t: TestApp;
  let port: PaymentsPort;
  let inbox: WebhookInboxService;
  let batch: ApprovedBatchFixture;
  const cases: Case[] = [];

  beforeAll(async () => {
    fake = await FakeStripe.start();
    fake.setAvailableBalance('usd', 1_000_000_000);
    t = await startTestApp({
      logLevel: 'error',
      stripeSecretKey: 'sk_test_order',
      stripeWebhookSecret: PLATFORM_SECRET,
      stripeConnectWebhookSecret: CONNECT_SECRET,
      stripeApiBase: fake.url,
    });
    port = t.app.get(PAYMENTS_PORT);
    inbox = t.app.get(WebhookInboxService);
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const q = (sql: string, params: unknown[] = []) => t.dataSource.query(sql, params);

  it('delivers the four events in all 24 orders, each twice: every payout ends in the same state', async () => {
    expect(port.mode).toBe('stripe');
    const orders = permutations(KINDS);
    expect(orders).toHaveLength(24);
    const random = seeded(SEED);
    const sequences = orders.map((o) => withDuplicates(o, random));
    for (const s of sequences) {
      expect(s).toHaveLength(8);
      for (const k of KINDS) expect(s.filter((x) => x === k)).toHaveLength(2);
    }
    // The duplicates land in different places (not always right after, not always last).
    expect(new Set(sequences.map((s) => s.join())).size).toBe(24);

    // One approved batch, one payout per permutation; claimed as the executor claims (SENDING, PAYOUT posted).
    batch = await seedApprovedBatch(t.dataSource, { vendors: orders.length, mode: 'stripe', fake, amountOf: () => PAYOUT_AMOUNT });
    const claims = await t.app.get(Database).transaction((tx) =>
      t.app.get(PayoutExecutionTransitions).claimMany(tx, batch.payouts.map((p) => p.id), 'webhook-order-spec'),
    );
    expect(claims.map((c) => c.kind)).toEqual(orders.map(() => 'claimed'));

    for (const [index, payout] of batch.payouts.entries()) {
      // The executor's transfer request; the executor dies before recording it.
      const transfer = await port.createTransfer({
        destinationAccountId: payout.accountId,
        amountMinor: payout.amountMinor,
        currency: batch.currency,
        transferGroup: transferGroupOf(batch.batchId),
        idempotencyKey: payout.idempotencyKey,
        description: `Payout ${payout.id}`,
        metadata: { payout_id: payout.id, batch_id: batch.batchId, idempotency_key: payout.idempotencyKey },
        sourceTransaction: null,
      });
      const created = fake.event('transfer.created', fake.objects.get(transfer.id)!, { id: `evt_order_${index}_created` });
      // A partial reversal at the processor (the dashboard): only transfer.reversed tells us.
      await port.reverseTransfer({ transferId: transfer.id, amountMinor: REVERSED, idempotencyKey: `dashboard-${payout.id}`, metadata: { reason: 'dashboard' } });
      const reversed = fake.event('transfer.reversed', fake.objects.get(transfer.id)!, { id: `evt_order_${index}_reversed` });
      // The connected account got requirements due and its payouts paused (transfers still active) — the event's snapshot —
      // then the vendor sent the document: the processor's state is newer than any payload delivered below.
      const snapshot = fake.updateAccount(payout.accountId, { payouts_enabled: false, currently_due: ['external_account'], past_due: ['individual.verification.document'] });
      fake.updateAccount(payout.accountId, { past_due: [] });
      const updated = fake.connectEvent('account.updated', snapshot, payout.accountId, { id: `evt_order_${index}_account` });
      // A payout of the connected account to its bank failed.
      const failedPayoutId = `po_order_${index}_${payout.id.slice(0, 8)}`;
      const poCreated = Math.floor(Date.now() / 1000) - 3600;
      const failed = fake.connectEvent(
        'payout.failed',
        { id: failedPayoutId, object: 'payout', amount: 4300, currency: 'usd', created: poCreated, status: 'failed', failure_code: 'account_closed', destination: 'ba_order' },
        payout.accountId,
        { id: `evt_order_${index}_payout_failed` },
      );
      const events: Record<EventKind, StripeObject> = { 'account.updated': updated, 'transfer.created': created, 'transfer.reversed': reversed, 'payout.failed': failed };
      cases.push({
        index,
        sequence: sequences[index],
        payout,
        transfer,
        events,
        copies: Object.fromEntries(KINDS.map((k) => [k, { ...events[k], id: `${events[k].id}_again` }])) as Record<EventKind, StripeObject>,
        failedPayoutId,
      });
    }
    // Nothing recorded or booked yet: only the events can tell.
    expect(await q(`SELECT count(*)::int AS n FROM payouts WHERE batch_id = $1 AND status = 'SENDING' AND transfer_id IS NULL`, [batch.batchId])).toEqual([{ n: 24 }]);

    const deliver = async (c: Case, k: number) => {
      const kind = c.sequence[k];
      const event = c.sequence.indexOf(kind) === k ? c.events[kind] : c.copies[kind];
      const res = kind === 'account.updated' || kind === 'payout.failed' ? await deliverConnectEvent(t, event) : await deliverEvent(t, event);
      if (res.status !== 200) throw new Error(`${kind} for case ${c.index}: HTTP ${res.status} ${res.text}`);
    };

    // Lock step: delivery k of every permutation, then the inbox — so each permutation's inbox is processed after each of its deliveries.
    const startedAt = Date.now();
    for (let k = 0; k < 8; k++) {
      await Promise.all(cases.map((c) => deliver(c, k)));
      const summary = await inbox.drain();
      expect(summary.failed).toBe(0);
    }
    // Where a transfer.reversed (original or copy) came after transfer.created, the event path alone has booked the reversal;
    // where both came before, the payout is flagged and the sweep books it once the transfer is recorded.
    const byEvents = cases.filter((c) => c.sequence.lastIndexOf('transfer.reversed') > c.sequence.indexOf('transfer.created'));
    expect(byEvents.length).toBeGreaterThan(0);
    expect(byEvents.length).toBeLessThan(24);
    for (const c of cases) {
      const [row] = await q(`SELECT reversed_minor::text AS r, reversal_sync_requested_at IS NOT NULL AS flagged FROM payouts WHERE id = $1`, [c.payout.id]);
      const early = !byEvents.includes(c);
      expect({ case: c.index, sequence: c.sequence.join(' → '), ...row }).toEqual({
        case: c.index,
        sequence: c.sequence.join(' → '),
        r: early ? '0' : REVERSED.toString(),
        flagged: early,
      });
    }
    // The sweep reads the transfers whose reversal was announced before they were recorded.
    await t.app.get(PayoutReversalsService).syncPending(200);
    await inbox.drain();

    // The final state, per permutation, with ids replaced by what they must be.
    const expected = (c: Case) => ({
      payout: { status: 'SENT', transfer_id: c.transfer.id, reversed_minor: REVERSED.toString(), reversal_sync_requested_at: null, failure_code: null },
      reversals: [{ amount_minor: REVERSED.toString(), currency: 'USD', reversal_is_processors: true }],
      postings: { PAYOUT: 1, TRANSFER_REVERSAL: 1 },
      account: processorAccount(fake.objects.get(c.payout.accountId)!),
      // Two account.updated events counted, and the state read after the last one is stored.
      accountSync: { requested: '2', synced: '2' },
      lastPayout: { last_payout_id: c.failedPayoutId, last_payout_status: 'failed', last_payout_failure_code: 'account_closed' },
      events: KINDS.flatMap((k) => [c.events[k].id, c.copies[k].id])
        .map((id) => ({ id, outcome: 'handled', attempts: 1 }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    });
    const actual = async (c: Case) => {
      const [payout] = await q(`SELECT status, transfer_id, reversed_minor::text AS reversed_minor, reversal_sync_requested_at, failure_code FROM payouts WHERE id = $1`, [c.payout.id]);
      const processorReversals = new Set((fake.objects.get(c.transfer.id)!.reversals.data as StripeObject[]).map((r) => r.id));
      const reversals = ((await q(`SELECT id, amount_minor::text AS amount_minor, currency FROM payout_reversals WHERE payout_id = $1`, [c.payout.id])) as { id: string; amount_minor: string; currency: string }[]).map(
        (r) => ({ amount_minor: r.amount_minor, currency: r.currency, reversal_is_processors: processorReversals.has(r.id) }),
      );
      const postingRows = (await q(
        `SELECT kind, count(*)::int AS n FROM ledger_transactions WHERE reference = $1 OR reference LIKE $2 GROUP BY kind ORDER BY kind`,
        [`payout:${c.payout.id}`, `payout:${c.payout.id}:%`],
      )) as { kind: string; n: number }[];
      const [row] = await q(
        `SELECT charges_enabled, payouts_enabled, details_submitted, transfers_capability, currently_due, past_due, disabled_reason,
                synced_generation::text AS synced, sync_requested::text AS requested, last_payout_id, last_payout_status, last_payout_failure_code
           FROM payout_accounts WHERE account_id = $1`,
        [c.payout.accountId],
      );
      const events = await q(`SELECT id, outcome, attempts FROM payment_webhook_events WHERE id = ANY($1::text[]) ORDER BY id`, [KINDS.flatMap((k) => [c.events[k].id, c.copies[k].id])]);
      return {
        payout,
        reversals,
        postings: Object.fromEntries(postingRows.map((p) => [p.kind, p.n])),
        account: {
          charges_enabled: row.charges_enabled,
          payouts_enabled: row.payouts_enabled,
          details_submitted: row.details_submitted,
          transfers_capability: row.transfers_capability,
          currently_due: [...row.currently_due].sort(),
          past_due: [...row.past_due].sort(),
          disabled_reason: row.disabled_reason,
        },
        accountSync: { requested: row.requested, synced: row.synced },
        lastPayout: { last_payout_id: row.last_payout_id, last_payout_status: row.last_payout_status, last_payout_failure_code: row.last_payout_failure_code },
        events: (events as { id: string; outcome: string; attempts: number }[]).map((e) => ({ id: e.id, outcome: e.outcome, attempts: e.attempts })).sort((a, b) => a.id.localeCompare(b.id)),
      };
    };
    for (const c of cases) {
      expect({ case: c.index, sequence: c.sequence.join(' → '), state: await actual(c) }).toEqual({ case: c.index, sequence: c.sequence.join(' → '), state: expected(c) });
    }

    // One transfer per payout at the processor; the ledger balanced, no vendor paid above its earnings.
    expect([...fake.transfersPerPayout().entries()].filter(([id]) => batch.payouts.some((p) => p.id === id)).map(([, n]) => n)).toEqual(orders.map(() => 1));
    const checks = await ledgerChecks(t.dataSource, batch.batchId);
    expect(checks.ledgerSum).toBe(0n);
    expect(checks.overpaid).toEqual([]);
    // Paid minus reversed is what each vendor holds now: payable + paid = −(earned) + (paid − reversed).
    const [paid] = await q(
      `SELECT coalesce(sum(e.amount_minor), 0)::text AS s FROM ledger_entries e JOIN ledger_accounts la ON la.id = e.account_id
        WHERE la.kind = 'VENDOR_PAID' AND la.organization_id = ANY($1::uuid[])`,
      [batch.payouts.map((p) => p.organizationId)],
    );
    expect(BigInt(paid.s)).toBe(24n * (PAYOUT_AMOUNT - REVERSED));
    // eslint-disable-next-line no-console
    console.log(`webhook order: 24 permutations × 8 deliveries in ${Date.now() - startedAt} ms`);
  });
});

/** The connected account's state as the processor holds it, in the payout_accounts row's terms. */
function processorAccount(a: StripeObject) {
  return {
    charges_enabled: a.charges_enabled,
    payouts_enabled: a.payouts_enabled,
    details_submitted: a.details_submitted,
    transfers_capability: a.capabilities?.transfers ?? null,
    currently_due: [...a.requirements.currently_due].sort(),
    past_due: [...a.requirements.past_due].sort(),
    disabled_reason: a.requirements.disabled_reason ?? null,
  };
}
