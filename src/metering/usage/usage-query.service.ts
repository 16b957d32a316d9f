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
import { CursorParts, defineCursor, timeKeySql } from '../../platform/paging/cursor';
import { Page, pageOf } from '../../platform/paging/page';
import { USAGE_EVENTS_MAX_PAGE, UsageGranularity } from './dto/usage.input';

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

export interface UsageEventRow {
  eventId: string;
  source: 'GATEWAY' | 'REPORTED';
  occurredAt: Date;
  receivedAt: Date;
  inputTokens: bigint;
  outputTokens: bigint;
  overageTokens: bigint;
  estimated: boolean;
  metadata: Record<string, unknown> | null;
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

    // Every bucket of [from, to) in UTC, zeros where nothing happened. Day buckets
    // sum hour rows; arithmetic on `timestamp` (UTC wall time) so the session's
    // time zone and its DST never shift a bucket.
    const rows: Array<{ start: Date; i: string; o: string; v: string; n: string; e: string }> = await em.query(
      `WITH buckets AS (
         SELECT s AT TIME ZONE 'UTC' AS start
           FROM generate_series($2::timestamptz AT TIME ZONE 'UTC', $3::timestamptz AT TIME ZONE 'UTC' - $5::interval, $5::interval) AS s
       ), sums AS (
         SELECT date_trunc($4, r.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start,
                sum(r.input_tokens) AS i, sum(r.output_tokens) AS o, sum(r.overage_tokens) AS v,
                sum(r.events) AS n, sum(r.estimated_events) AS e
           FROM usage_rollups_hour r
          WHERE r.agreement_id = $1 AND r.bucket_start >= $2 AND r.bucket_start < $3
          GROUP BY 1
       )
       SELECT b.start, coalesce(s.i, 0)::text AS i, coalesce(s.o, 0)::text AS o, coalesce(s.v, 0)::text AS v,
              coalesce(s.n, 0)::text AS n, coalesce(s.e, 0)::text AS e
         FROM buckets b LEFT JOIN sums s ON s.start = b.start
        ORDER BY b.start`,
      [agreement.id, from.toISOString(), to.toISOString(), unit, `1 ${unit}`],
    );
    const totals = zeros();
    const buckets = rows.map((r): UsageBucket => {
      const b = {
        start: new Date(r.start),
        inputTokens: BigInt(r.i),
        outputTokens: BigInt(r.o),
        overageTokens: BigInt(r.v),
        events: BigInt(r.n),
        estimatedEvents: BigInt(r.e),
      };
      totals.inputTokens += b.inputTokens;
      totals.outputTokens += b.outputTokens;
      totals.overageTokens += b.overageTokens;
      totals.events += b.events;
      totals.estimatedEvents += b.estimatedEvents;
      return b;
    });

    const [p]: Array<{ start: Date; end: Date; i: string; o: string; v: string; n: string }> = await em.query(
      `WITH p AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AS s)
       SELECT p.s AT TIME ZONE 'UTC' AS start, (p.s + interval '1 month') AT TIME ZONE 'UTC' AS "end",
              coalesce(t.input_tokens, 0)::text AS i, coalesce(t.output_tokens, 0)::text AS o,
              coalesce(t.overage_tokens, 0)::text AS v, coalesce(t.events, 0)::text AS n
         FROM p LEFT JOIN usage_period_totals t ON t.agreement_id = $1 AND t.period_start = p.s AT TIME ZONE 'UTC'`,
      [agreement.id],
    );
    return {
      agreement,
      granularity: q.granularity,
      from,
      to,
      buckets,
      totals,
      currentPeriod: {
        start: new Date(p.start),
        end: new Date(p.end),
        inputTokens: BigInt(p.i),
        outputTokens: BigInt(p.o),
        overageTokens: BigInt(p.v),
        events: BigInt(p.n),
      },
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
    const params: unknown[] = [agreement.id, q.first + 1];
    let keyset = '';
    if (after) {
      params.push(...after);
      keyset = `AND (e.occurred_at, e.event_id) < ($3::timestamp AT TIME ZONE 'UTC', $4::text)`;
    }
    const rows: Array<{
      event_id: string; source: 'GATEWAY' | 'REPORTED'; occurred_at: Date; received_at: Date; input_tokens: string;
      output_tokens: string; overage_tokens: string; estimated: boolean; metadata: Record<string, unknown> | null; time_key: string;
    }> = await em.query(
      `SELECT e.event_id, e.source, e.occurred_at, e.received_at, e.input_tokens::text, e.output_tokens::text,
              e.overage_tokens::text, e.estimated, e.metadata, ${timeKeySql('e.occurred_at')} AS time_key
         FROM usage_events e
        WHERE e.agreement_id = $1 ${keyset}
        ORDER BY e.occurred_at DESC, e.event_id DESC
        LIMIT $2`,
      params,
    );
    return pageOf(rows, q.first, (r) => ({
        eventId: r.event_id,
        source: r.source,
        occurredAt: new Date(r.occurred_at),
        receivedAt: new Date(r.received_at),
        inputTokens: BigInt(r.input_tokens),
        outputTokens: BigInt(r.output_tokens),
        overageTokens: BigInt(r.overage_tokens),
        estimated: r.estimated,
        metadata: r.metadata,
        cursor: USAGE_CURSOR.encode([r.time_key, r.event_id]),
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
