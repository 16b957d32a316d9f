/**
 * Executes every example of the README outside the walkthrough (metering,
 * provenance, money) in document order against a fresh app listening on a
 * port: GraphQL operations with their variables, and shell examples (curl,
 * the attestation check) run by bash as written. Shown answers are checked
 * like the walkthrough's. Together with test/readme-flow.e2e-spec.ts no
 * example block goes unexecuted (the last test counts them).
 *
 * What the README leaves to its reader is prepared here: the parties and
 * agreements of the walkthrough, two licensed teachers, an accepted offer
 * with an upfront fee, an anomaly flag, and placeholders a reader fills
 * (dates, a weights digest). The README's fixed addresses (localhost:3000,
 * the demo upstream on port 8787) are pointed at this run's servers.
 */
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { nextPeriod, periodOf } from '../src/billing/billing-period';
import { Clock } from '../src/platform/clock/clock';
import { AppConfig } from '../src/platform/config/app-config';
import { PayoutExecutionService } from '../src/payouts/payout-execution.service';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, validate } from 'graphql';
import { DemoUpstream, startDemoUpstream } from '../tools/demo-upstream/demo-upstream';
import { startTestApp, TestApp } from './support/app';
import { createModel, publishOk } from './support/licensing';
import { acceptAgreement, createApiKey } from './support/metering';
import { licensed, listedTeacher, listWithOffer, registerStudent } from './support/provenance';
import { at, exampleBlocks, fencedBlocks, matchShown, readmeOperations, readmeSection, ReadmeOp, substitute, unionRootFields, walkthrough, ReadmeActor, ReadmeStep } from './support/readme';
import { makeAdmin, signUp, TestUser } from './support/users';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SECTIONS = [
  'Metering: the gateway and usage reports',
  'Provenance: student models, lineage, royalties and attestations',
  'Money: invoices, payments, refunds and the ledger',
  'Revenue sharing: royalties down the lineage, earnings and statements',
  'Payouts: onboarding vendors and platform admins',
];

type Actor = ReadmeActor;
type Step = ReadmeStep;

function sectionOps(heading: string): ReadmeOp[] {
  const lines = README.split('\n');
  const start = lines.findIndex((l) => l === `## ${heading}`);
  return readmeOperations(readmeSection(README, heading).replace(/^\n/, ''), start + 1);
}
const OPS = SECTIONS.flatMap(sectionOps);

describe('README sections (e2e)', () => {
  let t: TestApp;
  let upstream: DemoUpstream;
  let base: string;
  let vendor: TestUser;
  let distiller: TestUser;
  let admin: TestUser;
  let agreementStart = 0;
  const known = new Map<string, string>();
  const env: Record<string, string> = {};
  const work = mkdtempSync(join(tmpdir(), 'beiming-readme-'));
  let secondAdmin: TestUser;
  const tokenOf = (a: Actor) => ({ none: undefined, vendor: vendor.token, distiller: distiller.token, admin: admin.token, admin2: secondAdmin?.token })[a];

  const STEPS: Step[] = [
    { op: 'ConnectUpstream', as: 'vendor' },
    { op: 'curl /v1/gateway/chat/completions', as: 'distiller' },
    { op: 'curl /v1/gateway/models', as: 'distiller' },
    {
      op: 'curl /v1/usage/events',
      as: 'vendor',
      // The example reports an event at the current second (date -u): let the clock pass the agreement's start.
      before: async () => {
        const deadline = Date.now() + 5000;
        while (Math.floor(Date.now() / 1000) <= Math.floor(agreementStart / 1000) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      },
    },
    { op: 'Usage', as: 'distiller' },
    {
      op: 'Flags',
      as: 'vendor',
      capture: { FLAG_ID: 'anomalyFlags.edges.0.node.id' },
      // An upstream that reports no usage raises ESTIMATED_USAGE (the demo upstream's #demo:no-usage).
      before: async () => {
        const r = await t.request({
          method: 'POST',
          url: '/v1/gateway/chat/completions',
          headers: { authorization: `Bearer ${env.GATEWAY_KEY}` },
          body: { model: 'teacher', max_tokens: 4, messages: [{ role: 'user', content: 'hi #demo:no-usage' }] },
        });
        expect(r.status).toBe(200);
      },
    },
    { op: 'Ack', as: 'vendor' },
    { op: 'RegisterStudent', as: 'distiller', typename: { registerStudentModel: 'TeacherModel' }, capture: { STUDENT_ID: 'registerStudentModel.id' } },
    { op: 'Provenance', as: 'distiller' },
    { op: 'Certify', as: 'admin' },
    { op: 'Attest', as: 'distiller', capture: { ATTESTATION: 'issueAttestation.document' } },
    {
      op: 'curl /.well-known/beiming-keys.json',
      as: 'none',
      before: async () => writeFileSync(join(work, 'attestation.json'), known.get('ATTESTATION')!),
    },
    { op: 'Verify', as: 'none' },
    { op: 'Setup', as: 'distiller', capture: { SETUP_INTENT_ID: 'createPaymentSetup.setupIntentId' } },
    { op: 'SavePaymentMethod', as: 'distiller' },
    { op: 'Invoices', as: 'distiller', capture: { INVOICE_ID: 'invoices.edges.0.node.id' } },
    { op: 'Pay', as: 'distiller' },
    { op: 'Invoice', as: 'distiller' },
    { op: 'Close', as: 'admin', typename: { closeBillingPeriod: 'BillingPeriodClose' } },
    { op: 'Balances', as: 'distiller' },
    { op: 'Refund', as: 'admin', typename: { refundInvoice: 'InvoiceRefund' } },
    { op: 'Ledger', as: 'admin' },
    // Revenue sharing: the README's A → B → C with C's licence paid by the distiller (built here, as the reader would).
    { op: 'Allocation', as: 'distiller', before: () => threeGenerations() },
    { op: 'VendorEarnings', as: 'vendor' },
    { op: 'ReportRevenue', as: 'distiller' },
    { op: 'Statement', as: 'vendor' },
    { op: 'curl /v1/statements/<VENDOR_ORG_ID>/earnings/<LAST_MONTH>.json?currency=USD', as: 'vendor', out: /^VALID beiming\.earnings-statement\/v1 /m },
    // The month of the README's usage report closes (the clock moved to the next month for the close).
    { op: 'UsageProof', as: 'distiller', before: () => closeThisMonth() },
    { op: 'StartOnboarding', as: 'vendor', capture: { ONBOARDING_URL: 'startPayoutOnboarding.url' } },
    {
      op: 'GrantAdmin',
      as: 'admin',
      before: async () => {
        secondAdmin = await signUp(t, { country: 'US' });
        known.set('SECOND_ADMIN_EMAIL', secondAdmin.email);
      },
    },
    {
      op: 'curl ?',
      as: 'none',
      out: /^303$/m,
      // The link names the service's configured public address; this run listens elsewhere.
      before: async () => {
        known.set('ONBOARDING_URL', known.get('ONBOARDING_URL')!.replace(/^https?:\/\/[^/]+/, `http://${base}`));
      },
    },
    {
      op: 'AdvanceClock',
      as: 'admin',
      typename: { advanceSandboxClock: 'SandboxClockAdvance' },
      before: async () => {
        const to = new Date(t.app.get(Clock).now().getTime() + (t.app.get(AppConfig).earningsHoldbackDays + 1) * 86_400_000);
        known.set('HOLDBACK_PASSED', to.toISOString());
        known.set('BUSINESS_DATE', to.toISOString().slice(0, 10));
      },
    },
    { op: 'CreateBatch', as: 'admin', capture: { BATCH_ID: 'createPayoutBatch.id', SNAPSHOT_HASH: 'createPayoutBatch.snapshotHash' } },
    { op: 'ApproveBatch', as: 'admin2' },
    {
      op: 'VendorPayouts',
      as: 'vendor',
      // The job sends approved batches at once where jobs run; here the executor runs once.
      before: async () => {
        await t.app.get(PayoutExecutionService).run();
      },
    },
    { op: 'Reconcile', as: 'admin' },
  ];

  async function closeThisMonth(): Promise<void> {
    const month = periodOf(new Date());
    const clock = jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(new Date(nextPeriod(month).start.getTime() + 3_600_000));
    try {
      const r = await t.gql(`mutation($p: String!) { closeBillingPeriod(period: $p) { __typename } }`, { p: month.period }, admin.token);
      expect(r.data?.closeBillingPeriod.__typename).toBe('BillingPeriodClose');
    } finally {
      clock.mockRestore();
    }
  }

  /**
   * The vendor's teacher A (LAP 5 %), Tiny Labs' student B of A (LAP 10 %), Student Co's student C of B sold at
   * EUR 1,250.00 upfront; the distiller accepts C's offer and pays it with the card saved in the Money section.
   */
  async function threeGenerations(): Promise<void> {
    const tiny = await signUp(t, { organizationName: 'Tiny Labs', country: 'US' });
    const studentCo = await signUp(t, { organizationName: 'Student Co', country: 'US' });
    const a = await listedTeacher(t, vendor, { royalty: { policy: 'LAP', shareBps: 500 } });
    const ab = await licensed(t, tiny, a);
    const b = await registerStudent(t, tiny, [ab]);
    const offerB = await listWithOffer(t, tiny, b.id, { policy: 'LAP', shareBps: 1000 });
    const bc = await licensed(t, studentCo, { modelId: b.id, offer: offerB });
    const c = await registerStudent(t, studentCo, [bc]);
    await t.gql(`mutation($id: ID!) { listTeacherModel(id: $id) { id } }`, { id: c.id }, studentCo.token);
    const offerC = await publishOk(t, studentCo, c.id, { pricing: { currency: 'EUR', upfrontFeeMinor: '125000' }, terms: { royalty: { policy: 'LAP', shareBps: 300 } } });
    // Student Co's platform fee: 20 % (an admin's per-vendor override), as the README's table says.
    const fee = await t.gql(`mutation($v: ID!) { setVendorFeeOverride(vendorOrganizationId: $v, feeBps: 2000) { __typename } }`, { v: studentCo.organizationId }, admin.token);
    expect(fee.errors).toBeUndefined();
    const agreement = await acceptAgreement(t, distiller, offerC);
    const [{ id: invoiceId }] = await t.dataSource.query(`SELECT id FROM invoices WHERE agreement_id = $1`, [agreement]);
    const paid = await t.gql(`mutation($id: ID!) { payInvoice(id: $id) { outcome } }`, { id: invoiceId }, distiller.token);
    expect(paid.data?.payInvoice.outcome).toBe('PAID');
    Object.entries({
      CASCADE_INVOICE_ID: invoiceId,
      TINY_LABS_ORG_ID: tiny.organizationId,
      STUDENT_CO_ORG_ID: studentCo.organizationId,
      MODEL_A: a.modelId,
      MODEL_B: b.id,
      MODEL_C: c.id,
      AGREEMENT_A_B: ab.agreementId,
      AGREEMENT_B_C: bc.agreementId,
    }).forEach(([k, v]) => known.set(k, v));
  }

  beforeAll(async () => {
    upstream = await startDemoUpstream();
    t = await startTestApp();
    const fastify = t.app.getHttpAdapter().getInstance();
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    base = `127.0.0.1:${(fastify.server.address() as { port: number }).port}`;

    // The walkthrough's parties: a vendor's listed model, the distiller's agreement on it, their keys.
    vendor = await signUp(t, { organizationName: 'Llama Vendor Inc.', country: 'US' });
    distiller = await signUp(t, { organizationName: 'Distill Works GmbH', country: 'DE' });
    admin = await makeAdmin(t, await signUp(t, { country: 'US' }));
    const { id: modelId } = await createModel(t, vendor);
    const offer = await publishOk(t, vendor, modelId, { terms: { limits: { tokensPerPeriod: null, tokensPerMinute: null } } });
    const agreementId = await acceptAgreement(t, distiller, offer);
    agreementStart = Date.now();
    env.GATEWAY_KEY = (await createApiKey(t, distiller, ['GATEWAY'], agreementId)).secret;
    env.REPORT_KEY = (await createApiKey(t, vendor, ['USAGE_REPORT'])).secret;
    // Provenance: two more teachers the distiller holds agreements on.
    const [one, two] = [await listedTeacher(t, vendor), await listedTeacher(t, vendor)];
    const [e1, e2] = [await licensed(t, distiller, one), await licensed(t, distiller, two)];
    // Money: an accepted offer with an upfront fee of USD 100.00.
    const { id: paidModel } = await createModel(t, vendor);
    const upfront = await publishOk(t, vendor, paidModel, { pricing: { currency: 'USD', upfrontFeeMinor: '10000' } });
    await acceptAgreement(t, distiller, upfront);

    const now = new Date();
    const month = (offset: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
    Object.entries({
      MODEL_ID: modelId,
      AGREEMENT_ID: agreementId,
      VENDOR_ORG_ID: vendor.organizationId,
      DISTILLER_ORG_ID: distiller.organizationId,
      TEACHER_1: e1.parentModelId,
      AGREEMENT_1: e1.agreementId,
      TEACHER_2: e2.parentModelId,
      AGREEMENT_2: e2.agreementId,
      WEIGHTS_SHA256: createHash('sha256').update(randomBytes(16)).digest('hex'),
      MONTH_START: month(0).toISOString(),
      NEXT_MONTH_START: month(1).toISOString(),
      LAST_MONTH: month(-1).toISOString().slice(0, 7),
      THIS_MONTH: month(0).toISOString().slice(0, 7),
      EXPIRES_AT: new Date(now.getTime() + 365 * 86_400_000).toISOString(),
    }).forEach(([k, v]) => known.set(k, v));

    // `npm run verify-attestation` runs in the scratch directory, as in a checkout.
    for (const entry of ['package.json', 'node_modules', 'scripts', 'src', 'tsconfig.json']) symlinkSync(join(ROOT, entry), join(work, entry));
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  /** The README's fixed addresses, pointed at this run's servers. */
  const local = (text: string) => text.replaceAll('localhost:3000', base).replaceAll('http://127.0.0.1:8787/v1', upstream.url);

  /** Runs a shell example as written (placeholders filled, addresses pointed here). */
  async function shell(script: string, token: string | undefined): Promise<string> {
    const text = local(substitute(script, known, 'shell') as string);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', text], {
      cwd: work,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? work, ...env, ...(token ? { TOKEN: token } : {}) },
      timeout: 60_000,
    });
    return stdout;
  }

  it('lists exactly the examples of the story, in order', () => {
    expect(OPS.map((o) => o.name)).toEqual(STEPS.map((s) => s.op));
  });

  it('declares the expected member of every union it selects', () => {
    const schema = t.app.get(GraphQLSchemaHost).schema;
    const missing = OPS.flatMap((o, i) => (o.kind === 'shell' ? [] : unionRootFields(schema, o.query).filter((f) => !STEPS[i]?.typename?.[f]).map((f) => `${o.name}.${f}`)));
    expect(missing).toEqual([]);
  });

  describe('run in order', () => {
    STEPS.forEach((step, i) => {
      it(`${i + 1}. ${step.op} (${step.as === 'none' ? 'no token' : `as ${step.as}`})`, async () => {
        const op = OPS[i];
        expect(op?.name).toBe(step.op);
        const where = `${op.name} (README line ${op.line})`;
        await step.before?.();
        let data: unknown;
        if (op.kind === 'shell') {
          const out = await shell(op.query, tokenOf(step.as));
          // A shell example answers JSON (curl) or ends with the verifier's verdict.
          data = out.trim().startsWith('{') ? JSON.parse(out) : out;
          if (typeof data === 'string') expect({ op: where, out: data }).toEqual({ op: where, out: expect.stringMatching(step.out ?? /^VALID model tiny-teacher-distill /m) });
        } else {
          const schema = t.app.get(GraphQLSchemaHost).schema;
          expect(validate(schema, parse(op.query)).map((e) => e.message)).toEqual([]);
          const variables = JSON.parse(local(JSON.stringify(substitute(op.variables ?? {}, known, where)))) as Record<string, unknown>;
          const r = await t.gql(op.query, variables, tokenOf(step.as));
          expect({ op: where, errors: r.errors }).toEqual({ op: where, errors: undefined });
          data = { data: r.data };
          for (const [field, typename] of Object.entries(step.typename ?? {})) {
            expect({ op: where, field, typename: at(r.data, `${field}.__typename`) }).toEqual({ op: where, field, typename });
          }
          for (const [name, path] of Object.entries(step.capture ?? {})) {
            const v = at(r.data, path);
            expect({ op: where, [name]: v !== undefined && v !== null }).toEqual({ op: where, [name]: true });
            known.set(name, typeof v === 'string' ? v : JSON.stringify(v));
          }
        }
        if (op.answer !== undefined) {
          expect({ op: where, mismatches: matchShown(op.answer, data, known) }).toEqual({ op: where, mismatches: [] });
        }
      });
    });
  });

  it("the README's gql helper sends what the walkthrough says", async () => {
    const helper = fencedBlocks(README).find((b) => b.lang === 'sh' && /^gql\(\)/m.test(b.body))!;
    const out = await shell(`${helper.body}\ngql '{"query": "query Me { me { email } }"}'`, distiller.token);
    expect(JSON.parse(out)).toEqual({ data: { me: { email: distiller.email } } });
  });

  it('leaves no example unexecuted: every graphql and curl block is in the walkthrough, in a section run here, or the gql helper', () => {
    const section = walkthrough(README);
    const walkthroughBlocks = new Set(readmeOperations(section.text, section.firstLine).map((o) => o.block));
    const executedHere = new Set(OPS.map((o) => o.block));
    const helper = fencedBlocks(README).filter((b) => b.lang === 'sh' && /^gql\(\)/m.test(b.body)).map((b) => b.line);
    const all = exampleBlocks(README).map((b) => b.line);
    const executed = all.filter((line) => walkthroughBlocks.has(line) || executedHere.has(line) || helper.includes(line));
    expect(all.length).toBeGreaterThan(30);
    expect(executed).toEqual(all);
    expect(executed.length).toBe(walkthroughBlocks.size + executedHere.size + helper.length);
  });

  it('documents every REST path the OpenAPI document lists', async () => {
    const doc = (await t.request({ method: 'GET', url: '/openapi.json' })).body;
    for (const path of Object.keys(doc.paths)) expect(README).toContain(path);
  });
});
