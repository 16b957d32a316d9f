/** Background jobs on pg-boss: the agreement-expiry job is scheduled and does its work. */
import { AGREEMENT_EXPIRY_JOB } from '../src/licensing/agreement-expiry.job';
import { JobsService } from '../src/platform/jobs/jobs.service';
import { startTestApp, TestApp } from './support/app';
import { createModel, publishOk } from './support/licensing';
import { signUp } from './support/users';

jest.setTimeout(60_000);

describe('jobs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ jobsEnabled: true, jobsPollSeconds: 0.5 });
  });
  afterAll(() => t.close());

  it('schedules the agreement-expiry job every minute (UTC)', async () => {
    const rows = await t.dataSource.query(`SELECT name, cron, timezone FROM pgboss.schedule WHERE name = $1`, [AGREEMENT_EXPIRY_JOB]);
    expect(rows).toEqual([{ name: AGREEMENT_EXPIRY_JOB, cron: '* * * * *', timezone: 'UTC' }]);
  });

  it('expires agreements past their term, in storage and in the audit log', async () => {
    const vendor = await signUp(t);
    const distiller = await signUp(t, { country: 'DE' });
    const model = await createModel(t, vendor);
    const offer = await publishOk(t, vendor, model.id, { terms: { termDays: 30 } });
    const r = await t.gql(
      `mutation($i: AcceptLicenseOfferInput!) { acceptLicenseOffer(input: $i) { ... on LicenseAgreement { id status } } }`,
      { i: { offerId: offer.id, organizationId: distiller.organizationId, acceptedTermsHash: offer.termsHash } },
      distiller.token,
    );
    const id = r.data!.acceptLicenseOffer.id as string;
    // the term ran out yesterday
    await t.dataSource.query(
      `UPDATE license_agreements SET starts_at = now() - interval '31 days', ends_at = now() - interval '1 day' WHERE id = $1`,
      [id],
    );
    expect((await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [id]))[0].status).toBe('ACTIVE');

    const jobs = t.app.get(JobsService);
    const jobId = await jobs.runNow(AGREEMENT_EXPIRY_JOB);
    const deadline = Date.now() + 30_000;
    let state: string | null = null;
    while (Date.now() < deadline) {
      state = await jobs.stateOf(AGREEMENT_EXPIRY_JOB, jobId);
      if (state === 'completed' || state === 'failed') break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(state).toBe('completed');
    expect((await t.dataSource.query(`SELECT status FROM license_agreements WHERE id = $1`, [id]))[0].status).toBe('EXPIRED');
    const audit = await t.dataSource.query(`SELECT actor_user_id FROM audit_log WHERE action = 'licensing.agreement.expired' AND target_id = $1`, [id]);
    expect(audit).toEqual([{ actor_user_id: null }]); // done by the system
  });

  it('refuses to run an unknown job', async () => {
    await expect(t.app.get(JobsService).runNow('nope')).rejects.toThrow(/no job named nope/);
  });
});
