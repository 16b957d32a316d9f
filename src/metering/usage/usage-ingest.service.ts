/**
 * Vendor usage reports (`POST /v1/usage/events`): each event is judged on its
 * own — accepted, duplicate, or rejected with a reason — and a batch is
 * stored in one transaction, so no event is ever half-written.
 */
import { Injectable } from '@nestjs/common';
import { AgreementStatus } from '../../licensing/license-agreement.entity';
import { AgreementMeteringView, LicenseAgreementService } from '../../licensing/license-agreement.service';
import { Clock } from '../../platform/clock/clock';
import { Database } from '../../platform/database/transaction';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { AnomalyFlagService } from '../anomaly/anomaly-flag.service';
import { AnomalyKind, AnomalySignal, hourOf } from '../anomaly/anomaly-flag.kinds';
import { UsageRecorder, UsageToRecord } from './usage-recorder.service';
import { checkUsageEvent, UsageRejection, usagePayloadHash, ValidUsageEvent } from './usage-event.validation';

/** Some clock skew between the vendor and us is tolerated around the agreement's start. */
const START_GRACE_MS = 5 * 60_000;

export type EventResult =
  | { index: number; id: string | null; status: 'accepted'; overageTokens: number }
  | { index: number; id: string | null; status: 'duplicate' }
  | { index: number; id: string | null; status: 'rejected'; reason: UsageRejection; message: string };

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: number;
  results: EventResult[];
}

const STOPPED = new Set([AgreementStatus.SUSPENDED, AgreementStatus.TERMINATED, AgreementStatus.EXPIRED]);

@Injectable()
export class UsageIngestService {
  constructor(
    private readonly db: Database,
    private readonly agreements: LicenseAgreementService,
    private readonly recorder: UsageRecorder,
    private readonly flags: AnomalyFlagService,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
  ) {}

  /** `events` has been checked to be an array of at most MAX_EVENTS_PER_BATCH items. */
  async ingest(reporter: { organizationId: string; apiKeyId: string }, events: readonly unknown[]): Promise<IngestResult> {
    // Business time: "in the future" and "too long ago" follow the platform clock (a sandbox test clock moves them).
    const now = this.clock.now().getTime();
    const results: EventResult[] = new Array(events.length);
    const valid: Array<{ index: number; event: ValidUsageEvent }> = [];
    for (let i = 0; i < events.length; i++) {
      const c = checkUsageEvent(events[i], now);
      if (c.ok) valid.push({ index: i, event: c.event });
      else results[i] = { index: i, id: c.id, status: 'rejected', reason: c.reason, message: c.message };
    }
    const ids = [...new Set(valid.map((v) => v.event.agreementId))];
    const views = await this.agreements.meteringViews(this.db.reader, ids);

    const toRecord: Array<{ index: number; row: UsageToRecord; view: AgreementMeteringView }> = [];
    for (const { index, event } of valid) {
      const view = views.get(event.agreementId);
      // A vendor reports only for agreements on its own models; others behave as absent.
      if (!view || view.vendorOrganizationId !== reporter.organizationId) {
        results[index] = { index, id: event.id, status: 'rejected', reason: UsageRejection.AGREEMENT_NOT_FOUND, message: `agreement ${event.agreementId} not found` };
        continue;
      }
      if (event.occurredAt.getTime() < view.startsAt.getTime() - START_GRACE_MS) {
        results[index] = {
          index,
          id: event.id,
          status: 'rejected',
          reason: UsageRejection.BEFORE_AGREEMENT_START,
          message: `occurredAt is before the agreement started (${view.startsAt.toISOString()})`,
        };
        continue;
      }
      toRecord.push({
        index,
        view,
        row: {
          agreementId: event.agreementId,
          eventId: event.id,
          source: 'REPORTED',
          occurredAt: event.occurredAt,
          inputTokens: event.inputTokens,
          outputTokens: event.outputTokens,
          estimated: false,
          payloadHash: usagePayloadHash(event),
          metadata: event.metadata,
          apiKeyId: reporter.apiKeyId,
          quota: view.tokensPerPeriod,
        },
      });
    }

    if (toRecord.length > 0) {
      await this.db.transaction(async (tx) => {
        const outcomes = await this.recorder.record(tx, toRecord.map((r) => r.row));
        const signals: AnomalySignal[] = [];
        outcomes.forEach((o, k) => {
          const { index, row, view } = toRecord[k];
          if (o.outcome === 'ACCEPTED') {
            results[index] = { index, id: row.eventId, status: 'accepted', overageTokens: Number(o.overageTokens) };
            const base = { agreementId: row.agreementId, vendorOrganizationId: view.vendorOrganizationId, distillerOrganizationId: view.distillerOrganizationId };
            const tokens = row.inputTokens + row.outputTokens;
            if (o.overageTokens > 0n) {
              signals.push({ ...base, kind: AnomalyKind.QUOTA_OVERAGE, windowStart: hourOf(row.occurredAt), observedTokens: o.overageTokens, detail: { quota: String(row.quota) } });
            }
            if (STOPPED.has(view.status) && row.occurredAt >= view.statusChangedAt) {
              signals.push({
                ...base,
                kind: AnomalyKind.USAGE_AFTER_SUSPENSION,
                windowStart: hourOf(row.occurredAt),
                observedTokens: tokens,
                detail: { status: view.status, since: view.statusChangedAt.toISOString(), source: 'REPORTED' },
              });
            }
          } else if (o.outcome === 'DUPLICATE') {
            results[index] = { index, id: row.eventId, status: 'duplicate' };
          } else {
            results[index] = {
              index,
              id: row.eventId,
              status: 'rejected',
              reason: UsageRejection.ID_REUSED,
              message: `event id ${row.eventId} was already used for this agreement with a different payload`,
            };
          }
        });
        await this.flags.raise(tx, signals);
      });
    }

    this.metrics.usageEventResults(results);
    let accepted = 0;
    let duplicates = 0;
    for (const r of results) {
      if (r.status === 'accepted') accepted++;
      else if (r.status === 'duplicate') duplicates++;
    }
    return { accepted, duplicates, rejected: results.length - accepted - duplicates, results };
  }
}
