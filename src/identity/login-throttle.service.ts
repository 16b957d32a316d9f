/**
 * Repeated failed log-ins are throttled per email and per client address, in a
 * sliding window kept in PostgreSQL so every replica sees the same count.
 */
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../platform/config/app-config';
import { Database } from '../platform/database/transaction';

@Injectable()
export class LoginThrottleService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
  ) {}

  private keys(email: string, ip: string): { key: string; max: number }[] {
    const max = this.config.loginMaxFailures;
    // One address may front many users (NAT): it gets a larger allowance.
    return [
      { key: `email:${email.toLowerCase()}`, max },
      { key: `ip:${ip}`, max: max * 4 },
    ];
  }

  /** Seconds to wait, or 0 when a log-in may be attempted. */
  async retryAfter(email: string, ip: string): Promise<number> {
    const window = this.config.loginWindowSeconds;
    let wait = 0;
    for (const { key, max } of this.keys(email, ip)) {
      const [row] = (await this.db.reader.query(
        `SELECT count(*)::int AS n,
                ceil(extract(epoch FROM (min(failed_at) + make_interval(secs => $2)) - now()))::int AS wait
           FROM (SELECT failed_at FROM login_failures
                  WHERE key = $1 AND failed_at > now() - make_interval(secs => $2)
                  ORDER BY failed_at DESC LIMIT $3) recent`,
        [key, window, max],
      )) as { n: number; wait: number | null }[];
      if (row.n >= max) wait = Math.max(wait, Math.max(1, row.wait ?? 1));
    }
    return wait;
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    const keys = this.keys(email, ip).map((k) => k.key);
    await this.db.transaction(async (tx) => {
      await tx.query(`INSERT INTO login_failures (key) SELECT unnest($1::text[])`, [keys]);
      await tx.query(`DELETE FROM login_failures WHERE key = ANY($1) AND failed_at < now() - make_interval(secs => $2)`, [
        keys,
        this.config.loginWindowSeconds,
      ]);
    });
  }

  async recordSuccess(email: string): Promise<void> {
    await this.db.reader.query(`DELETE FROM login_failures WHERE key = $1`, [`email:${email.toLowerCase()}`]);
  }
}
