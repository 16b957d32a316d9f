/** LicenseAgreement.vendor / .distiller / .model: both parties see who is who, batched per request. */
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { startTestApp, TestApp } from './support/app';
import { createModel, publishOk } from './support/licensing';
import { signUp, TestUser } from './support/users';

const LIST = `query($o: ID!, $r: AgreementRole!) { agreements(organizationId: $o, role: $r) {
  edges { node { id vendor { id name } distiller { id name country } model { id name slug } } } } }`;

describe('agreement parties', () => {
  let t: TestApp;
  let vendor: TestUser;
  const distillers: TestUser[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    vendor = await signUp(t, { organizationName: 'Vendor Labs' });
    const model = await createModel(t, vendor);
    const offer = await publishOk(t, vendor, model.id);
    for (let i = 0; i < 3; i++) {
      const d = await signUp(t, { organizationName: `Distiller ${i}`, country: 'DE' });
      distillers.push(d);
      const r = await t.gql(
        `mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { __typename } }`,
        { i: { offerId: offer.id, organizationId: d.organizationId, acceptedTermsHash: offer.termsHash } },
        d.token,
      );
      expect(r.data!.acceptLicenseOffer.__typename).toBe('LicenseAgreement');
    }
  });
  afterAll(() => t.close());

  it('shows the vendor who accepted, and the distiller whom it licensed from', async () => {
    const v = await t.gql(LIST, { o: vendor.organizationId, r: 'VENDOR' }, vendor.token);
    const nodes = v.data!.agreements.edges.map((e: { node: any }) => e.node);
    expect(nodes.map((n: any) => n.distiller.name).sort()).toEqual(['Distiller 0', 'Distiller 1', 'Distiller 2']);
    expect(nodes.every((n: any) => n.vendor.name === 'Vendor Labs' && n.distiller.country === 'DE')).toBe(true);
    expect(new Set(nodes.map((n: any) => n.model.slug)).size).toBe(1);

    const d = await t.gql(LIST, { o: distillers[0].organizationId, r: 'DISTILLER' }, distillers[0].token);
    expect(d.data!.agreements.edges).toHaveLength(1);
    expect(d.data!.agreements.edges[0].node).toMatchObject({ vendor: { name: 'Vendor Labs' }, distiller: { id: distillers[0].organizationId } });
  });

  it('loads parties and models in one query each for a whole page', async () => {
    const spy = jest.spyOn(PostgresQueryRunner.prototype, 'query');
    try {
      await t.gql(`query($o: ID!) { agreements(organizationId: $o, role: VENDOR) { edges { node { id } } } }`, { o: vendor.organizationId }, vendor.token);
      const plain = spy.mock.calls.length;
      spy.mockClear();
      await t.gql(LIST, { o: vendor.organizationId, r: 'VENDOR' }, vendor.token);
      // + one organizations query (vendor and distillers together) + one models query
      expect(spy.mock.calls.length).toBe(plain + 2);
    } finally {
      spy.mockRestore();
    }
  });
});
