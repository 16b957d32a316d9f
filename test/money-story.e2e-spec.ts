/**
 * The money story end to end, in the sandbox: a
 * distiller accepts a paid offer, pays the upfront invoice (the gateway
 * refuses until then), distils through the gateway, the month closes and its
 * usage invoice is collected, every line explains itself; the vendor sees its
 * payable balance; an admin refunds and sees the reversal in the ledger. The
 * ledger invariant holds after every step.
 */
import { Clock } from '../src/platform/clock/clock';
import { nextPeriod, periodOf } from '../src/billing/billing-period';
import { CollectionService } from '../src/billing/collection/collection.service';
import { DemoUpstream, startDemoUpstream } from '../tools/demo-upstream/demo-upstream';
import { WebhookInboxService } from '../src/payments/webhooks/webhook-inbox.service';
import { startTestApp, TestApp } from './support/app';
import { closePeriod, INVOICE_FIELDS, invoicesOf } from './support/billing';
import { assertLedgerInvariant } from './support/ledger-invariant';
import { createModel, publishOk } from './support/licensing';
import { acceptAgreement, createApiKey } from './support/metering';
import { makeAdmin, signUp, TestUser } from './support/users';

const UPSTREAM_KEY = 'sk-story-upstream';

describe('the money story in the sandbox (e2e)', () => {
  let t: TestApp;
  let upstream: DemoUpstream;
  let vendor: TestUser;
  let distiller: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    upstream = await startDemoUpstream({ apiKey: UPSTREAM_KEY });
    t = await startTestApp({ platformFeeBps: 2000 });
    vendor = await signUp(t, { country: 'US' });
    distiller = await signUp(t, { country: 'FR' });
    admin = await makeAdmin(t, await signUp(t));
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
  });

  const gql = async (query: string, variables: Record<string, unknown>, token: string) => {
    const r = await t.gql(query, variables, token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    await assertLedgerInvariant(t.dataSource);
    return r.data!;
  };
  const chat = (key: string) =>
    t.request({
      method: 'POST',
      url: '/v1/gateway/chat/completions',
      headers: { authorization: `Bearer ${key}` },
      body: { model: 'teacher', max_tokens: 32, messages: [{ role: 'user', content: 'Explain knowledge distillation in one paragraph.' }] },
    });

  it('accept a paid offer → pay → distil → close → collected → explained → vendor payable → refund reversed', async () => {
    // The vendor lists a teacher: 49.99 USD upfront, 1 cent per input token and 3 cents per output token (a few gateway calls make a real invoice).
    const { id: modelId } = await createModel(t, vendor);
    const offer = await publishOk(t, vendor, modelId, {
      pricing: { currency: 'USD', upfrontFeeMinor: '4999', inputPerMillionMinor: '1000000', outputPerMillionMinor: '3000000', minimumCommitmentMinor: '0' },
      terms: { limits: { tokensPerPeriod: '1000000', tokensPerMinute: null } },
    });
    await gql(
      `mutation($i: ConfigureTeacherUpstreamInput!) { configureTeacherUpstream(input: $i) { modelId } }`,
      { i: { modelId, baseUrl: upstream.url, apiKey: UPSTREAM_KEY, upstreamModel: 'demo-teacher', timeoutMs: 5000 } },
      vendor.token,
    );

    // 1. Accepting issues the upfront invoice; the agreement waits for payment and the gateway refuses it.
    const agreementId = await acceptAgreement(t, distiller, offer);
    const [upfront] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
    expect(upfront).toMatchObject({ status: 'OPEN', total: { amountMinor: '4999', formatted: '49.99 USD' } });
    const gatewayKey = (await createApiKey(t, distiller, ['GATEWAY'], agreementId)).secret;
    const refused = await chat(gatewayKey);
    expect(refused.status).toBe(403);

    // 2. A card, then the upfront invoice is paid: the agreement is ACTIVE.
    const setup = await gql(`mutation($o: ID!) { createPaymentSetup(organizationId: $o) { mode setupIntentId } }`, { o: distiller.organizationId }, distiller.token);
    expect(setup.createPaymentSetup.mode).toBe('SANDBOX');
    await gql(
      `mutation($o: ID!, $s: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: "pm_sandbox_visa") { defaultPaymentMethodId } }`,
      { o: distiller.organizationId, s: setup.createPaymentSetup.setupIntentId },
      distiller.token,
    );
    await t.app.get(WebhookInboxService).drain();
    const paid = await gql(`mutation($id: ID!) { payInvoice(id: $id) { outcome invoice { status } } }`, { id: upfront.id }, distiller.token);
    expect(paid.payInvoice).toEqual({ outcome: 'PAID', invoice: { status: 'PAID' } });
    const ag = await gql(`query($id: ID!) { agreement(id: $id) { status } }`, { id: agreementId }, distiller.token);
    expect(ag.agreement.status).toBe('ACTIVE');

    // 3. Distil through the gateway. The agreement's metering view is cached briefly: ask until the gateway
    //    sees the payment (a refused call is billed nothing), with a deadline.
    let input = 0;
    let output = 0;
    const deadline = Date.now() + 15_000;
    let first = await chat(gatewayKey);
    while (first.status === 403 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      first = await chat(gatewayKey);
    }
    for (let i = 0; i < 3; i++) {
      const r = i === 0 ? first : await chat(gatewayKey);
      expect(r.status).toBe(200);
      input += r.body.usage.prompt_tokens;
      output += r.body.usage.completion_tokens;
    }

    // 4. The month ends (the billing clock moves to the next month) and closes: one usage invoice, collected by the job.
    const month = periodOf(new Date());
    jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(new Date(nextPeriod(month).start.getTime() + 3_600_000));
    const closed = await closePeriod(t, admin.token, month.period);
    expect(closed).toMatchObject({ __typename: 'BillingPeriodClose', period: month.period, invoicesCreated: 1 });
    await assertLedgerInvariant(t.dataSource);
    const collected = await t.app.get(CollectionService).collectDue();
    expect(collected).toMatchObject({ attempted: 1, paid: 1 });

    const [usageInvoice] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'PERIOD' });
    const inputAmount = (BigInt(input) * 1_000_000n + 500_000n) / 1_000_000n;
    const outputAmount = (BigInt(output) * 3_000_000n + 500_000n) / 1_000_000n;
    expect(inputAmount + outputAmount).toBeGreaterThan(0n);
    expect(usageInvoice).toMatchObject({ status: 'PAID', period: month.period, total: { amountMinor: String(inputAmount + outputAmount) } });
    // Every line explained: what, how many, at what price, how much.
    const lines = usageInvoice.lines.edges.map((e: any) => e.node);
    expect(lines.map((l: any) => [l.kind, l.quantity, l.unitPricePerMillion.amountMinor, l.amount.amountMinor, l.agreementId, l.usagePeriod])).toEqual([
      ['USAGE_INPUT', String(input), '1000000', String(inputAmount), agreementId, month.period],
      ['USAGE_OUTPUT', String(output), '3000000', String(outputAmount), agreementId, month.period],
    ]);
    for (const l of lines) expect(l.description).toMatch(/token/i);

    // 5. The vendor's payable: 80 % (fee 20 %) of each invoice, allocated by the one rule.
    const vendorShare = (total: bigint) => total - (total * 2000n + 5000n) / 10_000n; // fee rounded half-up for these amounts
    const expectedPayable = vendorShare(4999n) + vendorShare(inputAmount + outputAmount);
    const balances = await gql(`query($o: ID!) { balances(organizationId: $o) { currency payable { amountMinor } held { amountMinor } } }`, { o: vendor.organizationId }, vendor.token);
    expect(balances.balances).toEqual([{ currency: 'USD', payable: { amountMinor: String(expectedPayable) }, held: { amountMinor: '0' } }]);

    // 6. An admin refunds 10.00 USD of the upfront fee and sees the reversal.
    const refund = await gql(
      `mutation($id: ID!) { refundInvoice(id: $id, amountMinor: "1000", reason: "Goodwill") { ... on InvoiceRefund { outcome invoice { amountRefunded { formatted } } } } }`,
      { id: upfront.id },
      admin.token,
    );
    expect(refund.refundInvoice).toEqual({ outcome: 'REFUNDED', invoice: { amountRefunded: { formatted: '10.00 USD' } } });
    const ledger = await gql(
      `query($r: String!) { ledgerTransactions(filter: { reference: $r }) { edges { node { kind entries { accountCode amount { amountMinor } } } } } }`,
      { r: `invoice:${upfront.id}:refunded-to:1000` },
      admin.token,
    );
    const [reversal] = ledger.ledgerTransactions.edges.map((e: any) => e.node);
    expect(reversal.kind).toBe('REFUND');
    const byAccount = Object.fromEntries(reversal.entries.map((e: any) => [e.accountCode, e.amount.amountMinor]));
    // 1000 over the upfront payment's allocation [fee 1000, vendor 3999] → 200 / 800.
    expect(byAccount).toEqual({ 'platform:fees': '200', [`vendor:${vendor.organizationId}:payable`]: '800', 'platform:cash': '-1000' });
    const after = await gql(`query($o: ID!) { balances(organizationId: $o) { payable { amountMinor } } }`, { o: vendor.organizationId }, vendor.token);
    expect(after.balances[0].payable.amountMinor).toBe(String(expectedPayable - 800n));

    // The full invoice reads back with its payment.
    const full = await gql(`query($id: ID!) { invoice(id: $id) { ${INVOICE_FIELDS} payment { paymentIntentId processingFee { amountMinor } } } }`, { id: usageInvoice.id }, distiller.token);
    expect(full.invoice.payment.paymentIntentId).toMatch(/^pi_sandbox_/);
  });
});
