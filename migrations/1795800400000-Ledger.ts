import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The double-entry ledger: accounts per (code, currency),
 * journal transactions with a unique idempotency reference, and signed
 * entries (debit > 0, credit < 0).
 *
 * PostgreSQL itself keeps the books straight, whatever writes to them (the
 * service or a raw SQL session):
 * - at COMMIT a deferred constraint trigger refuses any journal transaction
 *   with fewer than 2 entries or whose entries do not sum to zero per currency;
 * - entries may only be added in the database transaction that created their
 *   journal transaction (`posted_xact`), so a posted transaction is complete
 *   and that one check per journal transaction covers every entry (a per-entry
 *   trigger would re-sum the transaction once per line: quadratic for a
 *   payout or pool distribution with thousands of lines);
 * - accounts, transactions and entries are never updated, deleted or
 *   truncated (corrections are new, reversing transactions);
 * - an entry's currency is its account's (composite foreign key).
 */
export class Ledger1795800400000 implements MigrationInterface {
  name = 'Ledger1795800400000';

  public async up(q: QueryRunner): Promise<void> {
    const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
    await q.query(`CREATE TABLE "ledger_accounts" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "code" text NOT NULL,
      "currency" text NOT NULL,
      "kind" text NOT NULL,
      "organization_id" uuid,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_ledger_accounts" PRIMARY KEY ("id"),
      CONSTRAINT "FK_ledger_accounts_organization" FOREIGN KEY ("organization_id") REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      CONSTRAINT "UQ_ledger_accounts_code_currency" UNIQUE ("code", "currency"),
      CONSTRAINT "UQ_ledger_accounts_id_currency" UNIQUE ("id", "currency"),
      CONSTRAINT "CHK_ledger_accounts_code" CHECK ("code" ~ '^(platform:(cash|fees|processing|billed)|distiller:${uuid}:receivable|vendor:${uuid}:(payable|held|paid)|pool:[0-9]{4}-(0[1-9]|1[0-2]))$'),
      CONSTRAINT "CHK_ledger_accounts_currency" CHECK ("currency" ~ '^[A-Z]{3}$'),
      CONSTRAINT "CHK_ledger_accounts_kind" CHECK ("kind" = CASE split_part("code", ':', 1)
        WHEN 'platform' THEN 'PLATFORM_' || upper(split_part("code", ':', 2))
        WHEN 'pool' THEN 'POOL'
        ELSE upper(split_part("code", ':', 1)) || '_' || upper(split_part("code", ':', 3)) END),
      CONSTRAINT "CHK_ledger_accounts_organization" CHECK ("organization_id" IS NOT DISTINCT FROM
        CASE WHEN "code" ~ '^(distiller|vendor):' THEN split_part("code", ':', 2)::uuid END))`);
    // Balances and statements per organization (vendor payable/held/paid, distiller receivable).
    await q.query(`CREATE INDEX "IDX_ledger_accounts_organization" ON "ledger_accounts" ("organization_id") WHERE "organization_id" IS NOT NULL`);

    await q.query(`CREATE TABLE "ledger_transactions" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "reference" text NOT NULL,
      "kind" text NOT NULL,
      "description" text NOT NULL,
      "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "metadata" jsonb NOT NULL DEFAULT '{}',
      "posted_xact" bigint NOT NULL DEFAULT txid_current(),
      CONSTRAINT "PK_ledger_transactions" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_ledger_transactions_reference" UNIQUE ("reference"),
      CONSTRAINT "CHK_ledger_transactions_reference" CHECK (length("reference") BETWEEN 1 AND 200),
      CONSTRAINT "CHK_ledger_transactions_kind" CHECK ("kind" ~ '^[A-Z][A-Z0-9_]{0,63}$'),
      CONSTRAINT "CHK_ledger_transactions_metadata" CHECK (jsonb_typeof("metadata") = 'object'))`);
    // Admin listing, newest first (optionally by kind).
    await q.query(`CREATE INDEX "IDX_ledger_transactions_occurred" ON "ledger_transactions" ("occurred_at" DESC, "id" DESC)`);
    await q.query(`CREATE INDEX "IDX_ledger_transactions_kind" ON "ledger_transactions" ("kind", "occurred_at" DESC, "id" DESC)`);

    await q.query(`CREATE TABLE "ledger_entries" (
      "id" bigint GENERATED ALWAYS AS IDENTITY,
      "transaction_id" uuid NOT NULL,
      "line_no" integer NOT NULL,
      "account_id" uuid NOT NULL,
      "currency" text NOT NULL,
      "amount_minor" bigint NOT NULL,
      "memo" text,
      CONSTRAINT "PK_ledger_entries" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_ledger_entries_line" UNIQUE ("transaction_id", "line_no"),
      CONSTRAINT "FK_ledger_entries_transaction" FOREIGN KEY ("transaction_id") REFERENCES "ledger_transactions" ("id") ON DELETE RESTRICT,
      CONSTRAINT "FK_ledger_entries_account" FOREIGN KEY ("account_id", "currency") REFERENCES "ledger_accounts" ("id", "currency") ON DELETE RESTRICT,
      CONSTRAINT "CHK_ledger_entries_amount" CHECK ("amount_minor" <> 0),
      CONSTRAINT "CHK_ledger_entries_line" CHECK ("line_no" >= 1))`);
    // Balances (index-only sums) and an account's entries newest first.
    await q.query(`CREATE INDEX "IDX_ledger_entries_account" ON "ledger_entries" ("account_id", "id" DESC) INCLUDE ("amount_minor")`);

    // posted_xact is whatever the database says, never what the writer supplies.
    await q.query(`CREATE FUNCTION "ledger_transactions_stamp"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.posted_xact := txid_current();
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER "ledger_transactions_stamp" BEFORE INSERT ON "ledger_transactions"
      FOR EACH ROW EXECUTE FUNCTION "ledger_transactions_stamp"()`);

    // A posted transaction is complete: entries join it only in the database transaction that created it.
    await q.query(`CREATE FUNCTION "ledger_entries_same_posting"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        posted bigint;
      BEGIN
        SELECT t.posted_xact INTO posted FROM "ledger_transactions" t WHERE t.id = NEW.transaction_id;
        -- An unknown transaction is left to the foreign key.
        IF FOUND AND posted <> txid_current() THEN
          RAISE EXCEPTION 'ledger transaction % is already posted: entries cannot be added to it', NEW.transaction_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_same_posting';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER "ledger_entries_same_posting" BEFORE INSERT ON "ledger_entries"
      FOR EACH ROW EXECUTE FUNCTION "ledger_entries_same_posting"()`);

    await q.query(`CREATE FUNCTION "ledger_transaction_balanced"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        entries bigint;
        unbalanced text;
      BEGIN
        SELECT coalesce(sum(s.n), 0), string_agg(CASE WHEN s.total <> 0 THEN s.currency || ' ' || s.total END, ', ' ORDER BY s.currency)
          INTO entries, unbalanced
          FROM (SELECT e.currency, sum(e.amount_minor) AS total, count(*) AS n
                  FROM "ledger_entries" e WHERE e.transaction_id = NEW.id GROUP BY e.currency) s;
        IF entries < 2 THEN
          RAISE EXCEPTION 'ledger transaction % (%) has % entries; at least 2 are required', NEW.id, NEW.reference, entries
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
        END IF;
        IF unbalanced IS NOT NULL THEN
          RAISE EXCEPTION 'ledger transaction % (%) does not sum to zero: %', NEW.id, NEW.reference, unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE CONSTRAINT TRIGGER "ledger_transaction_balanced" AFTER INSERT ON "ledger_transactions"
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "ledger_transaction_balanced"()`);

    await q.query(`CREATE FUNCTION "ledger_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only (% refused); post a reversing transaction instead', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const table of ['ledger_accounts', 'ledger_transactions', 'ledger_entries']) {
      await q.query(`CREATE TRIGGER "${table}_no_update_delete" BEFORE UPDATE OR DELETE ON "${table}"
        FOR EACH ROW EXECUTE FUNCTION "ledger_append_only"()`);
      await q.query(`CREATE TRIGGER "${table}_no_truncate" BEFORE TRUNCATE ON "${table}"
        FOR EACH STATEMENT EXECUTE FUNCTION "ledger_append_only"()`);
    }
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "ledger_entries"`);
    await q.query(`DROP TABLE "ledger_transactions"`);
    await q.query(`DROP TABLE "ledger_accounts"`);
    await q.query(`DROP FUNCTION "ledger_append_only"()`);
    await q.query(`DROP FUNCTION "ledger_transaction_balanced"()`);
    await q.query(`DROP FUNCTION "ledger_entries_same_posting"()`);
    await q.query(`DROP FUNCTION "ledger_transactions_stamp"()`);
  }
}
