/**
 * The SQL of identity that is not plain entity access: the failed log-in
 * window, the throttled API-key last-use stamp and the admin bootstrap lock.
 * Every method takes the caller's EntityManager (a transaction's, or the
 * reader), so none can run outside it by accident.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/** One pg_advisory_xact_lock key for creating or promoting the boot-time admin. */
const ADMIN_BOOTSTRAP_LOCK = 7340002;

/** The recent failures of one throttle key, within its allowance. */
export interface LoginFailureWindowRow {
  n: number;
  /** Seconds until the oldest counted failure leaves the window; null when there is none. */
  wait: number | null;
}

@Injectable()
export class IdentityRepository {
  /** Serialises concurrent boots that each ensure the admin. */
  async lockAdminBootstrap(tx: EntityManager): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(${ADMIN_BOOTSTRAP_LOCK})`);
  }

  /** Stamps the key's last use, at most once a minute (a hot path: most calls write nothing). */
  async touchApiKeyLastUsed(em: EntityManager, apiKeyId: string): Promise<void> {
    await em.query(
      `UPDATE api_keys SET last_used_at = now()
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [apiKeyId],
    );
  }

  /** The key's failures in the last `windowSeconds`, counting at most `max` of them. */
  async loginFailureWindow(em: EntityManager, key: string, windowSeconds: number, max: number): Promise<LoginFailureWindowRow> {
    const [row] = (await em.query(
      `SELECT count(*)::int AS n,
                ceil(extract(epoch FROM (min(failed_at) + make_interval(secs => $2)) - now()))::int AS wait
           FROM (SELECT failed_at FROM login_failures
                  WHERE key = $1 AND failed_at > now() - make_interval(secs => $2)
                  ORDER BY failed_at DESC LIMIT $3) recent`,
      [key, windowSeconds, max],
    )) as LoginFailureWindowRow[];
    return row;
  }

  async insertLoginFailures(tx: EntityManager, keys: string[]): Promise<void> {
    await tx.query(`INSERT INTO login_failures (key) SELECT unnest($1::text[])`, [keys]);
  }

  /** Drops the keys' failures that have left the window, so the table stays small. */
  async pruneLoginFailures(tx: EntityManager, keys: string[], windowSeconds: number): Promise<void> {
    await tx.query(`DELETE FROM login_failures WHERE key = ANY($1) AND failed_at < now() - make_interval(secs => $2)`, [keys, windowSeconds]);
  }

  async clearLoginFailures(em: EntityManager, key: string): Promise<void> {
    await em.query(`DELETE FROM login_failures WHERE key = $1`, [key]);
  }
}
