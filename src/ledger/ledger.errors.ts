/**
 * A posting the ledger refuses before touching the database. These are bugs
 * in the calling module (its amounts or accounts are wrong), not user input,
 * hence INTERNAL; `reason` says which rule was broken.
 */
import { AppError, ErrorCode } from '../platform/errors/app-error';

export enum PostingErrorReason {
  BAD_REFERENCE = 'BAD_REFERENCE',
  BAD_KIND = 'BAD_KIND',
  BAD_DESCRIPTION = 'BAD_DESCRIPTION',
  BAD_OCCURRED_AT = 'BAD_OCCURRED_AT',
  BAD_METADATA = 'BAD_METADATA',
  TOO_FEW_LINES = 'TOO_FEW_LINES',
  TOO_MANY_LINES = 'TOO_MANY_LINES',
  BAD_ACCOUNT = 'BAD_ACCOUNT',
  BAD_CURRENCY = 'BAD_CURRENCY',
  BAD_AMOUNT = 'BAD_AMOUNT',
  ZERO_AMOUNT = 'ZERO_AMOUNT',
  BAD_MEMO = 'BAD_MEMO',
  UNBALANCED = 'UNBALANCED',
  UNKNOWN_ORGANIZATION = 'UNKNOWN_ORGANIZATION',
}

export class InvalidPostingError extends AppError {
  constructor(
    readonly reason: PostingErrorReason,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(ErrorCode.INTERNAL, `Invalid ledger posting: ${message}`, { reason, ...details });
  }
}

/** The lines do not sum to zero in at least one currency; `imbalances` maps currency → signed sum (decimal string). */
export class UnbalancedPostingError extends InvalidPostingError {
  constructor(readonly imbalances: Record<string, string>) {
    super(
      PostingErrorReason.UNBALANCED,
      `lines do not sum to zero per currency (${Object.entries(imbalances).map(([c, s]) => `${c} ${s}`).join(', ')})`,
      { imbalances },
    );
  }
}
