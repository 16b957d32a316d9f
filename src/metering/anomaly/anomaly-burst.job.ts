import { Injectable } from '@nestjs/common';
import { Clock } from '../../platform/clock/clock';
import { AppConfig } from '../../platform/config/app-config';
import { Database } from '../../platform/database/transaction';
import { JobsService } from '../../platform/jobs/jobs.service';
import { AnomalyRepository } from './anomaly.repository';

export const ANOMALY_BURST_JOB = 'metering.anomaly-bursts';

/**
 * Every minute: flags BURST anomalies (a minute's tokens above k × the
 * agreement's per-minute average over the previous day, k =
 * ANOMALY_BURST_FACTOR; minutes under ANOMALY_BURST_MIN_TOKENS never) and
 * deletes minute rollups older than two days.
 */
@Injectable()
export class AnomalyBurstJob {
  constructor(
    jobs: JobsService,
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly anomalies: AnomalyRepository,
    private readonly clock: Clock,
  ) {
    jobs.register({ name: ANOMALY_BURST_JOB, cron: '* * * * *', run: () => this.run() });
  }

  /** `at` (tests) stands for now; by default the platform Clock's (minute rollups are keyed by the events' business times). */
  async run(at?: Date): Promise<{ flagged: number; purgedMinuteRollups: number }> {
    const now = (at ?? this.clock.now()).toISOString();
    return this.db.transaction(async (tx) => {
      const flagged = await this.anomalies.flagBursts(tx, now, this.config.anomalyBurstMinTokens, this.config.anomalyBurstFactor);
      const purged = await this.anomalies.purgeMinuteRollups(tx, now);
      return { flagged, purgedMinuteRollups: purged };
    });
  }
}
