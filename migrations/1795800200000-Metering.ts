import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Metering: teacher upstreams (sealed credentials), usage events, rollups per
 * agreement and time bucket, in-flight gateway reservations, anomaly flags,
 * and the two SQL functions on the hot path (gateway pre-authorisation and
 * usage recording), each one round trip.
 *
 * Usage events are not partitioned yet: the idempotency key is
 * (agreement_id, event_id), and a time-partitioned table could only enforce a
 * unique key that includes the partition column. See bench/ingest.bench.ts and
 * the README's "Metering" section for what was measured.
 */
export class Metering1795800200000 implements MigrationInterface {
  name = 'Metering1795800200000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "teacher_upstreams" (
      "model_id" uuid NOT NULL REFERENCES "models" ("id") ON DELETE RESTRICT,
      "organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "base_url" text NOT NULL,
      "upstream_model" text NOT NULL,
      "timeout_ms" integer NOT NULL,
      "credential_sealed" bytea NOT NULL,
      "credential_key_id" text NOT NULL,
      "credential_fingerprint" text NOT NULL,
      "configured_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_teacher_upstreams" PRIMARY KEY ("model_id"),
      CONSTRAINT "CHK_teacher_upstreams_timeout" CHECK ("timeout_ms" BETWEEN 100 AND 600000),
      CONSTRAINT "CHK_teacher_upstreams_base_url" CHECK ("base_url" ~ '^https?://'))`);

    await q.query(`CREATE TABLE "usage_events" (
      "agreement_id" uuid NOT NULL REFERENCES "license_agreements" ("id") ON DELETE RESTRICT,
      "event_id" text NOT NULL,
      "source" text NOT NULL,
      "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "input_tokens" bigint NOT NULL,
      "output_tokens" bigint NOT NULL,
      "overage_tokens" bigint NOT NULL DEFAULT 0,
      "estimated" boolean NOT NULL DEFAULT false,
      "payload_hash" bytea NOT NULL,
      "metadata" jsonb,
      "api_key_id" uuid,
      CONSTRAINT "PK_usage_events" PRIMARY KEY ("agreement_id", "event_id"),
      CONSTRAINT "CHK_usage_events_source" CHECK ("source" IN ('GATEWAY', 'REPORTED')),
      CONSTRAINT "CHK_usage_events_event_id" CHECK (length("event_id") BETWEEN 1 AND 128),
      CONSTRAINT "CHK_usage_events_tokens" CHECK ("input_tokens" >= 0 AND "output_tokens" >= 0),
      CONSTRAINT "CHK_usage_events_overage" CHECK ("overage_tokens" >= 0 AND "overage_tokens" <= "input_tokens" + "output_tokens"))`);
    // usageEvents pages newest first per agreement.
    await q.query(`CREATE INDEX "IDX_usage_events_agreement_occurred" ON "usage_events" ("agreement_id", "occurred_at" DESC, "event_id" DESC)`);
    // Usage is evidence: never rewritten, never deleted.
    await q.query(`CREATE FUNCTION "usage_events_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'usage events are immutable' USING ERRCODE = 'check_violation';
      END $$`);
    await q.query(`CREATE TRIGGER "TRG_usage_events_immutable" BEFORE UPDATE OR DELETE ON "usage_events"
      FOR EACH ROW EXECUTE FUNCTION "usage_events_immutable"()`);

    // Rollups: tokens per agreement and bucket, maintained in the transaction that stores the events.
    await q.query(`CREATE TABLE "usage_rollups_minute" (
      "agreement_id" uuid NOT NULL,
      "bucket_start" TIMESTAMP WITH TIME ZONE NOT NULL,
      "tokens" bigint NOT NULL,
      "events" bigint NOT NULL,
      CONSTRAINT "PK_usage_rollups_minute" PRIMARY KEY ("agreement_id", "bucket_start"))`);
    // The burst job reads the last minutes of every agreement and purges old rows.
    await q.query(`CREATE INDEX "IDX_usage_rollups_minute_bucket" ON "usage_rollups_minute" ("bucket_start")`);
    await q.query(`CREATE TABLE "usage_rollups_hour" (
      "agreement_id" uuid NOT NULL,
      "bucket_start" TIMESTAMP WITH TIME ZONE NOT NULL,
      "input_tokens" bigint NOT NULL,
      "output_tokens" bigint NOT NULL,
      "overage_tokens" bigint NOT NULL,
      "events" bigint NOT NULL,
      "estimated_events" bigint NOT NULL,
      CONSTRAINT "PK_usage_rollups_hour" PRIMARY KEY ("agreement_id", "bucket_start"))`);
    // Billing periods are calendar months in UTC; the period quota reads one row.
    await q.query(`CREATE TABLE "usage_period_totals" (
      "agreement_id" uuid NOT NULL,
      "period_start" TIMESTAMP WITH TIME ZONE NOT NULL,
      "input_tokens" bigint NOT NULL,
      "output_tokens" bigint NOT NULL,
      "overage_tokens" bigint NOT NULL,
      "events" bigint NOT NULL,
      CONSTRAINT "PK_usage_period_totals" PRIMARY KEY ("agreement_id", "period_start"))`);
    // Tokens set aside by admitted gateway requests still in flight: short-lived
    // rows, one per request, so not WAL-logged (after a crash they are gone,
    // which only returns their tokens early).
    await q.query(`CREATE UNLOGGED TABLE "usage_reservations" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "agreement_id" uuid NOT NULL,
      "tokens" bigint NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "PK_usage_reservations" PRIMARY KEY ("id"),
      CONSTRAINT "CHK_usage_reservations_tokens" CHECK ("tokens" >= 0))`);
    await q.query(`CREATE INDEX "IDX_usage_reservations_agreement" ON "usage_reservations" ("agreement_id", "expires_at")`);

    await q.query(`CREATE TABLE "anomaly_flags" (
      "id" uuid NOT NULL DEFAULT gen_random_uuid(),
      "agreement_id" uuid NOT NULL REFERENCES "license_agreements" ("id") ON DELETE RESTRICT,
      "vendor_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "distiller_organization_id" uuid NOT NULL REFERENCES "organizations" ("id") ON DELETE RESTRICT,
      "kind" text NOT NULL,
      "window_start" TIMESTAMP WITH TIME ZONE NOT NULL,
      "occurrences" integer NOT NULL DEFAULT 1,
      "observed_tokens" bigint,
      "baseline_tokens" bigint,
      "detail" jsonb NOT NULL DEFAULT '{}',
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "acknowledged_at" TIMESTAMP WITH TIME ZONE,
      "acknowledged_by_user_id" uuid REFERENCES "users" ("id") ON DELETE SET NULL,
      "acknowledgement_note" text,
      CONSTRAINT "PK_anomaly_flags" PRIMARY KEY ("id"),
      CONSTRAINT "UQ_anomaly_flags_window" UNIQUE ("agreement_id", "kind", "window_start"),
      CONSTRAINT "CHK_anomaly_flags_kind" CHECK ("kind" IN ('BURST', 'USAGE_AFTER_SUSPENSION', 'ESTIMATED_USAGE', 'QUOTA_OVERAGE')),
      CONSTRAINT "CHK_anomaly_flags_ack" CHECK ("acknowledged_at" IS NOT NULL OR ("acknowledged_by_user_id" IS NULL AND "acknowledgement_note" IS NULL)))`);
    await q.query(`CREATE INDEX "IDX_anomaly_flags_vendor" ON "anomaly_flags" ("vendor_organization_id", "created_at" DESC, "id" DESC)`);
    await q.query(`CREATE INDEX "IDX_anomaly_flags_created" ON "anomaly_flags" ("created_at" DESC, "id" DESC)`);

    /*
     * Gateway pre-authorisation, one round trip: under the agreement's metering
     * lock, compare period usage + in-flight reservations + this request's
     * estimate with the period quota, and the sliding-minute window (this
     * minute + the previous minute weighted by the part of it still inside the
     * window) + reservations + estimate with the per-minute limit. Admitted
     * requests leave a reservation that recording releases (or that expires).
     */
    await q.query(`CREATE FUNCTION "metering_preauthorize"(
        p_agreement uuid, p_estimate bigint, p_quota bigint, p_per_minute bigint, p_ttl_ms integer)
      RETURNS TABLE (admitted boolean, refusal text, period_used bigint, reserved bigint, window_used bigint,
                     period_end timestamptz, reservation_id uuid)
      -- One cached generic plan per connection: re-planning these statements on every call cost
      -- more than executing them (measured: about 1 ms of a gateway request's 3).
      LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
      #variable_conflict use_column
      DECLARE
        v_now timestamptz := clock_timestamp();
        v_period timestamptz := date_trunc('month', v_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
        v_minute timestamptz := date_trunc('minute', v_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
        v_into_ms bigint := floor(extract(epoch FROM (v_now - v_minute)) * 1000)::bigint;
        v_current bigint;
        v_previous bigint;
      BEGIN
        -- A reservation is not worth a WAL flush: if it is lost, its tokens come back early.
        -- Committing without waiting for the flush also releases the agreement's lock sooner.
        PERFORM set_config('synchronous_commit', 'off', true);
        PERFORM pg_advisory_xact_lock(7340101, hashtext(p_agreement::text));
        DELETE FROM usage_reservations r WHERE r.agreement_id = p_agreement AND r.expires_at <= v_now;
        SELECT coalesce(sum(r.tokens), 0)::bigint INTO reserved FROM usage_reservations r WHERE r.agreement_id = p_agreement;
        SELECT coalesce(t.input_tokens + t.output_tokens, 0)::bigint INTO period_used
          FROM usage_period_totals t WHERE t.agreement_id = p_agreement AND t.period_start = v_period;
        period_used := coalesce(period_used, 0);
        SELECT coalesce(sum(m.tokens) FILTER (WHERE m.bucket_start = v_minute), 0)::bigint,
               coalesce(sum(m.tokens) FILTER (WHERE m.bucket_start = v_minute - interval '1 minute'), 0)::bigint
          INTO v_current, v_previous
          FROM usage_rollups_minute m
         WHERE m.agreement_id = p_agreement AND m.bucket_start >= v_minute - interval '1 minute';
        window_used := v_current + (v_previous * (60000 - v_into_ms)) / 60000;
        period_end := (v_period AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
        IF p_quota IS NOT NULL AND period_used + reserved + p_estimate > p_quota THEN
          admitted := false; refusal := 'QUOTA';
        ELSIF p_per_minute IS NOT NULL AND window_used + reserved + p_estimate > p_per_minute THEN
          admitted := false; refusal := 'RATE';
        ELSE
          INSERT INTO usage_reservations (agreement_id, tokens, expires_at)
            VALUES (p_agreement, p_estimate, v_now + make_interval(secs => p_ttl_ms / 1000.0))
            RETURNING id INTO reservation_id;
          admitted := true;
        END IF;
        RETURN NEXT;
      END $$`);

    /*
     * Records a batch of usage events, one round trip. Under the metering lock
     * of every agreement in the batch (taken in a fixed order): events already
     * stored are DUPLICATE (same payload hash) or ID_REUSED; repeated ids
     * inside the batch are judged against their first occurrence; new events
     * are inserted with the tokens beyond the period quota counted as overage
     * (in the order given), and the minute / hour / period rollups are updated
     * in the same statement. Returns one row per input position.
     */
    await q.query(`CREATE FUNCTION "metering_record_usage"(
        p_agreement uuid[], p_event_id text[], p_source text[], p_occurred_at timestamptz[],
        p_input bigint[], p_output bigint[], p_estimated boolean[], p_payload_hash bytea[],
        p_metadata jsonb[], p_api_key uuid[], p_quota bigint[], p_release_reservations uuid[], p_async_commit boolean)
      RETURNS TABLE (ord integer, outcome text, overage_tokens bigint)
      -- One cached generic plan per connection: re-planning these statements on every call cost
      -- more than executing them (measured: about 1 ms of a gateway request's 3).
      LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
      #variable_conflict use_column
      DECLARE
        v_agreement uuid;
        v_now timestamptz := clock_timestamp();
      BEGIN
        -- GATEWAY_USAGE_COMMIT=async: commit without waiting for the WAL flush (a database crash may lose
        -- the last fraction of a second of gateway usage; an application crash loses nothing).
        IF p_async_commit THEN
          PERFORM set_config('synchronous_commit', 'off', true);
        END IF;
        FOR v_agreement IN SELECT DISTINCT a FROM unnest(p_agreement) AS a ORDER BY a LOOP
          PERFORM pg_advisory_xact_lock(7340101, hashtext(v_agreement::text));
        END LOOP;
        IF cardinality(p_release_reservations) > 0 THEN
          DELETE FROM usage_reservations r WHERE r.id = ANY(p_release_reservations);
        END IF;
        RETURN QUERY
        WITH input AS (
          SELECT i.*, date_trunc('month', i.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS period,
                 i.input_tokens + i.output_tokens AS tokens
            FROM unnest(p_agreement, p_event_id, p_source, p_occurred_at, p_input, p_output, p_estimated,
                        p_payload_hash, p_metadata, p_api_key, p_quota)
                 WITH ORDINALITY AS i(agreement_id, event_id, source, occurred_at, input_tokens, output_tokens,
                                      estimated, payload_hash, metadata, api_key_id, quota, ord)
        ), judged AS (
          -- A point lookup by primary key per event, whatever the planner knows about the table
          -- (a join could pick the agreement/time index on a fresh table without statistics).
          SELECT i.*,
                 (SELECT e.payload_hash FROM usage_events e
                   WHERE e.agreement_id = i.agreement_id AND e.event_id = i.event_id) AS stored_hash,
                 first_value(i.payload_hash) OVER w AS first_hash,
                 row_number() OVER w AS occurrence
            FROM input i
          WINDOW w AS (PARTITION BY i.agreement_id, i.event_id ORDER BY i.ord)
        ), fresh AS (
          SELECT j.*,
                 coalesce(t.input_tokens + t.output_tokens, 0)
                   + sum(j.tokens) OVER (PARTITION BY j.agreement_id, j.period ORDER BY j.ord) AS used_after
            FROM judged j
            LEFT JOIN usage_period_totals t ON t.agreement_id = j.agreement_id AND t.period_start = j.period
           WHERE j.stored_hash IS NULL AND j.occurrence = 1
        ), priced AS (
          SELECT f.*,
                 CASE WHEN f.quota IS NULL OR f.used_after <= f.quota THEN 0
                      ELSE least(f.tokens, f.used_after - f.quota) END AS overage
            FROM fresh f
        ), inserted AS (
          INSERT INTO usage_events (agreement_id, event_id, source, occurred_at, received_at, input_tokens,
                                    output_tokens, overage_tokens, estimated, payload_hash, metadata, api_key_id)
          SELECT p.agreement_id, p.event_id, p.source, p.occurred_at, v_now, p.input_tokens, p.output_tokens,
                 p.overage, p.estimated, p.payload_hash, p.metadata, p.api_key_id
            FROM priced p
        ), minute AS (
          INSERT INTO usage_rollups_minute AS r (agreement_id, bucket_start, tokens, events)
          SELECT p.agreement_id, date_trunc('minute', p.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(p.tokens), count(*)
            FROM priced p
           WHERE p.occurred_at >= v_now - interval '2 days'
           GROUP BY 1, 2
          ON CONFLICT (agreement_id, bucket_start) DO UPDATE
            SET tokens = r.tokens + excluded.tokens, events = r.events + excluded.events
        ), hour AS (
          INSERT INTO usage_rollups_hour AS r (agreement_id, bucket_start, input_tokens, output_tokens,
                                               overage_tokens, events, estimated_events)
          SELECT p.agreement_id, date_trunc('hour', p.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(p.input_tokens), sum(p.output_tokens),
                 sum(p.overage), count(*), count(*) FILTER (WHERE p.estimated)
            FROM priced p
           GROUP BY 1, 2
          ON CONFLICT (agreement_id, bucket_start) DO UPDATE
            SET input_tokens = r.input_tokens + excluded.input_tokens,
                output_tokens = r.output_tokens + excluded.output_tokens,
                overage_tokens = r.overage_tokens + excluded.overage_tokens,
                events = r.events + excluded.events,
                estimated_events = r.estimated_events + excluded.estimated_events
        ), period AS (
          INSERT INTO usage_period_totals AS r (agreement_id, period_start, input_tokens, output_tokens,
                                                overage_tokens, events)
          SELECT p.agreement_id, p.period, sum(p.input_tokens), sum(p.output_tokens), sum(p.overage), count(*)
            FROM priced p
           GROUP BY 1, 2
          ON CONFLICT (agreement_id, period_start) DO UPDATE
            SET input_tokens = r.input_tokens + excluded.input_tokens,
                output_tokens = r.output_tokens + excluded.output_tokens,
                overage_tokens = r.overage_tokens + excluded.overage_tokens,
                events = r.events + excluded.events
        )
        SELECT j.ord::integer,
               CASE WHEN p.ord IS NOT NULL THEN 'ACCEPTED'
                    WHEN coalesce(j.stored_hash, j.first_hash) = j.payload_hash THEN 'DUPLICATE'
                    ELSE 'ID_REUSED' END,
               coalesce(p.overage, 0)::bigint
          FROM judged j
          LEFT JOIN priced p ON p.ord = j.ord
         ORDER BY j.ord;
      END $$`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION "metering_record_usage"(uuid[], text[], text[], timestamptz[], bigint[], bigint[], boolean[], bytea[], jsonb[], uuid[], bigint[], uuid[], boolean)`);
    await q.query(`DROP FUNCTION "metering_preauthorize"(uuid, bigint, bigint, bigint, integer)`);
    await q.query(`DROP TABLE "anomaly_flags"`);
    await q.query(`DROP TABLE "usage_reservations"`);
    await q.query(`DROP TABLE "usage_period_totals"`);
    await q.query(`DROP TABLE "usage_rollups_hour"`);
    await q.query(`DROP TABLE "usage_rollups_minute"`);
    await q.query(`DROP TRIGGER "TRG_usage_events_immutable" ON "usage_events"`);
    await q.query(`DROP TABLE "usage_events"`);
    await q.query(`DROP FUNCTION "usage_events_immutable"()`);
    await q.query(`DROP TABLE "teacher_upstreams"`);
  }
}
