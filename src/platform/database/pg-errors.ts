/** Recognises PostgreSQL errors by SQLSTATE (and constraint name) through TypeORM's wrapper. */
interface PgError {
  code?: string;
  constraint?: string;
  driverError?: PgError;
}

function pg(err: unknown): PgError | undefined {
  const e = err as PgError | undefined;
  return e?.driverError ?? e;
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = pg(err);
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

export function isForeignKeyViolation(err: unknown): boolean {
  return pg(err)?.code === '23503';
}

export function isSerializationFailure(err: unknown): boolean {
  const code = pg(err)?.code;
  return code === '40001' || code === '40P01';
}

/** query_canceled: the statement timeout (or an operator's pg_cancel_backend) stopped the statement. */
export function isQueryCanceled(err: unknown): boolean {
  return pg(err)?.code === '57014';
}
