import { Controller, Get, OnModuleDestroy } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Pool } from 'pg';
import { Public } from '../auth/decorators';
import { AppConfig } from '../config/app-config';

/** How long /health waits for the database before answering 503. */
const HEALTH_TIMEOUT_MS = 2000;

/**
 * /health checks the database over its own connection, not the app's pool:
 * when the pool is saturated (slow queries, a flood of requests) the database
 * is still up, and a health check queued behind that work would report the
 * instance dead and get it restarted, which helps nobody.
 */
@Public()
@Controller('health')
export class HealthController implements OnModuleDestroy {
  private readonly pool: Pool;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    config: AppConfig,
  ) {
    this.pool = new Pool({
      connectionString: config.databaseUrl,
      max: 2,
      application_name: 'beiming-health',
      connectionTimeoutMillis: HEALTH_TIMEOUT_MS,
      statement_timeout: HEALTH_TIMEOUT_MS,
      idleTimeoutMillis: 60_000,
    });
    // An idle connection dropped by the server must not crash the process.
    this.pool.on('error', () => undefined);
  }

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.database()]);
  }

  private async database() {
    const indicator = this.indicators.check('database');
    try {
      await this.pool.query('SELECT 1');
      return indicator.up();
    } catch (e) {
      return indicator.down({ message: (e as Error).message });
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.end();
  }
}
