import { Global, Module } from '@nestjs/common';
import { MetricsHooks } from './metrics.hooks';
import { MetricsService } from './metrics.service';

/**
 * Prometheus metrics. Recording is always on (it is cheap and keeps the code
 * paths the same); the endpoint exists only when METRICS_ENABLED (see
 * metrics.endpoint.ts).
 */
@Global()
@Module({ providers: [MetricsService, MetricsHooks], exports: [MetricsService] })
export class MetricsModule {}
