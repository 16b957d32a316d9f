/**
 * Usage reads for the parties of an agreement (distiller and vendor members)
 * and platform admins: summaries from the hour rollups and the current period
 * total — never a scan of raw events — and a keyset-paged list of raw events
 * (index IDX_usage_events_agreement_occurred). Everyone else gets NOT_FOUND, as
 * for an agreement that does not exist.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AccessService } from '../../identity/access.service';
import { AgreementMeteringView, LicenseAgreementService } from '../../licensing/license-agreement.service';
import { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { BadInputError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { CursorParts, defineCursor } from '../../platform/paging/cursor';
import { Page, pageOf } from '../../platform/paging/page';
import { USAGE_EVENTS_MAX_PAGE, UsageGranularity } from './dto/usage.input';
import { UsageEventRecordRow, UsageRepository } from './usage.repository';
import { Clock } from '../../platform/clock/clock';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Longest range per granularity (2,232 hourly or 400 daily buckets at most). */
export const MAX_RANGE_DAYS: Record<UsageGranularity, number> = { [UsageGranularity.HOUR]: 93, [UsageGranularity.DAY]: 400 };
/** Dates outside this window are typos, and some would not even fit PostgreSQL's timestamp range. */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(9999, 0, 1);

export interface UsageCounts {
  inputTokens: bigint;
  outputTokens: bigint;
  overageTokens: bigint;
  events: bigint;
  estimatedEvents: bigint;
}

export interface UsageBucket extends UsageCounts {
  start: Date;
}

export interface UsagePeriod {
  start: Date;
  end: Date;
  inputTokens: bigint;
  outputTokens: bigint;
  overageTokens: bigint;
  events: bigint;
}

export interface UsageSummary {
  agreement: AgreementMeteringView;
  granularity: UsageGranularity;
  from: Date;
  to: Date;
  buckets: UsageBucket[];
  totals: UsageCounts;
  currentPeriod: UsagePeriod;
}

export interface UsageEventRow extends Omit<UsageEventRecordRow, 'timeKey'> {
  cursor: string;
}

export type UsageEventPage = Page<UsageEventRow>;

/** Newest first by (occurred_at to the microsecond, event_id). */
const USAGE_CURSOR = defineCursor('usage-event', [CursorParts.timeKey, CursorParts.printable]);

// ---------------------------------------------------------------- service

const floorTo = (t: Date, g: UsageGranularity): Date => {
  const size = g === UsageGranularity.HOUR ? HOUR_MS : DAY_MS;
  return new Date(Math.floor(t.getTime() / size) * size);
};

const zeros = (): UsageCounts => ({ inputTokens: 0n, outputTokens: 0n, overageTokens: 0n, events: 0n, estimatedEvents: 0n });

@Injectable()
export class UsageQueryService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly agreements: LicenseAgreementService,
    private readonly usage: UsageRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * The agreement as metering sees it, if the principal is a member of its
   * distiller or vendor organization (read) or a platform admin; otherwise
   * NOT_FOUND, exactly as for an unknown id.
   */
  async requireReadable(em: EntityManager, principal: Principal, agreementId: string): Promise<AgreementMeteringView> {
    assertUuid('agreementId', agreementId);
    const id = agreementId.toLowerCase();
    const view = (await this.agreements.meteringViews(em, [id])).get(id);
    if (view && (principal.isAdmin || (await this.access.hasAccess(em, principal, [view.distillerOrganizationId, view.vendorOrganizationId], 'read')))) {
      return view;
    }
    throw new NotFoundError('LicenseAgreement', agreementId);
  }

  async summary(
    principal: Principal,
    q: { agreementId: string; from: Date; to: Date; granularity: UsageGranularity },
  ): Promise<UsageSummary> {
    const { from, to } = this.checkRange(q.from, q.to, q.granularity);
    const em = this.db.reader;
    const agreement = await this.requireReadable(em, principal, q.agreementId);
    const unit = q.granularity === UsageGranularity.HOUR ? 'hour' : 'day';

    const buckets = await this.usage.hourRollupBuckets(em, agreement.id, from, to, unit);
    const totals = zeros();
    for (const b of buckets) {
      totals.inputTokens += b.inputTokens;
      totals.outputTokens += b.outputTokens;
      totals.overageTokens += b.overageTokens;
      totals.events += b.events;
      totals.estimatedEvents += b.estimatedEvents;
    }
    const currentPeriod = await this.usage.currentPeriodTotal(em, agreement.id, this.clock.now());
    return {
      agreement,
      granularity: q.granularity,
      from,
      to,
      buckets,
      totals,
      currentPeriod,
    };
  }

  /** Newest first by (occurred_at, event_id), keyset-paged. */
  async events(principal: Principal, q: { agreementId: string; first: number; after: string | null }): Promise<UsageEventPage> {
    if (!Number.isInteger(q.first) || q.first < 1 || q.first > USAGE_EVENTS_MAX_PAGE) {
      throw new BadInputError([{ field: 'first', message: `first must be between 1 and ${USAGE_EVENTS_MAX_PAGE}` }]);
    }
    const after = q.after == null ? null : USAGE_CURSOR.decode(q.after);
    const em = this.db.reader;
    const agreement = await this.requireReadable(em, principal, q.agreementId);
    const rows = await this.usage.eventsPage(em, agreement.id, q.first + 1, after);
    return pageOf(rows, q.first, (r) => ({
      eventId: r.eventId,
      source: r.source,
      occurredAt: r.occurredAt,
      receivedAt: r.receivedAt,
      inputTokens: r.inputTokens,
      outputTokens: r.outputTokens,
      overageTokens: r.overageTokens,
      estimated: r.estimated,
      metadata: r.metadata,
      cursor: USAGE_CURSOR.encode([r.timeKey, r.eventId]),
    }));
  }

  /** from < to, both plausible, the range not longer than the granularity allows; aligned down to the bucket. */
  private checkRange(rawFrom: Date, rawTo: Date, g: UsageGranularity): { from: Date; to: Date } {
    for (const [field, t] of [['from', rawFrom], ['to', rawTo]] as const) {
      if (!(t instanceof Date) || Number.isNaN(t.getTime()) || t.getTime() < EARLIEST || t.getTime() >= LATEST) {
        throw new BadInputError([{ field, message: `${field} must be a date-time between 2000-01-01 and 9999-01-01` }]);
      }
    }
    if (rawFrom.getTime() >= rawTo.getTime()) throw new BadInputError([{ field: 'to', message: 'to must be after from' }]);
    const from = floorTo(rawFrom, g);
    const to = floorTo(rawTo, g);
    if (to.getTime() - from.getTime() > MAX_RANGE_DAYS[g] * DAY_MS) {
      throw new BadInputError([{ field: 'to', message: `the range may span at most ${MAX_RANGE_DAYS[g]} days for ${g} buckets` }]);
    }
    return { from, to };
  }
}
