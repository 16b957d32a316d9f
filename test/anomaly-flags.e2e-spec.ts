/**
 * Anomaly flags: the burst detector (job `metering.anomaly-bursts`) against
 * usage reported through the real ingestion endpoint, and the vendor's /
 * admins' view — anomalyFlags (keyset pages, filters) and
 * acknowledgeAnomalyFlag (first acknowledgement stands, audit-logged). The
 * distiller never sees flags about itself; other organizations get NOT_FOUND.
 */
import { randomUUID } from 'node:crypto';
import { AnomalyBurstJob } from '../src/metering/anomaly/anomaly-burst.job';
import { startTestApp, TestApp } from './support/app';
import { createApiKey, meteringParties, MeteringParties, reportUsage, usageEvent } from './support/metering';
import { makeAdmin, signUp, TestUser } from './support/users';

jest.setTimeout(120_000);

const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();

const FLAGS = `query($filter: AnomalyFlagFilter, $first: Int, $after: String) {
  anomalyFlags(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id agreementId vendorOrganizationId distillerOrganizationId kind windowStart occurrences observedTokens
      baselineTokens detail createdAt updatedAt acknowledgedAt acknowledgedBy acknowledgementNote } }
    pageInfo { hasNextPage endCursor } } }`;

const ACK = `mutation($input: AcknowledgeAnomalyFlagInput!) { acknowledgeAnomalyFlag(input: $input) {
  id kind acknowledgedAt acknowledgedBy acknowledgementNote updatedAt } }`;

const errorOf = (r: { errors?: any[] }) => ({ code: r.errors?.[0]?.extensions.code, fields: r.errors?.[0]?.extensions.fields });

async function report(t: TestApp, key: string, events: unknown[]): Promise<void> {
  const r = await reportUsage(t, key, { events });
  if (r.status !== 200 || r.body.accepted !== events.length) throw new Error(`report: ${r.status} ${r.text}`);
}

/** An agreement that has been running for three days, so usage of the previous day can be reported. */
async function party(t: TestApp, opts: Parameters<typeof meteringParties>[1] = {}): Promise<MeteringParties> {
  const p = await meteringParties(t, opts);
  await t.dataSource.query(`UPDATE license_agreements SET starts_at = now() - interval '3 days' WHERE id = $1`, [p.agreementId]);
  return p;
}

const ev = (p: MeteringParties, id: string, at: number, tokens: number) =>
  usageEvent(p.agreementId, id, { occurredAt: iso(at), inputTokens: tokens - Math.floor(tokens / 3), outputTokens: Math.floor(tokens / 3) });

const bursts = (t: TestApp, agreementId: string) =>
  t.dataSource.query(
    `SELECT window_start, observed_tokens::text AS observed, baseline_tokens::text AS baseline, occurrences, detail, updated_at
       FROM anomaly_flags WHERE agreement_id = $1 AND kind = 'BURST' ORDER BY window_start`,
    [agreementId],
  );

describe('anomaly flags (e2e)', () => {
  let t: TestApp;
  let job: AnomalyBurstJob;
  /** A completed minute, recent enough for the job to examine. */
  let m: number;

  beforeAll(async () => {
    t = await startTestApp();
    job = t.app.get(AnomalyBurstJob);
    m = Math.floor(Date.now() / MIN) * MIN - 3 * MIN;
  });
  afterAll(() => t?.close());

  describe('burst detection job', () => {
    it('flags a burst after a quiet day, once, however often it runs', async () => {
      const q = await party(t);
      const history = Array.from({ length: 24 }, (_, i) => ev(q, `h-${i}`, m - (i + 1) * HOUR + 7 * MIN, 1000));
      // Just outside the 24 hours before m: would hide the burst if it were counted.
      history.push(ev(q, 'too-old', m - 24 * HOUR - MIN, 100_000_000));
      await report(t, q.reportKey, history);
      await report(t, q.reportKey, [ev(q, 'b-1', m, 7000), ev(q, 'b-2', m + 10_000, 7000), ev(q, 'b-3', m + MIN - 1, 6000)]);

      const first = await job.run();
      expect(first.flagged).toBeGreaterThanOrEqual(1);
      const flags = await bursts(t, q.agreementId);
      expect(flags).toEqual([
        {
          window_start: new Date(m),
          observed: '20000',
          baseline: '16', // 24,000 tokens over the previous day / 1,440 minutes, rounded down
          occurrences: 1,
          detail: { factor: 10, previousDayTokens: '24000' },
          updated_at: expect.any(Date),
        },
      ]);
      const [row] = await t.dataSource.query(`SELECT vendor_organization_id, distiller_organization_id FROM anomaly_flags WHERE agreement_id = $1`, [q.agreementId]);
      expect(row).toEqual({ vendor_organization_id: q.vendor.organizationId, distiller_organization_id: q.distiller.organizationId });

      await job.run();
      await job.run();
      expect(await bursts(t, q.agreementId)).toEqual(flags);
    });

    it('does not flag a steady agreement whose minute is exactly k × its average, and flags one token more', async () => {
      // An event every 10 minutes over the whole previous day (the first one exactly 24 hours before m): 2,160,000 tokens, 1,500 per minute.
      const steady = async (minute: number) => {
        const s = await party(t);
        await report(t, s.reportKey, Array.from({ length: 144 }, (_, i) => ev(s, `s-${i}`, m - (i + 1) * 10 * MIN, 15_000)));
        await report(t, s.reportKey, [ev(s, 'm', m + 5_000, minute)]);
        return s;
      };
      const equal = await steady(15_000); // 15,000 × 1,440 = 10 × 2,160,000: not above
      const above = await steady(15_001);
      // Usage after the minute (below the floor itself) is not part of its baseline.
      await report(t, above.reportKey, [ev(above, 'after', m + MIN, 5_000)]);

      await job.run();
      expect(await bursts(t, equal.agreementId)).toEqual([]);
      expect(await bursts(t, above.agreementId)).toEqual([
        expect.objectContaining({ window_start: new Date(m), observed: '15001', baseline: '1500', detail: { factor: 10, previousDayTokens: '2160000' } }),
      ]);
    });

    it('never flags a minute below ANOMALY_BURST_MIN_TOKENS, however quiet the agreement was', async () => {
      const below = await party(t);
      const at = await party(t);
      await report(t, below.reportKey, [ev(below, 'x', m, 9_999)]);
      await report(t, at.reportKey, [ev(at, 'x', m, 10_000)]);
      await job.run();
      expect(await bursts(t, below.agreementId)).toEqual([]);
      expect(await bursts(t, at.agreementId)).toEqual([expect.objectContaining({ observed: '10000', baseline: '0', detail: { factor: 10, previousDayTokens: '0' } })]);
    });

    it('purges minute rollups older than two days', async () => {
      const agreementId = randomUUID();
      await t.dataSource.query(
        `INSERT INTO usage_rollups_minute (agreement_id, bucket_start, tokens, events) VALUES
           ($1, date_trunc('minute', now()) - interval '2 days 5 minutes', 1, 1),
           ($1, date_trunc('minute', now()) - interval '2 days' + interval '30 minutes', 1, 1)`,
        [agreementId],
      );
      const r = await job.run();
      expect(r.purgedMinuteRollups).toBeGreaterThanOrEqual(1);
      const left = await t.dataSource.query(`SELECT bucket_start FROM usage_rollups_minute WHERE agreement_id = $1`, [agreementId]);
      expect(left).toHaveLength(1);
      expect(new Date(left[0].bucket_start).getTime()).toBeGreaterThan(Date.now() - 2 * 24 * HOUR);
    });

    it('examines only the minutes completed in the last 10 minutes', async () => {
      const w = await party(t);
      await report(t, w.reportKey, [ev(w, 'x', m, 50_000)]);
      const old = await party(t);
      await report(t, old.reportKey, [ev(old, 'x', m - 12 * MIN, 50_000)]);

      await job.run(new Date(m + 30_000)); // m not complete yet
      expect(await bursts(t, w.agreementId)).toEqual([]);
      await job.run(new Date(m + 11 * MIN)); // m completed 11 minutes ago
      expect(await bursts(t, w.agreementId)).toEqual([]);
      await job.run(new Date(m + 10 * MIN + 59_000)); // m is the oldest minute of the window
      expect(await bursts(t, w.agreementId)).toHaveLength(1);
      await job.run();
      expect(await bursts(t, old.agreementId)).toEqual([]);
    });
  });

  describe('anomalyFlags and acknowledgeAnomalyFlag', () => {
    let vendor: TestUser;
    let a1: MeteringParties; // 25 QUOTA_OVERAGE flags
    let a2: MeteringParties; // a BURST and a USAGE_AFTER_SUSPENSION
    let b1: MeteringParties; // another vendor's agreement, one QUOTA_OVERAGE flag
    let admin: TestUser;
    let outsider: TestUser;
    const vendorFlags = async (vendorId: string) =>
      (await t.dataSource.query(`SELECT id FROM anomaly_flags WHERE vendor_organization_id = $1 ORDER BY created_at DESC, id DESC`, [vendorId])).map(
        (r: any) => r.id,
      );

    beforeAll(async () => {
      a1 = await party(t, { limits: { tokensPerPeriod: '100', tokensPerMinute: null } });
      vendor = a1.vendor;
      const now = Date.now();
      await report(t, a1.reportKey, Array.from({ length: 25 }, (_, i) => ev(a1, `o-${i}`, now - i * HOUR - MIN, 150)));
      a2 = await party(t, { vendor });
      await report(t, a2.reportKey, [ev(a2, 'burst', m, 20_000)]);
      await job.run();
      const s = await t.gql(`mutation($i: AgreementStatusChangeInput!) { suspendAgreement(input: $i) { __typename } }`, { i: { id: a2.agreementId, reason: 'extraction suspected' } }, vendor.token);
      expect(s.errors).toBeUndefined();
      await report(t, a2.reportKey, [ev(a2, 'after-suspension', Date.now(), 10)]);
      b1 = await party(t, { limits: { tokensPerPeriod: '1', tokensPerMinute: null } });
      await report(t, b1.reportKey, [ev(b1, 'o', now - MIN, 10)]);
      admin = await makeAdmin(t, await signUp(t));
      outsider = await signUp(t);
    });

    async function pages(token: string, filter: Record<string, unknown> | null, first: number): Promise<any[]> {
      const nodes: any[] = [];
      let after: string | null = null;
      for (;;) {
        const r: any = await t.gql(FLAGS, { filter, first, after }, token);
        expect(r.errors).toBeUndefined();
        const c = r.data.anomalyFlags;
        expect(c.edges.length).toBeLessThanOrEqual(first);
        nodes.push(...c.edges.map((e: any) => e.node));
        if (!c.pageInfo.hasNextPage) return nodes;
        expect(c.edges).toHaveLength(first);
        after = c.pageInfo.endCursor;
      }
    }

    it("lists the vendor's flags newest first, page by page, without gaps or repeats (ties on createdAt broken by id)", async () => {
      const expected = await vendorFlags(vendor.organizationId);
      expect(expected).toHaveLength(27);
      for (const first of [1, 7, 27, 100]) {
        expect((await pages(vendor.token, { organizationId: vendor.organizationId }, first)).map((n) => n.id)).toEqual(expected);
      }
      // The 25 overage flags were raised in one transaction: same createdAt.
      const created = await t.dataSource.query(`SELECT count(DISTINCT created_at)::int AS n FROM anomaly_flags WHERE agreement_id = $1`, [a1.agreementId]);
      expect(created[0].n).toBe(1);
    });

    it('describes each flag as stored', async () => {
      const nodes = await pages(vendor.token, { organizationId: vendor.organizationId, kinds: ['BURST'] }, 10);
      expect(nodes).toHaveLength(1);
      const [row] = await t.dataSource.query(`SELECT * FROM anomaly_flags WHERE id = $1`, [nodes[0].id]);
      expect(nodes[0]).toEqual({
        id: row.id,
        agreementId: a2.agreementId,
        vendorOrganizationId: vendor.organizationId,
        distillerOrganizationId: a2.distiller.organizationId,
        kind: 'BURST',
        windowStart: iso(m),
        occurrences: 1,
        observedTokens: '20000',
        baselineTokens: '0',
        detail: { factor: 10, previousDayTokens: '0' },
        createdAt: new Date(row.created_at).toISOString(),
        updatedAt: new Date(row.updated_at).toISOString(),
        acknowledgedAt: null,
        acknowledgedBy: null,
        acknowledgementNote: null,
      });
    });

    it('filters by agreement, kinds and acknowledgement', async () => {
      const byAgreement = await pages(vendor.token, { organizationId: vendor.organizationId, agreementId: a1.agreementId }, 100);
      expect(byAgreement).toHaveLength(25);
      expect(new Set(byAgreement.map((n) => n.kind))).toEqual(new Set(['QUOTA_OVERAGE']));
      const kinds = await pages(vendor.token, { organizationId: vendor.organizationId, kinds: ['USAGE_AFTER_SUSPENSION', 'BURST', 'BURST'] }, 100);
      expect(kinds.map((n) => n.kind).sort()).toEqual(['BURST', 'USAGE_AFTER_SUSPENSION']);
      expect(kinds.every((n) => n.agreementId === a2.agreementId)).toBe(true);
      const none = await pages(vendor.token, { organizationId: vendor.organizationId, agreementId: a1.agreementId, kinds: ['BURST'] }, 100);
      expect(none).toEqual([]);

      const target = byAgreement[3].id;
      const ack = await t.gql(ACK, { input: { id: target } }, vendor.token);
      expect(ack.errors).toBeUndefined();
      const acked = await pages(vendor.token, { organizationId: vendor.organizationId, acknowledged: true }, 100);
      expect(acked.map((n) => n.id)).toEqual([target]);
      const open = await pages(vendor.token, { organizationId: vendor.organizationId, acknowledged: false }, 100);
      expect(open).toHaveLength(26);
      expect(open.map((n) => n.id)).not.toContain(target);
    });

    it('acknowledges once: the first acknowledgement stands, audit-logged', async () => {
      const [id] = await vendorFlags(vendor.organizationId);
      const first = await t.gql(ACK, { input: { id, note: '  Spoke with the distiller: a batch job.  ' } }, vendor.token);
      expect(first.errors).toBeUndefined();
      expect(first.data!.acknowledgeAnomalyFlag).toEqual({
        id,
        kind: expect.any(String),
        acknowledgedAt: expect.any(String),
        acknowledgedBy: vendor.userId,
        acknowledgementNote: 'Spoke with the distiller: a batch job.',
        updatedAt: first.data!.acknowledgeAnomalyFlag.acknowledgedAt,
      });
      const again = await t.gql(ACK, { input: { id, note: 'another opinion' } }, admin.token);
      expect(again.data!.acknowledgeAnomalyFlag).toEqual(first.data!.acknowledgeAnomalyFlag);
      const audit = await t.dataSource.query(
        `SELECT actor_user_id, organization_id, data FROM audit_log WHERE action = 'metering.anomaly.acknowledged' AND target_id = $1`,
        [id],
      );
      expect(audit).toEqual([
        {
          actor_user_id: vendor.userId,
          organization_id: vendor.organizationId,
          data: expect.objectContaining({ note: 'Spoke with the distiller: a batch job.', kind: first.data!.acknowledgeAnomalyFlag.kind }),
        },
      ]);
    });

    it('lets a platform admin see every vendor, or one, and acknowledge', async () => {
      const all = await pages(admin.token, null, 100);
      const expected = (await t.dataSource.query(`SELECT id FROM anomaly_flags ORDER BY created_at DESC, id DESC`)).map((r: any) => r.id);
      expect(all.map((n) => n.id)).toEqual(expected);
      expect(all.some((n) => n.vendorOrganizationId === b1.vendor.organizationId)).toBe(true);
      const one = await pages(admin.token, { organizationId: b1.vendor.organizationId }, 100);
      expect(one.map((n) => n.id)).toEqual(await vendorFlags(b1.vendor.organizationId));
      expect(one).toHaveLength(1);
      const ack = await t.gql(ACK, { input: { id: one[0].id } }, admin.token);
      expect(ack.data!.acknowledgeAnomalyFlag).toMatchObject({ id: one[0].id, acknowledgedBy: admin.userId, acknowledgementNote: null });
    });

    it('works with API keys: READ lists, WRITE acknowledges (acknowledgedBy stays null), READ alone may not acknowledge', async () => {
      const readKey = (await createApiKey(t, vendor, ['READ'])).secret;
      const writeKey = (await createApiKey(t, vendor, ['WRITE'])).secret;
      expect((await pages(readKey, { organizationId: vendor.organizationId }, 100)).length).toBe(27);
      const open = await pages(readKey, { organizationId: vendor.organizationId, acknowledged: false }, 100);
      const refused = await t.gql(ACK, { input: { id: open[0].id } }, readKey);
      expect(errorOf(refused).code).toBe('FORBIDDEN');
      const [row] = await t.dataSource.query(`SELECT acknowledged_at FROM anomaly_flags WHERE id = $1`, [open[0].id]);
      expect(row.acknowledged_at).toBeNull();
      const ok = await t.gql(ACK, { input: { id: open[0].id, note: 'by the ops bot' } }, writeKey);
      expect(ok.data!.acknowledgeAnomalyFlag).toMatchObject({ acknowledgedBy: null, acknowledgementNote: 'by the ops bot' });
      const [audit] = await t.dataSource.query(`SELECT actor_api_key_id FROM audit_log WHERE action = 'metering.anomaly.acknowledged' AND target_id = $1`, [open[0].id]);
      expect(audit.actor_api_key_id).not.toBeNull();
    });

    it('shows the distiller nothing about itself, and lets it acknowledge nothing', async () => {
      const d = a1.distiller;
      expect(await pages(d.token, { organizationId: d.organizationId }, 100)).toEqual([]);
      const asVendor = await t.gql(FLAGS, { filter: { organizationId: vendor.organizationId } }, d.token);
      expect(errorOf(asVendor).code).toBe('NOT_FOUND');
      const byAgreement = await t.gql(FLAGS, { filter: { organizationId: d.organizationId, agreementId: a1.agreementId } }, d.token);
      expect(errorOf(byAgreement).code).toBe('NOT_FOUND');
      // A flag about this very distiller (on a1), not yet acknowledged.
      const [id] = (await t.dataSource.query(`SELECT id FROM anomaly_flags WHERE agreement_id = $1 AND acknowledged_at IS NULL LIMIT 1`, [a1.agreementId])).map((r: any) => r.id);
      const flag = await t.gql(ACK, { input: { id } }, d.token);
      const unknown = randomUUID();
      const missing = await t.gql(ACK, { input: { id: unknown } }, d.token);
      expect(errorOf(flag).code).toBe('NOT_FOUND');
      expect(flag.errors![0].message.replace(id, '<id>')).toBe(missing.errors![0].message.replace(unknown, '<id>'));
      const [row] = await t.dataSource.query(`SELECT acknowledged_at FROM anomaly_flags WHERE id = $1`, [id]);
      expect(row.acknowledged_at).toBeNull();
    });

    it("answers NOT_FOUND for another vendor's organization, agreements and flags, as for unknown ids", async () => {
      const other = b1.vendor;
      const same = async (query: string, vars: (id: string) => Record<string, unknown>, foreignId: string, token: string) => {
        const unknownId = randomUUID();
        const foreign = await t.gql(query, vars(foreignId), token);
        const missing = await t.gql(query, vars(unknownId), token);
        expect(errorOf(foreign).code).toBe('NOT_FOUND');
        expect(foreign.data).toBeNull();
        expect(foreign.errors![0].message.replace(foreignId, '<id>')).toBe(missing.errors![0].message.replace(unknownId, '<id>'));
        expect(foreign.errors![0].extensions).toEqual(missing.errors![0].extensions);
      };
      await same(FLAGS, (id) => ({ filter: { organizationId: id } }), vendor.organizationId, other.token);
      await same(FLAGS, (id) => ({ filter: { organizationId: id } }), vendor.organizationId, outsider.token);
      await same(FLAGS, (id) => ({ filter: { organizationId: other.organizationId, agreementId: id } }), a1.agreementId, other.token);
      const [flagId] = await vendorFlags(vendor.organizationId);
      const before = await t.dataSource.query(`SELECT * FROM anomaly_flags WHERE id = $1`, [flagId]);
      await same(ACK, (id) => ({ input: { id, note: 'not mine' } }), flagId, other.token);
      await same(ACK, (id) => ({ input: { id } }), flagId, outsider.token);
      expect(await t.dataSource.query(`SELECT * FROM anomaly_flags WHERE id = $1`, [flagId])).toEqual(before);
    });

    it('refuses bad input, writing nothing', async () => {
      const org = vendor.organizationId;
      const missingOrg = await t.gql(FLAGS, { filter: { kinds: ['BURST'] } }, vendor.token);
      expect(errorOf(missingOrg)).toEqual({ code: 'BAD_USER_INPUT', fields: [{ field: 'filter.organizationId', message: expect.any(String) }] });
      expect(errorOf(await t.gql(FLAGS, {}, vendor.token)).code).toBe('BAD_USER_INPUT');
      expect(errorOf(await t.gql(FLAGS, { filter: { organizationId: org, kinds: [] } }, vendor.token)).code).toBe('BAD_USER_INPUT');
      expect(errorOf(await t.gql(FLAGS, { filter: { organizationId: org, kinds: ['NOPE'] } }, vendor.token)).code).toBe('BAD_USER_INPUT');
      expect(errorOf(await t.gql(FLAGS, { filter: { organizationId: 'not-a-uuid' } }, vendor.token)).code).toBe('BAD_USER_INPUT');
      expect(errorOf(await t.gql(FLAGS, { filter: { organizationId: org }, first: 101 }, vendor.token)).code).toBe('BAD_USER_INPUT');
      expect(errorOf(await t.gql(FLAGS, { filter: { organizationId: org }, first: 0 }, vendor.token)).code).toBe('BAD_USER_INPUT');

      const page = await t.gql(FLAGS, { filter: { organizationId: org }, first: 1 }, vendor.token);
      const cursor = Buffer.from(page.data!.anomalyFlags.pageInfo.endCursor, 'base64url').toString();
      const b64 = (s: string) => Buffer.from(s).toString('base64url');
      for (const after of ['nonsense', b64(cursor.replace('anomaly-flag', 'usage-event')), b64(cursor.replace(/\|.*$/, '|not-a-uuid')), b64(cursor.replace(/T\d\d/, 'T25'))]) {
        const r = await t.gql(FLAGS, { filter: { organizationId: org }, after }, vendor.token);
        expect({ after, ...errorOf(r) }).toEqual({ after, code: 'BAD_USER_INPUT', fields: [{ field: 'after', message: 'invalid cursor' }] });
      }

      const open = await pages(vendor.token, { organizationId: org, acknowledged: false }, 100);
      const id = open[0].id;
      const before = await t.dataSource.query(`SELECT (SELECT count(*) FROM audit_log) AS audit, (SELECT acknowledged_at FROM anomaly_flags WHERE id = $1) AS ack`, [id]);
      const long = await t.gql(ACK, { input: { id, note: 'x'.repeat(2001) } }, vendor.token);
      expect(errorOf(long)).toEqual({ code: 'BAD_USER_INPUT', fields: [{ field: 'note', message: expect.any(String) }] });
      expect(errorOf(await t.gql(ACK, { input: { id: 'nope' } }, vendor.token)).code).toBe('BAD_USER_INPUT');
      expect(await t.dataSource.query(`SELECT (SELECT count(*) FROM audit_log) AS audit, (SELECT acknowledged_at FROM anomaly_flags WHERE id = $1) AS ack`, [id])).toEqual(before);
      const max = await t.gql(ACK, { input: { id, note: 'y'.repeat(2000) } }, vendor.token);
      expect(max.data!.acknowledgeAnomalyFlag.acknowledgementNote).toHaveLength(2000);
    });
  });
});
