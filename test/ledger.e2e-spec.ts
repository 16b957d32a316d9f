/**
 * The ledger end to end: postings through LedgerService (validation before
 * SQL, idempotent references under concurrency, multi-currency), what
 * PostgreSQL refuses on its own (an unbalanced transaction at COMMIT, entries
 * added to a posted transaction, UPDATE / DELETE / TRUNCATE, a currency that is
 * not the account's), balances, and the admin GraphQL queries. The ledger
 * invariant is asserted after every test.
 */
import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Accounts } from '../src/ledger/accounts';
import { InvalidPostingError, PostingErrorReason, UnbalancedPostingError } from '../src/ledger/ledger.errors';
import { LedgerService, PostingInput } from '../src/ledger/ledger.service';
import { Database } from '../src/platform/database/transaction';
import { startTestApp, TestApp } from './support/app';
import { useLedgerInvariant } from './support/ledger-invariant';
import { makeAdmin, signUp, TestUser } from './support/users';

describe('ledger', () => {
  let t: TestApp;
  let ledger: LedgerService;
  let db: Database;
  let admin: TestUser;
  let vendor: TestUser;
  let distiller: TestUser;
  let seq = 0;

  beforeAll(async () => {
    t = await startTestApp();
    ledger = t.app.get(LedgerService);
    db = t.app.get(Database);
    admin = await makeAdmin(t, await signUp(t));
    vendor = await signUp(t);
    distiller = await signUp(t);
  });
  afterAll(() => t.close());
  useLedgerInvariant(() => t?.dataSource);

  const ref = (label: string) => `test:${label}:${++seq}`;
  const count = async (sql: string, params: unknown[] = []) => Number((await t.dataSource.query(sql, params))[0].n);
  const txCount = (reference: string) => count(`SELECT count(*) AS n FROM ledger_transactions WHERE reference = $1`, [reference]);
  const totals = async () => ({
    tx: await count(`SELECT count(*) AS n FROM ledger_transactions`),
    entries: await count(`SELECT count(*) AS n FROM ledger_entries`),
    accounts: await count(`SELECT count(*) AS n FROM ledger_accounts`),
  });

  /** An invoice issued to the distiller: DR receivable, CR billed. */
  const issued = (reference: string, amount: bigint, currency = 'USD', occurredAt?: Date): PostingInput => ({
    reference,
    kind: 'INVOICE_ISSUED',
    description: 'Invoice issued',
    occurredAt,
    lines: [
      { account: Accounts.distillerReceivable(distiller.organizationId), currency, amountMinor: amount, memo: 'owed' },
      { account: Accounts.platformBilled, currency, amountMinor: -amount },
    ],
    metadata: { invoiceId: reference },
  });

  /** Runs raw SQL in one database transaction, as a writer bypassing the service would. */
  const rawTransaction = async (statements: (string | [string, unknown[]])[]) => {
    const qr = t.dataSource.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      try {
        for (const s of statements) await (typeof s === 'string' ? qr.query(s) : qr.query(s[0], s[1]));
        await qr.commitTransaction();
      } catch (e) {
        if (qr.isTransactionActive) await qr.rollbackTransaction();
        throw e;
      }
    } finally {
      await qr.release();
    }
  };

  describe('posting', () => {
    it('records a balanced transaction: accounts created on demand with kind and owner, entries in line order', async () => {
      const reference = ref('balanced');
      const at = new Date('2026-03-04T05:06:07.123Z');
      const r = await db.transaction((tx) => ledger.post(tx, issued(reference, 1234n, 'USD', at)));
      expect(r.created).toBe(true);
      const [row] = await t.dataSource.query(`SELECT id, kind, description, occurred_at, metadata FROM ledger_transactions WHERE reference = $1`, [reference]);
      expect(row).toMatchObject({ id: r.transactionId, kind: 'INVOICE_ISSUED', description: 'Invoice issued', metadata: { invoiceId: reference } });
      expect(new Date(row.occurred_at).toISOString()).toBe(at.toISOString());
      const entries = await t.dataSource.query(
        `SELECT e.line_no, a.code, a.kind, a.organization_id, e.currency, e.amount_minor::text AS amount, e.memo
           FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE e.transaction_id = $1 ORDER BY e.line_no`,
        [r.transactionId],
      );
      expect(entries).toEqual([
        { line_no: 1, code: `distiller:${distiller.organizationId}:receivable`, kind: 'DISTILLER_RECEIVABLE', organization_id: distiller.organizationId, currency: 'USD', amount: '1234', memo: 'owed' },
        { line_no: 2, code: 'platform:billed', kind: 'PLATFORM_BILLED', organization_id: null, currency: 'USD', amount: '-1234', memo: null },
      ]);
    });

    it('refuses an unbalanced posting with a typed error before touching the database', async () => {
      const before = await totals();
      const reference = ref('unbalanced');
      const input = issued(reference, 100n);
      input.lines[1].amountMinor = -99n;
      const err = await db.transaction((tx) => ledger.post(tx, input)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnbalancedPostingError);
      expect((err as UnbalancedPostingError).imbalances).toEqual({ USD: '1' });
      expect(await totals()).toEqual(before);
    });

    it.each<[string, PostingErrorReason, (p: PostingInput) => void]>([
      ['one line', PostingErrorReason.TOO_FEW_LINES, (p) => p.lines.splice(1)],
      ['a zero amount', PostingErrorReason.ZERO_AMOUNT, (p) => p.lines.push({ account: Accounts.platformFees, currency: 'USD', amountMinor: 0n })],
      ['a JS number amount', PostingErrorReason.BAD_AMOUNT, (p) => (p.lines[0].amountMinor = 100 as unknown as bigint)],
      ['an unknown account code', PostingErrorReason.BAD_ACCOUNT, (p) => (p.lines[0].account = 'vendor:nobody:payable')],
      ['an unknown currency', PostingErrorReason.BAD_CURRENCY, (p) => p.lines.forEach((l) => (l.currency = 'usd'))],
      ['an empty reference', PostingErrorReason.BAD_REFERENCE, (p) => (p.reference = '')],
      ['a lower-case kind', PostingErrorReason.BAD_KIND, (p) => (p.kind = 'paid')],
      ['non-string metadata', PostingErrorReason.BAD_METADATA, (p) => (p.metadata = { n: 1 as unknown as string })],
    ])('refuses %s (%s), writing nothing', async (_label, reason, spoil) => {
      const before = await totals();
      const input = issued(ref('invalid'), 100n);
      spoil(input);
      const err = await db.transaction((tx) => ledger.post(tx, input)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidPostingError);
      expect((err as InvalidPostingError).reason).toBe(reason);
      expect(await totals()).toEqual(before);
    });

    it('refuses an account of an organization that does not exist, writing nothing', async () => {
      const before = await totals();
      const input = issued(ref('ghost'), 100n);
      input.lines[0].account = Accounts.vendorPayable('00000000-0000-4000-8000-000000000000');
      input.lines[0].amountMinor = 100n;
      const err = await db.transaction((tx) => ledger.post(tx, input)).catch((e: unknown) => e);
      expect((err as InvalidPostingError).reason).toBe(PostingErrorReason.UNKNOWN_ORGANIZATION);
      expect(await totals()).toEqual(before);
    });

    it('balances each currency separately in a multi-currency transaction', async () => {
      const reference = ref('fx');
      const lines = [
        { account: Accounts.platformCash, currency: 'USD', amountMinor: 1000n },
        { account: Accounts.vendorPayable(vendor.organizationId), currency: 'USD', amountMinor: -1000n },
        { account: Accounts.platformCash, currency: 'JPY', amountMinor: 1500n },
        { account: Accounts.vendorPayable(vendor.organizationId), currency: 'JPY', amountMinor: -1500n },
      ];
      const r = await db.transaction((tx) => ledger.post(tx, { reference, kind: 'FX_TEST', description: 'two currencies', lines }));
      expect(r.created).toBe(true);
      expect(await count(`SELECT count(*) AS n FROM ledger_entries WHERE transaction_id = $1`, [r.transactionId])).toBe(4);
      // Same account code, one account per currency.
      expect(await count(`SELECT count(*) AS n FROM ledger_accounts WHERE code = $1`, [Accounts.vendorPayable(vendor.organizationId)])).toBe(2);

      // Summing to zero across currencies is not balanced.
      const crossed = [
        { account: Accounts.platformCash, currency: 'USD', amountMinor: 5n },
        { account: Accounts.platformFees, currency: 'JPY', amountMinor: -5n },
      ];
      const err = await db.transaction((tx) => ledger.post(tx, { reference: ref('crossed'), kind: 'FX_TEST', description: 'x', lines: crossed })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnbalancedPostingError);
      expect((err as UnbalancedPostingError).imbalances).toEqual({ USD: '5', JPY: '-5' });
    });

    it('rolls back with the business transaction that failed after posting (the reference is free again)', async () => {
      const reference = ref('rollback');
      await expect(
        db.transaction(async (tx) => {
          await ledger.post(tx, issued(reference, 10n));
          throw new Error('the business change failed');
        }),
      ).rejects.toThrow('the business change failed');
      expect(await txCount(reference)).toBe(0);
      expect((await db.transaction((tx) => ledger.post(tx, issued(reference, 10n)))).created).toBe(true);
    });
  });

  describe('idempotent references', () => {
    it('a repeated reference returns the first transaction and writes nothing, even with different lines (logged)', async () => {
      const reference = ref('repeat');
      const first = await db.transaction((tx) => ledger.post(tx, issued(reference, 500n)));
      const before = await totals();
      const warn = jest.spyOn(Logger.prototype, 'warn');
      try {
        const same = await db.transaction((tx) => ledger.post(tx, issued(reference, 500n)));
        expect(same).toEqual({ transactionId: first.transactionId, created: false });
        expect(warn).not.toHaveBeenCalled();
        const different = await db.transaction((tx) => ledger.post(tx, issued(reference, 999n)));
        expect(different).toEqual({ transactionId: first.transactionId, created: false });
        expect(warn).toHaveBeenCalledTimes(1);
      } finally {
        warn.mockRestore();
      }
      expect(await totals()).toEqual(before);
      // Repeating within the same database transaction is also a no-op.
      const sameTx = ref('same-tx');
      await db.transaction(async (tx) => {
        const a = await ledger.post(tx, issued(sameTx, 7n, 'EUR'));
        expect(await ledger.post(tx, issued(sameTx, 7n, 'EUR'))).toEqual({ transactionId: a.transactionId, created: false });
      });
      expect(await txCount(sameTx)).toBe(1);
    });

    it('50 concurrent posts of one reference make exactly one transaction, without an error', async () => {
      const reference = ref('concurrent');
      const results = await Promise.all(Array.from({ length: 50 }, () => db.transaction((tx) => ledger.post(tx, issued(reference, 250n)))));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.transactionId)).size).toBe(1);
      expect(await txCount(reference)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM ledger_entries WHERE transaction_id = $1`, [results[0].transactionId])).toBe(2);
    });

    it('concurrent posts creating the same new accounts in different orders neither deadlock nor duplicate them', async () => {
      const fresh = await signUp(t);
      const a = Accounts.vendorPayable(fresh.organizationId);
      const b = Accounts.vendorHeld(fresh.organizationId);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          db.transaction((tx) =>
            ledger.post(tx, {
              reference: ref('accounts-race'),
              kind: 'HOLD',
              description: 'hold',
              lines: i % 2 ? [{ account: a, currency: 'GBP', amountMinor: 3n }, { account: b, currency: 'GBP', amountMinor: -3n }]
                : [{ account: b, currency: 'GBP', amountMinor: -3n }, { account: a, currency: 'GBP', amountMinor: 3n }],
            }),
          ),
        ),
      );
      expect(results.every((r) => r.created)).toBe(true);
      expect(await count(`SELECT count(*) AS n FROM ledger_accounts WHERE organization_id = $1`, [fresh.organizationId])).toBe(2);
    });
  });

  describe('batches (postMany)', () => {
    it('posts many transactions in one go, in order; references already posted are returned, not written again', async () => {
      const old = ref('batch-old');
      await db.transaction((tx) => ledger.post(tx, issued(old, 10n)));
      const before = await totals();
      const inputs = [issued(ref('batch-a'), 100n), issued(old, 10n), issued(ref('batch-b'), 250n, 'JPY')];
      const results = await db.transaction((tx) => ledger.postMany(tx, inputs));
      expect(results.map((r) => r.created)).toEqual([true, false, true]);
      const after = await totals();
      expect({ tx: after.tx - before.tx, entries: after.entries - before.entries }).toEqual({ tx: 2, entries: 4 });
      const [{ id }] = await t.dataSource.query(`SELECT id FROM ledger_transactions WHERE reference = $1`, [old]);
      expect(results[1].transactionId).toBe(id);
      const rows = await t.dataSource.query(
        `SELECT e.line_no, e.amount_minor::text AS amount FROM ledger_entries e JOIN ledger_transactions x ON x.id = e.transaction_id WHERE x.reference = $1 ORDER BY e.line_no`,
        [inputs[2].reference],
      );
      expect(rows).toEqual([
        { line_no: 1, amount: '250' },
        { line_no: 2, amount: '-250' },
      ]);
    });

    it('refuses a batch with an invalid posting or a repeated reference before writing anything', async () => {
      const before = await totals();
      const bad = { ...issued(ref('batch-bad'), 5n), lines: [{ account: Accounts.platformCash, currency: 'USD', amountMinor: 5n }, { account: Accounts.platformFees, currency: 'USD', amountMinor: -4n }] };
      await expect(db.transaction((tx) => ledger.postMany(tx, [issued(ref('batch-ok'), 1n), bad]))).rejects.toBeInstanceOf(UnbalancedPostingError);
      const r = ref('batch-twice');
      await expect(db.transaction((tx) => ledger.postMany(tx, [issued(r, 1n), issued(r, 1n)]))).rejects.toBeInstanceOf(InvalidPostingError);
      expect(await totals()).toEqual(before);
    });

    it('two concurrent batches sharing references write each reference once', async () => {
      const shared = [ref('batch-s1'), ref('batch-s2'), ref('batch-s3')];
      // Opposite orders: without a fixed insert order these two would deadlock.
      for (let round = 0; round < 5; round++) {
        const mine = shared.map((r) => `${r}:${round}`);
        const a = [...mine.map((r) => issued(r, 7n)), issued(ref('batch-a-only'), 7n)];
        const b = [...mine].reverse().map((r) => issued(r, 7n));
        const [ra, rb] = await Promise.all([db.transaction((tx) => ledger.postMany(tx, a)), db.transaction((tx) => ledger.postMany(tx, b))]);
        for (const r of mine) expect(await txCount(r)).toBe(1);
        expect(ra.slice(0, 3).map((x) => x.created).concat(rb.map((x) => x.created)).filter(Boolean)).toHaveLength(3);
      }
    });
  });

  describe('what PostgreSQL refuses on its own (a writer bypassing the service)', () => {
    const account = async (code: string, currency: string, kind: string, org: string | null = null): Promise<string> => {
      await t.dataSource.query(
        `INSERT INTO ledger_accounts (code, currency, kind, organization_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [code, currency, kind, org],
      );
      return (await t.dataSource.query(`SELECT id FROM ledger_accounts WHERE code = $1 AND currency = $2`, [code, currency]))[0].id;
    };
    const insertTx = (id: string, reference: string): [string, unknown[]] => [
      `INSERT INTO ledger_transactions (id, reference, kind, description, occurred_at) VALUES ($1, $2, 'RAW', 'raw sql', now())`,
      [id, reference],
    ];
    const insertEntry = (tx: string, line: number, accountId: string, currency: string, amount: string): [string, unknown[]] => [
      `INSERT INTO ledger_entries (transaction_id, line_no, account_id, currency, amount_minor) VALUES ($1, $2, $3, $4, $5)`,
      [tx, line, accountId, currency, amount],
    ];
    let cash: string;
    let fees: string;
    let feesJpy: string;
    beforeAll(async () => {
      cash = await account('platform:cash', 'USD', 'PLATFORM_CASH');
      fees = await account('platform:fees', 'USD', 'PLATFORM_FEES');
      feesJpy = await account('platform:fees', 'JPY', 'PLATFORM_FEES');
    });
    const uuid = () => randomUUID();

    it('accepts a balanced transaction written in raw SQL', async () => {
      const id = uuid();
      await rawTransaction([insertTx(id, ref('raw-ok')), insertEntry(id, 1, cash, 'USD', '10'), insertEntry(id, 2, fees, 'USD', '-10')]);
      expect(await count(`SELECT count(*) AS n FROM ledger_entries WHERE transaction_id = $1`, [id])).toBe(2);
    });

    it('refuses an unbalanced transaction at COMMIT (each statement succeeded), keeping nothing', async () => {
      const before = await totals();
      const id = uuid();
      await expect(rawTransaction([insertTx(id, ref('raw-unbalanced')), insertEntry(id, 1, cash, 'USD', '10'), insertEntry(id, 2, fees, 'USD', '-9')])).rejects.toThrow(
        /does not sum to zero: USD 1/,
      );
      expect(await totals()).toEqual(before);
    });

    it('refuses a transaction with fewer than 2 entries, and one balanced only across currencies', async () => {
      const before = await totals();
      const empty = uuid();
      await expect(rawTransaction([insertTx(empty, ref('raw-empty'))])).rejects.toThrow(/has 0 entries; at least 2/);
      const one = uuid();
      await expect(rawTransaction([insertTx(one, ref('raw-one')), insertEntry(one, 1, cash, 'USD', '10')])).rejects.toThrow(/has 1 entries/);
      const crossed = uuid();
      await expect(rawTransaction([insertTx(crossed, ref('raw-crossed')), insertEntry(crossed, 1, cash, 'USD', '10'), insertEntry(crossed, 2, feesJpy, 'JPY', '-10')])).rejects.toThrow(
        /does not sum to zero: JPY -10, USD 10/,
      );
      expect(await totals()).toEqual(before);
    });

    it('refuses entries added to an already posted transaction, even balanced ones', async () => {
      const { transactionId } = await db.transaction((tx) => ledger.post(tx, issued(ref('posted'), 40n)));
      await expect(rawTransaction([insertEntry(transactionId, 3, cash, 'USD', '5'), insertEntry(transactionId, 4, fees, 'USD', '-5')])).rejects.toThrow(
        /already posted/,
      );
      expect(await count(`SELECT count(*) AS n FROM ledger_entries WHERE transaction_id = $1`, [transactionId])).toBe(2);
    });

    it("refuses an entry whose currency is not its account's, and a zero amount", async () => {
      const id = uuid();
      await expect(rawTransaction([insertTx(id, ref('raw-currency')), insertEntry(id, 1, cash, 'EUR', '10'), insertEntry(id, 2, fees, 'EUR', '-10')])).rejects.toThrow(
        /FK_ledger_entries_account/,
      );
      const zero = uuid();
      await expect(rawTransaction([insertTx(zero, ref('raw-zero')), insertEntry(zero, 1, cash, 'USD', '0'), insertEntry(zero, 2, fees, 'USD', '0')])).rejects.toThrow(
        /CHK_ledger_entries_amount/,
      );
    });

    it('refuses an account whose kind or owner does not match its code', async () => {
      await expect(account('platform:cash', 'EUR', 'PLATFORM_FEES')).rejects.toThrow(/CHK_ledger_accounts_kind/);
      await expect(account(`vendor:${vendor.organizationId}:payable`, 'EUR', 'VENDOR_PAYABLE', distiller.organizationId)).rejects.toThrow(
        /CHK_ledger_accounts_organization/,
      );
      await expect(account('platform:bank', 'EUR', 'PLATFORM_BANK')).rejects.toThrow(/CHK_ledger_accounts_code/);
    });

    it('refuses UPDATE, DELETE and TRUNCATE of entries, transactions and accounts', async () => {
      const { transactionId } = await db.transaction((tx) => ledger.post(tx, issued(ref('immutable'), 60n)));
      const before = await totals();
      for (const sql of [
        `UPDATE ledger_entries SET amount_minor = amount_minor * 2 WHERE transaction_id = '${transactionId}'`,
        `DELETE FROM ledger_entries WHERE transaction_id = '${transactionId}'`,
        `UPDATE ledger_transactions SET description = 'rewritten' WHERE id = '${transactionId}'`,
        `DELETE FROM ledger_transactions WHERE id = '${transactionId}'`,
        `UPDATE ledger_accounts SET currency = 'EUR' WHERE code = 'platform:billed'`,
        `DELETE FROM ledger_accounts WHERE code = 'platform:billed'`,
        `TRUNCATE ledger_entries CASCADE`,
        `TRUNCATE ledger_transactions CASCADE`,
        `TRUNCATE ledger_accounts CASCADE`,
      ]) {
        await expect(t.dataSource.query(sql)).rejects.toThrow(/append-only/);
      }
      expect(await totals()).toEqual(before);
    });

    it('stamps posted_xact itself (a writer cannot forge it to append later)', async () => {
      const id = uuid();
      await rawTransaction([
        [`INSERT INTO ledger_transactions (id, reference, kind, description, occurred_at, posted_xact) VALUES ($1, $2, 'RAW', 'forged', now(), 1)`, [id, ref('forged')]],
        insertEntry(id, 1, cash, 'USD', '1'),
        insertEntry(id, 2, fees, 'USD', '-1'),
      ]);
      expect(Number((await t.dataSource.query(`SELECT posted_xact::text AS x FROM ledger_transactions WHERE id = $1`, [id]))[0].x)).toBeGreaterThan(1);
    });
  });

  describe('balances', () => {
    it('sums entries per account and currency, debit positive; zero for a requested currency never posted', async () => {
      const org = (await signUp(t)).organizationId;
      const receivable = Accounts.distillerReceivable(org);
      const post = (reference: string, amount: bigint, currency: string) =>
        db.transaction((tx) =>
          ledger.post(tx, {
            reference,
            kind: 'INVOICE_ISSUED',
            description: 'issued',
            lines: [
              { account: receivable, currency, amountMinor: amount },
              { account: Accounts.platformBilled, currency, amountMinor: -amount },
            ],
          }),
        );
      await post(ref('bal'), 700n, 'USD');
      await post(ref('bal'), 300n, 'USD');
      await post(ref('bal'), 5_000n, 'JPY');
      expect(await ledger.balances(db.reader, [{ account: receivable }])).toEqual([
        { account: receivable, currency: 'JPY', balanceMinor: 5_000n },
        { account: receivable, currency: 'USD', balanceMinor: 1_000n },
      ]);
      expect(
        await ledger.balances(db.reader, [
          { account: receivable, currency: 'USD' },
          { account: receivable, currency: 'EUR' },
          { account: Accounts.vendorPayable(org) },
        ]),
      ).toEqual([
        { account: receivable, currency: 'USD', balanceMinor: 1_000n },
        { account: receivable, currency: 'EUR', balanceMinor: 0n },
      ]);
      const [billed] = await ledger.balances(db.reader, [{ account: Accounts.platformBilled, currency: 'JPY' }]);
      expect(billed.balanceMinor < 0n).toBe(true); // credit
      await expect(ledger.balances(db.reader, [{ account: 'nope' }])).rejects.toBeInstanceOf(InvalidPostingError);
      expect(await ledger.balances(db.reader, [])).toEqual([]);
    });
  });

  describe('admin GraphQL', () => {
    const TXS = `query($filter: LedgerTransactionFilter, $first: Int, $after: String) {
      ledgerTransactions(filter: $filter, first: $first, after: $after) {
        edges { cursor node { id reference kind description occurredAt metadata
          entries { id accountCode side memo amount { amountMinor currency formatted } } } }
        pageInfo { hasNextPage endCursor }
      }
    }`;
    const ACCOUNT = `query($code: String!, $first: Int, $after: String, $currency: String) {
      ledgerAccount(code: $code) {
        code kind normalBalance organizationId
        balances { currency signedBalance { amountMinor currency formatted } balance { amountMinor currency formatted } }
        entries(first: $first, after: $after, currency: $currency) {
          edges { cursor node { id side memo reference kind transactionId occurredAt amount { amountMinor currency } } }
          pageInfo { hasNextPage endCursor }
        }
      }
    }`;
    let org: string;
    const refs: string[] = [];

    beforeAll(async () => {
      org = (await signUp(t)).organizationId;
      // Five sales of a vendor's licence on five days: cash in, platform fee, vendor share.
      for (let day = 1; day <= 5; day++) {
        const reference = `gql:sale:${day}`;
        refs.push(reference);
        await db.transaction((tx) =>
          ledger.post(tx, {
            reference,
            kind: day === 5 ? 'REFUND' : 'INVOICE_PAID',
            description: `sale ${day}`,
            occurredAt: new Date(Date.UTC(2031, 0, day, 12)),
            lines: [
              { account: Accounts.platformCash, currency: 'USD', amountMinor: 1000n * BigInt(day) },
              { account: Accounts.platformFees, currency: 'USD', amountMinor: -100n * BigInt(day) },
              { account: Accounts.vendorPayable(org), currency: 'USD', amountMinor: -900n * BigInt(day), memo: `share ${day}` },
            ],
            metadata: { day: String(day) },
          }),
        );
      }
    });

    it('pages journal transactions newest first with their entries as Money', async () => {
      const filter = { accountCode: Accounts.vendorPayable(org) };
      const p1 = await t.gql(TXS, { filter, first: 2 }, admin.token);
      expect(p1.errors).toBeUndefined();
      const c1 = p1.data!.ledgerTransactions;
      expect(c1.edges.map((e: any) => e.node.reference)).toEqual(['gql:sale:5', 'gql:sale:4']);
      expect(c1.pageInfo.hasNextPage).toBe(true);
      expect(c1.edges[1].node).toMatchObject({
        kind: 'INVOICE_PAID',
        description: 'sale 4',
        occurredAt: '2031-01-04T12:00:00.000Z',
        metadata: { day: '4' },
        entries: [
          { accountCode: 'platform:cash', side: 'DEBIT', memo: null, amount: { amountMinor: '4000', currency: 'USD', formatted: '40.00 USD' } },
          { accountCode: 'platform:fees', side: 'CREDIT', memo: null, amount: { amountMinor: '-400', currency: 'USD', formatted: '-4.00 USD' } },
          { accountCode: `vendor:${org}:payable`, side: 'CREDIT', memo: 'share 4', amount: { amountMinor: '-3600', currency: 'USD', formatted: '-36.00 USD' } },
        ],
      });
      const p2 = (await t.gql(TXS, { filter, first: 2, after: c1.pageInfo.endCursor }, admin.token)).data!.ledgerTransactions;
      expect(p2.edges.map((e: any) => e.node.reference)).toEqual(['gql:sale:3', 'gql:sale:2']);
      const p3 = (await t.gql(TXS, { filter, first: 2, after: p2.pageInfo.endCursor }, admin.token)).data!.ledgerTransactions;
      expect(p3.edges.map((e: any) => e.node.reference)).toEqual(['gql:sale:1']);
      expect(p3.pageInfo).toEqual({ hasNextPage: false, endCursor: p3.edges[0].cursor });
    });

    it('filters by kind, reference and an occurredAt range [from, to)', async () => {
      const refsOf = async (filter: Record<string, unknown>) =>
        (await t.gql(TXS, { filter, first: 100 }, admin.token)).data!.ledgerTransactions.edges.map((e: any) => e.node.reference);
      expect(await refsOf({ kind: 'REFUND', accountCode: Accounts.vendorPayable(org) })).toEqual(['gql:sale:5']);
      expect(await refsOf({ reference: 'gql:sale:2' })).toEqual(['gql:sale:2']);
      expect(await refsOf({ from: '2031-01-02T12:00:00.000Z', to: '2031-01-04T12:00:00.000Z' })).toEqual(['gql:sale:3', 'gql:sale:2']);
      expect(await refsOf({ reference: 'gql:none' })).toEqual([]);
    });

    it('answers bad arguments with BAD_USER_INPUT', async () => {
      const code = async (vars: Record<string, unknown>) => (await t.gql(TXS, vars, admin.token)).errors?.[0].extensions.code;
      expect(await code({ after: 'not-a-cursor' })).toBe('BAD_USER_INPUT');
      expect(await code({ after: Buffer.from('ltx:1:zzz').toString('base64url') })).toBe('BAD_USER_INPUT');
      expect(await code({ filter: { accountCode: 'vendor:x:payable' } })).toBe('BAD_USER_INPUT');
      expect(await code({ filter: { kind: 'paid' } })).toBe('BAD_USER_INPUT');
      expect(await code({ filter: { from: '2031-01-02T00:00:00Z', to: '2031-01-01T00:00:00Z' } })).toBe('BAD_USER_INPUT');
      expect(await code({ first: 0 })).toBe('BAD_USER_INPUT');
      expect(await code({ first: 101 })).toBe('BAD_USER_INPUT');
      // An account-entries cursor is not a transactions cursor.
      const entryCursor = (await t.gql(ACCOUNT, { code: Accounts.vendorPayable(org), first: 1 }, admin.token)).data!.ledgerAccount.entries.pageInfo.endCursor;
      expect(await code({ after: entryCursor })).toBe('BAD_USER_INPUT');
    });

    it("shows an account's balances (signed and on its normal side) and pages its entries", async () => {
      const r = await t.gql(ACCOUNT, { code: Accounts.vendorPayable(org), first: 2 }, admin.token);
      expect(r.errors).toBeUndefined();
      const a = r.data!.ledgerAccount;
      expect(a).toMatchObject({
        code: `vendor:${org}:payable`,
        kind: 'VENDOR_PAYABLE',
        normalBalance: 'CREDIT',
        organizationId: org,
        balances: [
          {
            currency: 'USD',
            signedBalance: { amountMinor: '-13500', currency: 'USD', formatted: '-135.00 USD' },
            balance: { amountMinor: '13500', currency: 'USD', formatted: '135.00 USD' },
          },
        ],
      });
      expect(a.entries.edges.map((e: any) => [e.node.reference, e.node.amount.amountMinor, e.node.side])).toEqual([
        ['gql:sale:5', '-4500', 'CREDIT'],
        ['gql:sale:4', '-3600', 'CREDIT'],
      ]);
      const rest = (await t.gql(ACCOUNT, { code: Accounts.vendorPayable(org), first: 10, after: a.entries.pageInfo.endCursor }, admin.token)).data!.ledgerAccount.entries;
      expect(rest.edges.map((e: any) => e.node.reference)).toEqual(['gql:sale:3', 'gql:sale:2', 'gql:sale:1']);
      expect(rest.pageInfo.hasNextPage).toBe(false);
      const eur = (await t.gql(ACCOUNT, { code: Accounts.vendorPayable(org), currency: 'EUR' }, admin.token)).data!.ledgerAccount.entries;
      expect(eur.edges).toEqual([]);

      const cash = (await t.gql(ACCOUNT, { code: 'platform:cash' }, admin.token)).data!.ledgerAccount;
      expect(cash.normalBalance).toBe('DEBIT');
      for (const b of cash.balances) expect(b.balance.amountMinor).toBe(b.signedBalance.amountMinor);
    });

    it('ledgerAccount: an account never posted to is NOT_FOUND; a malformed code or cursor is BAD_USER_INPUT', async () => {
      const code = async (vars: Record<string, unknown>) => (await t.gql(ACCOUNT, vars, admin.token)).errors?.[0].extensions.code;
      expect(await code({ code: Accounts.vendorHeld(org) })).toBe('NOT_FOUND');
      expect(await code({ code: 'vendor:someone:payable' })).toBe('BAD_USER_INPUT');
      expect(await code({ code: 'platform:bank' })).toBe('BAD_USER_INPUT');
      expect(await code({ code: Accounts.vendorPayable(org), after: 'garbage' })).toBe('BAD_USER_INPUT');
      expect(await code({ code: Accounts.vendorPayable(org), currency: 'usd' })).toBe('BAD_USER_INPUT');
    });

    it('is for platform admins only: FORBIDDEN for members (even of the account’s organization), UNAUTHENTICATED anonymously', async () => {
      for (const [query, vars] of [
        [TXS, {}],
        [ACCOUNT, { code: Accounts.vendorPayable(vendor.organizationId) }],
      ] as const) {
        for (const user of [vendor, distiller]) {
          const r = await t.gql(query, vars, user.token);
          expect(r.data).toBeNull();
          expect(r.errors![0].extensions.code).toBe('FORBIDDEN');
        }
        expect((await t.gql(query, vars)).errors![0].extensions.code).toBe('UNAUTHENTICATED');
      }
    });
  });
});
