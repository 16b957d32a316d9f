/**
 * What a module asks the ledger to record, and the rules checked before any
 * SQL runs (the database checks balance and immutability again, for writers
 * that bypass this service).
 */
import { isCurrencyCode } from '../platform/validation/iso-codes';
import { isAccountCode } from './accounts';
import { InvalidPostingError, PostingErrorReason as R, UnbalancedPostingError } from './ledger.errors';

export interface PostingLine {
  /** An account code (src/ledger/accounts.ts). */
  account: string;
  currency: string;
  /** Positive = debit, negative = credit; never zero. */
  amountMinor: bigint;
  memo?: string;
}

export interface PostingInput {
  /** Unique idempotency reference, e.g. "invoice:<id>:paid": posting it again records nothing. */
  reference: string;
  /** What happened, e.g. "INVOICE_ISSUED", "INVOICE_PAID", "REFUND" (upper snake case). */
  kind: string;
  description: string;
  /** When the business event happened (defaults to now). */
  occurredAt?: Date;
  lines: PostingLine[];
  metadata?: Record<string, string>;
}

export interface PostingResult {
  transactionId: string;
  /** false when the reference was already posted: nothing was written. */
  created: boolean;
}

export const MAX_POSTING_LINES = 10_000;
const BIGINT_MAX = 2n ** 63n - 1n;
const REFERENCE = /^[\x21-\x7e]{1,200}$/;
const KIND = /^[A-Z][A-Z0-9_]{0,63}$/;
const MAX_TEXT = 1_000;
const MAX_METADATA_KEYS = 50;

const fail = (reason: R, message: string, details?: Record<string, unknown>): never => {
  throw new InvalidPostingError(reason, message, details);
};

/** Throws InvalidPostingError (UnbalancedPostingError for sums) unless the posting can be written as is. */
export function validatePosting(input: PostingInput): void {
  if (typeof input.reference !== 'string' || !REFERENCE.test(input.reference)) {
    fail(R.BAD_REFERENCE, 'reference must be 1–200 printable ASCII characters without spaces');
  }
  const at = `posting ${input.reference}`;
  if (typeof input.kind !== 'string' || !KIND.test(input.kind)) fail(R.BAD_KIND, `${at}: kind must be UPPER_SNAKE_CASE (got ${String(input.kind)})`);
  if (typeof input.description !== 'string' || input.description.length > MAX_TEXT) {
    fail(R.BAD_DESCRIPTION, `${at}: description must be a string of at most ${MAX_TEXT} characters`);
  }
  if (input.occurredAt !== undefined && (!(input.occurredAt instanceof Date) || Number.isNaN(input.occurredAt.getTime()))) {
    fail(R.BAD_OCCURRED_AT, `${at}: occurredAt must be a valid Date`);
  }
  if (input.metadata !== undefined) {
    const m = input.metadata;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) fail(R.BAD_METADATA, `${at}: metadata must be an object of strings`);
    const entries = Object.entries(m);
    if (entries.length > MAX_METADATA_KEYS || entries.some(([k, v]) => typeof v !== 'string' || k.length > 100 || v.length > MAX_TEXT)) {
      fail(R.BAD_METADATA, `${at}: metadata must hold at most ${MAX_METADATA_KEYS} string values`);
    }
  }
  if (!Array.isArray(input.lines) || input.lines.length < 2) fail(R.TOO_FEW_LINES, `${at}: at least 2 lines are required`);
  if (input.lines.length > MAX_POSTING_LINES) fail(R.TOO_MANY_LINES, `${at}: at most ${MAX_POSTING_LINES} lines`);

  const sums = new Map<string, bigint>();
  input.lines.forEach((line, i) => {
    const where = `${at}, line ${i + 1}`;
    if (typeof line.account !== 'string' || !isAccountCode(line.account)) fail(R.BAD_ACCOUNT, `${where}: unknown account code ${String(line.account)}`);
    if (!isCurrencyCode(line.currency)) fail(R.BAD_CURRENCY, `${where}: unknown currency ${String(line.currency)}`);
    if (typeof line.amountMinor !== 'bigint') fail(R.BAD_AMOUNT, `${where}: amountMinor must be a bigint`);
    if (line.amountMinor === 0n) fail(R.ZERO_AMOUNT, `${where}: amountMinor must not be zero`);
    if (line.amountMinor > BIGINT_MAX || line.amountMinor < -BIGINT_MAX) fail(R.BAD_AMOUNT, `${where}: amountMinor is out of range`);
    if (line.memo !== undefined && line.memo !== null && (typeof line.memo !== 'string' || line.memo.length > MAX_TEXT)) {
      fail(R.BAD_MEMO, `${where}: memo must be a string of at most ${MAX_TEXT} characters`);
    }
    sums.set(line.currency, (sums.get(line.currency) ?? 0n) + line.amountMinor);
  });
  const imbalances: Record<string, string> = {};
  for (const [currency, sum] of sums) if (sum !== 0n) imbalances[currency] = sum.toString();
  if (Object.keys(imbalances).length > 0) throw new UnbalancedPostingError(imbalances);
}

/** Order-insensitive fingerprint of a posting's lines, to notice a reference reused for different lines. */
export function linesFingerprint(lines: readonly { account: string; currency: string; amountMinor: bigint }[]): string {
  return lines
    .map((l) => `${l.account}|${l.currency}|${l.amountMinor.toString()}`)
    .sort()
    .join('\n');
}
