/**
 * Usage Merkle roots and inclusion proofs (e2e, real PostgreSQL): usage
 * reported through POST /v1/usage/events in the previous month, the month
 * closed, then every event's proof checked with nothing but node:crypto; the
 * tree's token totals equal what the invoice billed; events of another month,
 * another agreement or never ingested are not provable; a late event is in
 * the next close's tree (as the next invoice bills it) and leaves the closed
 * month's root unchanged; refusals and authorization.
 */
import { createHash } from 'node:crypto';
import { nextPeriod, PeriodRange } from '../src/billing/billing-period';
import { UsageMerkleService } from '../src/earnings/usage-proofs/usage-merkle.service';
import { UsageProofsRepository } from '../src/earnings/usage-proofs/usage-proofs.repository';
import { Clock } from '../src/platform/clock/clock';
import { startTestApp, TestApp } from './support/app';
import { acceptFrom, closePeriod, inPeriod, invoicesOf, lastPeriod, pricedOffer, usageReporter } from './support/billing';
import { reportUsage } from './support/metering';
import { makeAdmin, signUp, TestUser } from './support/users';

const PROOF = `query($a: ID!, $p: String!, $e: String!) { usageInclusionProof(agreementId: $a, period: $p, eventId: $e) {
  agreementId period eventId leafIndex treeSize leafHash auditPath merkleRoot
  leaf { agreementId eventId occurredAt inputTokens outputTokens source } } }`;

/* A verifier written from RFC 6962 / RFC 9162 with node:crypto only (no project code). */
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
/** RFC 8785 for an object of string values: keys sorted by UTF-16 code units, JSON string escaping, no whitespace. */
const canonical = (o: Record<string, string>) =>
  `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(o[k])}`)
    .join(',')}}`;
function verify(p: { leaf: Record<string, string>; leafIndex: number; treeSize: number; auditPath: string[]; merkleRoot: string; leafHash: string }): boolean {
  const leafHash = sha256(Buffer.from([0]), Buffer.from(canonical(p.leaf), 'utf8'));
  if (leafHash.toString('hex') !== p.leafHash) return false;
  let fn = p.leafIndex;
  let sn = p.treeSize - 1;
  let r = leafHash;
  for (const hex of p.auditPath) {
    const s = Buffer.from(hex, 'hex');
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = sha256(Buffer.from([1]), s, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = sha256(Buffer.from([1]), r, s);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && r.toString('hex') === p.merkleRoot;
}
/** The root of leaves, by plain recursion. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return sha256(Buffer.from([0]), leaves[0]);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

describe('usage Merkle proofs (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let vendor: TestUser;
  let distiller: TestUser;
  let otherDistiller: TestUser;
  let otherVendor: TestUser;
  let key: string;
  let a1: string;
  let a2: string;
  let P: PeriodRange;
  let current: PeriodRange;
  /** a1's events of P, with the ids in an order where byte order differs from most locales' order. */
  const pEvents = [
    { id: 'up-a-1', input: 1000, output: 10 },
    { id: 'UP-B-2', input: 2000, output: 20 },
    { id: 'up_c', input: 3000, output: 30 },
    { id: '~up', input: 4000, output: 40 },
    { id: '10', input: 5, output: 0 },
    { id: '9', input: 0, output: 7 },
    { id: 'Zed', input: 123_456_789, output: 987_654 },
  ];

  const send = async (events: { id: string; agreementId: string; at: string; input: number; output: number }[]) => {
    const r = await reportUsage(t, key, {
      events: events.map((e) => ({ id: e.id, agreementId: e.agreementId, occurredAt: e.at, inputTokens: e.input, outputTokens: e.output })),
    });
    if (r.status !== 200 || r.body.accepted !== events.length) throw new Error(`usage report: ${r.status} ${JSON.stringify(r.body)}`);
  };
  const prove = (agreementId: string, period: string, eventId: string, token = distiller.token) => t.gql(PROOF, { a: agreementId, p: period, e: eventId }, token);
  const merkle = () => t.app.get(UsageMerkleService);
  /** Token quantities of the agreement's usage and adjustment lines on the distiller's period invoices. */
  async function billedOn(period: string, agreementId: string): Promise<{ input: bigint; output: bigint }> {
    const invoices = await invoicesOf(t, distiller.token, distiller.organizationId, { period });
    let input = 0n;
    let output = 0n;
    for (const inv of invoices) {
      for (const { node: l } of inv.lines.edges) {
        if (l.agreementId !== agreementId) continue;
        if (l.kind === 'USAGE_INPUT' || l.kind === 'ADJUSTMENT_INPUT') input += BigInt(l.quantity);
        if (l.kind === 'USAGE_OUTPUT' || l.kind === 'ADJUSTMENT_OUTPUT') output += BigInt(l.quantity);
      }
    }
    return { input, output };
  }

  beforeAll(async () => {
    t = await startTestApp();
    P = lastPeriod();
    current = nextPeriod(P);
    admin = await makeAdmin(t, await signUp(t));
    vendor = await signUp(t, { country: 'US' });
    otherVendor = await signUp(t, { country: 'US' });
    distiller = await signUp(t, { country: 'FR' });
    otherDistiller = await signUp(t, { country: 'FR' });
    key = await usageReporter(t, vendor);
    const offer = await pricedOffer(t, vendor, { currency: 'EUR', inputPerMillionMinor: '150', outputPerMillionMinor: '600' });
    a1 = await acceptFrom(t, distiller, offer, P.start);
    a2 = await acceptFrom(t, distiller, await pricedOffer(t, vendor, { currency: 'EUR', inputPerMillionMinor: '150', outputPerMillionMinor: '600' }), P.start);
    await acceptFrom(t, otherDistiller, await pricedOffer(t, otherVendor, { currency: 'EUR', inputPerMillionMinor: '1', outputPerMillionMinor: '1' }), P.start);
    await send([
      ...pEvents.map((e, i) => ({ id: e.id, agreementId: a1, at: inPeriod(P, 100 + i), input: e.input, output: e.output })),
      { id: 'other-agreement', agreementId: a2, at: inPeriod(P, 50), input: 1, output: 1 },
      { id: 'this-month', agreementId: a1, at: new Date(Date.now() - 60_000).toISOString(), input: 77, output: 7 },
    ]);
    // Small pages, so the stream's paging is exercised.
    merkle().pageRows = 3;
    await closePeriod(t, admin.token, P.period);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => t.close());

  it("every event of the period has a proof that verifies with node:crypto alone; leaves in byte order of id", async () => {
    const proofs = [];
    for (const e of pEvents) {
      const r = await prove(a1, P.period, e.id);
      expect(r.errors).toBeUndefined();
      proofs.push(r.data!.usageInclusionProof);
    }
    const ordered = [...pEvents.map((e) => e.id)].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(ordered).toEqual(['10', '9', 'UP-B-2', 'Zed', 'up-a-1', 'up_c', '~up']);
    for (const [i, e] of pEvents.entries()) {
      const p = proofs[i];
      expect(p).toMatchObject({ agreementId: a1, period: P.period, eventId: e.id, treeSize: pEvents.length, leafIndex: ordered.indexOf(e.id) });
      expect(p.leaf).toEqual({
        agreementId: a1,
        eventId: e.id,
        occurredAt: inPeriod(P, 100 + i),
        inputTokens: String(e.input),
        outputTokens: String(e.output),
        source: 'REPORTED',
      });
      expect(verify(p)).toBe(true);
      // Tampering with the leaf, the position or a sibling breaks it.
      expect(verify({ ...p, leaf: { ...p.leaf, inputTokens: String(e.input + 1) } })).toBe(false);
      expect(verify({ ...p, leafIndex: (p.leafIndex + 1) % p.treeSize })).toBe(false);
      expect(verify({ ...p, auditPath: [sha256(Buffer.from('x')).toString('hex'), ...p.auditPath.slice(1)] })).toBe(false);
    }
    // One root for all, equal to the plain recursion over the leaves in byte order, and to the service's streamed root.
    expect(new Set(proofs.map((p) => p.merkleRoot)).size).toBe(1);
    const byIndex = [...proofs].sort((x, y) => x.leafIndex - y.leafIndex);
    const root = mth(byIndex.map((p) => Buffer.from(canonical(p.leaf), 'utf8'))).toString('hex');
    expect(proofs[0].merkleRoot).toBe(root);
    const periodRoot = await merkle().periodRoot(t.dataSource.manager, a1, P.period);
    expect(periodRoot).toEqual({
      agreementId: a1,
      period: P.period,
      eventCount: pEvents.length,
      inputTokens: pEvents.reduce((s, e) => s + BigInt(e.input), 0n),
      outputTokens: pEvents.reduce((s, e) => s + BigInt(e.output), 0n),
      merkleRoot: root,
    });
  });

  it("the tree's token totals equal the agreement's usage + adjustment lines on the period's invoice", async () => {
    const root = await merkle().periodRoot(t.dataSource.manager, a1, P.period);
    expect(await billedOn(P.period, a1)).toEqual({ input: root.inputTokens, output: root.outputTokens });
    const other = await merkle().periodRoot(t.dataSource.manager, a2, P.period);
    expect(other).toMatchObject({ eventCount: 1, inputTokens: 1n, outputTokens: 1n });
    expect(await billedOn(P.period, a2)).toEqual({ input: 1n, output: 1n });
  });

  it('an event of another month, of another agreement, or never ingested is not provable (NOT_FOUND, counted: false)', async () => {
    for (const [agreementId, eventId] of [
      [a1, 'this-month'],
      [a1, 'other-agreement'],
      [a1, 'never-ingested'],
      [a2, 'up-a-1'],
    ]) {
      const r = await prove(agreementId, P.period, eventId);
      expect(r.data?.usageInclusionProof ?? null).toBeNull();
      expect(r.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', counted: false, period: P.period });
      expect(r.errors?.[0].message).toContain('was not counted');
      expect(await merkle().inclusionProof(t.dataSource.manager, agreementId, P.period, eventId)).toBeNull();
    }
  });

  it('a period that is not closed is CONFLICT; malformed input is BAD_USER_INPUT', async () => {
    for (const period of [current.period, '2020-01']) {
      const r = await prove(a1, period, 'this-month');
      expect(r.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'PERIOD_NOT_CLOSED' });
      await expect(merkle().periodRoot(t.dataSource.manager, a1, period)).rejects.toMatchObject({ code: 'CONFLICT' });
    }
    for (const [a, p, e, field] of [
      ['not-a-uuid', P.period, 'x', 'agreementId'],
      [a1, '2026-13', 'x', 'period'],
      [a1, P.period, 'x'.repeat(129), 'eventId'],
      [a1, P.period, '', 'eventId'],
    ]) {
      const r = await prove(a, p, e);
      expect(r.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(r.errors?.[0].extensions)).toContain(field);
    }
  });

  it("the agreement's distiller and vendor members and admins see proofs; anyone else NOT_FOUND, as for an unknown agreement", async () => {
    for (const token of [distiller.token, vendor.token, admin.token]) {
      const r = await prove(a1, P.period, 'Zed', token);
      expect(r.errors).toBeUndefined();
      expect(verify(r.data!.usageInclusionProof)).toBe(true);
    }
    const unknown = await prove('00000000-0000-4000-8000-000000000000', P.period, 'Zed');
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', entity: 'LicenseAgreement' });
    for (const token of [otherDistiller.token, otherVendor.token]) {
      const r = await prove(a1, P.period, 'Zed', token);
      expect(r.data?.usageInclusionProof ?? null).toBeNull();
      expect(r.errors?.[0].extensions).toEqual(unknown.errors?.[0].extensions);
      expect(r.errors?.[0].message).toBe(`LicenseAgreement ${a1} not found`);
      // Even for an event that was not counted, nothing about it leaks.
      expect((await prove(a1, P.period, 'never-ingested', token)).errors?.[0].extensions.entity).toBe('LicenseAgreement');
    }
    expect((await prove(a1, P.period, 'Zed', '')).errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it("a late event is in the next close's tree (as the next invoice bills it); the closed month's root does not move", async () => {
    const before = await merkle().periodRoot(t.dataSource.manager, a1, P.period);
    await send([{ id: 'late-1', agreementId: a1, at: inPeriod(P, 10), input: 500_000, output: 5 }]);
    expect((await prove(a1, P.period, 'late-1')).errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', counted: false });
    expect(await merkle().periodRoot(t.dataSource.manager, a1, P.period)).toEqual(before);

    jest.spyOn(t.app.get(Clock), 'now').mockReturnValue(new Date(nextPeriod(current).start.getTime() + 3_600_000));
    await closePeriod(t, admin.token, current.period);
    const next = await merkle().periodRoot(t.dataSource.manager, a1, current.period);
    // This month's event and P's late one: the current period's usage lines and its adjustment lines for P.
    expect(next).toMatchObject({ eventCount: 2, inputTokens: 500_077n, outputTokens: 12n });
    expect(await billedOn(current.period, a1)).toEqual({ input: next.inputTokens, output: next.outputTokens });
    for (const eventId of ['late-1', 'this-month']) {
      const r = await prove(a1, current.period, eventId);
      expect(r.errors).toBeUndefined();
      expect(r.data!.usageInclusionProof).toMatchObject({ treeSize: 2, merkleRoot: next.merkleRoot });
      expect(verify(r.data!.usageInclusionProof)).toBe(true);
    }
    // P's events are not in the later tree: each event is counted once.
    expect((await prove(a1, current.period, 'Zed')).errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', counted: false });
    expect(await merkle().periodRoot(t.dataSource.manager, a1, P.period)).toEqual(before);
  });

  it('a root is read from one snapshot: an event committed mid-stream (the race window) is not half-counted', async () => {
    const before = await merkle().periodRoot(t.dataSource.manager, a1, P.period);
    const repo = t.app.get(UsageProofsRepository);
    const page = repo.billedEventsPage.bind(repo);
    let pages = 0;
    jest.spyOn(repo, 'billedEventsPage').mockImplementation(async (...args) => {
      const rows = await page(...args);
      if (++pages === 1) {
        // Another connection commits an event received just before P closed (its ingestion overlapped the close).
        await t.dataSource.query(
          `INSERT INTO usage_events (agreement_id, event_id, source, occurred_at, received_at, input_tokens, output_tokens, payload_hash)
           SELECT $1, 'zz-race', 'REPORTED', $2, closed_at - interval '1 millisecond', 11, 1, '\\x00'::bytea FROM billing_periods WHERE period = $3`,
          [a1, inPeriod(P, 1), P.period],
        );
      }
      return rows;
    });
    // The stream kept reading its snapshot: the same root as before, though the row was committed between its pages.
    expect(await merkle().periodRoot(t.dataSource.manager, a1, P.period)).toEqual(before);
    expect(pages).toBe(3);
    jest.restoreAllMocks();
    // A later read counts it: the documented race window (received before closed_at, visible after).
    const after = await merkle().periodRoot(t.dataSource.manager, a1, P.period);
    expect(after).toMatchObject({ eventCount: before.eventCount + 1, inputTokens: before.inputTokens + 11n });
    expect(after.merkleRoot).not.toBe(before.merkleRoot);
  });
});
