/**
 * Vendor usage ingestion, POST /v1/usage/events: per-event outcomes,
 * idempotency under concurrency, overage, rollups that equal the raw events,
 * and every refusal writing nothing.
 */
import { startTestApp, TestApp } from './support/app';
import { configureUpstream, createApiKey, meteringParties, MeteringParties, reportUsage, usageEvent } from './support/metering';
import { signUp } from './support/users';

const countEvents = async (t: TestApp, agreementId: string) =>
  Number((await t.dataSource.query(`SELECT count(*) AS n FROM usage_events WHERE agreement_id = $1`, [agreementId]))[0].n);

/** Rollups must always equal the raw events they summarise. */
async function expectRollupsConsistent(t: TestApp, agreementId: string): Promise<void> {
  const [raw] = await t.dataSource.query(
    `SELECT coalesce(sum(input_tokens), 0)::text AS i, coalesce(sum(output_tokens), 0)::text AS o,
            coalesce(sum(overage_tokens), 0)::text AS v, count(*)::text AS n
       FROM usage_events WHERE agreement_id = $1`,
    [agreementId],
  );
  const [period] = await t.dataSource.query(
    `SELECT coalesce(sum(input_tokens), 0)::text AS i, coalesce(sum(output_tokens), 0)::text AS o,
            coalesce(sum(overage_tokens), 0)::text AS v, coalesce(sum(events), 0)::text AS n
       FROM usage_period_totals WHERE agreement_id = $1`,
    [agreementId],
  );
  const [hour] = await t.dataSource.query(
    `SELECT coalesce(sum(input_tokens), 0)::text AS i, coalesce(sum(output_tokens), 0)::text AS o,
            coalesce(sum(overage_tokens), 0)::text AS v, coalesce(sum(events), 0)::text AS n
       FROM usage_rollups_hour WHERE agreement_id = $1`,
    [agreementId],
  );
  expect(period).toEqual(raw);
  expect(hour).toEqual(raw);
}

describe('usage ingestion (e2e)', () => {
  let t: TestApp;
  let p: MeteringParties;

  beforeAll(async () => {
    t = await startTestApp({ logLevel: 'error' });
    p = await meteringParties(t);
  });
  afterAll(() => t.close());

  it('accepts new events, answers duplicates for retries, and refuses a reused id with another payload', async () => {
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const first = await reportUsage(t, p.reportKey, {
      events: [usageEvent(p.agreementId, 'evt-1', { occurredAt: at, metadata: { job: 'a', n: 1 } }), usageEvent(p.agreementId, 'evt-2', { occurredAt: at })],
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ accepted: 2, duplicates: 0, rejected: 0 });
    expect(first.body.results).toEqual([
      { index: 0, id: 'evt-1', status: 'accepted', overageTokens: 0 },
      { index: 1, id: 'evt-2', status: 'accepted', overageTokens: 0 },
    ]);
    expect(first.headers['x-request-id']).toBeDefined();

    // The same instant spelled differently, metadata keys in another order: the same event.
    const retry = await reportUsage(t, p.reportKey, {
      events: [
        usageEvent(p.agreementId, 'evt-1', { occurredAt: at.replace('Z', '.000+00:00'), metadata: { n: 1, job: 'a' } }),
        usageEvent(p.agreementId, 'evt-2', { occurredAt: at, outputTokens: 51 }),
      ],
    });
    expect(retry.body.results[0]).toEqual({ index: 0, id: 'evt-1', status: 'duplicate' });
    expect(retry.body.results[1]).toMatchObject({ index: 1, id: 'evt-2', status: 'rejected', reason: 'ID_REUSED' });
    expect(retry.body).toMatchObject({ accepted: 0, duplicates: 1, rejected: 1 });
    expect(await countEvents(t, p.agreementId)).toBe(2);
    const [row] = await t.dataSource.query(`SELECT output_tokens, source, estimated FROM usage_events WHERE event_id = 'evt-2'`);
    expect(row).toEqual({ output_tokens: '50', source: 'REPORTED', estimated: false });
    await expectRollupsConsistent(t, p.agreementId);
  });

  it('judges repeated ids inside one batch against their first occurrence', async () => {
    const occurredAt = new Date(Date.now() - 30_000).toISOString();
    const r = await reportUsage(t, p.reportKey, {
      events: [
        usageEvent(p.agreementId, 'dup-1', { inputTokens: 7, occurredAt }),
        usageEvent(p.agreementId, 'dup-1', { inputTokens: 7, occurredAt }),
        usageEvent(p.agreementId, 'dup-1', { inputTokens: 8, occurredAt }),
      ],
    });
    expect(r.body.results.map((x: { status: string; reason?: string }) => x.reason ?? x.status)).toEqual(['accepted', 'duplicate', 'ID_REUSED']);
    const [row] = await t.dataSource.query(`SELECT input_tokens FROM usage_events WHERE event_id = 'dup-1'`);
    expect(row.input_tokens).toBe('7');
    await expectRollupsConsistent(t, p.agreementId);
  });

  it('rejects each malformed event with a reason and stores the valid ones beside it', async () => {
    const before = await countEvents(t, p.agreementId);
    const now = Date.now();
    const cases: Array<[Record<string, unknown> | unknown, string]> = [
      [usageEvent(p.agreementId, 'neg', { inputTokens: -1 }), 'INVALID_TOKENS'],
      [usageEvent(p.agreementId, 'frac', { outputTokens: 1.5 }), 'INVALID_TOKENS'],
      [usageEvent(p.agreementId, 'huge', { inputTokens: 1e19 }), 'INVALID_TOKENS'],
      [usageEvent(p.agreementId, 'str', { inputTokens: '100' }), 'INVALID_TOKENS'],
      [usageEvent(p.agreementId, 'nul', { outputTokens: null }), 'INVALID_TOKENS'],
      [usageEvent(p.agreementId, 'has space'), 'INVALID_ID'],
      [usageEvent(p.agreementId, 'x'.repeat(129)), 'INVALID_ID'],
      [{ ...usageEvent(p.agreementId, 'noid'), id: 42 }, 'INVALID_ID'],
      [usageEvent('not-a-uuid', 'bad-agreement'), 'INVALID_AGREEMENT_ID'],
      [usageEvent(p.agreementId, 'no-zone', { occurredAt: '2026-11-27T10:00:00' }), 'INVALID_OCCURRED_AT'],
      [usageEvent(p.agreementId, 'future', { occurredAt: new Date(now + 10 * 60_000).toISOString() }), 'OCCURRED_IN_FUTURE'],
      [usageEvent(p.agreementId, 'old', { occurredAt: new Date(now - 36 * 86_400_000).toISOString() }), 'OCCURRED_TOO_LONG_AGO'],
      [usageEvent(p.agreementId, 'typo', { input_tokens: 5 }), 'UNKNOWN_FIELD'],
      [usageEvent(p.agreementId, 'meta', { metadata: [1, 2] }), 'INVALID_METADATA'],
      [usageEvent(p.agreementId, 'bigmeta', { metadata: { blob: 'x'.repeat(5000) } }), 'INVALID_METADATA'],
      ['just a string', 'INVALID_EVENT'],
      [usageEvent('00000000-0000-4000-8000-000000000000', 'unknown-agreement'), 'AGREEMENT_NOT_FOUND'],
    ];
    const r = await reportUsage(t, p.reportKey, { events: [...cases.map(([e]) => e), usageEvent(p.agreementId, 'valid-neighbour')] });
    expect(r.status).toBe(200);
    cases.forEach(([, reason], i) => {
      expect(r.body.results[i]).toMatchObject({ index: i, status: 'rejected', reason });
      expect(typeof r.body.results[i].message).toBe('string');
    });
    expect(r.body.results[cases.length]).toMatchObject({ status: 'accepted', id: 'valid-neighbour' });
    expect(r.body).toMatchObject({ accepted: 1, rejected: cases.length });
    expect(await countEvents(t, p.agreementId)).toBe(before + 1);
  });

  it('refuses a body nested deeper than the limit with a 400 naming it, and stores nothing', async () => {
    const before = await countEvents(t, p.agreementId);
    // 5,000 levels of metadata (about 30 KB): walking it recursively overflowed the stack (500).
    // (Built as text: even JSON.stringify overflows on it.)
    const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    const withDeep = (json: string) => json.replace('"__DEEP__"', deep);
    const events = JSON.stringify({ events: [usageEvent(p.agreementId, 'deep', { metadata: '__DEEP__' }), usageEvent(p.agreementId, 'deep-neighbour')] });
    const r = await reportUsage(t, p.reportKey, withDeep(events));
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', code: 'json_too_deep' });
    expect(r.body.error.message).toBe('The JSON body is nested more than 32 levels deep (the limit)');
    expect(await countEvents(t, p.agreementId)).toBe(before);
    // The gateway's body has the same limit.
    const g = await t.request({
      method: 'POST',
      url: '/v1/gateway/chat/completions',
      headers: { authorization: `Bearer ${p.gatewayKey}` },
      body: withDeep(JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], extra: '__DEEP__' })),
    });
    expect(g.status).toBe(400);
    expect(g.body.error.code).toBe('json_too_deep');
  });

  it('refuses NUL characters in metadata (PostgreSQL cannot store them) and strings as token counts, naming the field', async () => {
    const before = await countEvents(t, p.agreementId);
    const r = await reportUsage(t, p.reportKey, {
      events: [
        usageEvent(p.agreementId, 'nul-value', { metadata: { job: 'run\u000042' } }),
        usageEvent(p.agreementId, 'nul-key', { metadata: { nested: { ['k\u0000']: 1 } } }),
        usageEvent(p.agreementId, 'string-tokens', { inputTokens: '5' }),
        usageEvent(p.agreementId, 'nul-neighbour', { metadata: { job: 'clean' } }),
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.results.slice(0, 3)).toEqual([
      { index: 0, id: 'nul-value', status: 'rejected', reason: 'INVALID_METADATA', message: 'metadata must not contain NUL characters (found at metadata.job)' },
      { index: 1, id: 'nul-key', status: 'rejected', reason: 'INVALID_METADATA', message: 'metadata must not contain NUL characters (found at metadata.nested.k\\u0000)' },
      { index: 2, id: 'string-tokens', status: 'rejected', reason: 'INVALID_TOKENS', message: 'inputTokens must be a JSON integer (got string)' },
    ]);
    expect(r.body.results[3]).toMatchObject({ status: 'accepted', id: 'nul-neighbour' });
    expect(await countEvents(t, p.agreementId)).toBe(before + 1);
  });

  it('rejects usage dated before the agreement started', async () => {
    const [a] = await t.dataSource.query(`SELECT starts_at FROM license_agreements WHERE id = $1`, [p.agreementId]);
    const r = await reportUsage(t, p.reportKey, {
      events: [usageEvent(p.agreementId, 'too-early', { occurredAt: new Date(a.starts_at.getTime() - 3_600_000).toISOString() })],
    });
    expect(r.body.results[0]).toMatchObject({ status: 'rejected', reason: 'BEFORE_AGREEMENT_START' });
  });

  describe('authorization', () => {
    it('rejects agreements on another vendor\'s models as not found, and writes nothing for them', async () => {
      const other = await meteringParties(t);
      const r = await reportUsage(t, p.reportKey, { events: [usageEvent(other.agreementId, 'foreign-1')] });
      expect(r.body.results[0]).toMatchObject({ status: 'rejected', reason: 'AGREEMENT_NOT_FOUND' });
      expect(r.body.results[0].message).not.toContain(other.vendor.organizationId);
      expect(await countEvents(t, other.agreementId)).toBe(0);
    });

    it('requires an API key with the USAGE_REPORT scope', async () => {
      const body = { events: [usageEvent(p.agreementId, 'auth-1')] };
      const none = await reportUsage(t, null, body);
      expect(none.status).toBe(401);
      expect(none.body.error).toMatchObject({ type: 'authentication_error', code: 'missing_api_key' });
      const session = await reportUsage(t, p.vendor.token, body);
      expect(session.status).toBe(401);
      const bogus = await reportUsage(t, `${p.reportKey.slice(0, -4)}AAAA`, body);
      expect(bogus.status).toBe(401);
      const readKey = await createApiKey(t, p.vendor, ['READ', 'WRITE']);
      const wrongScope = await reportUsage(t, readKey.secret, body);
      expect(wrongScope.status).toBe(403);
      expect(wrongScope.body.error.code).toBe('insufficient_scope');
      // The distiller's gateway key cannot report usage either.
      expect((await reportUsage(t, p.gatewayKey, body)).status).toBe(403);

      const revocable = await createApiKey(t, p.vendor, ['USAGE_REPORT']);
      await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: revocable.id }, p.vendor.token);
      const revoked = await reportUsage(t, revocable.secret, body);
      expect(revoked.status).toBe(401);
      expect(revoked.body.error.code).toBe('invalid_api_key');
      expect(await t.dataSource.query(`SELECT 1 FROM usage_events WHERE event_id = 'auth-1'`)).toHaveLength(0);
    });

    it('lets a member organization report only for its own vendor organization', async () => {
      const vendor2 = await signUp(t);
      const key2 = await createApiKey(t, vendor2, ['USAGE_REPORT']);
      const r = await reportUsage(t, key2.secret, { events: [usageEvent(p.agreementId, 'other-vendor')] });
      expect(r.body.results[0].reason).toBe('AGREEMENT_NOT_FOUND');
    });
  });

  describe('request limits', () => {
    it('refuses more than 1,000 events with 413 and stores none of them', async () => {
      const events = Array.from({ length: 1001 }, (_, i) => usageEvent(p.agreementId, `over-${i}`));
      const r = await reportUsage(t, p.reportKey, { events });
      expect(r.status).toBe(413);
      expect(r.body.error).toMatchObject({ code: 'too_many_events', param: 'events' });
      expect(await t.dataSource.query(`SELECT 1 FROM usage_events WHERE event_id LIKE 'over-%'`)).toHaveLength(0);
    });

    it('takes exactly 1,000 events', async () => {
      const events = Array.from({ length: 1000 }, (_, i) => usageEvent(p.agreementId, `full-${i}`, { inputTokens: i }));
      const r = await reportUsage(t, p.reportKey, { events });
      expect(r.status).toBe(200);
      expect(r.body.accepted).toBe(1000);
      await expectRollupsConsistent(t, p.agreementId);
    });

    it('refuses a body over 1 MiB with 413', async () => {
      const events = Array.from({ length: 300 }, (_, i) => usageEvent(p.agreementId, `fat-${i}`, { metadata: { pad: 'x'.repeat(3900) } }));
      const r = await reportUsage(t, p.reportKey, { events });
      expect(r.status).toBe(413);
      expect(r.body.error.type).toBe('request_too_large');
      expect(await t.dataSource.query(`SELECT 1 FROM usage_events WHERE event_id LIKE 'fat-%'`)).toHaveLength(0);
    });

    it('explains a body that is not a batch', async () => {
      const notJson = await t.request({ method: 'POST', url: '/v1/usage/events', headers: { authorization: `Bearer ${p.reportKey}` }, body: '{"events": [' });
      expect(notJson.status).toBe(400);
      expect(notJson.body.error.code).toBe('invalid_body');
      const noEvents = await reportUsage(t, p.reportKey, { items: [] });
      expect(noEvents.status).toBe(400);
      expect(noEvents.body.error.param).toBe('events');
    });
  });

  describe('concurrency', () => {
    it('stores an event sent 50 times concurrently exactly once', async () => {
      const q = await meteringParties(t);
      const event = usageEvent(q.agreementId, 'storm-1', { inputTokens: 1000, outputTokens: 1 });
      const answers = await Promise.all(Array.from({ length: 50 }, () => reportUsage(t, q.reportKey, { events: [event] })));
      const statuses = answers.map((a) => a.body.results[0].status);
      expect(statuses.filter((s) => s === 'accepted')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(49);
      expect(await countEvents(t, q.agreementId)).toBe(1);
      const [total] = await t.dataSource.query(`SELECT input_tokens, events FROM usage_period_totals WHERE agreement_id = $1`, [q.agreementId]);
      expect(total).toEqual({ input_tokens: '1000', events: '1' });
      await expectRollupsConsistent(t, q.agreementId);
    });

    it('keeps rollups equal to the events under concurrent overlapping batches', async () => {
      const q = await meteringParties(t);
      const occurredAt = new Date(Date.now() - 10_000).toISOString();
      const batches = Array.from({ length: 8 }, (_, b) =>
        Array.from({ length: 40 }, (_, i) =>
          usageEvent(q.agreementId, `ov-${(b * 25 + i) % 200}`, { inputTokens: ((b * 25 + i) % 200) + 1, outputTokens: 3, occurredAt }),
        ),
      );
      const answers = await Promise.all(batches.map((events) => reportUsage(t, q.reportKey, { events })));
      const accepted = answers.reduce((n, a) => n + a.body.accepted, 0);
      expect(accepted).toBe(await countEvents(t, q.agreementId));
      expect(answers.every((a) => a.body.rejected === 0)).toBe(true);
      await expectRollupsConsistent(t, q.agreementId);
    });
  });

  describe('quota', () => {
    it('stores usage beyond the period quota as overage, flags it, and refuses further gateway pre-authorisation', async () => {
      const q = await meteringParties(t, { limits: { tokensPerPeriod: '1000', tokensPerMinute: null } });
      await configureUpstream(t, q, 'http://127.0.0.1:9/v1');
      const r = await reportUsage(t, q.reportKey, {
        events: [
          usageEvent(q.agreementId, 'q-1', { inputTokens: 600, outputTokens: 0 }),
          usageEvent(q.agreementId, 'q-2', { inputTokens: 300, outputTokens: 300 }),
          usageEvent(q.agreementId, 'q-3', { inputTokens: 50, outputTokens: 0 }),
        ],
      });
      expect(r.body).toMatchObject({ accepted: 3 });
      expect(r.body.results.map((x: { overageTokens: number }) => x.overageTokens)).toEqual([0, 200, 50]);
      expect(await countEvents(t, q.agreementId)).toBe(3);
      const [total] = await t.dataSource.query(`SELECT input_tokens, output_tokens, overage_tokens FROM usage_period_totals WHERE agreement_id = $1`, [q.agreementId]);
      expect(total).toEqual({ input_tokens: '950', output_tokens: '300', overage_tokens: '250' });
      const flags = await t.dataSource.query(`SELECT kind, observed_tokens, occurrences FROM anomaly_flags WHERE agreement_id = $1`, [q.agreementId]);
      expect(flags).toEqual([{ kind: 'QUOTA_OVERAGE', observed_tokens: '250', occurrences: 2 }]);

      const gw = await t.request({
        method: 'POST',
        url: '/v1/gateway/chat/completions',
        headers: { authorization: `Bearer ${q.gatewayKey}` },
        body: { model: 'teacher', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 },
      });
      expect(gw.status).toBe(429);
      expect(gw.body.error.code).toBe('insufficient_quota');
      expect(Number(gw.headers['retry-after'])).toBeGreaterThan(0);
      expect(gw.headers['x-ratelimit-remaining-tokens']).toBe('0');
      await expectRollupsConsistent(t, q.agreementId);
    });
  });

  it('stores usage reported after a suspension and flags it', async () => {
    const q = await meteringParties(t);
    const s = await t.gql(
      `mutation($i: AgreementStatusChangeInput!) { suspendAgreement(input: $i) { __typename } }`,
      { i: { id: q.agreementId, reason: 'extraction suspected' } },
      q.vendor.token,
    );
    expect(s.errors).toBeUndefined();
    const r = await reportUsage(t, q.reportKey, { events: [usageEvent(q.agreementId, 'late-1', { occurredAt: new Date().toISOString() })] });
    expect(r.body).toMatchObject({ accepted: 1 });
    const flags = await t.dataSource.query(`SELECT kind, detail FROM anomaly_flags WHERE agreement_id = $1`, [q.agreementId]);
    expect(flags).toEqual([{ kind: 'USAGE_AFTER_SUSPENSION', detail: expect.objectContaining({ status: 'SUSPENDED', source: 'REPORTED' }) }]);
  });

  it('keeps usage events immutable in the database', async () => {
    await expect(t.dataSource.query(`UPDATE usage_events SET input_tokens = 0 WHERE agreement_id = $1`, [p.agreementId])).rejects.toThrow(/immutable/);
    await expect(t.dataSource.query(`DELETE FROM usage_events WHERE agreement_id = $1`, [p.agreementId])).rejects.toThrow(/immutable/);
  });
});
