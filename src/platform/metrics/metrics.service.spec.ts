import type { DataSource } from 'typeorm';
import { MetricsService } from './metrics.service';

describe('MetricsService.jobRun', () => {
  it('counts completed and failed runs by queue, rethrows the failure and times both', async () => {
    const metrics = new MetricsService({ driver: {}, isInitialized: false } as unknown as DataSource);
    await expect(metrics.jobRun('billing.close', async () => ({ invoices: 2 }))).resolves.toEqual({ invoices: 2 });
    await expect(metrics.jobRun('billing.close', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(metrics.jobRun('billing.close', async () => undefined)).resolves.toBeUndefined();
    const text = (await metrics.render()).body;
    expect(text).toContain('beiming_job_runs_total{queue="billing.close",outcome="completed"} 2');
    expect(text).toContain('beiming_job_runs_total{queue="billing.close",outcome="failed"} 1');
    expect(text).toContain('beiming_job_duration_seconds_count{queue="billing.close"} 3');
  });
});
