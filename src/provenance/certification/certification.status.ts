/**
 * A model's certification status, derived from its latest certification (pure:
 * the database read lives in certification.service.ts).
 *
 * A new certification supersedes every earlier one, so only the latest counts:
 * NONE when the model was never certified; REVOKED when the latest one was
 * revoked (an older, superseded certification does not come back); EXPIRED
 * when the latest one's expiry has passed (expires_at ≤ now); else CERTIFIED.
 */

/** A plain object (not a TS enum) so the values are also the string literals other code uses. */
export const CertificationStatus = {
  CERTIFIED: 'CERTIFIED',
  EXPIRED: 'EXPIRED',
  REVOKED: 'REVOKED',
  NONE: 'NONE',
} as const;
export type CertificationStatus = (typeof CertificationStatus)[keyof typeof CertificationStatus];

export interface CertificationEvidence {
  benchmark: string;
  metric: string;
  /** A decimal number as a string (e.g. "71.3"): scores are never stored as floats. */
  value: string;
  /** `sha256:<64 hex>` of the evaluation dataset. */
  datasetDigest: string;
}

export interface SafetyReview {
  summary: string;
  reviewer: string;
  passed: boolean;
  reportUrl: string | null;
}

/** What a certification row holds that the status depends on. */
export interface CertificationRecord {
  id: string;
  modelId: string;
  evidence: CertificationEvidence[];
  safetyReview: SafetyReview;
  certifiedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

/** The model's status and the certification that defines it (null fields when NONE). */
export interface ModelCertificationState {
  status: CertificationStatus;
  certificationId: string | null;
  certifiedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  evidence: CertificationEvidence[];
  safetyReview: SafetyReview | null;
}

export const NOT_CERTIFIED: ModelCertificationState = Object.freeze({
  status: CertificationStatus.NONE,
  certificationId: null,
  certifiedAt: null,
  expiresAt: null,
  revokedAt: null,
  evidence: [],
  safetyReview: null,
});

export function statusOfLatest(latest: Pick<CertificationRecord, 'expiresAt' | 'revokedAt'> | null, now: Date): CertificationStatus {
  if (!latest) return CertificationStatus.NONE;
  if (latest.revokedAt) return CertificationStatus.REVOKED;
  if (latest.expiresAt.getTime() <= now.getTime()) return CertificationStatus.EXPIRED;
  return CertificationStatus.CERTIFIED;
}

export function stateOfLatest(latest: CertificationRecord | null, now: Date): ModelCertificationState {
  if (!latest) return NOT_CERTIFIED;
  return {
    status: statusOfLatest(latest, now),
    certificationId: latest.id,
    certifiedAt: latest.certifiedAt,
    expiresAt: latest.expiresAt,
    revokedAt: latest.revokedAt,
    evidence: latest.evidence.map((e) => ({ benchmark: e.benchmark, metric: e.metric, value: e.value, datasetDigest: e.datasetDigest })),
    safetyReview: {
      summary: latest.safetyReview.summary,
      reviewer: latest.safetyReview.reviewer,
      passed: latest.safetyReview.passed,
      reportUrl: latest.safetyReview.reportUrl ?? null,
    },
  };
}

/** The latest instant `expiresAt` may be, for a certification issued at `now`: three calendar years. */
export function latestExpiry(now: Date): Date {
  const max = new Date(now.getTime());
  max.setUTCFullYear(max.getUTCFullYear() + 3);
  return max;
}

/** Problems with an expiry chosen at `now` (empty when fine). */
export function expiryProblem(expiresAt: Date, now: Date): string | null {
  if (Number.isNaN(expiresAt.getTime())) return 'expiresAt must be a valid date-time';
  if (expiresAt.getTime() <= now.getTime()) return 'expiresAt must be in the future';
  if (expiresAt.getTime() > latestExpiry(now).getTime()) return 'expiresAt must be at most 3 years ahead';
  return null;
}
