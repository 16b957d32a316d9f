/**
 * Executes the README walkthrough ("### Walkthrough" up to the next `## `
 * heading) against a fresh app, so the README cannot drift from the API.
 *
 * What is read from README.md, in document order:
 * - every ```graphql block: one named operation; the ```json block right after
 *   it (nothing but blank lines between) holds its variables;
 * - every `gql '<json body>'` call inside a ```sh block: one operation, its
 *   body `{query, variables?}` as the curl helper would send it;
 * - a ```json block under a paragraph starting with "→": the answer shown for the
 *   latest operation, a shortened response body checked against the real one
 *   (see matchShown). Any other ```json block is an error.
 *
 * Placeholders are `<UPPER_SNAKE>` strings. In variables they are replaced by
 * values captured from earlier answers; in shown answers they must equal the
 * captured value. STEPS below is the story: which token each operation is sent
 * with, which union member it must return, and which response path fills which
 * placeholder. The README's operations must be exactly STEPS, in order.
 */
import { GraphQLSchemaHost } from '@nestjs/graphql';
import {
  getNamedType,
  GraphQLObjectType,
  GraphQLSchema,
  isUnionType,
  Kind,
  OperationDefinitionNode,
  parse,
  validate,
} from 'graphql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, TestApp } from './support/app';
import { readmeSection, VALIDATED_README_SECTIONS } from './support/readme';

type Actor = 'none' | 'vendor' | 'distiller' | 'admin';

interface Step {
  op: string;
  /** Whose token is sent (captured earlier as VENDOR_TOKEN, DISTILLER_TOKEN, ADMIN_TOKEN). */
  as: Actor;
  /** Root field (response key) → the union member it must return. Required for every union-typed root field. */
  typename?: Record<string, string>;
  /** Placeholder → dotted path in `data` (array indexes as numbers). */
  capture?: Record<string, string>;
}

const TOKEN_OF: Record<Exclude<Actor, 'none'>, string> = {
  vendor: 'VENDOR_TOKEN',
  distiller: 'DISTILLER_TOKEN',
  admin: 'ADMIN_TOKEN',
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

// ---------------------------------------------------------------- README parsing

interface Block {
  lang: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** Only blank lines between the previous block's closing fence and this one. */
  adjacent: boolean;
  /** The first line of the paragraph right above the opening fence ('' if none). */
  lead: string;
}

interface ReadmeOp {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  answer?: unknown;
  line: number;
}

function fencedBlocks(markdown: string, firstLine = 1): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let open: { lang: string; line: number; body: string[]; adjacent: boolean; lead: string } | null = null;
  let sinceLast: string[] | null = null; // lines since the previous block closed
  lines.forEach((text, i) => {
    if (open) {
      if (/^```\s*$/.test(text)) {
        blocks.push({ lang: open.lang, body: open.body.join('\n'), line: open.line, adjacent: open.adjacent, lead: open.lead });
        open = null;
        sinceLast = [];
      } else open.body.push(text);
      return;
    }
    const fence = /^```(\S*)\s*$/.exec(text);
    if (fence) {
      const adjacent = sinceLast !== null && sinceLast.every((l) => l.trim() === '');
      let start = i;
      while (start > 0 && lines[start - 1].trim() === '') start -= 1;
      const end = start;
      while (start > 0 && lines[start - 1].trim() !== '' && !lines[start - 1].startsWith('```')) start -= 1;
      const lead = start < end ? lines[start] : '';
      open = { lang: fence[1], line: firstLine + i, body: [], adjacent, lead };
    } else sinceLast?.push(text);
  });
  if (open) throw new Error(`README: unclosed code fence at line ${(open as { line: number }).line}`);
  return blocks;
}

function operationName(query: string, where: string): string {
  const doc = parse(query);
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (ops.length !== 1) throw new Error(`${where}: expected exactly one operation, found ${ops.length}`);
  if (!ops[0].name) throw new Error(`${where}: the operation must be named`);
  return ops[0].name.value;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
  }
}

/** The README's operations in order, with variables and shown answers. */
function readmeOperations(markdown: string, firstLine = 1): ReadmeOp[] {
  const ops: ReadmeOp[] = [];
  const blocks = fencedBlocks(markdown, firstLine);
  blocks.forEach((b, i) => {
    const where = `README line ${b.line}`;
    if (b.lang === 'graphql') {
      ops.push({ name: operationName(b.body, where), query: b.body, line: b.line });
    } else if (b.lang === 'json') {
      const prev = blocks[i - 1];
      const last = ops[ops.length - 1];
      if (!last) throw new Error(`${where}: a json block before any operation`);
      if (b.adjacent && prev?.lang === 'graphql') {
        last.variables = parseJson(b.body, where) as Record<string, unknown>;
      } else if (b.lead.startsWith('→')) {
        if (last.answer !== undefined) throw new Error(`${where}: a second answer for ${last.name}`);
        last.answer = parseJson(b.body, where);
      } else {
        throw new Error(`${where}: a json block is either variables (right under a graphql block) or an answer (under a paragraph starting with "→")`);
      }
    } else if (b.lang === 'sh') {
      for (const m of b.body.matchAll(/^gql '([^']*)'/gm)) {
        const line = b.line + 1 + b.body.slice(0, m.index).split('\n').length - 1;
        const body = parseJson(m[1], `README line ${line}`) as { query?: unknown; variables?: Record<string, unknown> };
        if (typeof body.query !== 'string') throw new Error(`README line ${line}: the gql body has no "query"`);
        ops.push({ name: operationName(body.query, `README line ${line}`), query: body.query, variables: body.variables, line });
      }
    }
  });
  return ops;
}

/** The walkthrough: from its heading to the next `## ` heading. */
function walkthrough(readme: string): { text: string; firstLine: number } {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l.startsWith('### Walkthrough'));
  if (start < 0) throw new Error('README: no "### Walkthrough" section');
  const rel = lines.slice(start + 1).findIndex((l) => l.startsWith('## '));
  const end = rel < 0 ? lines.length : start + 1 + rel;
  return { text: lines.slice(start, end).join('\n'), firstLine: start + 1 };
}

// ---------------------------------------------------------------- placeholders and answers

const PLACEHOLDER = /<([A-Z][A-Z0-9_]*)>/g;

function substitute(value: unknown, known: Map<string, string>, where: string): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (_, name: string) => {
      const v = known.get(name);
      if (v === undefined) throw new Error(`${where}: <${name}> is used before any step fills it`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, known, where));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, known, where)]));
  }
  return value;
}

function at(data: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o == null ? undefined : (o as Record<string, unknown>)[k]), data);
}

/**
 * The shown answer is a shortened copy of the real one: every key shown must
 * exist with a matching value; arrays match element by element from the start
 * (the real one may be longer). Strings: `<NAME>` equals the placeholder's
 * value; `abc…` is any string starting with `abc` (`…` alone: any string);
 * anything else compares exactly. Returns the mismatches.
 */
function matchShown(shown: unknown, actual: unknown, known: Map<string, string>, path = '$'): string[] {
  if (typeof shown === 'string') {
    const whole = /^<([A-Z][A-Z0-9_]*)>$/.exec(shown);
    if (whole) {
      const v = known.get(whole[1]);
      if (v === undefined) return [`${path}: shows <${whole[1]}>, which no step has filled`];
      return actual === v ? [] : [`${path}: shows <${whole[1]}> = ${JSON.stringify(v)}, got ${JSON.stringify(actual)}`];
    }
    const cut = shown.indexOf('…');
    if (cut >= 0) {
      return typeof actual === 'string' && actual.startsWith(shown.slice(0, cut))
        ? []
        : [`${path}: shows ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`];
    }
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return [`${path}: shows an array, got ${JSON.stringify(actual)}`];
    if (actual.length < shown.length) return [`${path}: shows ${shown.length} items, got ${actual.length}`];
    return shown.flatMap((s, i) => matchShown(s, actual[i], known, `${path}[${i}]`));
  }
  if (shown && typeof shown === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: shows an object, got ${JSON.stringify(actual)}`];
    return Object.entries(shown).flatMap(([k, v]) =>
      k in actual ? matchShown(v, (actual as Record<string, unknown>)[k], known, `${path}.${k}`) : [`${path}.${k}: missing`],
    );
  }
  return shown === actual ? [] : [`${path}: shows ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`];
}

/** Response keys of the root fields whose type is a union. */
function unionRootFields(schema: GraphQLSchema, query: string): string[] {
  const op = parse(query).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const root = (op.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType()) as GraphQLObjectType;
  return op.selectionSet.selections.flatMap((s) => {
    if (s.kind !== Kind.FIELD) return [];
    const field = root.getFields()[s.name.value];
    return field && isUnionType(getNamedType(field.type)) ? [s.alias?.value ?? s.name.value] : [];
  });
}

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

    it('has every GraphQL operation in the walkthrough or in a section readme-sections validates', () => {
      const count = (text: string) => fencedBlocks(text).filter((b) => b.lang === 'graphql').length;
      const elsewhere = VALIDATED_README_SECTIONS.reduce((n, h) => n + count(readmeSection(README, h)), 0);
      expect(count(README)).toBe(count(section.text) + elsewhere);
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

