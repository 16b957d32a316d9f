/**
 * The invariant helper can fail: on a throwaway database, a superuser session
 * with `session_replication_role = replica` skips every trigger (the balance
 * check, immutability and the foreign keys), writes each kind of broken
 * ledger the database would otherwise refuse, and the helper must name it.
 */
import { randomUUID } from 'node:crypto';
import { Accounts } from '../src/ledger/accounts';
import { LedgerService } from '../src/ledger/ledger.service';
import { createTestDataSource } from './support/database';
import { assertLedgerInvariant, LedgerInvariantError, useLedgerInvariant } from './support/ledger-invariant';

describe('ledger invariant helper', () => {
  let ctx: Awaited<ReturnType<typeof createTestDataSource>>;
  let usd: string;
  let usd2: string;
  let eur: string;
  beforeAll(async () => {
    ctx = await createTestDataSource();
    // A consistent ledger to start from, written the normal way.
    await ctx.ds.transaction((tx) =>
      new LedgerService().post(tx, {
        reference: 'setup',
        kind: 'SETUP',
        description: 'setup',
        lines: [
          { account: Accounts.platformCash, currency: 'USD', amountMinor: 100n },
          { account: Accounts.platformFees, currency: 'USD', amountMinor: -100n },
          { account: Accounts.platformCash, currency: 'EUR', amountMinor: 100n },
          { account: Accounts.platformFees, currency: 'EUR', amountMinor: -100n },
        ],
      }),
    );
    const id = async (code: string, currency: string) =>
      (await ctx.ds.query(`SELECT id FROM ledger_accounts WHERE code = $1 AND currency = $2`, [code, currency]))[0].id as string;
    usd = await id('platform:cash', 'USD');
    usd2 = await id('platform:fees', 'USD');
    eur = await id('platform:cash', 'EUR');
  });
  afterAll(() => ctx.close());

  /** Runs statements with every trigger (and so every foreign key) off, in one transaction. */
  const unchecked = (statements: string[]) =>
    ctx.ds.transaction(async (em) => {
      await em.query(`SET LOCAL session_replication_role = replica`);
      for (const s of statements) await em.query(s);
    });
  const tx = (id: string) => `INSERT INTO ledger_transactions (id, reference, kind, description, occurred_at) VALUES ('${id}', '${id}', 'BROKEN', 'broken', now())`;
  const entry = (txId: string, line: number, account: string, currency: string, amount: number) =>
    `INSERT INTO ledger_entries (transaction_id, line_no, account_id, currency, amount_minor) VALUES ('${txId}', ${line}, '${account}', '${currency}', ${amount})`;

  afterEach(() =>
    unchecked([
      `DELETE FROM ledger_entries WHERE transaction_id <> (SELECT id FROM ledger_transactions WHERE reference = 'setup')`,
      `DELETE FROM ledger_transactions WHERE reference <> 'setup'`,
    ]),
  );

  it('passes on a consistent ledger (and the database refuses these writes with its triggers on)', async () => {
    await expect(assertLedgerInvariant(ctx.ds)).resolves.toBeUndefined();
    const a = randomUUID();
    await expect(ctx.ds.transaction(async (em) => {
      await em.query(tx(a));
      await em.query(entry(a, 1, usd, 'USD', 10));
    })).rejects.toThrow(/has 1 entries/);
  });

  const cases: [string, () => string[], RegExp[]][] = [
    [
      'an unbalanced transaction',
      () => {
        const a = randomUUID();
        return [tx(a), entry(a, 1, usd, 'USD', 10), entry(a, 2, usd2, 'USD', -9)];
      },
      [/currency does not sum to zero over all entries: \[\{"currency":"USD","total":"1"\}\]/, /transaction does not sum to zero in a currency/],
    ],
    [
      'two one-entry transactions that offset each other',
      () => {
        const [a, b] = [randomUUID(), randomUUID()];
        return [tx(a), entry(a, 1, usd, 'USD', 10), tx(b), entry(b, 1, usd2, 'USD', -10)];
      },
      [/transaction with fewer than 2 entries/],
    ],
    [
      'two unbalanced transactions whose sums cancel globally',
      () => {
        const [a, b] = [randomUUID(), randomUUID()];
        return [tx(a), entry(a, 1, usd, 'USD', 5), entry(a, 2, usd2, 'USD', 5), tx(b), entry(b, 1, usd, 'USD', -5), entry(b, 2, usd2, 'USD', -5)];
      },
      [/transaction does not sum to zero in a currency/],
    ],
    [
      'entries whose transaction does not exist',
      () => {
        const ghost = randomUUID();
        return [entry(ghost, 1, usd, 'USD', 3), entry(ghost, 2, usd2, 'USD', -3)];
      },
      [/entry without its transaction/],
    ],
    [
      'an entry whose account does not exist',
      () => {
        const a = randomUUID();
        return [tx(a), entry(a, 1, randomUUID(), 'USD', 4), entry(a, 2, usd2, 'USD', -4)];
      },
      [/entry without its account/],
    ],
    [
      "an entry in another currency than its account's",
      () => {
        const a = randomUUID();
        return [tx(a), entry(a, 1, eur, 'USD', 6), entry(a, 2, usd2, 'USD', -6)];
      },
      [/entry currency differs from its account's/],
    ],
  ];

  it.each(cases)('throws for %s', async (_label, statements, messages) => {
    await unchecked(statements());
    const err = await assertLedgerInvariant(ctx.ds).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerInvariantError);
    for (const m of messages) expect((err as Error).message).toMatch(m);
  });

  it('useLedgerInvariant registers an afterEach that runs the same check', async () => {
    const hooks: (() => Promise<void>)[] = [];
    const g = globalThis as unknown as { afterEach: (fn: () => Promise<void>) => void };
    const original = g.afterEach;
    g.afterEach = (fn) => hooks.push(fn);
    try {
      useLedgerInvariant(() => ctx.ds);
    } finally {
      g.afterEach = original;
    }
    expect(hooks).toHaveLength(1);
    await expect(hooks[0]()).resolves.toBeUndefined();
    await unchecked(cases[0][1]());
    await expect(hooks[0]()).rejects.toBeInstanceOf(LedgerInvariantError);
  });
});
