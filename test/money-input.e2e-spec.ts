/**
 * Money in inputs is integer minor units written as a strict decimal string:
 * digits only, "0" or no leading zero, within a bigint. Every other form is
 * BAD_USER_INPUT naming the field, and nothing is written (a lenient parser
 * stored `" 5"` as 5 while the vendor's own copy of the terms said " 5").
 */
import { startTestApp, TestApp } from './support/app';
import { appTables, databaseChecksum } from './support/db-checksum';
import { createModel, pricingInput, termsInput } from './support/licensing';
import { makeAdmin, signUp, TestUser } from './support/users';

const PUBLISH = `mutation($i: PublishLicenseOfferInput!) { publishLicenseOffer(input: $i) { id pricing { upfrontFeeMinor } } }`;
const REFUND = `mutation($id: ID!, $a: String, $r: String!) { refundInvoice(id: $id, amountMinor: $a, reason: $r) { __typename } }`;

/** Each form a lenient parser (trim, Number, BigInt, parseInt) would take for an integer, or that PostgreSQL would reject later. */
const REFUSED: [string, string][] = [
  ['leading space', ' 5'],
  ['trailing space', '5 '],
  ['tab', '\t5'],
  ['newline', '5\n'],
  ['plus sign', '+5'],
  ['leading zero', '05'],
  ['zeros only', '00'],
  ['negative zero', '-0'],
  ['exponent', '5e2'],
  ['decimal point', '5.0'],
  ['hexadecimal', '0x10'],
  ['binary', '0b1'],
  ['digit separator', '1_000'],
  ['thousands comma', '1,000'],
  ['non-ASCII digits', '\u0665'],
  ['full-width digits', '\uff15'],
  ['empty', ''],
  ['negative', '-5'],
  ['above 2^63-1', '9223372036854775808'],
  ['very long', '1'.repeat(400)],
];

describe('money inputs are strict decimal integer strings', () => {
  let t: TestApp;
  let vendor: TestUser;
  let admin: TestUser;
  let modelId: string;
  let tables: string[];

  beforeAll(async () => {
    t = await startTestApp();
    vendor = await signUp(t);
    admin = await makeAdmin(t, await signUp(t));
    modelId = (await createModel(t, vendor)).id;
    tables = await appTables(t);
  });
  afterAll(() => t?.close());

  for (const field of ['upfrontFeeMinor', 'inputPerMillionMinor', 'outputPerMillionMinor', 'minimumCommitmentMinor']) {
    it.each(REFUSED)(`publishLicenseOffer pricing.${field}: %s is BAD_USER_INPUT, nothing written`, async (_what, value) => {
      const before = await databaseChecksum(t, tables);
      const r = await t.gql(PUBLISH, { i: { modelId, name: 'standard', terms: termsInput(), pricing: pricingInput({ [field]: value }) } }, vendor.token);
      expect(r.data).toBeNull();
      expect(r.errors).toHaveLength(1);
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(r.errors![0].extensions.fields).toEqual([{ field: `pricing.${field}`, message: expect.stringMatching(new RegExp(`^${field} must`)) }]);
      expect(await databaseChecksum(t, tables)).toEqual(before);
    });
  }

  it.each(REFUSED)('refundInvoice amountMinor: %s is BAD_USER_INPUT, nothing written', async (_what, value) => {
    const before = await databaseChecksum(t, tables);
    const r = await t.gql(REFUND, { id: '00000000-0000-4000-8000-000000000000', a: value, r: 'goodwill' }, admin.token);
    expect(r.errors).toHaveLength(1);
    expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(r.errors![0].extensions.fields).toEqual([{ field: 'amountMinor', message: expect.stringMatching(/^amountMinor must/) }]);
    expect(await databaseChecksum(t, tables)).toEqual(before);
  });

  it('the canonical forms are accepted and stored as written: "0", "5", 2^63-1', async () => {
    const r = await t.gql(
      PUBLISH,
      { i: { modelId, name: 'strict', terms: termsInput(), pricing: pricingInput({ upfrontFeeMinor: '5', inputPerMillionMinor: '0', minimumCommitmentMinor: '9223372036854775807' }) } },
      vendor.token,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.publishLicenseOffer.pricing.upfrontFeeMinor).toBe('5');
    const [row] = await t.dataSource.query(`SELECT upfront_fee_minor::text AS fee, minimum_commitment_minor::text AS min FROM license_offers WHERE id = $1`, [
      r.data!.publishLicenseOffer.id,
    ]);
    expect(row).toEqual({ fee: '5', min: '9223372036854775807' });
  });

  it('refundInvoice with a canonical amount gets past the amount (to NOT_FOUND for an unknown invoice)', async () => {
    const r = await t.gql(REFUND, { id: '00000000-0000-4000-8000-000000000000', a: '5', r: 'goodwill' }, admin.token);
    expect(r.errors?.[0].extensions.code).toBe('NOT_FOUND');
  });
});
