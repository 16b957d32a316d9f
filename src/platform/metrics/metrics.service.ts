/**
 * The application's Prometheus metrics (prom-client), in one registry per
 * app instance (tests run several apps in one process; the global registry
 * would mix them). Feature modules record through the narrow methods below or
 * register a gauge read at scrape time (`gauge`); they never see prom-client.
 *
 * Label values are bounded by construction: routes are Fastify's route
 * patterns (never a URL with ids), GraphQL operations go through
 * OperationNames, outcomes are status codes or error-code enums.
 */
import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { OperationNames } from './operation-names';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly operationNames = new OperationNames();

  private readonly httpRequests = new Counter({ name: 'beiming_http_requests_total', help: 'HTTP requests by method, route pattern and status code', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  private readonly httpDuration = new Histogram({ name: 'beiming_http_request_duration_seconds', help: 'HTTP request latency by method and route pattern', labelNames: ['method', 'route'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly gqlOperations = new Counter({ name: 'beiming_graphql_operations_total', help: 'GraphQL operations by operation name, type and outcome (ok or the first error code)', labelNames: ['operation', 'type', 'outcome'], registers: [this.registry] });
  private readonly gqlDuration = new Histogram({ name: 'beiming_graphql_operation_duration_seconds', help: 'GraphQL request latency by operation name and type', labelNames: ['operation', 'type'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly gatewayRequests = new Counter({ name: 'beiming_gateway_requests_total', help: 'Gateway chat-completions requests by status code', labelNames: ['status'], registers: [this.registry] });
  private readonly gatewayUpstream = new Histogram({ name: 'beiming_gateway_upstream_duration_seconds', help: "Time until the teacher's upstream answered (headers), by outcome", labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly gatewayTokens = new Counter({ name: 'beiming_gateway_tokens_total', help: 'Tokens metered by the gateway, by kind (input, output) and whether they were estimated', labelNames: ['kind', 'estimated'], registers: [this.registry] });
  private readonly usageEvents = new Counter({ name: 'beiming_usage_events_total', help: 'Reported usage events by result (accepted, duplicate, rejected) and rejection reason', labelNames: ['result', 'reason'], registers: [this.registry] });
  private readonly jobRuns = new Counter({ name: 'beiming_job_runs_total', help: 'Background job runs by queue and outcome (completed, failed)', labelNames: ['queue', 'outcome'], registers: [this.registry] });
  private readonly reconciliationRuns = new Counter({ name: 'beiming_reconciliation_runs_total', help: 'Reconciliation runs with the payment processor by outcome (clean, differences)', labelNames: ['outcome'], registers: [this.registry] });
  private readonly reconciliationDifferences = new Counter({ name: 'beiming_reconciliation_differences_total', help: 'Unmatched items classified as differences (not timing) by reconciliation runs', registers: [this.registry] });
  private readonly reconciliationUnmatched = new Gauge({ name: 'beiming_reconciliation_unmatched_items', help: 'Unmatched items of the latest reconciliation run in this process, by status (difference, timing)', labelNames: ['status'], registers: [this.registry] });
  private readonly jobDuration = new Histogram({ name: 'beiming_job_duration_seconds', help: 'Background job run time by queue', labelNames: ['queue'], buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300], registers: [this.registry] });

  constructor(dataSource: DataSource) {
    collectDefaultMetrics({ register: this.registry, prefix: 'beiming_process_' });
    // TypeORM's PostgreSQL driver keeps a pg Pool as `master`.
    const pool = () => (dataSource.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master;
    new Gauge({
      name: 'beiming_db_pool_connections',
      help: "This process's database pool: connections by state (idle, busy) and queued requests (waiting)",
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const p = pool();
        if (!p) return;
        this.set({ state: 'idle' }, p.idleCount);
        this.set({ state: 'busy' }, p.totalCount - p.idleCount);
        this.set({ state: 'waiting' }, p.waitingCount);
      },
    });
    this.gauge('beiming_db_connections', "Connections to this database server's current database, from every client, by state", ['state'], async () => {
      if (!dataSource.isInitialized) return [];
      const rows = (await dataSource.query(
        `SELECT coalesce(state, 'unknown') AS state, count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() GROUP BY 1`,
      )) as Array<{ state: string; n: number }>;
      return rows.map((r) => ({ labels: { state: r.state }, value: r.n }));
    });
  }

  /**
   * A gauge whose value is read when Prometheus scrapes (e.g. a queue depth
   * from the database). A failing read leaves the gauge empty for that scrape.
   */
  gauge(name: string, help: string, labelNames: string[], read: () => Promise<Array<{ labels?: Record<string, string>; value: number }> | number>): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        const values = await read().catch(() => []);
        for (const v of typeof values === 'number' ? [{ value: values }] : values) {
          if (v.labels) this.set(v.labels, v.value);
          else this.set(v.value);
        }
      },
    });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpDuration.observe({ method, route }, seconds);
  }

  graphqlOperation(operation: string, type: string, outcome: string, seconds: number): void {
    this.gqlOperations.inc({ operation, type, outcome });
    this.gqlDuration.observe({ operation, type }, seconds);
  }

  gatewayRequest(status: number): void {
    this.gatewayRequests.inc({ status: String(status) });
  }

  /** Starts timing an upstream call; call the result with its outcome (an HTTP status, or a failure kind). */
  gatewayUpstreamTimer(): (outcome: string | number) => void {
    const end = this.gatewayUpstream.startTimer();
    return (outcome) => end({ outcome: String(outcome) });
  }

  gatewayUsage(inputTokens: number | bigint, outputTokens: number | bigint, estimated: boolean): void {
    this.gatewayTokens.inc({ kind: 'input', estimated: String(estimated) }, Number(inputTokens));
    this.gatewayTokens.inc({ kind: 'output', estimated: String(estimated) }, Number(outputTokens));
  }

  usageEventResults(results: ReadonlyArray<{ status: string; reason?: string }>): void {
    for (const r of results) this.usageEvents.inc({ result: r.status, reason: r.reason ?? '' });
  }

  /** One reconciliation run's unmatched items: differences raise the counter; the gauge shows the latest run. */
  reconciliationRun(differences: number, timing: number): void {
    this.reconciliationRuns.inc({ outcome: differences > 0 ? 'differences' : 'clean' });
    if (differences > 0) this.reconciliationDifferences.inc(differences);
    this.reconciliationUnmatched.set({ status: 'difference' }, differences);
    this.reconciliationUnmatched.set({ status: 'timing' }, timing);
  }

  /** Wraps one job run: counts it as completed or failed (rethrowing) and times it. */
  async jobRun<T>(queue: string, run: () => Promise<T>): Promise<T> {
    const end = this.jobDuration.startTimer({ queue });
    try {
      const result = await run();
      this.jobRuns.inc({ queue, outcome: 'completed' });
      return result;
    } catch (e) {
      this.jobRuns.inc({ queue, outcome: 'failed' });
      throw e;
    } finally {
      end();
    }
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
