import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { AnomalyBurstJob } from './anomaly/anomaly-burst.job';
import { AnomalyFlagService } from './anomaly/anomaly-flag.service';
import { AnomalyQueryService } from './anomaly/anomaly-query.service';
import { AnomalyResolver } from './anomaly/anomaly.resolver';
import { AdmissionLeases } from './gateway/admission-leases';
import { GatewayService } from './gateway/gateway.service';
import { UpstreamClient } from './gateway/upstream-client';
import { GatewayUsageBatcher } from './gateway/usage-batcher';
import { MeteringRoutes } from './http/metering-routes';
import { TeacherUpstreamResolver } from './upstream/teacher-upstream.resolver';
import { TeacherUpstreamService } from './upstream/teacher-upstream.service';
import { UpstreamErrorLog } from './upstream/upstream-error-log.service';
import { UsageIngestService } from './usage/usage-ingest.service';
import { UsageRecorder } from './usage/usage-recorder.service';
import { UsageQueryService } from './usage/usage-query.service';
import { UsageResolver } from './usage/usage.resolver';

/**
 * Metering: teacher upstreams, the OpenAI-compatible gateway,
 * vendor usage ingestion, rollups, quotas and anomaly flags.
 */
@Module({
  imports: [CatalogModule],
  providers: [
    TeacherUpstreamService,
    TeacherUpstreamResolver,
    UpstreamErrorLog,
    UsageRecorder,
    UsageIngestService,
    AnomalyFlagService,
    AdmissionLeases,
    UpstreamClient,
    GatewayService,
    GatewayUsageBatcher,
    MeteringRoutes,
    UsageQueryService,
    UsageResolver,
    AnomalyQueryService,
    AnomalyResolver,
    AnomalyBurstJob,
  ],
  exports: [TeacherUpstreamService, UsageRecorder],
})
export class MeteringModule {}
