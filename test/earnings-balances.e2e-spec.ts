/**
 * Vendors' earnings balances end to end: journal transactions posted through
 * LedgerService (collections crediting vendor payables, refunds, dispute
 * holds, a royalty cascade), the platform Clock moved by the spec, and the
 * figures read through EarningsBalanceService and GraphQL (`earnings`,
 * `earningsBalances`): pending inside the holdback window, available after it
 * (exactly at the boundary), refunds, negative carry-forward, disputes, zero
 * holdback, several currencies, authorization, and the identity
 * pending + available − negativeCarryForward = payable on random sequences.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { EarningsBalance, EarningsBalanceService } from '../src/earnings/earnings-balance.service';
import { EarningsBalanceRepository } from '../src/earnings/earnings-balance.repository';
import { Accounts } from '../src/ledger/accounts';
import { LedgerService, PostingInput, PostingLine } from '../src/ledger/ledger.service';
import { Clock } from '../src/platform/clock/clock';
import { Database } from '../src/platform/database/transaction';
import { BadInputError } from '../src/platform/errors/app-error';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { GqlResponse, startTestApp, TestApp } from './support/app';
import { invoicesOf } from './support/billing';
import { createModel, publishOk } from './support/licensing';
import { acceptAgreement, createApiKey } from './support/metering';
import { useLedgerInvariant } from './support/ledger-invariant';
import { makeAdmin, signUp, TestUser } from './support/users';

const DAY = 86_400_000;
const HOLDBACK_DAYS = 7;
const NOW = new Date('2030-06-15T12:00:00.000Z');
const ago = (ms: number, from = NOW) => new Date(from.getTime() - ms);

const MONEY = 'amountMinor currency formatted';
const EARNINGS = `query($org: ID!) { earnings(organizationId: $org) {
  organizationId currency payable { ${MONEY} } pending { ${MONEY} } available { ${MONEY} } negativeCarryForward { ${MONEY} }
  held { ${MONEY} } paidOut { ${MONEY} } availableAt asOf holdbackDays } }`;
const LIST = `query($currency: String!, $first: Int, $after: String) { earningsBalances(currency: $currency, first: $first, after: $after) {
  edges { cursor node { organizationId currency payable { amountMinor } pending { amountMinor } available { amountMinor } held { amountMinor } } }
  pageInfo { hasNextPage endCursor } } }`;

/** The figures of a balance as plain strings, for compact expectations. */
const figures = (b: EarningsBalance | undefined) =>
  b && {
    currency: b.currency,
    payable: b.payable.toString(),
    pending: b.pending.toString(),
    available: b.available.toString(),
    carry: b.negativeCarryForward.toString(),
    held: b.held.toString(),
    paidOut: b.paidOut.toString(),
    availableAt: b.availableAt?.toISOString() ?? null,
  };

describe('earnings balances (e2e)', () => {
  let t: TestApp;
  let ledger: LedgerService;
  let db: Database;
  let earnings: EarningsBalanceService;
  let admin: TestUser;
  let outsider: TestUser;
  let now: Date;
  let seq = 0;

  beforeAll(async () => {
    t = await startTestApp({ earningsHoldbackDays: HOLDBACK_DAYS });
    ledger = t.app.get(LedgerService);
    db = t.app.get(Database);
    earnings = t.app.get(EarningsBalanceService);
    jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(now.getTime()));
    admin = await makeAdmin(t, await signUp(t));
    outsider = await signUp(t);
  });
  beforeEach(() => {
    now = NOW;
  });
  afterAll(() => t.close());
  useLedgerInvariant(() => t?.dataSource);

  const post = (kind: string, at: Date, lines: PostingLine[]) =>
    db.transaction((tx) => ledger.post(tx, { reference: `test:earnings:${++seq}`, kind, description: kind, occurredAt: at, lines } satisfies PostingInput));

  /** A collection: cash in, `share` credited to the vendor's payable, the rest to platform fees. */
  const collected = (org: string, share: bigint, at: Date, currency = 'USD') =>
    post('INVOICE_PAID', at, [
      { account: Accounts.platformCash, currency, amountMinor: share + 100n },
      { account: Accounts.vendorPayable(org), currency, amountMinor: -share },
      { account: Accounts.platformFees, currency, amountMinor: -100n },
    ]);
  const refunded = (org: string, amount: bigint, at: Date, currency = 'USD') =>
    post('REFUND', at, [
      { account: Accounts.vendorPayable(org), currency, amountMinor: amount },
      { account: Accounts.platformCash, currency, amountMinor: -amount },
    ]);
  const disputeHold = (org: string, amount: bigint, at: Date, currency = 'USD') =>
    post('DISPUTE_HOLD', at, [
      { account: Accounts.vendorPayable(org), currency, amountMinor: amount },
      { account: Accounts.vendorHeld(org), currency, amountMinor: -amount },
    ]);
  const disputeWon = (org: string, amount: bigint, at: Date, currency = 'USD') =>
    post('DISPUTE_WON', at, [
      { account: Accounts.vendorHeld(org), currency, amountMinor: amount },
      { account: Accounts.vendorPayable(org), currency, amountMinor: -amount },
    ]);
  const disputeLost = (org: string, amount: bigint, at: Date, currency = 'USD') =>
    post('DISPUTE_LOST', at, [
      { account: Accounts.vendorHeld(org), currency, amountMinor: amount },
      { account: Accounts.platformCash, currency, amountMinor: -amount },
    ]);
  /** Money leaving for the vendor: the payable goes down, the paid account records it. */
  const paidOut = (org: string, amount: bigint, at: Date, currency = 'USD') =>
    // As a payout posts it: onto the payable's contra account, against the platform's cash.
    post('PAYOUT', at, [
      { account: Accounts.vendorPaid(org), currency, amountMinor: amount },
      { account: Accounts.platformCash, currency, amountMinor: -amount },
    ]);

  const balances = (org: string) => earnings.balancesOf(db.reader, org);
  const usd = async (org: string) => figures((await balances(org)).find((b) => b.currency === 'USD'));
  const vendor = () => signUp(t);

  describe('the holdback window', () => {
    it('new earnings are pending for exactly EARNINGS_HOLDBACK_DAYS, then available', async () => {
      const v = await vendor();
      const at = ago(DAY);
      await collected(v.organizationId, 10_000n, at);
      const release = new Date(at.getTime() + HOLDBACK_DAYS * DAY).toISOString();
      expect(await usd(v.organizationId)).toEqual({
        currency: 'USD', payable: '10000', pending: '10000', available: '0', carry: '0', held: '0', paidOut: '0', availableAt: release,
      });

      now = new Date(at.getTime() + HOLDBACK_DAYS * DAY - 1); // one millisecond before the boundary
      expect(await usd(v.organizationId)).toMatchObject({ pending: '10000', available: '0', availableAt: release });

      now = new Date(at.getTime() + HOLDBACK_DAYS * DAY); // exactly the holdback: available
      expect(await usd(v.organizationId)).toMatchObject({ pending: '0', available: '10000', availableAt: null });
    });

    it('splits old and new earnings; availableAt is when the oldest pending ones are released', async () => {
      const v = await vendor();
      await collected(v.organizationId, 4_000n, ago(30 * DAY));
      await collected(v.organizationId, 2_500n, ago(5 * DAY));
      await collected(v.organizationId, 1_500n, ago(2 * DAY));
      expect(await usd(v.organizationId)).toMatchObject({
        payable: '8000', pending: '4000', available: '4000', carry: '0', availableAt: new Date(ago(5 * DAY).getTime() + HOLDBACK_DAYS * DAY).toISOString(),
      });
    });

    it('a transaction crediting and debiting the same payable (a royalty cascade) counts by its net; the ancestor is credited too', async () => {
      const v = await vendor();
      const ancestor = await vendor();
      await collected(v.organizationId, 10_000n, ago(30 * DAY)); // older earnings, available
      await post('INVOICE_PAID', ago(DAY), [
        { account: Accounts.platformCash, currency: 'USD', amountMinor: 10_000n },
        { account: Accounts.vendorPayable(v.organizationId), currency: 'USD', amountMinor: -8_500n, memo: 'share' },
        { account: Accounts.vendorPayable(v.organizationId), currency: 'USD', amountMinor: 1_700n, memo: 'royalty passed on' },
        { account: Accounts.vendorPayable(ancestor.organizationId), currency: 'USD', amountMinor: -1_700n, memo: 'royalty received' },
        { account: Accounts.platformFees, currency: 'USD', amountMinor: -1_500n },
      ]);
      // Pending is the net 8500 − 1700, not the 8500 credited.
      expect(await usd(v.organizationId)).toMatchObject({ payable: '16800', pending: '6800', available: '10000' });
      expect(await usd(ancestor.organizationId)).toMatchObject({ payable: '1700', pending: '1700', available: '0' });
    });

    it('with a zero-day holdback earnings are available as soon as they are dated (a future-dated one stays pending)', async () => {
      const zero = await startTestApp({ earningsHoldbackDays: 0 });
      try {
        jest.spyOn(zero.app.get(Clock), 'now').mockImplementation(() => new Date(NOW.getTime()));
        const v = await signUp(zero);
        const zLedger = zero.app.get(LedgerService);
        const zDb = zero.app.get(Database);
        const credit = (amount: bigint, at: Date) =>
          zDb.transaction((tx) =>
            zLedger.post(tx, {
              reference: `test:zero:${++seq}`, kind: 'INVOICE_PAID', description: 'paid', occurredAt: at,
              lines: [
                { account: Accounts.platformCash, currency: 'USD', amountMinor: amount },
                { account: Accounts.vendorPayable(v.organizationId), currency: 'USD', amountMinor: -amount },
              ],
            }),
          );
        await credit(700n, NOW);
        const [b] = await zero.app.get(EarningsBalanceService).balancesOf(zDb.reader, v.organizationId);
        expect(figures(b)).toMatchObject({ payable: '700', pending: '0', available: '700', availableAt: null });
        expect(b.holdbackDays).toBe(0);
        await credit(300n, new Date(NOW.getTime() + 1000));
        const [c] = await zero.app.get(EarningsBalanceService).balancesOf(zDb.reader, v.organizationId);
        expect(figures(c)).toMatchObject({ payable: '1000', pending: '300', available: '700', availableAt: new Date(NOW.getTime() + 1000).toISOString() });
      } finally {
        await zero.close();
      }
    });
  });

  describe('refunds and disputes', () => {
    it('a refund after availability reduces what is available', async () => {
      const v = await vendor();
      await collected(v.organizationId, 10_000n, ago(20 * DAY));
      expect(await usd(v.organizationId)).toMatchObject({ available: '10000' });
      await refunded(v.organizationId, 3_000n, ago(DAY));
      expect(await usd(v.organizationId)).toMatchObject({ payable: '7000', pending: '0', available: '7000', carry: '0' });
    });

    it('a refund inside the window eats into pending earnings when nothing else is owed (pending never exceeds the payable)', async () => {
      const v = await vendor();
      await collected(v.organizationId, 5_000n, ago(2 * DAY));
      await refunded(v.organizationId, 2_000n, ago(DAY));
      expect(await usd(v.organizationId)).toMatchObject({ payable: '3000', pending: '3000', available: '0', carry: '0' });
    });

    it('a refund larger than what is owed leaves a negative carry-forward that the next earnings cover first', async () => {
      const v = await vendor();
      await collected(v.organizationId, 1_000n, ago(20 * DAY));
      await paidOut(v.organizationId, 1_000n, ago(15 * DAY));
      await refunded(v.organizationId, 1_500n, ago(2 * DAY));
      expect(await usd(v.organizationId)).toMatchObject({ payable: '-1500', pending: '0', available: '0', carry: '1500', paidOut: '1000' });

      // New earnings of 2000: 1500 of them cover the debt, 500 are pending.
      await collected(v.organizationId, 2_000n, ago(DAY));
      expect(await usd(v.organizationId)).toMatchObject({ payable: '500', pending: '500', available: '0', carry: '0' });
      now = new Date(ago(DAY).getTime() + HOLDBACK_DAYS * DAY);
      expect(await usd(v.organizationId)).toMatchObject({ payable: '500', pending: '0', available: '500', carry: '0' });
    });

    it('a dispute holds the share (held, not available); lost, it leaves; won, it comes back through the holdback', async () => {
      const v = await vendor();
      await collected(v.organizationId, 10_000n, ago(30 * DAY));
      await disputeHold(v.organizationId, 4_000n, ago(2 * DAY));
      expect(await usd(v.organizationId)).toMatchObject({ payable: '6000', pending: '0', available: '6000', held: '4000' });

      await disputeLost(v.organizationId, 1_000n, ago(DAY)); // part of the held share is lost
      expect(await usd(v.organizationId)).toMatchObject({ payable: '6000', available: '6000', held: '3000' });

      // Released money is a credit to the payable like any other: pending for the holdback from the release.
      await disputeWon(v.organizationId, 3_000n, NOW);
      expect(await usd(v.organizationId)).toMatchObject({ payable: '9000', pending: '3000', available: '6000', held: '0' });
    });
  });

  it('a payment collected in the sandbox is pending until the holdback has passed from its booking; a refund then lowers what is available', async () => {
    now = new Date(); // the real flow books at the database's now()
    const v = await vendor();
    const { id: modelId } = await createModel(t, v);
    const offer = await publishOk(t, v, modelId, { pricing: { currency: 'USD', upfrontFeeMinor: '10000' } });
    const distiller = await signUp(t, { country: 'US' });
    await acceptAgreement(t, distiller, offer);
    const [invoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
    const s = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: distiller.organizationId }, distiller.token);
    await t.gql(
      `mutation($o: ID!, $s: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: "pm_sandbox_visa") { organizationId } }`,
      { o: distiller.organizationId, s: s.data!.createPaymentSetup.setupIntentId },
      distiller.token,
    );
    await t.app.get(WebhookInboxService).drain();
    expect((await t.gql(`mutation($id: ID!) { payInvoice(id: $id) { outcome } }`, { id: invoice.id }, distiller.token)).data!.payInvoice.outcome).toBe('PAID');

    // When it was booked, in milliseconds rounded up (the database keeps microseconds).
    const [{ ms }] = await t.dataSource.query(`SELECT ceil(extract(epoch FROM occurred_at) * 1000)::bigint::text AS ms FROM ledger_transactions WHERE reference = $1`, [`invoice:${invoice.id}:paid`]);
    const booked = new Date(Number(ms));
    const payable = (await usd(v.organizationId))!.payable;
    expect(BigInt(payable)).toBeGreaterThan(0n); // the vendor's share after the platform fee
    now = new Date(booked.getTime() + DAY);
    expect(await usd(v.organizationId)).toMatchObject({ pending: payable, available: '0', availableAt: new Date(booked.getTime() + HOLDBACK_DAYS * DAY).toISOString() });
    now = new Date(booked.getTime() + HOLDBACK_DAYS * DAY - 1);
    expect(await usd(v.organizationId)).toMatchObject({ pending: payable, available: '0' });
    now = new Date(booked.getTime() + HOLDBACK_DAYS * DAY); // availableAt: released
    expect(await usd(v.organizationId)).toMatchObject({ pending: '0', available: payable });

    const r = await t.gql(`mutation($id: ID!) { refundInvoice(id: $id, amountMinor: "5000", reason: "Goodwill") { __typename } }`, { id: invoice.id }, admin.token);
    expect(r.errors).toBeUndefined();
    await t.app.get(WebhookInboxService).drain();
    const after = (await usd(v.organizationId))!;
    expect(BigInt(after.payable)).toBeLessThan(BigInt(payable));
    expect(after).toMatchObject({ pending: '0', available: after.payable, carry: '0' });
  });

  it('keeps currencies apart (one balance per currency, JPY without minor units)', async () => {
    const v = await vendor();
    await collected(v.organizationId, 1_000n, ago(30 * DAY), 'USD');
    await collected(v.organizationId, 2_000n, ago(DAY), 'EUR');
    await collected(v.organizationId, 300n, ago(30 * DAY), 'JPY');
    await collected(v.organizationId, 200n, ago(DAY), 'JPY');
    await disputeHold(v.organizationId, 100n, ago(DAY), 'JPY');
    expect((await balances(v.organizationId)).map(figures)).toEqual([
      { currency: 'EUR', payable: '2000', pending: '2000', available: '0', carry: '0', held: '0', paidOut: '0', availableAt: new Date(ago(DAY).getTime() + HOLDBACK_DAYS * DAY).toISOString() },
      { currency: 'JPY', payable: '400', pending: '200', available: '200', carry: '0', held: '100', paidOut: '0', availableAt: new Date(ago(DAY).getTime() + HOLDBACK_DAYS * DAY).toISOString() },
      { currency: 'USD', payable: '1000', pending: '0', available: '1000', carry: '0', held: '0', paidOut: '0', availableAt: null },
    ]);
    expect(figures(await earnings.availableFor(db.reader, v.organizationId, 'EUR'))).toMatchObject({ pending: '2000', available: '0' });
    expect(figures(await earnings.availableFor(db.reader, v.organizationId, 'GBP'))).toEqual({
      currency: 'GBP', payable: '0', pending: '0', available: '0', carry: '0', held: '0', paidOut: '0', availableAt: null,
    });

    const r = await t.gql(EARNINGS, { org: v.organizationId }, v.token);
    expect(r.errors).toBeUndefined();
    const jpy = r.data!.earnings.find((b: { currency: string }) => b.currency === 'JPY');
    expect(jpy).toMatchObject({
      organizationId: v.organizationId,
      payable: { amountMinor: '400', currency: 'JPY', formatted: '400 JPY' },
      pending: { amountMinor: '200', formatted: '200 JPY' },
      available: { amountMinor: '200' },
      held: { amountMinor: '100' },
      holdbackDays: HOLDBACK_DAYS,
      asOf: NOW.toISOString(),
    });
    expect(r.data!.earnings.map((b: { currency: string }) => b.currency)).toEqual(['EUR', 'JPY', 'USD']);
  });

  it('the service refuses a malformed organization id or currency with a typed error', async () => {
    await expect(earnings.balancesOf(db.reader, 'vendor-1')).rejects.toBeInstanceOf(BadInputError);
    await expect(earnings.availableFor(db.reader, randomUUID(), 'usd')).rejects.toBeInstanceOf(BadInputError);
  });

  describe('GraphQL access', () => {
    it('members and admins read an organization; another organization behaves as an unknown one (NOT_FOUND)', async () => {
      const v = await vendor();
      await collected(v.organizationId, 1_234n, ago(30 * DAY));
      const mine = await t.gql(EARNINGS, { org: v.organizationId }, v.token);
      expect(mine.errors).toBeUndefined();
      expect(mine.data!.earnings).toEqual([
        expect.objectContaining({ currency: 'USD', available: { amountMinor: '1234', currency: 'USD', formatted: '12.34 USD' }, availableAt: null }),
      ]);
      const upper = await t.gql(EARNINGS, { org: v.organizationId.toUpperCase() }, v.token);
      expect(upper.data!.earnings).toEqual(mine.data!.earnings);

      const asAdmin = await t.gql(EARNINGS, { org: v.organizationId }, admin.token);
      expect(asAdmin.data!.earnings).toEqual(mine.data!.earnings);

      const foreign = await t.gql(EARNINGS, { org: v.organizationId }, outsider.token);
      const unknownId = randomUUID();
      const unknown = await t.gql(EARNINGS, { org: unknownId }, outsider.token);
      expect(foreign.data).toBeNull();
      expect(foreign.errors![0].extensions.code).toBe('NOT_FOUND');
      expect(foreign.errors![0].message.replace(v.organizationId, '<id>')).toBe(unknown.errors![0].message.replace(unknownId, '<id>'));
      expect((await t.gql(EARNINGS, { org: unknownId }, admin.token)).errors![0].extensions.code).toBe('NOT_FOUND');

      // An API key of another organization: NOT_FOUND as well; the organization's own READ key reads it.
      const { secret: outsiderKey } = await createApiKey(t, outsider, ['READ']);
      expect((await t.gql(EARNINGS, { org: v.organizationId }, outsiderKey)).errors![0].extensions.code).toBe('NOT_FOUND');
      const { secret: ownKey } = await createApiKey(t, v, ['READ']);
      expect((await t.gql(EARNINGS, { org: v.organizationId }, ownKey)).data!.earnings).toEqual(mine.data!.earnings);

      // An organization that never earned: an empty list.
      expect((await t.gql(EARNINGS, { org: outsider.organizationId }, outsider.token)).data!.earnings).toEqual([]);
    });

    it('anonymous callers are UNAUTHENTICATED; non-admins may not list vendors (FORBIDDEN); bad arguments are BAD_USER_INPUT', async () => {
      const v = await vendor();
      expect((await t.gql(EARNINGS, { org: v.organizationId })).errors![0].extensions.code).toBe('UNAUTHENTICATED');
      expect((await t.gql(LIST, { currency: 'USD' })).errors![0].extensions.code).toBe('UNAUTHENTICATED');
      expect((await t.gql(LIST, { currency: 'USD' }, v.token)).errors![0].extensions.code).toBe('FORBIDDEN');
      expect((await t.gql(EARNINGS, { org: 'not-a-uuid' }, v.token)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
      for (const vars of [{ currency: 'usd' }, { currency: 'USD', first: 0 }, { currency: 'USD', first: 101 }, { currency: 'USD', after: 'garbage' }]) {
        const r = await t.gql(LIST, vars, admin.token);
        expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      }
    });

    it('admins page through the vendors with a non-zero payable or held balance in a currency', async () => {
      const ours = await Promise.all([vendor(), vendor(), vendor(), vendor(), vendor()]);
      const [a, b, c, d, e] = ours.map((u) => u.organizationId);
      await collected(a, 100n, ago(30 * DAY)); // available
      await collected(b, 200n, ago(DAY)); // pending
      await collected(c, 300n, ago(30 * DAY));
      await disputeHold(c, 300n, ago(DAY)); // payable 0, held 300: listed
      await collected(d, 400n, ago(30 * DAY));
      await paidOut(d, 400n, ago(DAY)); // all paid out: not listed
      await collected(e, 500n, ago(30 * DAY), 'EUR'); // another currency: not listed in USD

      const seen: { organizationId: string; payable: string; pending: string; available: string; held: string }[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const r: GqlResponse = await t.gql(LIST, { currency: 'USD', first: 2, after }, admin.token);
        expect(r.errors).toBeUndefined();
        const conn: { edges: any[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } = r.data!.earningsBalances;
        expect(conn.edges.length).toBeLessThanOrEqual(2);
        for (const edge of conn.edges) {
          expect(edge.node.currency).toBe('USD');
          seen.push({ organizationId: edge.node.organizationId, payable: edge.node.payable.amountMinor, pending: edge.node.pending.amountMinor, available: edge.node.available.amountMinor, held: edge.node.held.amountMinor });
        }
        after = conn.pageInfo.hasNextPage ? conn.pageInfo.endCursor : null;
        pages++;
      } while (after !== null && pages < 100);

      const ids = seen.map((s) => s.organizationId);
      expect(ids).toEqual([...ids].sort()); // by organization id, no repeats
      expect(new Set(ids).size).toBe(ids.length);
      expect(seen.every((s) => s.payable !== '0' || s.held !== '0')).toBe(true);
      const byOrg = new Map(seen.map((s) => [s.organizationId, s]));
      expect(byOrg.get(a)).toMatchObject({ payable: '100', available: '100', pending: '0' });
      expect(byOrg.get(b)).toMatchObject({ payable: '200', available: '0', pending: '200' });
      expect(byOrg.get(c)).toMatchObject({ payable: '0', held: '300' });
      expect(byOrg.has(d)).toBe(false);
      expect(byOrg.has(e)).toBe(false);
      const eur = await t.gql(LIST, { currency: 'EUR', first: 100 }, admin.token);
      expect(eur.data!.earningsBalances.edges.map((x: any) => x.node.organizationId)).toContain(e);
    });
  });

  it('reads one snapshot: while recent earnings are committed concurrently, every read shows them all pending', async () => {
    const v = await vendor();
    const org = v.organizationId;
    await collected(org, 1n, ago(DAY));
    const writes = 40;
    let done = false;
    // The writer: separate connections, one committed posting at a time.
    const writer = (async () => {
      try {
        for (let i = 0; i < writes; i++) await collected(org, 10n, ago(DAY));
      } finally {
        done = true;
      }
    })();
    // The readers: two loops on other connections until the writer is done.
    const seen: ReturnType<typeof figures>[] = [];
    const reader = async () => {
      while (!done) seen.push(figures((await balances(org))[0]));
    };
    await Promise.all([writer, reader(), reader()]);
    expect(seen.length).toBeGreaterThan(writes / 2);
    const distinctPayables = new Set(seen.map((s) => s!.payable));
    expect(distinctPayables.size).toBeGreaterThan(2); // the reads did overlap the writes
    const inconsistent = seen.filter((s) => s!.pending !== s!.payable || s!.available !== '0');
    expect(inconsistent).toEqual([]);
    expect(await usd(org)).toMatchObject({ payable: String(1 + 10 * writes), pending: String(1 + 10 * writes), available: '0' });
  });

  it('property: pending + available − negativeCarryForward = payable, each ≥ 0, matching a model of the rule (fixed seed)', async () => {
    type Op = { kind: 'collect' | 'refund' | 'hold' | 'release'; amount: bigint; daysAgo: number };
    const op = fc.record({
      kind: fc.constantFrom<'collect' | 'refund' | 'hold' | 'release'>('collect', 'collect', 'refund', 'hold', 'release'),
      amount: fc.bigInt({ min: 1n, max: 1_000_000n }),
      // Inside, at and outside the window, to the minute.
      daysAgo: fc.integer({ min: 0, max: 14 * 24 * 60 }).map((m) => m / (24 * 60)),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops: Op[]) => {
        const v = await vendor();
        const org = v.organizationId;
        let payable = 0n;
        let held = 0n;
        let recent = 0n;
        for (const o of ops) {
          const at = ago(Math.round(o.daysAgo * DAY));
          const inWindow = at.getTime() > NOW.getTime() - HOLDBACK_DAYS * DAY;
          if (o.kind === 'collect') {
            await collected(org, o.amount, at);
            payable += o.amount;
            if (inWindow) recent += o.amount;
          } else if (o.kind === 'refund') {
            await refunded(org, o.amount, at);
            payable -= o.amount;
          } else if (o.kind === 'hold') {
            await disputeHold(org, o.amount, at);
            payable -= o.amount;
            held += o.amount;
          } else if (held > 0n) {
            const amount = o.amount > held ? held : o.amount;
            await disputeWon(org, amount, at);
            payable += amount;
            held -= amount;
            if (inWindow) recent += amount;
          }
        }
        const [b] = await balances(org);
        expect(b.payable).toBe(payable);
        expect(b.held).toBe(held);
        expect(b.pending + b.available - b.negativeCarryForward).toBe(b.payable);
        expect(b.pending >= 0n && b.available >= 0n && b.negativeCarryForward >= 0n).toBe(true);
        const owed = payable > 0n ? payable : 0n;
        expect(b.pending).toBe(recent < owed ? recent : owed);
      }),
      { seed: 424242, numRuns: 25 },
    );
  }, 120_000);

  it('is one statement per organization (or per page of organizations), whatever the number of currencies', async () => {
    const v = await vendor();
    for (const c of ['USD', 'EUR', 'GBP', 'JPY']) await collected(v.organizationId, 100n, ago(DAY), c);
    const repo = t.app.get(EarningsBalanceRepository);
    const spy = jest.spyOn(repo, 'balances');
    const query = jest.spyOn(db.reader, 'query');
    try {
      expect(await balances(v.organizationId)).toHaveLength(4);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(query).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
      query.mockRestore();
    }
  });
});
