/** The audit log is append-only and hash-chained; verification catches tampering. */
import { startTestApp, TestApp } from './support/app';
import { makeAdmin, signUp, TestUser } from './support/users';

const VERIFY = `{ verifyAuditLog { valid checkedRows firstInvalidSeq reason headHash } }`;

describe('audit log', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await makeAdmin(t, await signUp(t));
    for (let i = 0; i < 3; i++) await signUp(t);
  });
  afterAll(() => t.close());

  it('links every row to the previous one and verifies', async () => {
    const v = await t.gql(VERIFY, {}, admin.token);
    expect(v.data!.verifyAuditLog).toMatchObject({ valid: true, firstInvalidSeq: null, reason: null });
    const rows = await t.dataSource.query(`SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq`);
    expect(v.data!.verifyAuditLog.checkedRows).toBe(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(8); // 4 sign-ups × (user + organization)
    for (let i = 1; i < rows.length; i++) expect(rows[i].prev_hash).toBe(rows[i - 1].hash);
    expect(v.data!.verifyAuditLog.headHash).toBe(rows[rows.length - 1].hash);
  });

  it('refuses UPDATE, DELETE and TRUNCATE', async () => {
    await expect(t.dataSource.query(`UPDATE audit_log SET action = 'x' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(t.dataSource.query(`DELETE FROM audit_log WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(t.dataSource.query(`TRUNCATE audit_log`)).rejects.toThrow(/append-only/);
  });

  it('lists entries newest first for admins, with paging and filters', async () => {
    const page1 = await t.gql(`{ auditLog(first: 2) { entries { seq action } nextCursor } }`, {}, admin.token);
    const { entries, nextCursor } = page1.data!.auditLog;
    expect(entries).toHaveLength(2);
    expect(Number(entries[0].seq)).toBeGreaterThan(Number(entries[1].seq));
    const page2 = await t.gql(`query($a: String) { auditLog(first: 2, after: $a) { entries { seq } } }`, { a: nextCursor }, admin.token);
    expect(Number(page2.data!.auditLog.entries[0].seq)).toBeLessThan(Number(entries[1].seq));
    const filtered = await t.gql(`{ auditLog(filter: { action: "identity.user.signed_up" }) { entries { action } } }`, {}, admin.token);
    expect(filtered.data!.auditLog.entries).toHaveLength(4);
    const bad = await t.gql(`{ auditLog(first: 0) { entries { seq } } }`, {}, admin.token);
    expect(bad.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    // Cursors are opaque: anything the server did not hand out is refused on `after`.
    for (const after of ['garbage!', '5', Buffer.from('ltx:1').toString('base64url')]) {
      const r = await t.gql(`query($a: String) { auditLog(after: $a) { entries { seq } } }`, { a: after }, admin.token);
      expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'after', message: 'invalid cursor' }] });
    }
  });

  it('is for admins only', async () => {
    const user = await signUp(t);
    for (const q of [VERIFY, `{ auditLog { entries { seq } } }`]) {
      expect((await t.gql(q, {}, user.token)).errors![0].extensions.code).toBe('FORBIDDEN');
      expect((await t.gql(q)).errors![0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  describe('tampering (by someone able to disable the trigger, e.g. a database superuser)', () => {
    const tamper = (sql: string) =>
      t.dataSource.transaction(async (em) => {
        await em.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete`);
        await em.query(sql);
        await em.query(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete`);
      });

    it('detects a changed row', async () => {
      await tamper(`UPDATE audit_log SET data = '{"email":"someone-else@example.test"}' WHERE seq = 3`);
      const v = await t.gql(VERIFY, {}, admin.token);
      expect(v.data!.verifyAuditLog).toMatchObject({ valid: false, firstInvalidSeq: '3' });
      expect(v.data!.verifyAuditLog.reason).toMatch(/modified/);
    });

    it('detects a deleted row', async () => {
      const t2 = await startTestApp();
      try {
        const a2 = await makeAdmin(t2, await signUp(t2));
        await signUp(t2);
        await t2.dataSource.transaction(async (em) => {
          await em.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete`);
          await em.query(`DELETE FROM audit_log WHERE seq = 2`);
          await em.query(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete`);
        });
        const v = await t2.gql(VERIFY, {}, a2.token);
        expect(v.data!.verifyAuditLog).toMatchObject({ valid: false, firstInvalidSeq: '3', reason: 'row 2 is missing' });
      } finally {
        await t2.close();
      }
    });

    it('detects a row forged with a recomputed hash of its own (the next link breaks)', async () => {
      const t3 = await startTestApp();
      try {
        const a3 = await makeAdmin(t3, await signUp(t3));
        await signUp(t3);
        const { auditHash } = await import('../src/audit/audit-hash');
        const [row] = await t3.dataSource.query(`SELECT * FROM audit_log WHERE seq = 2`);
        const forged = { ...row, data: { name: 'Forged Org' } };
        const hash = auditHash(row.prev_hash, {
          seq: BigInt(row.seq),
          occurredAt: row.occurred_at,
          actorUserId: row.actor_user_id,
          actorApiKeyId: row.actor_api_key_id,
          organizationId: row.organization_id,
          action: row.action,
          targetType: row.target_type,
          targetId: row.target_id,
          data: forged.data,
        });
        await t3.dataSource.transaction(async (em) => {
          await em.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete`);
          await em.query(`UPDATE audit_log SET data = $1, hash = $2 WHERE seq = 2`, [forged.data, hash]);
          await em.query(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete`);
        });
        const v = await t3.gql(VERIFY, {}, a3.token);
        expect(v.data!.verifyAuditLog).toMatchObject({ valid: false, firstInvalidSeq: '3' });
        expect(v.data!.verifyAuditLog.reason).toMatch(/does not link/);
      } finally {
        await t3.close();
      }
    });
  });
});
