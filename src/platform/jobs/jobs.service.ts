/**
 * Background work on PostgreSQL (pg-boss): modules register recurring jobs
 * while the app is being built; at bootstrap pg-boss starts (installing or
 * upgrading its own `pgboss` schema, which it versions itself), creates each
 * queue, schedules it (cron, UTC — one schedule per queue however many
 * replicas run) and works it. Each handler runs its own transactions. Stopped
 * gracefully on shutdown. JOBS_ENABLED=false (the test harness default) keeps
 * pg-boss off entirely.
 */
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { PgBoss } from 'pg-boss';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';

export interface RecurringJob {
  /** Queue name, e.g. `licensing.expire-agreements`. */
  name: string;
  /** Five-field cron expression, UTC. */
  cron: string;
  /** Does the work; what it returns is logged. Throwing makes pg-boss retry. */
  run: () => Promise<Record<string, unknown> | void>;
  /**
   * Set when the schedule follows business time (closes, expiries, due
   * dates): when the sandbox test clock jumps forward the job is run at once,
   * as its schedule would have run it in the time skipped — in ascending
   * `order` (e.g. expire agreements, then close periods, then collect the
   * invoices the close issued). Jobs about real time (rate windows, retries of
   * deliveries, syncs) leave it unset.
   */
  followsBusinessTime?: { order: number };
}

export interface ClockDrivenRun {
  name: string;
  succeeded: boolean;
  /** What the job returned, or its error's message. */
  detail: string;
}

@Injectable()
export class JobsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Jobs');
  private readonly jobs = new Map<string, RecurringJob>();
  private boss: PgBoss | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  /** Called by modules from their providers' constructors or onModuleInit. */
  register(job: RecurringJob): void {
    if (this.jobs.has(job.name)) throw new Error(`job ${job.name} registered twice`);
    this.jobs.set(job.name, job);
  }

  get running(): boolean {
    return this.boss !== null;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.jobsEnabled) return;
    const boss = new PgBoss({ connectionString: this.config.databaseUrl!, schema: 'pgboss', application_name: 'beiming-jobs' });
    boss.on('error', (err: Error) => this.log.error({ err }, 'pg-boss error'));
    await boss.start();
    this.boss = boss;
    for (const job of this.jobs.values()) {
      await boss.createQueue(job.name, { retryLimit: 3, retryDelay: 30, expireInSeconds: 600 });
      await boss.schedule(job.name, job.cron, null, { tz: 'UTC' });
      await boss.work(job.name, { pollingIntervalSeconds: this.config.jobsPollSeconds }, async () => {
        const started = Date.now();
        const result = await this.metrics.jobRun(job.name, job.run);
        this.log.log({ job: job.name, ms: Date.now() - started, ...(result ?? {}) }, 'job done');
      });
    }
    this.log.log({ jobs: [...this.jobs.keys()] }, 'jobs scheduled');
  }

  /** Queues one run of a registered job now (admin tools, tests); returns the job id. */
  async runNow(name: string): Promise<string> {
    if (!this.boss) throw new Error('jobs are not running (JOBS_ENABLED=false)');
    if (!this.jobs.has(name)) throw new Error(`no job named ${name}`);
    const id = await this.boss.send(name, null);
    if (!id) throw new Error(`job ${name} was not queued`);
    return id;
  }

  /**
   * Runs, in this process and in their order, every job that follows
   * business time (after the sandbox clock moved). Independent of pg-boss, so it
   * works with JOBS_ENABLED=false; each job is safe to overlap with its
   * scheduled run. A failure is reported and the next job still runs.
   */
  async runBusinessTimeJobs(): Promise<ClockDrivenRun[]> {
    const runs: ClockDrivenRun[] = [];
    const due = [...this.jobs.values()].filter((j) => j.followsBusinessTime).sort((a, b) => a.followsBusinessTime!.order - b.followsBusinessTime!.order);
    for (const job of due) {
      try {
        const result = await this.metrics.jobRun(job.name, job.run);
        runs.push({ name: job.name, succeeded: true, detail: JSON.stringify(result ?? {}) });
      } catch (err) {
        this.log.error({ err, job: job.name }, 'job run after a clock advance failed');
        runs.push({ name: job.name, succeeded: false, detail: err instanceof Error ? err.message : String(err) });
      }
    }
    return runs;
  }

  /** The state of one job run (created, active, completed, retry, failed, …), or null. */
  async stateOf(name: string, id: string): Promise<string | null> {
    const job = await this.boss?.getJobById(name, id);
    return job?.state ?? null;
  }

  async onApplicationShutdown(): Promise<void> {
    const boss = this.boss;
    this.boss = null;
    await boss?.stop({ graceful: true, timeout: 10_000 });
  }
}
