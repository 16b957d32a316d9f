/**
 * Agreement status changes through the state table and its one writer
 * (AgreementTransitions): each moved agreement is audited in the same
 * transaction, status-change listeners (the gateway's metering view) hear of
 * it only once that transaction has committed, and a move the table refuses
 * is a typed error with nothing written.
 */
import { Client } from 'pg';
import { AgreementHooks, AgreementStatusChange } from '../src/licensing/agreement-hooks';
import { AgreementPaymentStatusService } from '../src/licensing/agreement-payment-status.service';
import { AgreementCause, RefusedAgreementTransitionError } from '../src/licensing/agreement-status.table';
import { AgreementTransitions } from '../src/licensing/agreement-transitions.service';
import { AgreementStatus } from '../src/licensing/license-agreement.entity';
import { LicenseAgreementService } from '../src/licensing/license-agreement.service';
import { Database } from '../src/platform/database/transaction';
import { startTestApp, TestApp } from './support/app';
import { createModel, publishOk } from './support/licensing';
import { acceptAgreement } from './support/metering';
import { signUp, TestUser } from './support/users';

interface Heard {
  changes: readonly AgreementStatusChange[];
  /** Each agreement's status as another connection saw it when the listener ran. */
  committed: Record<string, string>;
}

describe('agreement transitions', () => {
  let t: TestApp;
  let other: Client;
  let db: Database;
  let agreements: LicenseAgreementService;
  let payments: AgreementPaymentStatusService;
  let transitions: AgreementTransitions;
  let vendor: TestUser;
  const heard: Heard[] = [];

  const statusOf = async (id: string) =>
    (await t.dataSource.query(`SELECT status, suspension_cause, status_changed_at FROM license_agreements WHERE id = $1`, [id]))[0] as {
      status: string;
      suspension_cause: string | null;
      status_changed_at: Date;
    };
  const auditActions = async (id: string) =>
    ((await t.dataSource.query(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY seq`, [id])) as { action: string }[]).map((r) => r.action);

  /** A fresh distiller with one ACTIVE agreement (no upfront fee) on a new model of the vendor. */
  async function activeAgreement(): Promise<{ id: string; distiller: TestUser }> {
    const distiller = await signUp(t, { country: 'US' });
    const { id: modelId } = await createModel(t, vendor);
    const offer = await publishOk(t, vendor, modelId);
    return { id: await acceptAgreement(t, distiller, offer), distiller };
  }

  beforeAll(async () => {
    t = await startTestApp();
    other = new Client({ connectionString: t.db.url });
    await other.connect();
    db = t.app.get(Database);
    agreements = t.app.get(LicenseAgreementService);
    payments = t.app.get(AgreementPaymentStatusService);
    transitions = t.app.get(AgreementTransitions);
    t.app.get(AgreementHooks).onStatusChanged(async (changes) => {
      const rows = await other.query('SELECT id, status FROM license_agreements WHERE id = ANY($1::uuid[])', [changes.map((c) => c.id)]);
      heard.push({ changes, committed: Object.fromEntries(rows.rows.map((r: { id: string; status: string }) => [r.id, r.status])) });
    });
    vendor = await signUp(t, { country: 'US' });
  });
  afterAll(async () => {
    await other.end();
    await t.close();
  });
  beforeEach(() => {
    heard.length = 0;
  });

  it('a rolled-back suspension writes no audit entry and no listener hears of it', async () => {
    const { id, distiller } = await activeAgreement();
    expect((await agreements.meteringView(id))!.status).toBe('ACTIVE');
    await expect(
      db.transaction(async (tx) => {
        expect(await payments.suspendForNonPayment(tx, distiller.organizationId, 'BM-ROLLBACK')).toEqual([id]);
        throw new Error('billing failed later in the same transaction');
      }),
    ).rejects.toThrow('billing failed later');
    expect(heard).toEqual([]);
    expect(await auditActions(id)).toEqual(['licensing.agreement.accepted']);
    expect((await statusOf(id)).status).toBe('ACTIVE');
    expect((await agreements.meteringView(id))!.status).toBe('ACTIVE');
  });

  it('a committed suspension is audited, and listeners hear of it once other connections see it', async () => {
    const { id, distiller } = await activeAgreement();
    await db.transaction((tx) => payments.suspendForNonPayment(tx, distiller.organizationId, 'BM-1'));
    expect(heard).toEqual([
      {
        changes: [
          {
            id,
            cause: AgreementCause.SUSPEND_NON_PAYMENT,
            from: 'ACTIVE',
            to: 'SUSPENDED',
            vendorOrganizationId: vendor.organizationId,
            distillerOrganizationId: distiller.organizationId,
          },
        ],
        committed: { [id]: 'SUSPENDED' },
      },
    ]);
    expect(await auditActions(id)).toEqual(['licensing.agreement.accepted', 'licensing.agreement.suspended']);
    expect(await statusOf(id)).toMatchObject({ status: 'SUSPENDED', suspension_cause: 'NON_PAYMENT' });
  });

  it("a gateway read between a change and its commit does not outlive the commit (the view is dropped after it)", async () => {
    const { id, distiller } = await activeAgreement();
    await db.transaction((tx) => payments.suspendForNonPayment(tx, distiller.organizationId, 'BM-2'));
    expect((await agreements.meteringView(id))!.status).toBe('SUSPENDED');
    heard.length = 0;
    await db.transaction(async (tx) => {
      expect(await payments.reinstateAfterPayment(tx, distiller.organizationId, 'BM-2')).toEqual([id]);
      // The gateway, on its own connection, still sees (and remembers) the committed SUSPENDED.
      expect((await agreements.meteringView(id))!.status).toBe('SUSPENDED');
    });
    expect((await agreements.meteringView(id))!.status).toBe('ACTIVE');
    expect(heard.map((h) => h.committed[id])).toEqual(['ACTIVE']);
  });

  it('the expiry sweep goes through the same table and mechanism (rolled back: nothing; committed: audited, heard)', async () => {
    const { id } = await activeAgreement();
    await t.dataSource.query(`UPDATE license_agreements SET starts_at = now() - interval '2 days', ends_at = now() - interval '1 day' WHERE id = $1`, [id]);
    await expect(
      db.transaction(async (tx) => {
        expect(await transitions.expire(tx, { id })).toBe(1);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(heard).toEqual([]);
    expect((await statusOf(id)).status).toBe('ACTIVE');
    expect(await auditActions(id)).toEqual(['licensing.agreement.accepted']);

    expect(await agreements.expireDueAgreements()).toBeGreaterThanOrEqual(1);
    const expired = heard.flatMap((h) => h.changes.map((c) => ({ ...c, committed: h.committed[c.id] }))).filter((c) => c.id === id);
    expect(expired).toEqual([expect.objectContaining({ cause: AgreementCause.EXPIRE, from: 'ACTIVE', to: 'EXPIRED', committed: 'EXPIRED' })]);
    expect(await auditActions(id)).toEqual(['licensing.agreement.accepted', 'licensing.agreement.expired']);
  });

  it("the vendor's suspension is heard after its commit too", async () => {
    const { id } = await activeAgreement();
    const r = await t.gql(`mutation($id: ID!) { suspendAgreement(input: { id: $id, reason: "abuse" }) { __typename } }`, { id }, vendor.token);
    expect(r.data!.suspendAgreement.__typename).toBe('LicenseAgreement');
    expect(heard).toEqual([{ changes: [expect.objectContaining({ id, cause: AgreementCause.VENDOR_SUSPEND, from: 'ACTIVE', to: 'SUSPENDED' })], committed: { [id]: 'SUSPENDED' } }]);
  });

  it('a move the table refuses is a typed error and writes nothing', async () => {
    const { id } = await activeAgreement();
    const before = await statusOf(id);
    const attempts = [
      // A single row whose status the caller holds: reinstating an ACTIVE agreement is no move.
      { cause: AgreementCause.VENDOR_REINSTATE, to: AgreementStatus.ACTIVE, from: AgreementStatus.ACTIVE },
      // A bulk move to a status its cause never reaches.
      { cause: AgreementCause.EXPIRE, to: AgreementStatus.ACTIVE },
      // Out of a final status.
      { cause: AgreementCause.TERMINATE, to: AgreementStatus.TERMINATED, from: AgreementStatus.EXPIRED },
    ];
    for (const attempt of attempts) {
      const err = await db
        .transaction((tx) => transitions.move(tx, { ...attempt, scope: { id }, reason: 'should not happen', actor: null, auditData: () => ({}) }))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RefusedAgreementTransitionError);
      expect(err).toMatchObject({ code: 'INTERNAL', details: { cause: attempt.cause, to: attempt.to } });
    }
    expect(await statusOf(id)).toEqual(before);
    expect(await auditActions(id)).toEqual(['licensing.agreement.accepted']);
    expect(heard).toEqual([]);
  });

  it('a bulk move leaves agreements the table does not allow it to move', async () => {
    const { id, distiller } = await activeAgreement();
    const r = await t.gql(`mutation($id: ID!) { terminateAgreement(input: { id: $id, reason: "ended" }) { __typename } }`, { id }, vendor.token);
    expect(r.data!.terminateAgreement.__typename).toBe('LicenseAgreement');
    heard.length = 0;
    expect(await db.transaction((tx) => payments.suspendForNonPayment(tx, distiller.organizationId, 'BM-3'))).toEqual([]);
    expect(await db.transaction((tx) => payments.reinstateAfterPayment(tx, distiller.organizationId, 'BM-3'))).toEqual([]);
    expect((await statusOf(id)).status).toBe('TERMINATED');
    expect(heard).toEqual([]);
  });
  it('concurrent suspensions and reinstatements of one agreement leave an audit trail that follows the table step by step', async () => {
    const { id, distiller } = await activeAgreement();
    const BARRIER = 7_340_777;
    const gate = new Client({ connectionString: t.db.url });
    await gate.connect();
    try {
      for (let round = 0; round < 4; round++) {
        await gate.query('SELECT pg_advisory_lock($1)', [BARRIER]);
        // Eight callers on their own connections, each waiting at the barrier inside its transaction.
        const callers = Array.from({ length: 8 }, (_, i) =>
          db.transaction(async (tx) => {
            await tx.query('SELECT pg_advisory_xact_lock_shared($1)', [BARRIER]);
            return i % 2 === 0
              ? payments.suspendForNonPayment(tx, distiller.organizationId, `BM-R${round}-${i}`)
              : payments.reinstateAfterPayment(tx, distiller.organizationId, `BM-R${round}-${i}`);
          }),
        );
        const deadline = Date.now() + 10_000;
        for (;;) {
          const waiting = await gate.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`, [BARRIER]);
          if (waiting.rows[0].n === 8) break;
          if (Date.now() > deadline) throw new Error(`only ${waiting.rows[0].n} callers reached the barrier`);
          await new Promise((r) => setImmediate(r));
        }
        await gate.query('SELECT pg_advisory_unlock($1)', [BARRIER]);
        await Promise.all(callers);
      }
    } finally {
      await gate.end();
    }
    const trail = (await t.dataSource.query(
      `SELECT action, data->>'from' AS "from", data->>'to' AS "to" FROM audit_log
        WHERE target_id = $1 AND action <> 'licensing.agreement.accepted' ORDER BY seq`,
      [id],
    )) as { action: string; from: string; to: string }[];
    expect(trail.length).toBeGreaterThan(0);
    // Every entry starts where the previous one ended, and each step is a move of the table.
    let status = 'ACTIVE';
    for (const step of trail) {
      expect(step.from).toBe(status);
      expect([
        ['licensing.agreement.suspended', 'ACTIVE', 'SUSPENDED'],
        ['licensing.agreement.reinstated', 'SUSPENDED', 'ACTIVE'],
      ]).toContainEqual([step.action, step.from, step.to]);
      status = step.to;
    }
    expect((await statusOf(id)).status).toBe(status);
  });
});
