/**
 * The upfront fee: accepting an offer with an upfront fee issues an OPEN
 * UPFRONT invoice in the accept transaction (with its ledger posting);
 * without a fee, none. Invoice reads are for the distiller's members and
 * admins only.
 */
import { AuditService } from '../src/audit/audit.service';
import { startTestApp, TestApp } from './support/app';
import { acceptFrom, INVOICE, INVOICES, invoicesOf, issuedPosting, lineSummary, pricedOffer } from './support/billing';
import { useLedgerInvariant } from './support/ledger-invariant';
import { acceptAgreement, createApiKey } from './support/metering';
import { makeAdmin, signUp, TestUser } from './support/users';

describe('upfront invoices (e2e)', () => {
  let t: TestApp;
  let vendor: TestUser;
  let distiller: TestUser;
  let other: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    vendor = await signUp(t, { country: 'US' });
    distiller = await signUp(t, { country: 'FR' });
    other = await signUp(t, { country: 'FR' });
    admin = await makeAdmin(t, await signUp(t));
  });
  useLedgerInvariant(() => t?.dataSource);
  afterAll(() => t.close());

  it('issues an OPEN upfront invoice with one UPFRONT_FEE line, posted to the ledger, when the offer has a fee', async () => {
    const o = await pricedOffer(t, vendor, { currency: 'JPY', inputPerMillionMinor: '10', outputPerMillionMinor: '20', upfrontFeeMinor: '50000' });
    const agreementId = await acceptAgreement(t, distiller, o.offer);
    const status = await t.gql(`query($id: ID!) { agreement(id: $id) { status } }`, { id: agreementId }, distiller.token);
    expect(status.data!.agreement.status).toBe('PENDING_PAYMENT');

    const invoices = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT' });
    expect(invoices).toHaveLength(1);
    const inv = invoices[0];
    expect(inv).toMatchObject({
      kind: 'UPFRONT',
      status: 'OPEN',
      currency: 'JPY',
      period: null,
      agreementId,
      organizationId: distiller.organizationId,
      total: { amountMinor: '50000', currency: 'JPY', formatted: '50000 JPY' },
      amountDue: { amountMinor: '50000' },
      lineCount: 1,
    });
    expect(inv.number).toMatch(/^BM-\d{6}-\d{6,}$/);
    expect(inv.issuedAt).not.toBeNull();
    expect(lineSummary(inv)).toEqual([['UPFRONT_FEE', agreementId, null, null, '50000', '0']]);
    expect(inv.lines.edges[0].node).toMatchObject({ modelId: o.modelId, vendorOrganizationId: vendor.organizationId, unitPricePerMillion: null });
    expect(inv.lines.edges[0].node.description).toContain('50000 JPY');

    expect(await issuedPosting(t, inv.id)).toEqual({
      kind: 'INVOICE_ISSUED',
      entries: [
        [`distiller:${distiller.organizationId}:receivable`, 'JPY', '50000'],
        ['platform:billed', 'JPY', '-50000'],
      ],
    });
    const audit = await t.app.get(AuditService).list({ action: 'billing.invoice.issued', targetId: inv.id }, 10, null);
    expect(audit).toHaveLength(1);
  });

  it('issues nothing when the offer has no upfront fee (the agreement is ACTIVE at once)', async () => {
    const o = await pricedOffer(t, vendor, { currency: 'EUR', inputPerMillionMinor: '150', outputPerMillionMinor: '600' });
    const before = await invoicesOf(t, distiller.token, distiller.organizationId);
    const agreementId = await acceptAgreement(t, distiller, o.offer);
    const status = await t.gql(`query($id: ID!) { agreement(id: $id) { status } }`, { id: agreementId }, distiller.token);
    expect(status.data!.agreement.status).toBe('ACTIVE');
    expect(await invoicesOf(t, distiller.token, distiller.organizationId)).toHaveLength(before.length);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM invoices WHERE agreement_id = $1`, [agreementId]);
    expect(n).toBe(0);
  });

  it('concurrent accepts of one paid offer make one agreement and one upfront invoice', async () => {
    const d = await signUp(t, { country: 'DE' });
    const o = await pricedOffer(t, vendor, { currency: 'USD', inputPerMillionMinor: '1', outputPerMillionMinor: '1', upfrontFeeMinor: '1999' });
    const q = `mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { __typename ... on LicenseAgreement { id } ... on AgreementAlreadyExistsError { agreement { id } } } }`;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => t.gql(q, { i: { offerId: o.offer.id, organizationId: d.organizationId, acceptedTermsHash: o.offer.termsHash } }, d.token)),
    );
    const ids = new Set(results.map((r) => r.data!.acceptLicenseOffer.id ?? r.data!.acceptLicenseOffer.agreement.id));
    expect(ids.size).toBe(1);
    const rows = await t.dataSource.query(`SELECT agreement_id, total_minor::text AS total FROM invoices WHERE distiller_organization_id = $1`, [d.organizationId]);
    expect(rows).toEqual([{ agreement_id: [...ids][0], total: '1999' }]);
  });

  it('an issued invoice and its lines cannot be rewritten, and its state only moves forward', async () => {
    const [inv] = await t.dataSource.query(`SELECT id FROM invoices WHERE status = 'OPEN' LIMIT 1`);
    await expect(t.dataSource.query(`UPDATE invoices SET total_minor = total_minor + 1 WHERE id = $1`, [inv.id])).rejects.toThrow(/issued/);
    await expect(t.dataSource.query(`UPDATE invoice_lines SET amount_minor = 1 WHERE invoice_id = $1`, [inv.id])).rejects.toThrow(/issued invoice/);
    await expect(t.dataSource.query(`DELETE FROM invoices WHERE id = $1`, [inv.id])).rejects.toThrow(/cannot be deleted/);
    await expect(t.dataSource.query(`UPDATE invoices SET status = 'DRAFT' WHERE id = $1`, [inv.id])).rejects.toThrow(/cannot go from OPEN to DRAFT/);
    await expect(
      t.dataSource.query(
        `INSERT INTO invoice_lines (invoice_id, position, kind, agreement_id, vendor_organization_id, model_id, usage_period, amount_minor, description)
         SELECT id, 99, 'MINIMUM_COMMITMENT_TRUE_UP', agreement_id, $2, (SELECT model_id FROM license_agreements WHERE id = agreement_id), '2026-01', 1, 'x'
           FROM invoices WHERE id = $1`,
        [inv.id, vendor.organizationId],
      ),
    ).rejects.toThrow(/DRAFT/);
    // VOID is final.
    const d = await signUp(t, { country: 'DE' });
    const o = await pricedOffer(t, vendor, { currency: 'USD', inputPerMillionMinor: '1', outputPerMillionMinor: '1', upfrontFeeMinor: '100' });
    const agreementId = await acceptFrom(t, d, o, new Date());
    const [[v]] = await t.dataSource.query(`UPDATE invoices SET status = 'VOID', voided_at = now() WHERE agreement_id = $1 RETURNING id`, [agreementId]);
    await expect(t.dataSource.query(`UPDATE invoices SET status = 'PAID', paid_at = now() WHERE id = $1`, [v.id])).rejects.toThrow(/VOID/);
    // The database refuses a line that is not rated half-up, and a total that is not the sum of the lines.
    const free = await pricedOffer(t, vendor, { currency: 'EUR', inputPerMillionMinor: '150', outputPerMillionMinor: '1' });
    const freeAgreement = await acceptFrom(t, d, free, new Date());
    const [draft] = await t.dataSource.query(
      `INSERT INTO invoices (number, distiller_organization_id, currency, kind, agreement_id, total_minor)
       VALUES ('BM-209901-000001', $1, 'EUR', 'UPFRONT', $2, 151) RETURNING id`,
      [d.organizationId, freeAgreement],
    );
    const line = (amount: number) =>
      t.dataSource.query(
        `INSERT INTO invoice_lines (invoice_id, position, kind, agreement_id, vendor_organization_id, model_id, usage_period,
                                    quantity, unit_price_minor, amount_minor, description)
         VALUES ($1, 1, 'USAGE_INPUT', $2, $3, $4, '2026-01', 1000000, 150, $5, 'test')`,
        [draft.id, freeAgreement, vendor.organizationId, free.modelId, amount],
      );
    await expect(line(151)).rejects.toThrow(/CHK_invoice_lines_rated/);
    await line(150);
    await expect(t.dataSource.query(`UPDATE invoices SET status = 'OPEN', issued_at = now(), due_at = now() WHERE id = $1`, [draft.id])).rejects.toThrow(
      /does not equal the sum/,
    );
    await t.dataSource.query(`DELETE FROM invoice_lines WHERE invoice_id = $1`, [draft.id]);
    await t.dataSource.query(`DELETE FROM invoices WHERE id = $1`, [draft.id]);
  });

  describe('authorization', () => {
    let invoiceId: string;
    beforeAll(async () => {
      [{ id: invoiceId }] = await invoicesOf(t, distiller.token, distiller.organizationId, { kind: 'UPFRONT', status: 'OPEN' });
    });

    it("another organization's member, the vendor and anonymous callers cannot see the invoice", async () => {
      for (const who of [other, vendor]) {
        const one = await t.gql(INVOICE, { id: invoiceId }, who.token);
        expect(one.errors?.[0].extensions.code).toBe('NOT_FOUND');
        const list = await t.gql(INVOICES, { org: distiller.organizationId }, who.token);
        expect(list.errors?.[0].extensions.code).toBe('NOT_FOUND');
      }
      const unknown = await t.gql(INVOICE, { id: '00000000-0000-4000-8000-000000000000' }, distiller.token);
      expect(unknown.errors?.[0].extensions.code).toBe('NOT_FOUND');
      const anonymous = await t.gql(INVOICE, { id: invoiceId });
      expect(anonymous.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    });

    it('members (and READ API keys of the organization) and platform admins can', async () => {
      expect((await t.gql(INVOICE, { id: invoiceId }, distiller.token)).data!.invoice.id).toBe(invoiceId);
      expect((await t.gql(INVOICE, { id: invoiceId }, admin.token)).data!.invoice.id).toBe(invoiceId);
      const key = await createApiKey(t, distiller, ['READ']);
      expect((await t.gql(INVOICE, { id: invoiceId }, key.secret)).data!.invoice.id).toBe(invoiceId);
      const otherKey = await createApiKey(t, other, ['READ']);
      expect((await t.gql(INVOICE, { id: invoiceId }, otherKey.secret)).errors?.[0].extensions.code).toBe('NOT_FOUND');
    });

    it('pages newest first with a cursor and refuses a bad cursor, filter or page size', async () => {
      const all = await invoicesOf(t, distiller.token, distiller.organizationId);
      expect(all.length).toBeGreaterThanOrEqual(1);
      const o = await pricedOffer(t, vendor, { currency: 'EUR', inputPerMillionMinor: '1', outputPerMillionMinor: '1', upfrontFeeMinor: '7' });
      await acceptAgreement(t, distiller, o.offer);
      const p1 = await t.gql(INVOICES, { org: distiller.organizationId, first: 1 }, distiller.token);
      expect(p1.data!.invoices.totalCount).toBe(all.length + 1);
      expect(p1.data!.invoices.edges[0].node.total.amountMinor).toBe('7');
      const p2 = await t.gql(INVOICES, { org: distiller.organizationId, first: 1, after: p1.data!.invoices.pageInfo.endCursor }, distiller.token);
      expect(p2.data!.invoices.edges[0].node.id).toBe(all[0].id);
      for (const vars of [{ after: 'nope' }, { first: 0 }, { first: 101 }, { filter: { period: '2026-13' } }]) {
        const r = await t.gql(INVOICES, { org: distiller.organizationId, ...vars }, distiller.token);
        expect(r.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
      }
    });
  });
});
