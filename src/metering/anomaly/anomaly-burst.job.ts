import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { Database } from '../../platform/database/transaction';
import { JobsService } from '../../platform/jobs/jobs.service';

export const ANOMALY_BURST_JOB = 'metering.anomaly-bursts';

/** Minutes examined per run: a run that was late or failed is caught up by the next ones. */
const LOOKBACK_MINUTES = 10;
/** Minute rollups older than this are deleted (the gateway's rate window needs two minutes, bursts a day). */
const MINUTE_RETENTION = '2 days';

/*
 * For every minute that completed in the last LOOKBACK_MINUTES (per agreement,
 * from usage_rollups_minute) with at least $2 tokens: its baseline is the
 * agreement's tokens in the 24 hours before it, excluding the minute itself —
 * the 23 whole hours before the minute's hour from usage_rollups_hour, and the
 * minutes of the two partial hours at the window's ends from
 * usage_rollups_minute. Flag when tokens × 1440 > k × baseline (the minute is
 * more than k times the per-minute average of the previous day). Exact integer
 * arithmetic (numeric: no bigint overflow, no float). Timestamps are truncated
 * in UTC whatever the session's time zone.
 *
 * ON CONFLICT DO NOTHING on (agreement, kind, window): a minute is flagged
 * once, however often the job re-examines it.
 */
const DETECT_SQL = `
WITH clock AS (
  SELECT date_trunc('minute', coalesce($1::timestamptz, now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS minute
), candidates AS (
  SELECT m.agreement_id, m.bucket_start, m.tokens,
         date_trunc('hour', m.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour_start
    FROM usage_rollups_minute m, clock c
   WHERE m.bucket_start >= c.minute - make_interval(mins => ${LOOKBACK_MINUTES})
     AND m.bucket_start < c.minute
     AND m.tokens >= $2
), scored AS (
  SELECT c.agreement_id, c.bucket_start, c.tokens,
         coalesce((SELECT sum(h.input_tokens + h.output_tokens)
                     FROM usage_rollups_hour h
                    WHERE h.agreement_id = c.agreement_id
                      AND h.bucket_start >= c.hour_start - interval '23 hours'
                      AND h.bucket_start < c.hour_start), 0)
       + coalesce((SELECT sum(x.tokens)
                     FROM usage_rollups_minute x
                    WHERE x.agreement_id = c.agreement_id
                      AND ((x.bucket_start >= c.bucket_start - interval '24 hours' AND x.bucket_start < c.hour_start - interval '23 hours')
                        OR (x.bucket_start >= c.hour_start AND x.bucket_start < c.bucket_start))), 0) AS day_tokens
    FROM candidates c
)
INSERT INTO anomaly_flags (agreement_id, vendor_organization_id, distiller_organization_id, kind, window_start,
                           observed_tokens, baseline_tokens, detail)
SELECT s.agreement_id, a.vendor_organization_id, a.distiller_organization_id, 'BURST', s.bucket_start,
       s.tokens, div(s.day_tokens, 1440)::bigint,
       jsonb_build_object('factor', $3::integer, 'previousDayTokens', s.day_tokens::text)
  FROM scored s
  JOIN license_agreements a ON a.id = s.agreement_id
 WHERE s.tokens::numeric * 1440 > $3::numeric * s.day_tokens
ON CONFLICT (agreement_id, kind, window_start) DO NOTHING
RETURNING id`;

const PURGE_SQL = `
DELETE FROM usage_rollups_minute
 WHERE bucket_start < coalesce($1::timestamptz, now()) - interval '${MINUTE_RETENTION}'`;

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
  ) {
    jobs.register({ name: ANOMALY_BURST_JOB, cron: '* * * * *', run: () => this.run() });
  }

  /** `at` (tests) stands for the database's now(). */
  async run(at?: Date): Promise<{ flagged: number; purgedMinuteRollups: number }> {
    const now = at ? at.toISOString() : null;
    return this.db.transaction(async (tx) => {
      // (TypeORM answers an INSERT with its rows, a DELETE with [rows, count])
      const flags = (await tx.query(DETECT_SQL, [now, this.config.anomalyBurstMinTokens, this.config.anomalyBurstFactor])) as unknown[];
      const [, purged] = (await tx.query(PURGE_SQL, [now])) as [unknown, number];
      return { flagged: flags.length, purgedMinuteRollups: purged };
    });
  }
}
