import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './app-config';

const tmp = () => mkdtempSync(join(tmpdir(), 'beiming-config-'));

describe('loadConfig', () => {
  it('defaults PORT to 3000 and generates a persisted local JWT secret when unset', () => {
    const dir = tmp();
    const a = loadConfig({ DATA_DIR: dir });
    expect(a.port).toBe(3000);
    expect(a.jwtSecret.length).toBeGreaterThanOrEqual(32);
    const b = loadConfig({ DATA_DIR: dir });
    expect(b.jwtSecret).toBe(a.jwtSecret); // survives restarts
    const file = join(dir, 'local-secrets.json');
    expect(JSON.parse(readFileSync(file, 'utf8')).jwtSecret).toBe(a.jwtSecret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadConfig({ DATA_DIR: tmp() }).jwtSecret).not.toBe(a.jwtSecret); // never a hard-coded default
  });

  it('requires JWT_SECRET in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: tmp() })).toThrow(/JWT_SECRET is required/);
  });

  it('names the variable in validation errors', () => {
    const env = { DATA_DIR: tmp(), JWT_SECRET: 'x'.repeat(40) };
    expect(() => loadConfig({ ...env, PORT: 'abc' })).toThrow(/PORT/);
    expect(() => loadConfig({ ...env, PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...env, JWT_SECRET: 'short' })).toThrow(/JWT_SECRET must be at least 32/);
    expect(() => loadConfig({ ...env, DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ ...env, LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
    expect(() => loadConfig({ ...env, ADMIN_EMAIL: 'a@b.io' })).toThrow(/ADMIN_EMAIL and ADMIN_PASSWORD/);
    expect(() => loadConfig({ ...env, ADMIN_EMAIL: 'a@b.io', ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD/);
  });

  it('never describes secrets', () => {
    const c = loadConfig({
      DATA_DIR: tmp(),
      JWT_SECRET: 's'.repeat(40),
      ADMIN_EMAIL: 'a@b.io',
      ADMIN_PASSWORD: 'admin password 123',
      DATABASE_URL: 'postgres://u:pw@h/db',
    });
    const text = JSON.stringify(c.describe());
    expect(text).not.toContain('s'.repeat(40));
    expect(text).not.toContain('admin password 123');
    expect(text).not.toContain('pw@');
    expect(c.describe()).toMatchObject({ jwtSecret: '<set>', adminEmail: 'a@b.io', port: 3000 });
  });

  it('EARNINGS_HOLDBACK_DAYS: whole days, 0 allowed, default 7', () => {
    const env = { DATA_DIR: tmp(), JWT_SECRET: 'x'.repeat(40) };
    expect(loadConfig(env).earningsHoldbackDays).toBe(7);
    expect(loadConfig({ ...env, EARNINGS_HOLDBACK_DAYS: '0' }).earningsHoldbackDays).toBe(0);
    expect(loadConfig({ ...env, EARNINGS_HOLDBACK_DAYS: '30' }).earningsHoldbackDays).toBe(30);
    for (const bad of ['-1', '1.5', 'seven', '366']) {
      expect(() => loadConfig({ ...env, EARNINGS_HOLDBACK_DAYS: bad })).toThrow(/EARNINGS_HOLDBACK_DAYS/);
    }
  });
  it('PAYOUT_MINIMUMS and PAYOUT_APPROVAL_LIMITS: parsed exactly, refused when malformed', () => {
    const env = { DATA_DIR: tmp(), JWT_SECRET: 'x'.repeat(40) };
    const d = loadConfig(env);
    expect(d.payoutMinimumByCurrency.get('USD')).toBe(2500n);
    expect(d.payoutMinimumByCurrency.get('JPY')).toBe(300n);
    expect(d.payoutApprovalLimitByAdmin.size).toBe(0);
    const c = loadConfig({ ...env, PAYOUT_MINIMUMS: 'USD:1000, KWD:5000', PAYOUT_APPROVAL_LIMITS: 'Alice@Example.com:USD:100000,bob@example.com:EUR:5' });
    expect([...c.payoutMinimumByCurrency]).toEqual([['USD', 1000n], ['KWD', 5000n]]);
    expect(c.payoutApprovalLimitByAdmin.get('alice@example.com USD')).toBe(100000n);
    expect(c.payoutApprovalLimitByAdmin.get('bob@example.com EUR')).toBe(5n);
    for (const bad of ['USD', 'usd:10', 'USD:0', 'USD:10,USD:20', 'USD:1.5', 'USD:-3']) {
      expect(() => loadConfig({ ...env, PAYOUT_MINIMUMS: bad })).toThrow(/PAYOUT_MINIMUMS/);
    }
    for (const bad of ['alice:USD:10', 'a@b.io:usd:10', 'a@b.io:USD:ten', 'a@b.io:USD:1,a@b.io:USD:2']) {
      expect(() => loadConfig({ ...env, PAYOUT_APPROVAL_LIMITS: bad })).toThrow(/PAYOUT_APPROVAL_LIMITS/);
    }
  });
});
