/**
 * The demo's story, step by step, through the public API only. Every step
 * first looks at what is already there (users log in before signing up,
 * models are found by slug, offers by name, agreements by offer, invoices by
 * status, the clock by its time), so a second run reuses everything and adds
 * no money: the month of the story is the month its per-licence agreement was
 * accepted in, and once that month is closed, paid, refunded, paid out and
 * reconciled, a run only reports the story and prints where to look.
 */
import { createHash } from 'node:crypto';
import { Api, allNodes, codeOf, DemoError, describeErrors, reasonOf, Session, waitUntil } from './api';

export const DEMO_DOMAIN = 'demo.beiming.example';
export const DEMO_PASSWORD_DEFAULT = 'beiming-demo-passphrase';
export const CURRENCY = 'USD';

export interface Person {
  role: string;
  email: string;
  organizationName: string | null;
  country: string | null;
}

export const PEOPLE = {
  baseVendor: { role: 'base teacher vendor', email: `aurora@${DEMO_DOMAIN}`, organizationName: 'Aurora Teacher Labs', country: 'US' },
  studentVendor: { role: 'student model vendor', email: `borealis@${DEMO_DOMAIN}`, organizationName: 'Borealis Distilled', country: 'US' },
  licenceDistiller: { role: 'per-licence distiller', email: `cirrus@${DEMO_DOMAIN}`, organizationName: 'Cirrus Apps GmbH', country: 'DE' },
  poolDistiller: { role: 'pool distiller', email: `delta@${DEMO_DOMAIN}`, organizationName: 'Delta Pool Research', country: 'FR' },
} satisfies Record<string, Person>;

export const DEMO_ADMINS = [`admin.ada@${DEMO_DOMAIN}`, `admin.ben@${DEMO_DOMAIN}`];

/** The story's money, in USD cents. */
const STUDENT_UPFRONT = 50_000n; // 500.00: the student's licence fee
const STUDENT_MINIMUM = 20_000n; // 200.00 a month, prorated in the first month
const REFUND = 2_500n; // 25.00 back on the month's invoice
const POOL_FEE = 30_000n; // 300.00 a month
const GATEWAY_CALLS = 120;
const POOL_CALLS_PER_TEACHER = 30;
const REPORTED_EVENTS = 3;
const DAY = 86_400_000;

const BASE_SLUG = 'aurora-70b';
const STUDENT_SLUG = 'aurora-borealis-8b';
const STUDENT_WEIGHTS = `sha256:${createHash('sha256').update('beiming demo: Aurora Borealis 8B weights').digest('hex')}`;
const POOL_PLAN = 'Demo Pool';

const MONEY = 'amountMinor currency formatted';

export interface StoryOptions {
  api: Api;
  password: string;
  admins: { creator: Session; approver: Session; password: string };
  /** Starts the demo upstream when gateway traffic is still to come; the story stops it. */
  startUpstream: () => Promise<{ url: string; close(): Promise<void> }>;
  step: (title: string) => { done(detail: string): void };
}

export interface StoryResult {
  sessions: Record<keyof typeof PEOPLE, Session>;
  alreadyComplete: boolean;
  month: string;
  batchId: string | null;
  reconciledDays: number;
  summary: string[];
}

const fmt = (minor: bigint) => `${minor < 0n ? '-' : ''}${(minor < 0n ? -minor : minor) / 100n}.${String((minor < 0n ? -minor : minor) % 100n).padStart(2, '0')} ${CURRENCY}`;
const periodOf = (d: Date) => d.toISOString().slice(0, 7);
const nextMonthStart = (period: string) => {
  const [y, m] = period.split('-').map(Number);
  return new Date(Date.UTC(y, m, 1));
};

export async function logInOrSignUp(api: Api, person: Person, password: string): Promise<Session & { created: boolean }> {
  const login = await api.gql(
    'logIn',
    `mutation($i: LogInInput!) { logIn(input: $i) { __typename ... on AuthPayload { accessToken user { id isAdmin } memberships { organization { id } } }
      ... on BusinessError { code message } } }`,
    { i: { email: person.email, password } },
  );
  let payload = login.logIn;
  let created = false;
  if (payload.__typename === 'InvalidCredentialsError' && person.organizationName) {
    const signed = await api.gql(
      'signUp',
      `mutation($i: SignUpInput!) { signUp(input: $i) { __typename ... on AuthPayload { accessToken user { id isAdmin } memberships { organization { id } } }
        ... on BusinessError { code message } } }`,
      { i: { email: person.email, password, organizationName: person.organizationName, country: person.country } },
    );
    payload = signed.signUp;
    created = true;
    if (payload.__typename === 'EmailAlreadyRegisteredError') {
      throw new DemoError(`${person.email} is registered with another password than the demo's (set DEMO_PASSWORD to it, or use a fresh database)`);
    }
  }
  if (payload.__typename !== 'AuthPayload') throw new DemoError(`log-in of ${person.email}: ${payload.code ?? payload.__typename} ${payload.message ?? ''}`);
  return {
    email: person.email,
    token: payload.accessToken,
    userId: payload.user.id,
    isAdmin: payload.user.isAdmin,
    organizationId: payload.memberships[0]?.organization.id ?? null,
    created,
  };
}

export async function runStory(o: StoryOptions): Promise<StoryResult> {
  const { api } = o;
  const admin = o.admins.creator;
  const summary: string[] = [];
  const q = (what: string, query: string, vars: Record<string, unknown>, who: Session) => api.gql(what, query, vars, who.token);

  // ── people ──────────────────────────────────────────────────────────────
  let s = o.step('vendors and distillers sign up (or log in)');
  const sessions = {} as Record<keyof typeof PEOPLE, Session>;
  let createdCount = 0;
  for (const [key, person] of Object.entries(PEOPLE) as [keyof typeof PEOPLE, Person][]) {
    const session = await logInOrSignUp(api, person, o.password);
    if (!session.organizationId) throw new DemoError(`${person.email} belongs to no organization`);
    sessions[key] = session;
    if (session.created) createdCount++;
  }
  const { baseVendor: A, studentVendor: B, licenceDistiller: D1, poolDistiller: D2 } = sessions;
  s.done(`${createdCount} signed up, ${4 - createdCount} logged in`);

  // ── payout accounts ──────────────────────────────────────────────────────
  s = o.step('vendors onboard their payout accounts (sandbox Connect page)');
  let onboarded = 0;
  for (const v of [A, B]) {
    const PAYOUT_ACCOUNT = `query($o: ID!) { payoutAccount(organizationId: $o) { accountId canReceiveTransfers mode } }`;
    const current = (await q('payoutAccount', PAYOUT_ACCOUNT, { o: v.organizationId }, v)).payoutAccount;
    if (current?.canReceiveTransfers) continue;
    const link = (await q('startPayoutOnboarding', `mutation($o: ID!) { startPayoutOnboarding(organizationId: $o) { url } }`, { o: v.organizationId }, v))
      .startPayoutOnboarding;
    const path = new URL(link.url).pathname;
    // The sandbox's onboarding page, its "Complete" form posted as the browser would.
    const page = await api.rest('POST', path, { form: 'outcome=complete' });
    if (page.status !== 303) throw new DemoError(`the sandbox onboarding page answered ${page.status}: ${JSON.stringify(page.body).slice(0, 200)}`);
    await waitUntil(`${v.email}'s payout account to be able to receive transfers`, async () =>
      (await q('payoutAccount', PAYOUT_ACCOUNT, { o: v.organizationId }, v)).payoutAccount?.canReceiveTransfers ? true : undefined,
    );
    onboarded++;
  }
  s.done(`${onboarded} onboarded now, ${2 - onboarded} already could receive transfers`);

  // ── the base teacher ─────────────────────────────────────────────────────
  s = o.step('base teacher listed with a licence (LAP 10 % royalty, pool-eligible)');
  const MY_MODELS = `query($o: ID!) { myModels(organizationId: $o) { id slug status offers { id name status termsHash } } }`;
  const findModel = async (who: Session, slug: string) =>
    ((await q('myModels', MY_MODELS, { o: who.organizationId }, who)).myModels as any[]).find((m) => m.slug === slug) as any | undefined;
  let base = await findModel(A, BASE_SLUG);
  if (!base) {
    const r = await q(
      'createTeacherModel',
      `mutation($i: CreateTeacherModelInput!) { createTeacherModel(input: $i) { __typename ... on TeacherModel { id } ... on BusinessError { code message } } }`,
      {
        i: {
          organizationId: A.organizationId,
          name: 'Aurora 70B Instruct',
          slug: BASE_SLUG,
          card: {
            summary: 'The demo base teacher: a 70B instruction-tuned model for dialogue, reasoning and code.',
            modalities: ['TEXT', 'CODE'],
            parameterCount: '70000000000',
            contextLength: 131072,
            languages: ['en', 'de', 'fr'],
            intendedUses: ['Assistant-style chat', 'Distillation'],
          },
        },
      },
      A,
    );
    if (r.createTeacherModel.__typename !== 'TeacherModel') throw new DemoError(`createTeacherModel: ${r.createTeacherModel.message}`);
    base = { id: r.createTeacherModel.id, status: 'DRAFT', offers: [] };
  }
  if (base.status !== 'LISTED') await q('listTeacherModel', `mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: base.id }, A);
  const baseOffer = await ensureOffer(api, A, base.id, 'Community', {
    royalty: { policy: 'LAP', shareBps: 1000 },
    naming: { rule: 'PREFIX_REQUIRED', token: 'Aurora' },
    pricing: { upfrontFeeMinor: '0', inputPerMillionMinor: '300', outputPerMillionMinor: '900', minimumCommitmentMinor: '0', poolEligible: true },
  });
  s.done(`model ${BASE_SLUG}, offer "Community" ${baseOffer.termsHash.slice(0, 12)}…`);

  // ── the student model ────────────────────────────────────────────────────
  s = o.step('student model distilled from it, listed with its own licence (royalty stack to the base)');
  const AGREEMENTS = `query($o: ID!, $after: String) { agreements(organizationId: $o, role: DISTILLER, first: 50, after: $after) {
    edges { node { id status offer { id } modelId poolSubscriptionId acceptedAt } } pageInfo { hasNextPage endCursor } } }`;
  const agreementsOf = async (who: Session) =>
    allNodes<any>(async (after) => (await q('agreements', AGREEMENTS, { o: who.organizationId, after }, who)).agreements);
  const accept = async (who: Session, offer: { id: string; termsHash: string }, viaPool = false) => {
    const existing = (await agreementsOf(who)).find((a) => a.offer.id === offer.id && a.status !== 'TERMINATED' && a.status !== 'EXPIRED');
    if (existing) return existing as { id: string; status: string; acceptedAt: string };
    const r = await q(
      'acceptLicenseOffer',
      `mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { __typename
        ... on LicenseAgreement { id status acceptedAt } ... on BusinessError { code message } } }`,
      { i: { offerId: offer.id, organizationId: who.organizationId, acceptedTermsHash: offer.termsHash, viaPool } },
      who,
    );
    if (r.acceptLicenseOffer.__typename !== 'LicenseAgreement') throw new DemoError(`acceptLicenseOffer: ${r.acceptLicenseOffer.code} ${r.acceptLicenseOffer.message}`);
    return r.acceptLicenseOffer as { id: string; status: string; acceptedAt: string };
  };
  const edge = await accept(B, baseOffer);
  let student = await findModel(B, STUDENT_SLUG);
  if (!student) {
    const r = await q(
      'registerStudentModel',
      `mutation($i: RegisterStudentModelInput!) { registerStudentModel(input: $i) { __typename ... on TeacherModel { id }
        ... on BusinessError { code message } } }`,
      {
        i: {
          organizationId: B.organizationId,
          slug: STUDENT_SLUG,
          name: 'Aurora Borealis 8B',
          card: { summary: 'An 8B student distilled from Aurora 70B Instruct by logits.', modalities: ['TEXT'], parameterCount: '8000000000' },
          weightsDigest: STUDENT_WEIGHTS,
          commercialUse: true,
          lineage: [{ parentModelId: base.id, agreementId: edge.id, relation: 'DISTILLED', method: 'LOGITS' }],
        },
      },
      B,
    );
    if (r.registerStudentModel.__typename !== 'TeacherModel') throw new DemoError(`registerStudentModel: ${r.registerStudentModel.__typename} ${r.registerStudentModel.message ?? ''}`);
    student = { id: r.registerStudentModel.id, status: 'DRAFT', offers: [] };
  }
  if (student.status !== 'LISTED') await q('listTeacherModel', `mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: student.id }, B);
  const studentOffer = await ensureOffer(api, B, student.id, 'Commercial', {
    royalty: { policy: 'LAP', shareBps: 500 },
    naming: { rule: 'PREFIX_REQUIRED', token: 'Borealis' },
    pricing: {
      upfrontFeeMinor: String(STUDENT_UPFRONT),
      inputPerMillionMinor: '2000',
      outputPerMillionMinor: '6000',
      minimumCommitmentMinor: String(STUDENT_MINIMUM),
      poolEligible: true,
    },
  });
  const stack = (await api.gql('teacherModel', `query($id: ID!) { teacherModel(id: $id) { royaltyStack { totalBps entries { organizationId shareBps depth } } } }`, { id: student.id }))
    .teacherModel.royaltyStack;
  s.done(`${STUDENT_SLUG}, royalty stack ${stack.totalBps / 100} % (${stack.entries.length} ancestor${stack.entries.length === 1 ? '' : 's'})`);

  // ── payment methods ──────────────────────────────────────────────────────
  s = o.step('distillers save a payment method (sandbox test card pm_sandbox_visa)');
  let saved = 0;
  for (const d of [D1, D2]) {
    const status = (await q('paymentSetup', `query($o: ID!) { paymentSetup(organizationId: $o) { mode hasDefaultPaymentMethod } }`, { o: d.organizationId }, d)).paymentSetup;
    if (status.mode !== 'SANDBOX') throw new DemoError('payments are not in sandbox mode (STRIPE_SECRET_KEY is set): the demo only runs against the sandbox');
    if (status.hasDefaultPaymentMethod) continue;
    const setup = (await q('createPaymentSetup', `mutation($o: ID!) { createPaymentSetup(organizationId: $o) { setupIntentId } }`, { o: d.organizationId }, d)).createPaymentSetup;
    await q(
      'confirmSandboxPaymentSetup',
      `mutation($o: ID!, $s: ID!) { confirmSandboxPaymentSetup(organizationId: $o, setupIntentId: $s, paymentMethod: "pm_sandbox_visa") { defaultPaymentMethodId } }`,
      { o: d.organizationId, s: setup.setupIntentId },
      d,
    );
    saved++;
  }
  s.done(`${saved} saved now, ${2 - saved} already had one`);

  const INVOICES = `query($o: ID!, $f: InvoiceFilterInput, $after: String) { invoices(organizationId: $o, filter: $f, first: 50, after: $after) {
    edges { node { id number kind status period total { ${MONEY} } amountRefunded { ${MONEY} } } } pageInfo { hasNextPage endCursor } } }`;
  const invoicesOf = async (who: Session, f: Record<string, unknown> = {}) =>
    allNodes<any>(async (after) => (await q('invoices', INVOICES, { o: who.organizationId, f, after }, who)).invoices);
  const pay = async (who: Session, invoiceId: string) => {
    const r = await q('payInvoice', `mutation($id: ID!) { payInvoice(id: $id) { outcome failureCode message invoice { status } } }`, { id: invoiceId }, who);
    const outcome = r.payInvoice.outcome as string;
    if (outcome === 'FAILED') throw new DemoError(`payInvoice ${invoiceId}: ${r.payInvoice.failureCode} ${r.payInvoice.message}`);
    await waitUntil(`invoice ${invoiceId} to be PAID`, async () =>
      (await q('invoice', `query($id: ID!) { invoice(id: $id) { status } }`, { id: invoiceId }, who)).invoice.status === 'PAID' ? true : undefined,
    );
    return outcome;
  };

  // ── per-licence distiller ────────────────────────────────────────────────
  s = o.step('per-licence distiller accepts the student licence by its exact terms hash and pays the upfront fee');
  // As a distiller finds it: the public offer with its terms hash.
  const publicOffers = (await api.gql('licenseOffers', `query($m: ID!) { licenseOffers(modelId: $m, status: ACTIVE) { id name termsHash } }`, { m: student.id })).licenseOffers as any[];
  const listed = publicOffers.find((x) => x.id === studentOffer.id);
  if (!listed) throw new DemoError('the student offer is not in the public list of active offers');
  const licence = await accept(D1, listed);
  const month = periodOf(new Date(licence.acceptedAt));
  for (const inv of await invoicesOf(D1, { kind: 'UPFRONT' })) if (inv.status === 'OPEN') await pay(D1, inv.id);
  const upfront = (await invoicesOf(D1, { kind: 'UPFRONT' }))[0];
  s.done(`agreement ACTIVE; upfront invoice ${upfront?.number ?? '?'} ${upfront?.status ?? ''} ${upfront ? fmt(BigInt(upfront.total.amountMinor)) : ''}`);

  // ── pool ─────────────────────────────────────────────────────────────────
  s = o.step('an admin creates the pool plan; the pool distiller subscribes, pays and takes pool agreements');
  const plans = (await q('poolPlans', `query { poolPlans { id name currency status } }`, {}, admin)).poolPlans as any[];
  let plan = plans.find((p) => p.name === POOL_PLAN && p.currency === CURRENCY && p.status === 'ACTIVE');
  if (!plan) {
    plan = (
      await q(
        'createPoolPlan',
        `mutation($i: CreatePoolPlanInput!) { createPoolPlan(input: $i) { plan { id name } } }`,
        {
          i: {
            name: POOL_PLAN,
            currency: CURRENCY,
            monthlyFeeMinor: String(POOL_FEE),
            tokenAllowance: '50000000',
            overage: 'REFUSE',
            distribution: 'PRO_RATA',
            minimumTokensToEarn: '100',
            platformFeeBps: 2000,
          },
        },
        admin,
      )
    ).createPoolPlan.plan;
  }
  const subscribed = (
    await q(
      'subscribeToPool',
      `mutation($p: ID!, $o: ID!) { subscribeToPool(planId: $p, organizationId: $o) { __typename ... on PoolSubscription { id status }
        ... on PoolSubscriptionExistsError { subscription { id status } } ... on BusinessError { code message } } }`,
      { p: plan.id, o: D2.organizationId },
      D2,
    )
  ).subscribeToPool;
  const subscription = subscribed.__typename === 'PoolSubscription' ? subscribed : subscribed.subscription;
  if (!subscription) throw new DemoError(`subscribeToPool: ${subscribed.code} ${subscribed.message}`);
  for (const inv of await invoicesOf(D2, { kind: 'POOL', period: month })) if (inv.status === 'OPEN') await pay(D2, inv.id);
  const poolAgreements = [await accept(D2, baseOffer, true), await accept(D2, studentOffer, true)];
  s.done(`plan "${POOL_PLAN}" ${fmt(POOL_FEE)}/month, subscription ${subscription.status}, ${poolAgreements.length} pool agreements`);

  // ── business time ────────────────────────────────────────────────────────
  const clockNow = async () => new Date((await q('sandboxClock', `query { sandboxClock { now advanceable } }`, {}, admin)).sandboxClock.now);
  const advance = async (to: Date) => {
    const r = await q(
      'advanceSandboxClock',
      `mutation($to: DateTime!) { advanceSandboxClock(to: $to) { __typename ... on SandboxClockAdvance { to } ... on BusinessError { code message } } }`,
      { to: to.toISOString() },
      admin,
    );
    if (r.advanceSandboxClock.__typename !== 'SandboxClockAdvance') throw new DemoError(`advanceSandboxClock: ${r.advanceSandboxClock.code} ${r.advanceSandboxClock.message}`);
  };
  const monthOpen = periodOf(await clockNow()) === month;

  // ── gateway traffic ──────────────────────────────────────────────────────
  s = o.step('distiller traffic through the gateway (demo upstream)');
  const usageTotals = async (who: Session, agreementId: string) =>
    (
      await q(
        'usageSummary',
        `query($a: ID!, $from: DateTime!, $to: DateTime!) { usageSummary(agreementId: $a, from: $from, to: $to, granularity: DAY) {
          totals { events inputTokens outputTokens totalTokens estimatedEvents } } }`,
        { a: agreementId, from: `${month}-01T00:00:00.000Z`, to: nextMonthStart(month).toISOString() },
        who,
      )
    ).usageSummary.totals;
  const plannedTraffic: { who: Session; agreementId: string; modelId: string; calls: number }[] = [];
  if (monthOpen) {
    const licenceEvents = Number((await usageTotals(D1, licence.id)).events);
    if (licenceEvents < GATEWAY_CALLS) plannedTraffic.push({ who: D1, agreementId: licence.id, modelId: student.id, calls: GATEWAY_CALLS - licenceEvents });
    for (const [i, pa] of poolAgreements.entries()) {
      const n = Number((await usageTotals(D2, pa.id)).events);
      if (n < POOL_CALLS_PER_TEACHER) plannedTraffic.push({ who: D2, agreementId: pa.id, modelId: i === 0 ? base.id : student.id, calls: POOL_CALLS_PER_TEACHER - n });
    }
  }
  let sent = 0;
  if (plannedTraffic.length > 0) {
    const upstream = await o.startUpstream();
    try {
      for (const [who, modelId] of [
        [A, base.id],
        [B, student.id],
      ] as const) {
        await q(
          'configureTeacherUpstream',
          `mutation($i: ConfigureTeacherUpstreamInput!) { configureTeacherUpstream(input: $i) { modelId } }`,
          { i: { modelId, baseUrl: upstream.url, apiKey: 'sk-demo-upstream', upstreamModel: 'demo-teacher', timeoutMs: 30000 } },
          who,
        );
      }
      for (const t of plannedTraffic) {
        const key = (
          await q(
            'createApiKey',
            `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }`,
            { i: { organizationId: t.who.organizationId, name: 'demo distillation run', scopes: ['GATEWAY'], agreementId: t.agreementId } },
            t.who,
          )
        ).createApiKey.secret as string;
        let next = 0;
        const worker = async () => {
          while (next < t.calls) {
            const n = next++;
            const r = await api.rest('POST', '/v1/gateway/chat/completions', {
              token: key,
              json: { model: 'teacher', max_tokens: 200, messages: [{ role: 'user', content: `Explain knowledge distillation, part ${n + 1}.` }] },
            });
            if (r.status !== 200) throw new DemoError(`gateway call answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
            sent++;
          }
        };
        await Promise.all(Array.from({ length: 6 }, worker));
      }
    } finally {
      await upstream.close();
    }
  }
  const licenceTotals = await usageTotals(D1, licence.id);
  s.done(
    plannedTraffic.length > 0
      ? `${sent} calls (licence agreement: ${licenceTotals.events} events, ${licenceTotals.totalTokens} tokens)`
      : `already done (${licenceTotals.events} events, ${licenceTotals.totalTokens} tokens on the licence)`,
  );

  // ── vendor usage report ──────────────────────────────────────────────────
  s = o.step('vendor usage report (REST) and the vendor reading the usage');
  let reportDetail = 'month closed: nothing to report';
  if (monthOpen) {
    const reportKey = (
      await q(
        'createApiKey',
        `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }`,
        { i: { organizationId: B.organizationId, name: 'demo usage report', scopes: ['USAGE_REPORT'] } },
        B,
      )
    ).createApiKey.secret as string;
    const now = await clockNow();
    // Fixed event ids: sending them again is answered "duplicate", never counted twice.
    const events = Array.from({ length: REPORTED_EVENTS }, (_, i) => ({
      id: `demo-batch-eval-${String(i + 1).padStart(4, '0')}`,
      agreementId: licence.id,
      occurredAt: new Date(Math.max(new Date(licence.acceptedAt).getTime(), now.getTime() - 60_000)).toISOString(),
      inputTokens: 12_000,
      outputTokens: 8_000,
      metadata: { job: 'nightly-eval' },
    }));
    const r = await api.rest('POST', '/v1/usage/events', { token: reportKey, json: { events } });
    if (r.status !== 200 && r.status !== 207) throw new DemoError(`usage report answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
    if (r.body.rejected > 0) throw new DemoError(`usage report rejected events: ${JSON.stringify(r.body.results)}`);
    reportDetail = `${r.body.accepted} accepted, ${r.body.duplicates} duplicates`;
  }
  const vendorView = await usageTotals(B, licence.id);
  s.done(`${reportDetail}; the vendor sees ${vendorView.events} events, ${vendorView.totalTokens} tokens this month`);

  // ── month close ──────────────────────────────────────────────────────────
  s = o.step(`month ${month} closed with the sandbox test clock; invoices paid; royalties cascaded`);
  if (monthOpen) await advance(new Date(nextMonthStart(month).getTime() + 45 * 60_000)); // 00:45 UTC on the 1st
  const closed = await q(
    'closeBillingPeriod',
    `mutation($p: String!) { closeBillingPeriod(period: $p) { __typename ... on BillingPeriodClose { invoicesCreated invoiceCount alreadyClosed }
      ... on BusinessError { code message } } }`,
    { p: month },
    admin,
  );
  if (closed.closeBillingPeriod.__typename !== 'BillingPeriodClose') throw new DemoError(`closeBillingPeriod: ${closed.closeBillingPeriod.code} ${closed.closeBillingPeriod.message}`);
  let paidNow = 0;
  for (const d of [D1, D2, B]) {
    for (const inv of await invoicesOf(d, { period: month })) {
      if (inv.status === 'OPEN' && BigInt(inv.total.amountMinor) > 0n) {
        await pay(d, inv.id);
        paidNow++;
      }
    }
  }
  const monthInvoice = (await invoicesOf(D1, { kind: 'PERIOD', period: month }))[0];
  if (!monthInvoice) throw new DemoError(`no ${month} invoice for ${D1.email}`);
  const allocation = (
    await q(
      'invoiceAllocation',
      `query($id: ID!) { invoiceAllocation(invoiceId: $id) { platformFee { ${MONEY} } nets { organizationId amount { ${MONEY} } } } }`,
      { id: monthInvoice.id },
      D1,
    )
  ).invoiceAllocation;
  const net = (org: string | null) => BigInt(allocation?.nets.find((n: any) => n.organizationId === org)?.amount.amountMinor ?? '0');
  s.done(
    `invoice ${monthInvoice.number} ${fmt(BigInt(monthInvoice.total.amountMinor))} (${paidNow} paid now): platform fee ${fmt(BigInt(allocation?.platformFee.amountMinor ?? '0'))}, ` +
      `student vendor ${fmt(net(B.organizationId))}, base vendor royalty ${fmt(net(A.organizationId))}`,
  );

  // ── pool close ───────────────────────────────────────────────────────────
  s = o.step(`pool period ${month} closed and distributed`);
  const poolClose = (
    await q(
      'closePoolPeriod',
      `mutation($p: String!) { closePoolPeriod(period: $p) { __typename ... on PoolPeriodClose { distributions { planId gross { ${MONEY} } distributed { ${MONEY} } } }
        ... on BusinessError { code message } } }`,
      { p: month },
      admin,
    )
  ).closePoolPeriod;
  if (poolClose.__typename !== 'PoolPeriodClose') throw new DemoError(`closePoolPeriod: ${poolClose.code} ${poolClose.message}`);
  const statement = (
    await q(
      'poolStatement',
      `query($p: ID!, $period: String!) { poolStatement(planId: $p, period: $period) { complete distribution { gross { ${MONEY} } distributed { ${MONEY} } }
        lines { modelId modelName tokens amount { ${MONEY} } flags held releasedAt } } }`,
      { p: plan.id, period: month },
      admin,
    )
  ).poolStatement;
  // One subscriber makes every teacher's pool tokens "concentrated": held for review. The admin reviews and releases them.
  let released = 0;
  for (const line of statement.lines as any[]) {
    if (line.held && !line.releasedAt) {
      await q('releasePoolEarnings', `mutation($p: ID!, $period: String!, $m: ID!) { releasePoolEarnings(planId: $p, period: $period, modelId: $m) }`, { p: plan.id, period: month, m: line.modelId }, admin);
      released++;
    }
  }
  s.done(
    `gross ${statement.distribution ? fmt(BigInt(statement.distribution.gross.amountMinor)) : '0'}, distributed ${statement.distribution ? fmt(BigInt(statement.distribution.distributed.amountMinor)) : '0'} over ` +
      `${statement.lines.length} teachers${released ? `; ${released} held line(s) (${[...new Set(statement.lines.flatMap((l: any) => l.flags))].join(', ')}) reviewed and released` : ''}`,
  );

  // ── refund ───────────────────────────────────────────────────────────────
  s = o.step('an admin refunds part of the month invoice (reversed down the royalty stack)');
  const invoiceNow = (await q('invoice', `query($id: ID!) { invoice(id: $id) { amountRefunded { ${MONEY} } } }`, { id: monthInvoice.id }, admin)).invoice;
  if (BigInt(invoiceNow.amountRefunded.amountMinor) === 0n) {
    const r = await q(
      'refundInvoice',
      `mutation($id: ID!, $a: String!, $k: String) { refundInvoice(id: $id, amountMinor: $a, reason: "Demo: service credit for a slow week", idempotencyKey: $k) {
        __typename ... on InvoiceRefund { outcome amount { ${MONEY} } } ... on BusinessError { code message } } }`,
      { id: monthInvoice.id, a: String(REFUND), k: `demo-refund-${monthInvoice.id}` },
      admin,
    );
    if (r.refundInvoice.__typename !== 'InvoiceRefund') throw new DemoError(`refundInvoice: ${r.refundInvoice.code} ${r.refundInvoice.message}`);
    s.done(`${fmt(REFUND)} ${r.refundInvoice.outcome}`);
  } else {
    s.done(`already refunded ${fmt(BigInt(invoiceNow.amountRefunded.amountMinor))}`);
  }

  // ── holdback ─────────────────────────────────────────────────────────────
  s = o.step('the holdback passes (sandbox test clock again)');
  const EARNINGS = `query($o: ID!) { earnings(organizationId: $o) { currency payable { amountMinor } pending { amountMinor } available { amountMinor }
    paidOut { amountMinor } negativeCarryForward { amountMinor } availableAt holdbackDays } }`;
  const earningsOf = async (v: Session) => ((await q('earnings', EARNINGS, { o: v.organizationId }, v)).earnings as any[]).find((e) => e.currency === CURRENCY);
  // availableAt is when the next pending amount becomes available: move on until nothing is pending.
  let movedTo: Date | null = null;
  let releaseAt = 0;
  for (let round = 0; round < 5; round++) {
    let next = 0;
    for (const v of [A, B]) {
      const e = await earningsOf(v);
      if (e && BigInt(e.pending.amountMinor) > 0n && e.availableAt) next = Math.max(next, new Date(e.availableAt).getTime());
    }
    if (next === 0) break;
    releaseAt = next;
    movedTo = new Date(Math.max(next + 60_000, (await clockNow()).getTime() + 60_000));
    await advance(movedTo);
  }
  s.done(movedTo ? `business time is now ${movedTo.toISOString().slice(0, 16)}Z` : 'nothing pending');

  // ── payout batch ─────────────────────────────────────────────────────────
  s = o.step('payout batch created by one admin, approved by another (four eyes), transfers sent');
  const BATCH = `id status snapshotHash payoutCount total { ${MONEY} } createdBy { userId } approvedBy { userId }
    payouts(first: 50) { edges { node { id organizationId status amount { ${MONEY} } transferId } } }`;
  let approver = o.admins.approver;
  let batch: any = (await q('payoutBatches', `query { payoutBatches(status: IN_REVIEW, currency: "${CURRENCY}", first: 1) { edges { node { ${BATCH} } } } }`, {}, admin))
    .payoutBatches.edges[0]?.node;
  let batchNote = '';
  if (!batch) {
    const created = await api.raw(`mutation($c: String!) { createPayoutBatch(input: { currency: $c }) { ${BATCH} } }`, { c: CURRENCY }, admin.token);
    if (created.errors?.length) {
      if (codeOf(created) !== 'CONFLICT' || reasonOf(created) !== 'NOTHING_TO_PAY') throw new DemoError(`createPayoutBatch: ${describeErrors(created.errors)}`);
      batchNote = 'nothing left to pay';
    } else {
      batch = created.data.createPayoutBatch;
    }
  }
  if (batch) {
    // A batch left IN_REVIEW by an interrupted run may have been created by the other admin: the one who did not create it approves.
    if (batch.createdBy.userId === approver.userId) approver = admin;
    // Four eyes: the batch's creator may not approve it; the other admin does, against the hash they reviewed.
    const approved = await api.raw(
      `mutation($id: ID!, $h: String!) { approvePayoutBatch(id: $id, snapshotHash: $h) { id status approvedBy { userId } } }`,
      { id: batch.id, h: batch.snapshotHash },
      approver.token,
    );
    if (approved.errors?.length) {
      throw new DemoError(
        `approvePayoutBatch by ${approver.email}: ${describeErrors(approved.errors)}` +
          (reasonOf(approved) === 'FOUR_EYES' ? ' — the batch needs a second platform admin, different from its creator' : ''),
      );
    }
    batch = await waitUntil('the payouts to be sent', async () => {
      const b = (await q('payoutBatch', `query($id: ID!) { payoutBatch(id: $id) { ${BATCH} } }`, { id: batch.id }, admin)).payoutBatch;
      const nodes = b.payouts.edges.map((e: any) => e.node);
      if (nodes.some((p: any) => p.status === 'FAILED')) throw new DemoError(`a payout failed: ${JSON.stringify(nodes)}`);
      return nodes.every((p: any) => p.status === 'SENT' || p.status === 'PAID') ? b : undefined;
    }, 120_000, 500);
    batchNote = `batch of ${batch.payoutCount} payout(s), ${batch.total.formatted}, status ${batch.status}`;
  }
  const lastBatch = batch ?? (await q('payoutBatches', `query { payoutBatches(currency: "${CURRENCY}", first: 1) { edges { node { id status } } } }`, {}, admin)).payoutBatches.edges[0]?.node;
  s.done(batchNote);

  // ── reconciliation ───────────────────────────────────────────────────────
  s = o.step('reconciliation of every day of the story with the processor');
  const today = await clockNow();
  const first = new Date(`${licence.acceptedAt.slice(0, 10)}T00:00:00.000Z`);
  let days = 0;
  let matched = 0;
  const unmatched: string[] = [];
  for (let d = first.getTime(); d <= today.getTime(); d += DAY) {
    const date = new Date(d).toISOString().slice(0, 10);
    const r = (
      await q(
        'runReconciliation',
        `mutation($d: String!) { runReconciliation(date: $d) { date differenceCount matchedCount unmatched { side category status amount { formatted } note } } }`,
        { d: date },
        admin,
      )
    ).runReconciliation;
    days++;
    matched += r.matchedCount;
    for (const u of r.unmatched) unmatched.push(`${date} ${u.side} ${u.category} ${u.status} ${u.amount.formatted}: ${u.note}`);
  }
  if (unmatched.length > 0) throw new DemoError(`reconciliation found ${unmatched.length} unmatched item(s):\n  ${unmatched.join('\n  ')}`);
  s.done(`${days} days, ${matched} matched, 0 unmatched`);

  // ── what it adds up to ───────────────────────────────────────────────────
  for (const [label, v] of [
    ['base vendor', A],
    ['student vendor', B],
  ] as const) {
    const e = await earningsOf(v);
    summary.push(
      `${label.padEnd(15)} paid out ${fmt(BigInt(e?.paidOut.amountMinor ?? '0'))}, still owed ${fmt(BigInt(e?.payable.amountMinor ?? '0'))} (pending ${fmt(BigInt(e?.pending.amountMinor ?? '0'))})`,
    );
  }
  return {
    sessions,
    alreadyComplete: !monthOpen && plannedTraffic.length === 0 && paidNow === 0 && released === 0 && releaseAt === 0 && !batch && BigInt(invoiceNow.amountRefunded.amountMinor) > 0n,
    month,
    batchId: lastBatch?.id ?? null,
    reconciledDays: days,
    summary,
  };
}

/** The model's ACTIVE offer with this name, or a new one published (the first version). */
async function ensureOffer(
  api: Api,
  vendor: Session,
  modelId: string,
  name: string,
  o: { royalty: { policy: string; shareBps: number }; naming: { rule: string; token: string }; pricing: Record<string, unknown> },
): Promise<{ id: string; termsHash: string }> {
  const existing = (await api.gql('licenseOffers', `query($m: ID!) { licenseOffers(modelId: $m, status: ACTIVE) { id name termsHash } }`, { m: modelId }, vendor.token))
    .licenseOffers as any[];
  const found = existing.find((x) => x.name === name);
  if (found) return found;
  const r = await api.gql(
    'publishLicenseOffer',
    `mutation($i: PublishLicenseOfferInput!) { publishLicenseOffer(input: $i) { id termsHash } }`,
    {
      i: {
        modelId,
        name,
        terms: {
          outputTraining: 'PERMITTED_WITH_CONDITIONS',
          distillationIsDerivative: true,
          commercialUse: true,
          researchOnly: false,
          attribution: { displayString: `Built with ${o.naming.token}`, placements: ['MODEL_CARD', 'WEBSITE'], noticeText: null },
          naming: o.naming,
          inheritance: { copyLicence: true, useRestrictionsFlowDown: true, reciprocal: false },
          thresholds: [],
          territory: { excludedCountries: ['KP', 'IR'], endUsersExempt: false },
          acceptableUsePolicyUrl: 'https://demo.beiming.example/aup',
          termDays: 365,
          governingLaw: 'Delaware, USA',
          royalty: o.royalty,
          limits: { tokensPerPeriod: '1000000000', tokensPerMinute: '500000' },
          watermarkRequired: false,
        },
        pricing: { currency: CURRENCY, ...o.pricing },
      },
    },
    vendor.token,
  );
  return r.publishLicenseOffer;
}
