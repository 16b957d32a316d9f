/**
 * usageSummary and usageEvents: every figure read back equals the raw events
 * (summed here in SQL as the oracle), buckets in UTC, ranges validated, keyset
 * pages that neither skip nor repeat, and the agreement visible to its two
 * parties and platform admins only (anyone else: NOT_FOUND, like an unknown id).
 */
import { randomUUID } from 'node:crypto';
import { startTestApp, TestApp } from './support/app';
import { createApiKey, meteringParties, MeteringParties, reportUsage, usageEvent } from './support/metering';
import { makeAdmin, signUp, TestUser } from './support/users';

jest.setTimeout(120_000);

const HOUR = 3_600_000;
const DAY = 86_400_000;

const SUMMARY = `query($agreementId: ID!, $from: DateTime!, $to: DateTime!, $granularity: UsageGranularity!) {
  usageSummary(agreementId: $agreementId, from: $from, to: $to, granularity: $granularity) {
    agreementId granularity from to
    buckets { start inputTokens outputTokens totalTokens overageTokens events estimatedEvents }
    totals { inputTokens outputTokens totalTokens overageTokens events estimatedEvents }
    limits { tokensPerPeriod tokensPerMinute }
    currentPeriod { start end inputTokens outputTokens totalTokens overageTokens events tokensPerPeriod remainingTokens }
  } }`;

const EVENTS = `query($agreementId: ID!, $first: Int, $after: String) {
  usageEvents(agreementId: $agreementId, first: $first, after: $after) {
    edges { cursor node { eventId source occurredAt receivedAt inputTokens outputTokens overageTokens status estimated metadata } }
    pageInfo { hasNextPage endCursor } } }`;

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lets the vendor report usage up to 35 days back (an agreement only takes usage from its start). */
const backdate = (t: TestApp, agreementId: string, days = 40) =>
  t.dataSource.query(`UPDATE license_agreements SET starts_at = now() - make_interval(days => $2) WHERE id = $1`, [agreementId, days]);

async function reportOk(t: TestApp, key: string, events: unknown[]): Promise<any> {
  const r = await reportUsage(t, key, { events });
  if (r.status !== 200) throw new Error(`report: ${r.status} ${r.text}`);
  return r.body;
}

/** The oracle: sums over the raw events, in SQL, optionally within [from, to). */
async function rawTotals(t: TestApp, agreementId: string, from?: Date, to?: Date) {
  const [r] = await t.dataSource.query(
    `SELECT coalesce(sum(input_tokens), 0)::text AS "inputTokens", coalesce(sum(output_tokens), 0)::text AS "outputTokens",
            coalesce(sum(input_tokens + output_tokens), 0)::text AS "totalTokens", coalesce(sum(overage_tokens), 0)::text AS "overageTokens",
            count(*)::text AS events, count(*) FILTER (WHERE estimated)::text AS "estimatedEvents"
       FROM usage_events
      WHERE agreement_id = $1 AND ($2::timestamptz IS NULL OR occurred_at >= $2) AND ($3::timestamptz IS NULL OR occurred_at < $3)`,
    [agreementId, from?.toISOString() ?? null, to?.toISOString() ?? null],
  );
  return r;
}

/** Non-empty buckets computed from the raw events, keyed by ISO start. */
async function rawBuckets(t: TestApp, agreementId: string, unit: 'hour' | 'day', from: Date, to: Date): Promise<Map<string, Record<string, string>>> {
  const rows = await t.dataSource.query(
    `SELECT date_trunc($2, occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start,
            sum(input_tokens)::text AS "inputTokens", sum(output_tokens)::text AS "outputTokens",
            sum(input_tokens + output_tokens)::text AS "totalTokens", sum(overage_tokens)::text AS "overageTokens",
            count(*)::text AS events, count(*) FILTER (WHERE estimated)::text AS "estimatedEvents"
       FROM usage_events WHERE agreement_id = $1 AND occurred_at >= $3 AND occurred_at < $4 GROUP BY 1`,
    [agreementId, unit, from.toISOString(), to.toISOString()],
  );
  return new Map(rows.map((r: any) => [new Date(r.start).toISOString(), { inputTokens: r.inputTokens, outputTokens: r.outputTokens, totalTokens: r.totalTokens, overageTokens: r.overageTokens, events: r.events, estimatedEvents: r.estimatedEvents }]));
}

const errorOf = (r: { errors?: any[] }) => ({ code: r.errors?.[0]?.extensions.code, fields: r.errors?.[0]?.extensions.fields });

describe('usage queries (e2e)', () => {
  let t: TestApp;
  let p: MeteringParties;
  let outsider: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    p = await meteringParties(t, { limits: { tokensPerPeriod: '2000000000000000', tokensPerMinute: '900000' } });
    await backdate(t, p.agreementId);
    outsider = await signUp(t);
    admin = await makeAdmin(t, await signUp(t));
  });
  afterAll(() => t?.close());

  describe('usageSummary', () => {
    it('totals equal the sum of the accepted events exactly (random batches, beyond 2^53 tokens)', async () => {
      const rnd = prng(20261127);
      const now = Date.now();
      let acceptedTokens = 0n;
      let acceptedEvents = 0;
      let previous: any[] = [];
      for (let batch = 0; batch < 10; batch++) {
        // Retries of part of the previous batch (same payloads): duplicates, never counted twice.
        const retries = previous.slice(0, 20);
        const events: any[] = [...retries];
        for (let i = events.length; i < 1000; i++) {
          const id = `rnd-${batch}-${i}`;
          const roll = rnd();
          if (roll < 0.03) {
            events.push(usageEvent(p.agreementId, id, { inputTokens: -1 })); // rejected
            continue;
          }
          const big = roll < 0.6;
          events.push(
            usageEvent(p.agreementId, id, {
              occurredAt: new Date(now - 60_000 - Math.floor(rnd() * 34 * DAY)).toISOString(),
              inputTokens: big ? 999_000_000_000 + Math.floor(rnd() * 1_000_000_000) : Math.floor(rnd() * 100_000),
              outputTokens: big ? 999_000_000_000 + Math.floor(rnd() * 1_000_000_000) : Math.floor(rnd() * 50_000),
            }),
          );
        }
        const body = await reportOk(t, p.reportKey, events);
        expect(body.duplicates).toBe(retries.filter((e) => e.inputTokens >= 0).length);
        body.results.forEach((r: any, i: number) => {
          if (r.status !== 'accepted') return;
          acceptedEvents++;
          acceptedTokens += BigInt(events[i].inputTokens) + BigInt(events[i].outputTokens);
        });
        previous = events.slice(retries.length);
      }
            expect(acceptedTokens > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);

      const raw = await rawTotals(t, p.agreementId);
      expect(raw.totalTokens).toBe(acceptedTokens.toString());
      expect(raw.events).toBe(String(acceptedEvents));

      const from = new Date(now - 36 * DAY);
      const to = new Date(now + DAY);
      const day = await t.gql(SUMMARY, { agreementId: p.agreementId, from: from.toISOString(), to: to.toISOString(), granularity: 'DAY' }, p.distiller.token);
      expect(day.errors).toBeUndefined();
      expect(day.data!.usageSummary.totals).toEqual(raw);
      // Bucket by bucket too.
      const s = day.data!.usageSummary;
      const expected = await rawBuckets(t, p.agreementId, 'day', new Date(s.from), new Date(s.to));
      const nonEmpty = s.buckets.filter((b: any) => b.events !== '0');
      expect(new Map(nonEmpty.map(({ start, ...rest }: any) => [start, rest]))).toEqual(expected);

      const hourFrom = new Date(now - 35 * DAY);
      const hour = await t.gql(SUMMARY, { agreementId: p.agreementId, from: hourFrom.toISOString(), to: to.toISOString(), granularity: 'HOUR' }, p.vendor.token);
      expect(hour.errors).toBeUndefined();
      const hs = hour.data!.usageSummary;
      expect(hs.totals).toEqual(await rawTotals(t, p.agreementId, new Date(hs.from), new Date(hs.to)));
      expect(hs.buckets).toHaveLength((new Date(hs.to).getTime() - new Date(hs.from).getTime()) / HOUR);
      const hourly = await rawBuckets(t, p.agreementId, 'hour', new Date(hs.from), new Date(hs.to));
      expect(new Map(hs.buckets.filter((b: any) => b.events !== '0').map(({ start, ...rest }: any) => [start, rest]))).toEqual(hourly);

      // The current period: the raw events of this calendar month (UTC).
      const d = new Date();
      const monthStart = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
      const monthEnd = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
      const month = await rawTotals(t, p.agreementId, monthStart, monthEnd);
      expect(hs.currentPeriod).toEqual({
        start: monthStart.toISOString(),
        end: monthEnd.toISOString(),
        inputTokens: month.inputTokens,
        outputTokens: month.outputTokens,
        totalTokens: month.totalTokens,
        overageTokens: month.overageTokens,
        events: month.events,
        tokensPerPeriod: '2000000000000000',
        remainingTokens: (2_000_000_000_000_000n > BigInt(month.totalTokens) ? 2_000_000_000_000_000n - BigInt(month.totalTokens) : 0n).toString(),
      });
      expect(hs.limits).toEqual({ tokensPerPeriod: '2000000000000000', tokensPerMinute: '900000' });
      // Usage went beyond the quota: the overage is in the totals too.
      expect(BigInt(raw.overageTokens)).toBeGreaterThan(0n);
    });

    it('puts usage in UTC buckets, zero-fills the range, and aligns from/to down to the bucket', async () => {
      const q = await meteringParties(t, { limits: { tokensPerPeriod: '1000', tokensPerMinute: null } });
      await backdate(t, q.agreementId);
      const h0 = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR; // five hours ago, on the hour
      await reportOk(t, q.reportKey, [
        usageEvent(q.agreementId, 'a', { occurredAt: new Date(h0).toISOString(), inputTokens: 10, outputTokens: 1 }),
        usageEvent(q.agreementId, 'b', { occurredAt: new Date(h0 + HOUR - 1).toISOString(), inputTokens: 20, outputTokens: 2 }),
        usageEvent(q.agreementId, 'c', { occurredAt: new Date(h0 + 2 * HOUR + 1).toISOString(), inputTokens: 1000, outputTokens: 3 }),
      ]);
      const r = await t.gql(
        SUMMARY,
        { agreementId: q.agreementId, from: new Date(h0 - HOUR + 15 * 60_000).toISOString(), to: new Date(h0 + 3 * HOUR + 59 * 60_000).toISOString(), granularity: 'HOUR' },
        q.distiller.token,
      );
      expect(r.errors).toBeUndefined();
      const s = r.data!.usageSummary;
      expect(s).toMatchObject({ agreementId: q.agreementId, granularity: 'HOUR', from: new Date(h0 - HOUR).toISOString(), to: new Date(h0 + 3 * HOUR).toISOString() });
      const zero = { inputTokens: '0', outputTokens: '0', totalTokens: '0', overageTokens: '0', events: '0', estimatedEvents: '0' };
      expect(s.buckets).toEqual([
        { start: new Date(h0 - HOUR).toISOString(), ...zero },
        { start: new Date(h0).toISOString(), inputTokens: '30', outputTokens: '3', totalTokens: '33', overageTokens: '0', events: '2', estimatedEvents: '0' },
        { start: new Date(h0 + HOUR).toISOString(), ...zero },
        // 33 + 1003 > 1000: 36 tokens beyond the quota (when both fall in this month)
        expect.objectContaining({ start: new Date(h0 + 2 * HOUR).toISOString(), inputTokens: '1000', outputTokens: '3', totalTokens: '1003', events: '1' }),
      ]);
      expect(s.totals).toMatchObject({ inputTokens: '1030', outputTokens: '6', totalTokens: '1036', events: '3' });
      expect(s.totals.overageTokens).toBe((await rawTotals(t, q.agreementId)).overageTokens);

      const days = await t.gql(
        SUMMARY,
        { agreementId: q.agreementId, from: new Date(h0 - DAY).toISOString(), to: new Date(h0 + 2 * DAY).toISOString(), granularity: 'DAY' },
        q.vendor.token,
      );
      const dayStart = Math.floor((h0 - DAY) / DAY) * DAY;
      expect(days.data!.usageSummary.from).toBe(new Date(dayStart).toISOString());
      expect(days.data!.usageSummary.buckets.map((b: any) => b.start)).toEqual([0, 1, 2].map((i) => new Date(dayStart + i * DAY).toISOString()));
      expect(days.data!.usageSummary.totals.totalTokens).toBe('1036');

      // from and to inside the same bucket: an empty range, not an error.
      const empty = await t.gql(
        SUMMARY,
        { agreementId: q.agreementId, from: new Date(h0 + 60_000).toISOString(), to: new Date(h0 + 120_000).toISOString(), granularity: 'HOUR' },
        q.vendor.token,
      );
      expect(empty.data!.usageSummary).toMatchObject({ buckets: [], totals: zero });
      expect(empty.data!.usageSummary.limits).toEqual({ tokensPerPeriod: '1000', tokensPerMinute: null });
    });

    it('reports an unlimited agreement without quota or remainder', async () => {
      const q = await meteringParties(t);
      const now = Date.now();
      const r = await t.gql(SUMMARY, { agreementId: q.agreementId, from: new Date(now - DAY).toISOString(), to: new Date(now).toISOString(), granularity: 'DAY' }, q.distiller.token);
      expect(r.data!.usageSummary.limits).toEqual({ tokensPerPeriod: null, tokensPerMinute: null });
      expect(r.data!.usageSummary.currentPeriod).toMatchObject({ totalTokens: '0', events: '0', tokensPerPeriod: null, remainingTokens: null });
    });

    it('validates the range: from before to, at most 93 days of hours and 400 days of days, plausible dates', async () => {
      const base = new Date('2026-03-01T00:00:00Z').getTime();
      const call = (from: number | string, to: number | string, granularity: string) =>
        t.gql(
          SUMMARY,
          {
            agreementId: p.agreementId,
            from: typeof from === 'string' ? from : new Date(from).toISOString(),
            to: typeof to === 'string' ? to : new Date(to).toISOString(),
            granularity,
          },
          p.distiller.token,
        );
      const bad = async (r: Promise<any>, field: string) => {
        const res = await r;
        expect(res.data).toBeNull();
        expect(errorOf(res)).toEqual({ code: 'BAD_USER_INPUT', fields: [{ field, message: expect.any(String) }] });
      };
      await bad(call(base, base, 'HOUR'), 'to');
      await bad(call(base + HOUR, base, 'DAY'), 'to');
      await bad(call(base, base + 93 * DAY + HOUR, 'HOUR'), 'to');
      await bad(call(base, base + 401 * DAY, 'DAY'), 'to');
      await bad(call('1900-01-01T00:00:00Z', base, 'DAY'), 'from');
      await bad(call(base, '9999-06-01T00:00:00Z', 'DAY'), 'to');
      // the limits themselves are fine
      const hours = await call(base, base + 93 * DAY, 'HOUR');
      expect(hours.errors).toBeUndefined();
      expect(hours.data!.usageSummary.buckets).toHaveLength(93 * 24);
      const days = await call(base, base + 400 * DAY, 'DAY');
      expect(days.data!.usageSummary.buckets).toHaveLength(400);
      // not a date, not an enum value, not a UUID: rejected before the resolver
      expect(errorOf(await call('yesterday', base, 'DAY')).code).toBe('BAD_USER_INPUT');
      expect(errorOf(await call(base, base + DAY, 'WEEK')).code).toBe('BAD_USER_INPUT');
      const notUuid = await t.gql(SUMMARY, { agreementId: 'nope', from: new Date(base).toISOString(), to: new Date(base + DAY).toISOString(), granularity: 'DAY' }, p.distiller.token);
      expect(errorOf(notUuid).code).toBe('BAD_USER_INPUT');
    });
  });

  describe('usageEvents', () => {
    let q: MeteringParties;
    beforeAll(async () => {
      q = await meteringParties(t, { limits: { tokensPerPeriod: '5000', tokensPerMinute: null } });
      await backdate(t, q.agreementId);
      // 3 events per instant (ties broken by eventId), ids that sort in interesting ways; the last ones go beyond the quota.
      const base = Date.now() - 2 * DAY;
      const ids = ['a', 'B', 'a-1', 'a_2', 'z|pipe', '~tilde', '0', '00', 'A%20'];
      const events = [];
      for (let i = 0; i < 45; i++) {
        events.push(
          usageEvent(q.agreementId, `${ids[i % ids.length]}-${Math.floor(i / ids.length)}`, {
            occurredAt: new Date(base + Math.floor(i / 3) * 1000).toISOString(),
            inputTokens: 100 + i,
            outputTokens: i,
            metadata: i % 5 === 0 ? { i, tag: 'five' } : undefined,
          }),
        );
      }
      await reportOk(t, q.reportKey, events);
    });

    async function allPages(token: string, first: number): Promise<{ nodes: any[]; pages: number }> {
      const nodes: any[] = [];
      let after: string | null = null;
      for (let pages = 1; ; pages++) {
        const r: any = await t.gql(EVENTS, { agreementId: q.agreementId, first, after }, token);
        expect(r.errors).toBeUndefined();
        const c = r.data.usageEvents;
        nodes.push(...c.edges.map((e: any) => e.node));
        if (!c.pageInfo.hasNextPage) {
          expect(c.pageInfo.endCursor).toBe(c.edges.length ? c.edges[c.edges.length - 1].cursor : null);
          return { nodes, pages };
        }
        expect(c.edges).toHaveLength(first);
        after = c.pageInfo.endCursor;
      }
    }

    it('pages newest first by (occurredAt, eventId), without gaps or repeats, for any page size', async () => {
      const expected = (
        await t.dataSource.query(`SELECT event_id FROM usage_events WHERE agreement_id = $1 ORDER BY occurred_at DESC, event_id DESC`, [q.agreementId])
      ).map((r: any) => r.event_id);
      expect(expected).toHaveLength(45);
      for (const first of [1, 7, 15, 44, 45, 100]) {
        const { nodes, pages } = await allPages(first === 7 ? q.vendor.token : q.distiller.token, first);
        expect(nodes.map((n) => n.eventId)).toEqual(expected);
        expect(pages).toBe(Math.max(1, Math.ceil(45 / first)));
      }
    });

    it('describes each event as stored', async () => {
      const { nodes } = await allPages(q.distiller.token, 50);
      const rows = await t.dataSource.query(
        `SELECT event_id, input_tokens::text, output_tokens::text, overage_tokens::text, occurred_at, received_at, metadata
           FROM usage_events WHERE agreement_id = $1`,
        [q.agreementId],
      );
      const byId = new Map(rows.map((r: any) => [r.event_id, r]));
      let overage = 0;
      for (const n of nodes) {
        const r: any = byId.get(n.eventId);
        expect(n).toEqual({
          eventId: r.event_id,
          source: 'REPORTED',
          occurredAt: new Date(r.occurred_at).toISOString(),
          receivedAt: new Date(r.received_at).toISOString(),
          inputTokens: r.input_tokens,
          outputTokens: r.output_tokens,
          overageTokens: r.overage_tokens,
          status: r.overage_tokens === '0' ? 'WITHIN_QUOTA' : 'OVERAGE',
          estimated: false,
          metadata: r.metadata,
        });
        if (n.status === 'OVERAGE') overage++;
      }
      expect(overage).toBeGreaterThan(0);
      expect(nodes.filter((n) => n.metadata !== null)).toHaveLength(9);
    });

    it('keeps its place when newer events arrive between pages', async () => {
      const r1 = await t.gql(EVENTS, { agreementId: q.agreementId, first: 10 }, q.distiller.token);
      const seen = r1.data!.usageEvents.edges.map((e: any) => e.node.eventId);
      await reportOk(t, q.reportKey, [usageEvent(q.agreementId, `late-${randomUUID()}`, { occurredAt: new Date(Date.now() - 1000).toISOString() })]);
      const r2 = await t.gql(EVENTS, { agreementId: q.agreementId, first: 10, after: r1.data!.usageEvents.pageInfo.endCursor }, q.distiller.token);
      const expected = (
        await t.dataSource.query(
          `SELECT event_id FROM usage_events WHERE agreement_id = $1 AND NOT event_id LIKE 'late-%' ORDER BY occurred_at DESC, event_id DESC LIMIT 10 OFFSET 10`,
          [q.agreementId],
        )
      ).map((r: any) => r.event_id);
      expect(r2.data!.usageEvents.edges.map((e: any) => e.node.eventId)).toEqual(expected);
      expect(expected.some((id: string) => seen.includes(id))).toBe(false);
    });

    it('answers an agreement without events with an empty page', async () => {
      const e = await meteringParties(t);
      const r = await t.gql(EVENTS, { agreementId: e.agreementId }, e.vendor.token);
      expect(r.data!.usageEvents).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    });

    it('refuses page sizes outside 1..100 and cursors it did not produce', async () => {
      for (const first of [0, -1, 101]) {
        const r = await t.gql(EVENTS, { agreementId: q.agreementId, first }, q.distiller.token);
        expect(errorOf(r)).toEqual({ code: 'BAD_USER_INPUT', fields: [{ field: 'first', message: expect.any(String) }] });
      }
      const b64 = (s: string) => Buffer.from(s).toString('base64url');
      const good = (await t.gql(EVENTS, { agreementId: q.agreementId, first: 1 }, q.distiller.token)).data!.usageEvents.pageInfo.endCursor as string;
      const decoded = Buffer.from(good, 'base64url').toString();
      for (const after of [
        'garbage!',
        '',
        b64('usage-event:2026-13-01T00:00:00.000000|x'),
        b64('usage-event:2026-02-30T00:00:00.000000|x'),
        b64('usage-event:2026-01-01T00:00:00|x'),
        b64(decoded.replace(/\|.*$/, '|')),
        b64(decoded.replace(/\|.*$/, '|has space')),
        b64(decoded.replace('usage-event', 'anomaly-flag')),
        'x'.repeat(401),
      ]) {
        const r = await t.gql(EVENTS, { agreementId: q.agreementId, after }, q.distiller.token);
        expect({ after, ...errorOf(r) }).toEqual({ after, code: 'BAD_USER_INPUT', fields: [{ field: 'after', message: 'invalid cursor' }] });
      }
    });

    it('reads the page through IDX_usage_events_agreement_occurred, without sorting', async () => {
      const plan = await t.dataSource.transaction(async (tx) => {
        // Tiny test tables: make the planner show whether the index can serve this query at all.
        await tx.query('SET LOCAL enable_seqscan = off');
        await tx.query('SET LOCAL enable_bitmapscan = off');
        const rows = await tx.query(
          `EXPLAIN SELECT e.event_id FROM usage_events e
            WHERE e.agreement_id = $1 AND (e.occurred_at, e.event_id) < ($2::timestamp AT TIME ZONE 'UTC', $3::text)
            ORDER BY e.occurred_at DESC, e.event_id DESC LIMIT 51`,
          [q.agreementId, '2026-01-01T00:00:00.000000', 'x'],
        );
        return rows.map((r: any) => r['QUERY PLAN']).join('\n');
      });
      expect(plan).toMatch(/Index (Only )?Scan using "?IDX_usage_events_agreement_occurred/);
      expect(plan).not.toMatch(/Sort/);
    });
  });

  describe('who may read', () => {
    const now = Date.now();
    const summaryVars = (agreementId: string) => ({ agreementId, from: new Date(now - DAY).toISOString(), to: new Date(now + HOUR).toISOString(), granularity: 'HOUR' });

    it('lets the distiller, the vendor, their READ API keys and platform admins read', async () => {
      const distillerKey = (await createApiKey(t, p.distiller, ['READ'])).secret;
      const vendorKey = (await createApiKey(t, p.vendor, ['READ'])).secret;
      for (const token of [p.distiller.token, p.vendor.token, distillerKey, vendorKey, admin.token]) {
        const s = await t.gql(SUMMARY, summaryVars(p.agreementId), token);
        expect(s.errors).toBeUndefined();
        expect(s.data!.usageSummary.agreementId).toBe(p.agreementId);
        const e = await t.gql(EVENTS, { agreementId: p.agreementId, first: 1 }, token);
        expect(e.errors).toBeUndefined();
        expect(e.data!.usageEvents.edges).toHaveLength(1);
      }
    });

    it('answers NOT_FOUND to anyone else, exactly as for an unknown agreement', async () => {
      const outsiderKey = (await createApiKey(t, outsider, ['READ', 'WRITE'])).secret;
      const unknown = randomUUID();
      for (const token of [outsider.token, outsiderKey]) {
        for (const [query, vars] of [
          [SUMMARY, summaryVars],
          [EVENTS, (id: string) => ({ agreementId: id })],
        ] as const) {
          const foreign = await t.gql(query, vars(p.agreementId), token);
          const missing = await t.gql(query, vars(unknown), token);
          expect(foreign.data).toBeNull();
          expect(errorOf(foreign).code).toBe('NOT_FOUND');
          expect(foreign.errors![0].message.replace(p.agreementId, '<id>')).toBe(missing.errors![0].message.replace(unknown, '<id>'));
          expect(foreign.errors![0].extensions).toEqual(missing.errors![0].extensions);
        }
      }
    });

    it("refuses a party's API key without the READ scope", async () => {
      // The gateway key is the distiller's own: it learns nothing it does not know, but may not read.
      const r = await t.gql(EVENTS, { agreementId: p.agreementId }, p.gatewayKey);
      expect(errorOf(r).code).toBe('FORBIDDEN');
    });
  });
});
