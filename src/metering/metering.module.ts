import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { AnomalyBurstJob } from './anomaly/anomaly-burst.job';
import { AnomalyFlagService } from './anomaly/anomaly-flag.service';
import { AnomalyQueryService } from './anomaly/anomaly-query.service';
import { AnomalyRepository } from './anomaly/anomaly.repository';
import { AnomalyResolver } from './anomaly/anomaly.resolver';
import { AdmissionLeases } from './gateway/admission-leases';
import { GatewayService } from './gateway/gateway.service';
import { UpstreamClient } from './gateway/upstream-client';
import { GatewayUsageBatcher } from './gateway/usage-batcher';
import { MeteringRoutes } from './http/metering-routes';
import { TeacherUpstreamResolver } from './upstream/teacher-upstream.resolver';
import { TeacherUpstreamService } from './upstream/teacher-upstream.service';
import { UpstreamErrorLog } from './upstream/upstream-error-log.service';
import { UpstreamRepository } from './upstream/upstream.repository';
import { UsageIngestService } from './usage/usage-ingest.service';
import { UsageRecorder } from './usage/usage-recorder.service';
import { UsageQueryService } from './usage/usage-query.service';
import { UsageRepository } from './usage/usage.repository';
import { UsageResolver } from './usage/usage.resolver';

/**
 * Metering: teacher upstreams, the OpenAI-compatible gateway,
 * vendor usage ingestion, rollups, quotas and anomaly flags.
 */
@Module({
  imports: [CatalogModule],
  providers: [
    UpstreamRepository,
    UsageRepository,
    AnomalyRepository,
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
