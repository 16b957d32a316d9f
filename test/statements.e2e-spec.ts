/**
 * Signed statements end to end: a month of real money (an upfront fee paid in
 * the sandbox, usage reported and billed at the close, collected, a partial
 * refund, a dispute won and one lost) and a royalty cascade payment, then the
 * vendor's earnings statement (equal to the ledger to the minor unit, by
 * source) and the distiller's usage statement (Merkle roots of the events
 * billed), verified as an auditor would: plain node:crypto, the published
 * keys and the offline CLI.
 */
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import canonicalize from 'canonicalize';
import { nextPeriod, periodOf } from '../src/billing/billing-period';
import { CollectionService } from '../src/billing/collection/collection.service';
import { UsageMerkleService } from '../src/earnings/usage-proofs/usage-merkle.service';
import { StatementsRepository } from '../src/earnings/statements/statements.repository';
import { verifyStatement, verifyUsageInclusion } from '../src/earnings/statements/verify-statement';
import { LedgerService } from '../src/ledger/ledger.service';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { Clock } from '../src/platform/clock/clock';
import { Database } from '../src/platform/database/transaction';
import { startTestApp, TestApp } from './support/app';
import { closePeriod, invoicesOf, pricedOffer, usageReporter } from './support/billing';
import { useLedgerInvariant } from './support/ledger-invariant';
import { publishOk } from './support/licensing';
import { acceptAgreement, reportUsage } from './support/metering';
import { licensed, listedTeacher, registerStudent } from './support/provenance';
import { makeAdmin, signUp, TestUser } from './support/users';

const EARNINGS = `query($o: ID!, $p: String!, $c: String!) { earningsStatement(organizationId: $o, period: $p, currency: $c) {
  id organizationId period currency keyId issuedAt lineCount totals { source amount { amountMinor currency } } net { amountMinor currency }
  payload signature statement document } }`;
const USAGE = `query($o: ID!, $p: String!) { usageStatement(organizationId: $o, period: $p) {
  id organizationId period keyId agreements { agreementId eventCount inputTokens outputTokens merkleRoot charges { amountMinor currency } }
  totals { amountMinor currency } payload signature statement document } }`;
const PAY = `mutation($id: ID!) { payInvoice(id: $id) { outcome } }`;
const REFUND = `mutation($id: ID!, $amount: String, $reason: String!) { refundInvoice(id: $id, amountMinor: $amount, reason: $reason) { ... on InvoiceRefund { outcome } } }`;
const PAYMENT = `query($id: ID!) { invoice(id: $id) { payment { paymentIntentId } } }`;

const ROOT = resolve(__dirname, '..');

/** The statement script as `npm run verify-statement` runs it, with no database or network settings. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      join(ROOT, 'node_modules/.bin/ts-node'),
      ['--transpile-only', 'scripts/verify-statement.ts', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 50_000 },
      (err, stdout, stderr) => done({ code: err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Ed25519 over the payload bytes with the published key, nothing from the project. */
function plainVerify(doc: { payload: string; signature: string; keyId: string }, jwks: { keys: { kid: string; x: string }[] }): boolean {
  const jwk = jwks.keys.find((k) => k.kid === doc.keyId)!;
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  return verify(null, Buffer.from(doc.payload, 'utf8'), key, Buffer.from(doc.signature, 'base64url'));
}

/** RFC 6962 root by plain recursion (independent of the service). */
function rfc6962Root(leaves: Buffer[]): string {
  const h = (...b: Buffer[]) => createHash('sha256').update(Buffer.concat(b)).digest();
  const rec = (xs: Buffer[]): Buffer => {
    if (xs.length === 0) return h();
    if (xs.length === 1) return h(Buffer.from([0]), xs[0]);
    let k = 1;
    while (k * 2 < xs.length) k *= 2;
    return h(Buffer.from([1]), rec(xs.slice(0, k)), rec(xs.slice(k)));
  };
  return rec(leaves).toString('hex');
}

describe('signed statements (e2e)', () => {
  let t: TestApp;
  let vendor: TestUser;
  let ancestor: TestUser;
  let distiller: TestUser;
  let admin: TestUser;
  let outsider: TestUser;
  let agreementId: string;
  let cascade: { invoiceId: string; studentId: string; ancestorModelId: string; royaltyAgreementId: string; licenceAgreementId: string };
  const month = periodOf(new Date());
  const P = month.period;
  const eventIds: string[] = [];

  const drain = () => t.app.get(WebhookInboxService).drain();
  const jwks = async () => (await t.request({ method: 'GET', url: '/.well-known/beiming-keys.json' })).body;
  const count = async (sql: string, params: unknown[] = []) => (await t.dataSource.query(sql, params))[0].n as number;
  const statementsCount = () => count(`SELECT count(*)::int AS n FROM signed_statements`);
  /** The vendor's payable + held in a currency, vendor side, from the ledger (in the month). */
  const ledgerNet = async (org: string, currency: string): Promise<string> =>
    (
      await t.dataSource.query(
        `SELECT coalesce(-sum(e.amount_minor), 0)::text AS net FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
           JOIN ledger_transactions x ON x.id = e.transaction_id
          WHERE a.code IN ($1, $2) AND e.currency = $3 AND x.occurred_at >= $4 AND x.occurred_at < $5`,
        [`vendor:${org}:payable`, `vendor:${org}:held`, currency, month.start.toISOString(), month.end.toISOString()],
      )
    )[0].net;

  async function savePaymentMethod(user: TestUser): Promise<void> {
    const s = await t.gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: user.organizationId }, user.token);
    await t.gql(`mutation($o: ID!, $s: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: "pm_sandbox_visa") { organizationId } }`,
      { o: user.organizationId, s: s.data!.createPaymentSetup.setupIntentId }, user.token);
    await drain();
  }

  async function dispute(invoiceId: string, outcome: 'WON' | 'LOST'): Promise<void> {
    const pi = (await t.gql(PAYMENT, { id: invoiceId }, admin.token)).data!.invoice.payment.paymentIntentId;
    const opened = await t.gql(`mutation($pi: ID!) { simulateSandboxDispute(paymentIntentId: $pi) { id } }`, { pi }, admin.token);
    expect(opened.errors).toBeUndefined();
    await drain();
    const closed = await t.gql(`mutation($d: ID!, $o: SandboxDisputeOutcome!) { closeSandboxDispute(disputeId: $d, outcome: $o) { status } }`,
      { d: opened.data!.simulateSandboxDispute.id, o: outcome }, admin.token);
    expect(closed.errors).toBeUndefined();
    await drain();
  }

  /**
   * A paid EUR invoice written by hand as the cascade records one (lines,
   * allocation parts, the INVOICE_PAID posting with one line per part), with
   * the posting `skew` minor units off its parts: what a statement must refuse.
   */
  async function cascadePayment(opts: { vendorOrg: string; payerModelId: string; ancestorModelId: string; royaltyAgreementId: string; lineAgreementId: string; distillerOrg: string; skew: bigint }) {
    const vendorOrg = opts.vendorOrg;
    const number = `BM-${P.replace('-', '')}-${String(900000 + Math.floor(Math.random() * 99999)).padStart(6, '0')}`;
    const [{ id }] = await t.dataSource.query(
      `INSERT INTO invoices (number, distiller_organization_id, currency, kind, period, status, total_minor) VALUES ($1, $2, 'EUR', 'PERIOD', $3, 'DRAFT', 10000) RETURNING id`,
      [number, opts.distillerOrg, P],
    );
    await t.dataSource.query(
      `INSERT INTO invoice_lines (invoice_id, position, kind, agreement_id, vendor_organization_id, model_id, usage_period, quantity, unit_price_minor, amount_minor, description)
       VALUES ($1, 1, 'USAGE_INPUT', $2, $3, $4, $5, 1000000, 10000, 10000, 'Input tokens')`,
      [id, opts.lineAgreementId, vendorOrg, opts.payerModelId, P],
    );
    await t.dataSource.query(`UPDATE invoices SET status = 'OPEN', issued_at = now(), due_at = now() WHERE id = $1`, [id]);
    await t.dataSource.query(`UPDATE invoices SET status = 'PAID', paid_at = now(), amount_paid_minor = 10000 WHERE id = $1`, [id]);
    await t.dataSource.query(
      `INSERT INTO invoice_allocation_parts (invoice_id, position, kind, currency, organization_id, model_id, basis, gross_minor, fee_bps, fee_minor,
         payer_organization_id, payer_model_id, agreement_id, policy, share_bps, depth, amount_minor) VALUES
       ($1, 1, 'PLATFORM_FEE', 'EUR', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1500),
       ($1, 2, 'VENDOR_SHARE', 'EUR', $2, $3, 'REVENUE', 10000, 1500, 1500, NULL, NULL, NULL, NULL, NULL, NULL, 8500),
       ($1, 3, 'ROYALTY', 'EUR', $4, $5, 'REVENUE', NULL, NULL, NULL, $2, $3, $6, 'LAP', 1000, 1, 850)`,
      [id, vendorOrg, opts.payerModelId, ancestor.organizationId, opts.ancestorModelId, opts.royaltyAgreementId],
    );
    const skew = opts.skew;
    await t.app.get(Database).transaction(async (tx) => {
      const ledger = t.app.get(LedgerService);
      await ledger.post(tx, {
        occurredAt: new Date(),
        reference: `invoice:${id}:issued`, kind: 'INVOICE_ISSUED', description: `Invoice ${number} issued`,
        lines: [
          { account: `distiller:${opts.distillerOrg}:receivable`, currency: 'EUR', amountMinor: 10000n },
          { account: 'platform:billed', currency: 'EUR', amountMinor: -10000n },
        ],
      });
      await ledger.post(tx, {
        // In the month (the Clock may be mocked past it by an earlier test).
        occurredAt: new Date(),
        reference: `invoice:${id}:paid`, kind: 'INVOICE_PAID', description: `Invoice ${number} paid`,
        lines: [
          { account: 'platform:cash', currency: 'EUR', amountMinor: 10000n },
          { account: `distiller:${opts.distillerOrg}:receivable`, currency: 'EUR', amountMinor: -10000n },
          { account: 'platform:billed', currency: 'EUR', amountMinor: 10000n },
          { account: 'platform:fees', currency: 'EUR', amountMinor: -1500n + skew },
          { account: `vendor:${vendorOrg}:payable`, currency: 'EUR', amountMinor: -8500n - skew },
          { account: `vendor:${ancestor.organizationId}:payable`, currency: 'EUR', amountMinor: -850n },
          { account: `vendor:${vendorOrg}:payable`, currency: 'EUR', amountMinor: 850n },
        ],
        metadata: { invoiceId: id, invoiceNumber: number },
      });
    });
    return id as string;
  }

  beforeAll(async () => {
    t = await startTestApp({ platformFeeBps: 1500 });
    vendor = await signUp(t, { country: 'US' });
    ancestor = await signUp(t, { country: 'US' });
    distiller = await signUp(t, { country: 'FR' });
    admin = await makeAdmin(t, await signUp(t));
    outsider = await signUp(t, { country: 'DE' });

    // The distiller licenses the vendor's teacher: upfront 100.00 USD, then metered tokens.
    const o = await pricedOffer(t, vendor, { currency: 'USD', inputPerMillionMinor: '1000000', outputPerMillionMinor: '3000000', upfrontFeeMinor: '10000' });
    agreementId = await acceptAgreement(t, distiller, o.offer);
    const [upfront] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
    await savePaymentMethod(distiller);
    expect((await t.gql(PAY, { id: upfront.id }, distiller.token)).data!.payInvoice.outcome).toBe('PAID');
    await drain();

    // Usage in the month, reported by the vendor.
    const key = await usageReporter(t, vendor);
    const events = [
      { id: 'evt-b', input: 1200, output: 300 },
      { id: 'evt-a', input: 5000, output: 2500 },
      { id: 'evt-10', input: 70, output: 9 },
      { id: 'evt-2', input: 400, output: 41 },
      { id: 'evt-c', input: 1, output: 0 },
    ];
    const at = new Date(Date.now() - 120_000).toISOString();
    const r = await reportUsage(t, key, { events: events.map((e) => ({ id: e.id, agreementId, occurredAt: at, inputTokens: e.input, outputTokens: e.output })) });
    expect(r.status).toBe(200);
    eventIds.push(...events.map((e) => e.id));

    // A partial refund of the upfront fee, and a dispute on it that is won.
    expect((await t.gql(REFUND, { id: upfront.id, amount: '1000', reason: 'goodwill' }, admin.token)).data!.refundInvoice.outcome).toBe('REFUNDED');
    await drain();
    await dispute(upfront.id, 'WON');

    // A royalty cascade on a real payment, in EUR: the vendor's student of the ancestor's teacher (LAP 10 %)
    // is licensed to another distiller, who pays its 100.00 EUR upfront fee.
    const teacher = await listedTeacher(t, ancestor, { royalty: { policy: 'LAP', shareBps: 1000 } });
    const edge = await licensed(t, vendor, teacher);
    const student = await registerStudent(t, vendor, [edge]);
    await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: student.id }, vendor.token);
    const studentOffer = await publishOk(t, vendor, student.id, { pricing: { currency: 'EUR', upfrontFeeMinor: '10000' } });
    const d2 = await signUp(t, { country: 'FR' });
    const licenceAgreementId = await acceptAgreement(t, d2, studentOffer);
    const [eurInvoice] = await invoicesOf(t, d2.token, d2.organizationId, { kind: 'UPFRONT' });
    await savePaymentMethod(d2);
    expect((await t.gql(PAY, { id: eurInvoice.id }, d2.token)).data!.payInvoice.outcome).toBe('PAID');
    await drain();
    cascade = { invoiceId: eurInvoice.id, studentId: student.id, ancestorModelId: teacher.modelId, royaltyAgreementId: edge.agreementId, licenceAgreementId };
  }, 120_000);
  useLedgerInvariant(() => t?.dataSource);
  afterAll(async () => {
    jest.restoreAllMocks();
    await t?.close();
  });

  it('refuses an open period with a typed error and stores nothing', async () => {
    const r = await t.gql(EARNINGS, { o: vendor.organizationId, p: P, c: 'USD' }, vendor.token);
    expect(r.errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'PERIOD_NOT_CLOSED', period: P });
    const u = await t.gql(USAGE, { o: distiller.organizationId, p: P }, distiller.token);
    expect(u.errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'PERIOD_NOT_CLOSED' });
    const rest = await t.request({ method: 'GET', url: `/v1/statements/${vendor.organizationId}/earnings/${P}.json?currency=USD`, headers: { authorization: `Bearer ${vendor.token}` } });
    expect(rest.status).toBe(409);
    expect(await statementsCount()).toBe(0);
  });

  describe('after the month closes', () => {
    beforeAll(async () => {
      // The month ends: close it (usage invoice), collect it, and lose a dispute on that payment.
      const ended = jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(new Date(nextPeriod(month).start.getTime() + 3_600_000));
      const closed = await closePeriod(t, admin.token, P);
      expect(closed).toMatchObject({ __typename: 'BillingPeriodClose', invoicesCreated: 1 });
      // Back to the real time (inside P): the collection and the dispute below are dated by the Clock, and this
      // spec wants every source in P's statement — time compressed, as a real close happens after P ends.
      ended.mockRestore();
      expect(await t.app.get(CollectionService).collectDue()).toMatchObject({ paid: 1 });
      const [usageInvoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'PERIOD' });
      expect(usageInvoice.status).toBe('PAID');
      await dispute(usageInvoice.id, 'LOST');

    }, 120_000);

    it('concurrent first requests (separate connections, held at a barrier before storing) store one statement', async () => {
      const N = 4;
      const repo = t.app.get(StatementsRepository);
      const original = repo.insertIfAbsent.bind(repo);
      let arrived = 0;
      let release!: () => void;
      const barrier = new Promise<void>((r) => (release = r));
      const spy = jest.spyOn(repo, 'insertIfAbsent').mockImplementation(async (em, s) => {
        if (++arrived === N) release();
        await barrier;
        return original(em, s);
      });
      // Each request builds at a different instant, so each signs different bytes.
      let tick = 0;
      jest.spyOn(t.app.get(Clock), 'now').mockImplementation(() => new Date(nextPeriod(month).start.getTime() + 3_600_000 + tick++));
      try {
        const results = await Promise.all(Array.from({ length: N }, () => t.gql(EARNINGS, { o: ancestor.organizationId, p: P, c: 'EUR' }, ancestor.token)));
        expect(arrived).toBe(N);
        for (const r of results) expect(r.errors).toBeUndefined();
        const docs = results.map((r) => r.data!.earningsStatement);
        expect(new Set(docs.map((d) => d.id)).size).toBe(1);
        expect(new Set(docs.map((d) => d.payload)).size).toBe(1);
        expect(new Set(docs.map((d) => d.signature)).size).toBe(1);
        const stored = await t.dataSource.query(`SELECT id, payload FROM signed_statements WHERE organization_id = $1 AND kind = 'EARNINGS' AND currency = 'EUR'`, [ancestor.organizationId]);
        expect(stored).toEqual([{ id: docs[0].id, payload: docs[0].payload }]);
        expect(await count(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'earnings.statement.issued' AND target_id = $1`, [docs[0].id])).toBe(1);
      } finally {
        spy.mockRestore();
      }
    }, 60_000);

    it("signs the vendor's earnings: every source, equal to the ledger, verifiable with plain node:crypto", async () => {
      const r = await t.gql(EARNINGS, { o: vendor.organizationId, p: P, c: 'USD' }, vendor.token);
      expect(r.errors).toBeUndefined();
      const s = r.data!.earningsStatement;
      const keys = await jwks();
      expect(plainVerify(s.document, keys)).toBe(true);
      expect(verifyStatement(s.document, keys)).toMatchObject({ valid: true });
      expect(JSON.parse(s.payload)).toEqual(s.statement);
      expect(canonicalize(s.statement)).toBe(s.payload);

      const st = s.statement;
      expect(st).toMatchObject({ type: 'beiming.earnings-statement/v1', organizationId: vendor.organizationId, period: P, currency: 'USD', keyId: s.keyId });
      // Net equals the ledger's change of payable + held in the month, to the minor unit (and the statement's own ledger block).
      const net = await ledgerNet(vendor.organizationId, 'USD');
      expect(s.net).toEqual({ amountMinor: net, currency: 'USD' });
      expect(st.totals.netMinor).toBe(net);
      expect(st.ledger.change.netMinor).toBe(net);
      expect(st.ledger.opening.netMinor).toBe('0');
      expect(st.lines.reduce((a: bigint, l: any) => a + BigInt(l.amountMinor), 0n).toString()).toBe(net);

      const by = Object.fromEntries(s.totals.map((x: any) => [x.source, BigInt(x.amount.amountMinor)]));
      const [usageInvoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'PERIOD' });
      const usageTotal = BigInt(usageInvoice.total.amountMinor);
      const fee = (gross: bigint) => (gross * 1500n + 5000n) / 10000n; // the half-up split of these amounts
      expect(by.LICENCE_FEES).toBe(10000n);
      expect(by.USAGE).toBe(usageTotal);
      expect(by.PLATFORM_FEE).toBe(-(fee(10000n) + fee(usageTotal)));
      // 1000 refunded over [fee 1500, vendor 8500] → the vendor gives back 850.
      expect(by.REFUNDS).toBe(-850n);
      // The won dispute held and released the same amount; the lost one took the vendor's share of the usage payment.
      expect(by.DISPUTE_HELD).toBe(0n);
      expect(by.DISPUTE_RELEASED).toBe(0n);
      const lostShare = usageTotal - fee(usageTotal);
      expect(by.DISPUTE_LOST).toBe(-lostShare);
      // The sandbox disputes the whole charge: the vendor's 85 % of it moved to held and back (won).
      const [upfront] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
      const [{ amount }] = await t.dataSource.query(`SELECT amount_minor::text AS amount FROM invoice_disputes WHERE invoice_id = $1`, [upfront.id]);
      const wonShare = BigInt(amount) - fee(BigInt(amount));
      const held = st.lines.filter((l: any) => l.source === 'DISPUTE_HELD');
      expect(held.map((l: any) => [l.account, l.amountMinor]).sort()).toEqual(
        [['HELD', String(wonShare)], ['HELD', String(lostShare)], ['PAYABLE', String(-wonShare)], ['PAYABLE', String(-lostShare)]].sort(),
      );
      const released = st.lines.filter((l: any) => l.source === 'DISPUTE_RELEASED');
      expect(released.map((l: any) => [l.account, l.amountMinor]).sort()).toEqual([['HELD', String(-wonShare)], ['PAYABLE', String(wonShare)]].sort());
      expect(st.lines.filter((l: any) => l.source === 'DISPUTE_LOST').map((l: any) => [l.account, l.amountMinor])).toEqual([['HELD', String(-lostShare)]]);
      expect(by.ROYALTIES_RECEIVED + by.ROYALTIES_PAID + by.OTHER + by.MINIMUM_COMMITMENT + by.DOWNSTREAM_ROYALTY_LINES + by.PROCESSING).toBe(0n);
      expect(s.lineCount).toBe(st.lines.length);
      expect(st.lines.map((l: any) => l.seq)).toEqual(st.lines.map((_: unknown, i: number) => i + 1));

      // One byte changed in the payload: the signature no longer verifies.
      const tampered = { ...s.document, payload: s.document.payload.replace(`"LICENCE_FEES":"10000"`, `"LICENCE_FEES":"10001"`) };
      expect(tampered.payload).not.toBe(s.document.payload);
      expect(plainVerify(tampered, keys)).toBe(false);
      expect(verifyStatement(tampered, keys)).toMatchObject({ valid: false, reason: expect.stringContaining('signature does not match') });

      // Stored: asked again (by an admin too) it is the same bytes; issued and audited once.
      const again = await t.gql(EARNINGS, { o: vendor.organizationId, p: P, c: 'USD' }, admin.token);
      expect(again.data!.earningsStatement).toMatchObject({ id: s.id, payload: s.payload, signature: s.signature });
      expect(await count(`SELECT count(*)::int AS n FROM signed_statements WHERE organization_id = $1`, [vendor.organizationId])).toBe(1);
      expect(await count(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'earnings.statement.issued' AND target_id = $1`, [s.id])).toBe(1);
    });

    it('breaks a real cascade payment down into licence fee, platform fee, royalties paid and received', async () => {
      const v = await t.gql(EARNINGS, { o: vendor.organizationId, p: P, c: 'EUR' }, vendor.token);
      expect(v.errors).toBeUndefined();
      const st = v.data!.earningsStatement.statement;
      expect(st.lines.map((l: any) => [l.source, l.account, l.amountMinor, l.invoiceId, l.modelId, l.agreementId, l.counterpartyOrganizationId])).toEqual([
        ['LICENCE_FEES', 'PAYABLE', '10000', cascade.invoiceId, cascade.studentId, cascade.licenceAgreementId, null],
        ['PLATFORM_FEE', 'PAYABLE', '-1500', cascade.invoiceId, cascade.studentId, null, null],
        ['ROYALTIES_PAID', 'PAYABLE', '-850', cascade.invoiceId, cascade.studentId, cascade.royaltyAgreementId, ancestor.organizationId],
      ]);
      expect(v.data!.earningsStatement.net.amountMinor).toBe('7650');
      expect(v.data!.earningsStatement.net.amountMinor).toBe(await ledgerNet(vendor.organizationId, 'EUR'));

      // The ancestor's statement (stored by the concurrent requests above) shows the same royalty received.
      const a = await t.gql(EARNINGS, { o: ancestor.organizationId, p: P, c: 'EUR' }, ancestor.token);
      expect(a.errors).toBeUndefined();
      expect(a.data!.earningsStatement.statement.lines.map((l: any) => [l.source, l.amountMinor, l.modelId, l.agreementId, l.counterpartyOrganizationId])).toEqual([
        ['ROYALTIES_RECEIVED', '850', cascade.ancestorModelId, cascade.royaltyAgreementId, vendor.organizationId],
      ]);
      expect(a.data!.earningsStatement.net.amountMinor).toBe(await ledgerNet(ancestor.organizationId, 'EUR'));
    });

    it('refuses to sign a statement the allocation cannot explain to the minor unit (nothing stored)', async () => {
      // Another vendor's cascade payment whose posting is one unit off its parts (more fee, less payable).
      const other = await signUp(t, { country: 'US' });
      const eur = await pricedOffer(t, other, { currency: 'EUR', inputPerMillionMinor: '10000', outputPerMillionMinor: '0' });
      const d3 = await signUp(t, { country: 'FR' });
      const lineAgreementId = await acceptAgreement(t, d3, eur.offer);
      await cascadePayment({
        vendorOrg: other.organizationId, payerModelId: eur.modelId, ancestorModelId: cascade.ancestorModelId, royaltyAgreementId: cascade.royaltyAgreementId,
        lineAgreementId, distillerOrg: d3.organizationId, skew: 1n,
      });
      const before = await statementsCount();
      const r = await t.gql(EARNINGS, { o: other.organizationId, p: P, c: 'EUR' }, other.token);
      expect(r.errors![0].extensions.code).toBe('INTERNAL');
      expect(r.data).toBeNull();
      expect(await statementsCount()).toBe(before);
    });

    it("signs the distiller's usage with the Merkle root of the events billed; the CLI verifies signature and inclusion", async () => {
      const r = await t.gql(USAGE, { o: distiller.organizationId, p: P }, distiller.token);
      expect(r.errors).toBeUndefined();
      const s = r.data!.usageStatement;
      const keys = await jwks();
      expect(plainVerify(s.document, keys)).toBe(true);
      expect(s.statement.type).toBe('beiming.usage-statement/v1');

      // The root recomputed from the stored events with an independent RFC 6962 recursion.
      const rows: any[] = await t.dataSource.query(
        `SELECT event_id, source, occurred_at, input_tokens::text, output_tokens::text FROM usage_events WHERE agreement_id = $1 ORDER BY event_id COLLATE "C"`,
        [agreementId],
      );
      expect(rows.map((x) => x.event_id)).toEqual([...eventIds].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      const leaves = rows.map((x) => Buffer.from(canonicalize({
        agreementId, eventId: x.event_id, occurredAt: new Date(x.occurred_at).toISOString(), inputTokens: x.input_tokens, outputTokens: x.output_tokens, source: x.source,
      })!, 'utf8'));
      const input = rows.reduce((a, x) => a + BigInt(x.input_tokens), 0n);
      const output = rows.reduce((a, x) => a + BigInt(x.output_tokens), 0n);
      const [usageInvoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'PERIOD' });
      const [upfront] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
      expect(s.agreements).toEqual([{
        agreementId,
        eventCount: rows.length,
        inputTokens: input.toString(),
        outputTokens: output.toString(),
        merkleRoot: rfc6962Root(leaves),
        charges: [{ amountMinor: String(10000n + BigInt(usageInvoice.total.amountMinor)), currency: 'USD' }],
      }]);
      // The usage lines bill exactly the tokens in the tree.
      const charges = s.statement.agreements[0].charges;
      expect(charges.filter((c: any) => c.kind === 'USAGE_INPUT').map((c: any) => c.quantity)).toEqual([input.toString()]);
      expect(charges.filter((c: any) => c.kind === 'USAGE_OUTPUT').map((c: any) => c.quantity)).toEqual([output.toString()]);
      expect(charges.map((c: any) => c.invoiceId).sort()).toEqual([upfront.id, usageInvoice.id, usageInvoice.id].sort());

      const proof = await t.app.get(UsageMerkleService).inclusionProof(t.dataSource.manager, agreementId, P, 'evt-2');
      expect(proof).not.toBeNull();
      expect(verifyUsageInclusion(s.statement, proof!.leaf, proof)).toMatchObject({ valid: true });

      const dir = mkdtempSync(join(tmpdir(), 'beiming-statement-'));
      try {
        const file = (name: string, value: unknown) => {
          const p = join(dir, name);
          writeFileSync(p, JSON.stringify(value, null, 2));
          return p;
        };
        const doc = file('statement.json', s.document);
        const keyFile = file('keys.json', keys);
        const event = file('event.json', proof!.leaf);
        const proofFile = file('proof.json', { leafIndex: proof!.leafIndex, treeSize: proof!.treeSize, auditPath: proof!.auditPath, period: P });
        const forged = file('forged-event.json', { ...proof!.leaf, inputTokens: String(BigInt(proof!.leaf.inputTokens) - 1n) });
        const tampered = file('tampered.json', { ...s.document, payload: s.document.payload.replace(/"eventCount":5/, '"eventCount":4') });
        const earnings = file('earnings.json', (await t.gql(EARNINGS, { o: vendor.organizationId, p: P, c: 'USD' }, vendor.token)).data!.earningsStatement.document);
        const [ok, withProof, badEvent, badSig, okEarnings, usage] = await Promise.all([
          cli([doc, keyFile]),
          cli([doc, keyFile, event, proofFile]),
          cli([doc, keyFile, forged, proofFile]),
          cli([tampered, keyFile]),
          cli([earnings, keyFile]),
          cli([doc]),
        ]);
        expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/^VALID beiming\.usage-statement\/v1 · organization .* · period \d{4}-\d{2}/) });
        expect(withProof).toMatchObject({ code: 0, stdout: expect.stringContaining('event included') });
        expect(badEvent).toMatchObject({ code: 1, stdout: expect.stringContaining('INVALID: the event is not in the statement\'s tree') });
        expect(badSig).toMatchObject({ code: 1, stdout: expect.stringContaining('INVALID: the signature does not match') });
        expect(okEarnings).toMatchObject({ code: 0, stdout: expect.stringContaining('beiming.earnings-statement/v1') });
        expect(usage.code).toBe(2);
        expect(usage.stderr).toContain('usage: npm run verify-statement');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);

    it('downloads JSON and CSV attachments with bearer auth', async () => {
      const auth = { authorization: `Bearer ${vendor.token}` };
      const json = await t.request({ method: 'GET', url: `/v1/statements/${vendor.organizationId}/earnings/${P}.json?currency=USD`, headers: auth });
      expect(json.status).toBe(200);
      expect(json.headers['content-type']).toMatch(/^application\/json/);
      expect(json.headers['content-disposition']).toBe(`attachment; filename="beiming-earnings-${vendor.organizationId}-${P}-USD.json"`);
      const gql = (await t.gql(EARNINGS, { o: vendor.organizationId, p: P, c: 'USD' }, vendor.token)).data!.earningsStatement;
      expect(json.body).toEqual(gql.document);
      expect(verifyStatement(json.text, await jwks()).valid).toBe(true);

      const csv = await t.request({ method: 'GET', url: `/v1/statements/${vendor.organizationId}/earnings/${P}.csv?currency=USD`, headers: auth });
      expect(csv.status).toBe(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      expect(csv.headers['content-disposition']).toBe(`attachment; filename="beiming-earnings-${vendor.organizationId}-${P}-USD.csv"`);
      const rows = csv.text.split('\r\n').filter((l) => l !== '');
      expect(rows).toContain(`# signature,${gql.signature}`);
      expect(rows).toContain(`# keyId,${gql.keyId}`);
      expect(rows).toContain(`# total net,${gql.net.amountMinor}`);
      const header = rows.findIndex((l) => l.startsWith('seq,source,'));
      const body = rows.slice(header + 1);
      expect(body).toHaveLength(gql.lineCount);
      expect(body.map((l) => l.split(',')[3]).reduce((a, x) => a + BigInt(x), 0n).toString()).toBe(gql.net.amountMinor);

      const usageCsv = await t.request({ method: 'GET', url: `/v1/statements/${distiller.organizationId}/usage/${P}.csv`, headers: { authorization: `Bearer ${distiller.token}` } });
      expect(usageCsv.status).toBe(200);
      expect(usageCsv.text).toMatch(/^# type,beiming\.usage-statement\/v1\r\n/);
      expect(usageCsv.text).toContain(`USAGE,${agreementId},`);

      // No token, a foreign organization, a bad file name, a missing currency.
      expect((await t.request({ method: 'GET', url: `/v1/statements/${vendor.organizationId}/earnings/${P}.json?currency=USD` })).status).toBe(401);
      const foreign = await t.request({ method: 'GET', url: `/v1/statements/${vendor.organizationId}/earnings/${P}.json?currency=USD`, headers: { authorization: `Bearer ${outsider.token}` } });
      expect(foreign.status).toBe(404);
      expect(foreign.body.error.code).toBe('NOT_FOUND');
      expect((await t.request({ method: 'GET', url: `/v1/statements/${vendor.organizationId}/earnings/${P}.pdf?currency=USD`, headers: auth })).status).toBe(400);
      expect((await t.request({ method: 'GET', url: `/v1/statements/${vendor.organizationId}/earnings/${P}.json`, headers: auth })).status).toBe(400);
      expect((await t.request({ method: 'GET', url: `/v1/statements/${vendor.organizationId}/payouts/${P}.json`, headers: auth })).status).toBe(404);
    });

    it("hides another organization's statements (NOT_FOUND) and refuses bad input", async () => {
      const before = await statementsCount();
      for (const [q, vars] of [[EARNINGS, { o: vendor.organizationId, p: P, c: 'USD' }], [USAGE, { o: distiller.organizationId, p: P }]] as const) {
        expect((await t.gql(q, vars, outsider.token)).errors![0].extensions.code).toBe('NOT_FOUND');
        expect((await t.gql(q, vars)).errors![0].extensions.code).toBe('UNAUTHENTICATED');
      }
      // The distiller is not the vendor, and the reverse.
      expect((await t.gql(EARNINGS, { o: vendor.organizationId, p: P, c: 'USD' }, distiller.token)).errors![0].extensions.code).toBe('NOT_FOUND');
      expect((await t.gql(USAGE, { o: distiller.organizationId, p: P }, vendor.token)).errors![0].extensions.code).toBe('NOT_FOUND');
      // An unknown organization looks the same as a foreign one.
      expect((await t.gql(USAGE, { o: '00000000-0000-4000-8000-000000000000', p: P }, outsider.token)).errors![0].extensions.code).toBe('NOT_FOUND');
      expect((await t.gql(EARNINGS, { o: 'nope', p: P, c: 'USD' }, vendor.token)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect((await t.gql(EARNINGS, { o: vendor.organizationId, p: '2026-13', c: 'USD' }, vendor.token)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect((await t.gql(EARNINGS, { o: vendor.organizationId, p: P, c: 'usd' }, vendor.token)).errors![0].extensions.code).toBe('BAD_USER_INPUT');
      // The next month is still open.
      const next = nextPeriod(month).period;
      expect((await t.gql(EARNINGS, { o: vendor.organizationId, p: next, c: 'USD' }, vendor.token)).errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'PERIOD_NOT_CLOSED' });
      expect(await statementsCount()).toBe(before);
      // An admin may read any organization's statement; an unknown organization is NOT_FOUND for admins too.
      expect((await t.gql(USAGE, { o: distiller.organizationId, p: P }, admin.token)).errors).toBeUndefined();
      expect((await t.gql(EARNINGS, { o: '00000000-0000-4000-8000-000000000000', p: P, c: 'USD' }, admin.token)).errors![0].extensions.code).toBe('NOT_FOUND');
    });

  });
});
