import { ConflictError } from '../../platform/errors/app-error';

/** Statements are only issued for a CLOSED billing period (what it says can no longer change). */
export class StatementPeriodNotClosedError extends ConflictError {
  constructor(period: string, status: string) {
    super(`Billing period ${period} is not closed (${status}): statements are issued once it is closed`, { reason: 'PERIOD_NOT_CLOSED', period, status });
  }
}
