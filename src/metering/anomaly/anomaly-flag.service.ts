import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AnomalySignal } from './anomaly-flag.kinds';

/**
 * Raising flags: one row per (agreement, kind, window); a repeated signal in
 * the same window counts an occurrence and adds its tokens instead of adding
 * rows, so a flood of requests cannot flood the vendor's list.
 */
@Injectable()
export class AnomalyFlagService {
  async raise(em: EntityManager, raw: readonly AnomalySignal[]): Promise<void> {
    if (raw.length === 0) return;
    // One row per key per statement (ON CONFLICT cannot touch a row twice).
    const byKey = new Map<string, AnomalySignal & { occurrences: number }>();
    for (const s of raw) {
      const key = `${s.agreementId}/${s.kind}/${s.windowStart.getTime()}`;
      const seen = byKey.get(key);
      if (!seen) {
        byKey.set(key, { ...s, occurrences: 1 });
        continue;
      }
      seen.occurrences += 1;
      if (s.observedTokens !== null) seen.observedTokens = (seen.observedTokens ?? 0n) + s.observedTokens;
      seen.detail = { ...seen.detail, ...s.detail };
    }
    const signals = [...byKey.values()];
    await em.query(
      `INSERT INTO anomaly_flags AS f (agreement_id, vendor_organization_id, distiller_organization_id, kind,
                                      window_start, observed_tokens, baseline_tokens, detail, occurrences)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::bigint[],
                            $7::bigint[], $8::jsonb[], $9::int[])
       ON CONFLICT (agreement_id, kind, window_start) DO UPDATE
         SET occurrences = f.occurrences + excluded.occurrences,
             observed_tokens = CASE WHEN f.observed_tokens IS NULL AND excluded.observed_tokens IS NULL THEN NULL
                                    ELSE coalesce(f.observed_tokens, 0) + coalesce(excluded.observed_tokens, 0) END,
             detail = f.detail || excluded.detail,
             updated_at = now()`,
      [
        signals.map((s) => s.agreementId),
        signals.map((s) => s.vendorOrganizationId),
        signals.map((s) => s.distillerOrganizationId),
        signals.map((s) => s.kind),
        signals.map((s) => s.windowStart.toISOString()),
        signals.map((s) => (s.observedTokens === null ? null : s.observedTokens.toString())),
        signals.map((s) => (s.baselineTokens == null ? null : s.baselineTokens.toString())),
        signals.map((s) => JSON.stringify(s.detail ?? {})),
        signals.map((s) => s.occurrences),
      ],
    );
  }
}
