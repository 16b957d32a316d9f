/**
 * Repeated failed log-ins are throttled per email and per client address, in a
 * sliding window kept in PostgreSQL so every replica sees the same count.
 */
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../platform/config/app-config';
import { Database } from '../platform/database/transaction';
import { IdentityRepository } from './identity.repository';

@Injectable()
export class LoginThrottleService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly identity: IdentityRepository,
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
      const row = await this.identity.loginFailureWindow(this.db.reader, key, window, max);
      if (row.n >= max) wait = Math.max(wait, Math.max(1, row.wait ?? 1));
    }
    return wait;
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    const keys = this.keys(email, ip).map((k) => k.key);
    await this.db.transaction(async (tx) => {
      await this.identity.insertLoginFailures(tx, keys);
      await this.identity.pruneLoginFailures(tx, keys, this.config.loginWindowSeconds);
    });
  }

  async recordSuccess(email: string): Promise<void> {
    await this.identity.clearLoginFailures(this.db.reader, `email:${email.toLowerCase()}`);
  }
}
