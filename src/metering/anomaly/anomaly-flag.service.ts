import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AnomalySignal } from './anomaly-flag.kinds';
import { AnomalyRepository } from './anomaly.repository';

/**
 * Raising flags: one row per (agreement, kind, window); a repeated signal in
 * the same window counts an occurrence and adds its tokens instead of adding
 * rows, so a flood of requests cannot flood the vendor's list.
 */
@Injectable()
export class AnomalyFlagService {
  constructor(private readonly anomalies: AnomalyRepository) {}

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
    await this.anomalies.upsertSignals(em, signals);
  }
}
