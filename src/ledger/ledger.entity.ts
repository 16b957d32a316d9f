/**
 * Ledger rows as stored (migrations/1795800400000-Ledger.ts). The service
 * writes them with visible SQL; these entities exist so the schema stays
 * checked against the migration. Every row is immutable once committed.
 */
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintTransformer } from '../platform/database/bigint.transformer';
import { AccountKind } from './accounts';

/** One account per (code, currency); created on first posting. */
@Entity({ name: 'ledger_accounts' })
export class LedgerAccountEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  code: string;

  @Column({ type: 'text' })
  currency: string;

  @Column({ type: 'text' })
  kind: AccountKind;

  @Column({ type: 'uuid', name: 'organization_id', nullable: true })
  organizationId: string | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}

/** A journal transaction: ≥ 2 entries summing to zero per currency, unique by reference. */
@Entity({ name: 'ledger_transactions' })
export class LedgerTransactionEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  reference: string;

  @Column({ type: 'text' })
  kind: string;

  @Column({ type: 'text' })
  description: string;

  @Column({ type: 'timestamptz', name: 'occurred_at' })
  occurredAt: Date;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, string>;

  /** The database transaction that posted it (set by trigger); entries may join only within it. */
  @Column({ type: 'bigint', name: 'posted_xact', default: () => 'txid_current()', select: false, insert: false, update: false, transformer: bigintTransformer })
  postedXact: bigint;
}

/** A signed amount on one account: positive debit, negative credit, never zero. */
@Entity({ name: 'ledger_entries' })
export class LedgerEntryEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'uuid', name: 'transaction_id' })
  transactionId: string;

  @Column({ type: 'integer', name: 'line_no' })
  lineNo: number;

  @Column({ type: 'uuid', name: 'account_id' })
  accountId: string;

  @Column({ type: 'text' })
  currency: string;

  @Column({ type: 'bigint', name: 'amount_minor', transformer: bigintTransformer })
  amountMinor: bigint;

  @Column({ type: 'text', nullable: true })
  memo: string | null;
}
