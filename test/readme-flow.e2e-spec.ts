/**
 * Executes the README walkthrough ("### Walkthrough" up to the next `## `
 * heading) against a fresh app, so the README cannot drift from the API.
 *
 * The README is read by test/support/readme.ts (graphql blocks with their
 * variables, `gql '…'` calls, shown answers).
 *
 * Placeholders are `<UPPER_SNAKE>` strings. In variables they are replaced by
 * values captured from earlier answers; in shown answers they must equal the
 * captured value. STEPS below is the story: which token each operation is sent
 * with, which union member it must return, and which response path fills which
 * placeholder. The README's operations must be exactly STEPS, in order.
 */
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { GraphQLSchema, parse, validate } from 'graphql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, TestApp } from './support/app';
import { at, matchShown, readmeOperations, substitute, unionRootFields, walkthrough, ReadmeActor, ReadmeStep } from './support/readme';

type Actor = ReadmeActor;
type Step = ReadmeStep;

const TOKEN_OF: Record<Exclude<Actor, 'none'>, string> = {
  vendor: 'VENDOR_TOKEN',
  distiller: 'DISTILLER_TOKEN',
  admin: 'ADMIN_TOKEN',
  admin2: 'SECOND_ADMIN_TOKEN',
};
const TOKEN_OF_VALUES = new Set(Object.values(TOKEN_OF));

const STEPS: Step[] = [
  { op: 'SignUpVendor', as: 'none', typename: { signUp: 'AuthPayload' }, capture: { VENDOR_TOKEN: 'signUp.accessToken' } },
  { op: 'MyOrganizations', as: 'vendor', capture: { VENDOR_ORG_ID: 'me.memberships.0.organization.id' } },
  { op: 'CreateModel', as: 'vendor', typename: { createTeacherModel: 'TeacherModel' }, capture: { MODEL_ID: 'createTeacherModel.id' } },
  { op: 'ListModel', as: 'vendor' },
  { op: 'PublishOffer', as: 'vendor' },
  { op: 'SignUpDistiller', as: 'none', typename: { signUp: 'AuthPayload' }, capture: { DISTILLER_TOKEN: 'signUp.accessToken' } },
  { op: 'MyOrganizations', as: 'distiller', capture: { DISTILLER_ORG_ID: 'me.memberships.0.organization.id' } },
  // The catalog is public: no token, and the offer's id and hash are taken from here, as a distiller would.
  {
    op: 'FindModels',
    as: 'none',
    capture: { OFFER_ID: 'catalog.edges.0.node.offers.0.id', TERMS_HASH: 'catalog.edges.0.node.offers.0.termsHash' },
  },
  {
    op: 'AcceptOffer',
    as: 'distiller',
    typename: { acceptLicenseOffer: 'LicenseAgreement' },
    capture: { AGREEMENT_ID: 'acceptLicenseOffer.id' },
  },
  { op: 'AcceptWithWrongHash', as: 'distiller', typename: { acceptLicenseOffer: 'TermsChangedError' } },
  { op: 'MyAgreement', as: 'distiller' },
  { op: 'VendorAgreements', as: 'vendor' },
  { op: 'CreateGatewayKey', as: 'distiller' },
  { op: 'AdminLogIn', as: 'none', typename: { logIn: 'AuthPayload' }, capture: { ADMIN_TOKEN: 'logIn.accessToken' } },
  { op: 'AuditTrail', as: 'admin' },
];

// ---------------------------------------------------------------- the run

const README = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
const section = walkthrough(README);
const OPS = readmeOperations(section.text, section.firstLine);
const ADMIN_LOGIN = OPS.find((o) => o.name === 'AdminLogIn')?.variables?.input as { email?: string; password?: string } | undefined;

describe('README walkthrough', () => {
  let t: TestApp;
  let schema: GraphQLSchema;
  const known = new Map<string, string>();

  beforeAll(async () => {
    // The admin the README logs in as is the one the README starts the server with.
    t = await startTestApp({ adminEmail: ADMIN_LOGIN?.email, adminPassword: ADMIN_LOGIN?.password });
    schema = t.app.get(GraphQLSchemaHost).schema;
  });
  afterAll(() => t?.close());

  describe('the README itself', () => {
    it('lists exactly the operations of the story, in order', () => {
      expect(OPS.map((o) => o.name)).toEqual(STEPS.map((s) => s.op));
    });

    it('has operations valid against the schema', () => {
      const problems = OPS.flatMap((o) => validate(schema, parse(o.query)).map((e) => `${o.name} (README line ${o.line}): ${e.message}`));
      expect(problems).toEqual([]);
    });

    it('declares the expected member of every union it selects', () => {
      const missing = OPS.flatMap((o, i) =>
        unionRootFields(schema, o.query)
          .filter((f) => !STEPS[i]?.typename?.[f])
          .map((f) => `${o.name}.${f}`),
      );
      expect(missing).toEqual([]);
    });

    it('keeps placeholders in variables, and uses every captured one later', () => {
      expect(OPS.filter((o) => /<[A-Z][A-Z0-9_]*>/.test(o.query)).map((o) => o.name)).toEqual([]);
      const later = (i: number) => JSON.stringify(OPS.slice(i + 1).map((o) => o.variables ?? null));
      const unused = STEPS.flatMap((s, i) =>
        Object.keys(s.capture ?? {}).filter((p) => !TOKEN_OF_VALUES.has(p) && !later(i).includes(`<${p}>`)),
      );
      expect(unused).toEqual([]);
    });

    it('starts the server with the admin it logs in as', () => {
      expect(ADMIN_LOGIN?.email).toBeTruthy();
      expect(section.text).toContain(`ADMIN_EMAIL=${ADMIN_LOGIN!.email} ADMIN_PASSWORD=${ADMIN_LOGIN!.password}`);
    });

    it('checks shown answers strictly (a wrong value is caught)', () => {
      const k = new Map([['X', 'id-1']]);
      expect(matchShown({ a: [{ b: '<X>', c: 'bm_…' }] }, { a: [{ b: 'id-1', c: 'bm_abc', d: 1 }] }, k)).toEqual([]);
      expect(matchShown({ a: '<X>' }, { a: 'id-2' }, k)).toHaveLength(1);
      expect(matchShown({ a: 'bm_…' }, { a: 'sk_1' }, k)).toHaveLength(1);
      expect(matchShown({ a: 'ACTIVE' }, { a: 'PENDING_PAYMENT' }, k)).toHaveLength(1);
      expect(matchShown({ a: [1, 2] }, { a: [1] }, k)).toHaveLength(1);
      expect(matchShown({ a: 1 }, {}, k)).toEqual(['$.a: missing']);
    });
  });

  describe('run in order', () => {
    STEPS.forEach((step, i) => {
      it(`${i + 1}. ${step.op} (${step.as === 'none' ? 'no token' : `as ${step.as}`})`, async () => {
        const op = OPS[i];
        expect(op?.name).toBe(step.op);
        const where = `${op.name} (README line ${op.line})`;
        const token = step.as === 'none' ? undefined : known.get(TOKEN_OF[step.as]);
        if (step.as !== 'none') expect(token).toBeTruthy();

        const variables = substitute(op.variables ?? {}, known, where) as Record<string, unknown>;
        const r = await t.gql(op.query, variables, token);
        expect({ op: where, errors: r.errors }).toEqual({ op: where, errors: undefined });
        expect(r.status).toBe(200);

        for (const [field, typename] of Object.entries(step.typename ?? {})) {
          expect({ op: where, field, typename: at(r.data, `${field}.__typename`) }).toEqual({ op: where, field, typename });
        }
        for (const [name, path] of Object.entries(step.capture ?? {})) {
          const v = at(r.data, path);
          expect({ op: where, [name]: typeof v === 'string' && v.length > 0 }).toEqual({ op: where, [name]: true });
          known.set(name, v as string);
        }
        if (op.answer !== undefined) {
          expect({ op: where, mismatches: matchShown(op.answer, { data: r.data }, known) }).toEqual({ op: where, mismatches: [] });
        }
      });
    });
  });

  // What the prose says about outcomes the walkthrough does not run, checked with the README's own
  // operations; runs after the story above (it uses its placeholders).
  describe('claims in the prose', () => {
    const opNamed = (name: string) => OPS.find((o) => o.name === name)!;
    const withInput = (name: string, patch: Record<string, unknown>) => ({
      ...(substitute(opNamed(name).variables, known, name) as { input: Record<string, unknown> }).input,
      ...patch,
    });

    it('step 1: a short password is BAD_USER_INPUT on the password field', async () => {
      expect(section.text).toContain('`extensions.fields: [{"field": "password"');
      const r = await t.gql(opNamed('SignUpVendor').query, { input: withInput('SignUpVendor', { email: 'short@pw.example', password: 'short' }) });
      expect(r.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0].extensions.fields).toEqual([expect.objectContaining({ field: 'password' })]);
    });

    it('step 6: an organization without a country gets TerritoryNotAllowedError', async () => {
      const signed = await t.gql(opNamed('SignUpDistiller').query, {
        input: withInput('SignUpDistiller', { email: 'nocountry@distill.example', country: undefined }),
      });
      const token = signed.data!.signUp.accessToken as string;
      const me = await t.gql(opNamed('MyOrganizations').query, {}, token);
      const orgId = me.data!.me.memberships[0].organization.id as string;
      const r = await t.gql(opNamed('AcceptOffer').query, { input: withInput('AcceptOffer', { organizationId: orgId }) }, token);
      expect(r.errors).toBeUndefined();
      expect(r.data!.acceptLicenseOffer).toMatchObject({ __typename: 'TerritoryNotAllowedError', code: 'TERRITORY_NOT_ALLOWED' });
    });

    it('step 8: a version retired by a newer one answers OfferNotAvailableError with currentOfferId', async () => {
      const v2 = await t.gql(opNamed('PublishOffer').query, { input: withInput('PublishOffer', {}) }, known.get('VENDOR_TOKEN'));
      expect(v2.data?.publishLicenseOffer).toMatchObject({ version: 2, status: 'ACTIVE' });
      expect(v2.data!.publishLicenseOffer.id).not.toBe(known.get('OFFER_ID'));
      const r = await t.gql(
        `mutation ($input: AcceptLicenseOfferInput!) {
          acceptLicenseOffer(input: $input) { __typename ... on OfferNotAvailableError { code reason currentOfferId } }
        }`,
        { input: withInput('AcceptOffer', {}) },
        known.get('DISTILLER_TOKEN'),
      );
      expect(r.data?.acceptLicenseOffer).toEqual({
        __typename: 'OfferNotAvailableError',
        code: 'OFFER_NOT_AVAILABLE',
        reason: 'OFFER_RETIRED',
        currentOfferId: v2.data!.publishLicenseOffer.id,
      });
      expect(section.text).toContain('`OfferNotAvailableError` with `currentOfferId`');
    });

    it('step 12: the audit log is FORBIDDEN to other users', async () => {
      const r = await t.gql(opNamed('AuditTrail').query, {}, known.get('VENDOR_TOKEN'));
      expect(r.errors?.[0].extensions.code).toBe('FORBIDDEN');
    });
  });
});

