/**
 * The SQL of teacher upstreams and of the upstream error log. Every method
 * takes the EntityManager of the caller's transaction (or the reader).
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/** How long an upstream error is kept (and shown). */
const ERROR_RETENTION = '30 days';

export interface UpstreamRow {
  model_id: string;
  organization_id: string;
  base_url: string;
  upstream_model: string;
  timeout_ms: number;
  credential_sealed: Buffer;
  credential_key_id: string;
  credential_fingerprint: string;
  configured_by_user_id: string | null;
  created_at: Date;
  updated_at: Date;
  /** False when the statement replaced an existing upstream. */
  inserted: boolean;
}

export interface UpstreamToConfigure {
  modelId: string;
  organizationId: string;
  baseUrl: string;
  upstreamModel: string;
  timeoutMs: number;
  credentialSealed: Buffer;
  credentialKeyId: string;
  credentialFingerprint: string;
  configuredByUserId: string | null;
}

export interface NewUpstreamError {
  agreementId: string;
  requestId: string;
  streamed: boolean;
  upstreamStatus: number | null;
  code: string;
  detail: string;
}

export interface UpstreamErrorLogRow {
  requestId: string;
  occurredAt: Date;
  streamed: boolean;
  upstreamStatus: number | null;
  code: string;
  detail: string;
}

@Injectable()
export class UpstreamRepository {
  /** One statement decides a race between two configurations: the last one wins, created_at is kept. */
  async upsert(em: EntityManager, u: UpstreamToConfigure): Promise<UpstreamRow> {
    const [row] = (await em.query(
      `INSERT INTO teacher_upstreams AS u (model_id, organization_id, base_url, upstream_model, timeout_ms,
                                            credential_sealed, credential_key_id, credential_fingerprint, configured_by_user_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (model_id) DO UPDATE
         SET organization_id = excluded.organization_id, base_url = excluded.base_url,
             upstream_model = excluded.upstream_model, timeout_ms = excluded.timeout_ms,
             credential_sealed = excluded.credential_sealed, credential_key_id = excluded.credential_key_id,
             credential_fingerprint = excluded.credential_fingerprint,
             configured_by_user_id = excluded.configured_by_user_id, updated_at = now()
       RETURNING u.*, (xmax = 0) AS inserted`,
      [
        u.modelId,
        u.organizationId,
        u.baseUrl,
        u.upstreamModel,
        u.timeoutMs,
        u.credentialSealed,
        u.credentialKeyId,
        u.credentialFingerprint,
        u.configuredByUserId,
      ],
    )) as UpstreamRow[];
    return row;
  }

  /** One statement: the new row, and the agreement's rows past retention go. */
  async recordError(em: EntityManager, e: NewUpstreamError): Promise<void> {
    await em.query(
      `WITH added AS (
         INSERT INTO upstream_errors (agreement_id, request_id, streamed, upstream_status, code, detail)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING agreement_id)
       DELETE FROM upstream_errors WHERE agreement_id = (SELECT agreement_id FROM added) AND occurred_at < now() - interval '${ERROR_RETENTION}'`,
      [e.agreementId, e.requestId, e.streamed, e.upstreamStatus, e.code, e.detail],
    );
  }

  /** The agreement's errors within retention, newest first. */
  async recentErrors(em: EntityManager, agreementId: string, limit: number): Promise<UpstreamErrorLogRow[]> {
    const rows: Array<{ request_id: string; occurred_at: Date; streamed: boolean; upstream_status: number | null; code: string; detail: string }> = await em.query(
      `SELECT request_id, occurred_at, streamed, upstream_status, code, detail FROM upstream_errors
        WHERE agreement_id = $1 AND occurred_at >= now() - interval '${ERROR_RETENTION}'
        ORDER BY occurred_at DESC, id DESC LIMIT $2`,
      [agreementId, limit],
    );
    return rows.map((r) => ({
      requestId: r.request_id,
      occurredAt: r.occurred_at,
      streamed: r.streamed,
      upstreamStatus: r.upstream_status,
      code: r.code,
      detail: r.detail,
    }));
  }
}
