import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { TeacherModelOutput } from '../../../catalog/dto/model.output';
import { Paginated } from '../../../platform/graphql/pagination';
import { CertificationRecord, CertificationStatus, ModelCertificationState } from '../certification.status';

registerEnumType(CertificationStatus, {
  name: 'CertificationStatus',
  description:
    "From the model's latest certification (a new one supersedes earlier ones): NONE (never certified), " +
    'REVOKED (the latest was revoked), EXPIRED (its expiry has passed), else CERTIFIED.',
});

@ObjectType('CertificationEvidence', { description: 'One evaluation result backing a certification.' })
export class CertificationEvidenceOutput {
  @Field(() => String)
  benchmark: string;

  @Field(() => String)
  metric: string;

  @Field(() => String, { description: 'The score as a decimal string (e.g. "71.3"), exactly as certified.' })
  value: string;

  @Field(() => String, { description: '`sha256:` digest of the evaluation dataset.' })
  datasetDigest: string;
}

@ObjectType('CertificationSafetyReview')
export class SafetyReviewOutput {
  @Field(() => String)
  summary: string;

  @Field(() => String)
  reviewer: string;

  @Field(() => Boolean)
  passed: boolean;

  @Field(() => String, { nullable: true })
  reportUrl: string | null;
}

@ObjectType('CertificationSafetyReviewSummary', { description: "The public part of a certification's safety review." })
export class SafetyReviewSummaryOutput {
  @Field(() => String)
  summary: string;

  @Field(() => Boolean)
  passed: boolean;
}

@ObjectType('Certification', { description: 'A certification an admin recorded for a model (admins only).' })
export class CertificationOutput {
  @Field(() => ID)
  id: string;

  @Field(() => ID)
  modelId: string;

  @Field(() => [CertificationEvidenceOutput])
  evidence: CertificationEvidenceOutput[];

  @Field(() => SafetyReviewOutput)
  safetyReview: SafetyReviewOutput;

  @Field(() => Date)
  certifiedAt: Date;

  @Field(() => Date)
  expiresAt: Date;

  @Field(() => ID, { nullable: true, description: 'The admin who certified (null if that user was deleted).' })
  certifiedByUserId: string | null;

  @Field(() => Date, { nullable: true })
  revokedAt: Date | null;

  @Field(() => ID, { nullable: true })
  revokedByUserId: string | null;

  @Field(() => String, { nullable: true })
  revocationReason: string | null;
}

@ObjectType('ModelCertificationStatus', {
  description: "A model's public certification status and the certification that defines it (null fields and no evidence when NONE).",
})
export class ModelCertificationStatusOutput {
  @Field(() => CertificationStatus)
  status: CertificationStatus;

  @Field(() => ID, { nullable: true, description: 'The latest certification (what revokeCertification takes).' })
  certificationId: string | null;

  @Field(() => Date, { nullable: true })
  certifiedAt: Date | null;

  @Field(() => Date, { nullable: true })
  expiresAt: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt: Date | null;

  @Field(() => [CertificationEvidenceOutput])
  evidence: CertificationEvidenceOutput[];

  @Field(() => SafetyReviewSummaryOutput, { nullable: true })
  safetyReview: SafetyReviewSummaryOutput | null;
}

/** A stored certification (with who certified / revoked) → API, field by field. */
export interface CertificationRow extends CertificationRecord {
  certifiedByUserId: string | null;
  revokedByUserId: string | null;
  revocationReason: string | null;
}

export function toCertificationOutput(c: CertificationRow): CertificationOutput {
  return Object.assign(new CertificationOutput(), {
    id: c.id,
    modelId: c.modelId,
    evidence: c.evidence.map(toEvidenceOutput),
    safetyReview: {
      summary: c.safetyReview.summary,
      reviewer: c.safetyReview.reviewer,
      passed: c.safetyReview.passed,
      reportUrl: c.safetyReview.reportUrl ?? null,
    },
    certifiedAt: c.certifiedAt,
    expiresAt: c.expiresAt,
    certifiedByUserId: c.certifiedByUserId,
    revokedAt: c.revokedAt,
    revokedByUserId: c.revokedByUserId,
    revocationReason: c.revocationReason,
  });
}

/** The public status: the reviewer's name and the report link stay with admins. */
export function toModelCertificationStatusOutput(s: ModelCertificationState): ModelCertificationStatusOutput {
  return {
    status: s.status,
    certificationId: s.certificationId,
    certifiedAt: s.certifiedAt,
    expiresAt: s.expiresAt,
    revokedAt: s.revokedAt,
    evidence: s.evidence.map(toEvidenceOutput),
    safetyReview: s.safetyReview ? { summary: s.safetyReview.summary, passed: s.safetyReview.passed } : null,
  };
}

function toEvidenceOutput(e: CertificationEvidenceOutput): CertificationEvidenceOutput {
  return { benchmark: e.benchmark, metric: e.metric, value: e.value, datasetDigest: e.datasetDigest };
}

@ObjectType('CertificationQueueEntry', { description: 'A student model awaiting certification (admins only).' })
export class CertificationQueueEntryOutput {
  @Field(() => TeacherModelOutput, { description: 'The model: its card, weights digest, organization (`vendor`), lineage and royalty stack.' })
  model: TeacherModelOutput;

  @Field(() => CertificationStatus, { description: 'Why it waits: NONE (never certified), REVOKED or EXPIRED (its latest certification).' })
  status: CertificationStatus;

  @Field(() => Date, { description: 'Since registration (NONE), revocation (REVOKED) or expiry (EXPIRED); the queue is oldest first by this.' })
  waitingSince: Date;

  @Field(() => Int, { description: 'Parents declared in its lineage.' })
  parentCount: number;

  @Field(() => CertificationOutput, { nullable: true, description: 'Its latest certification (revoked or expired); null when NONE.' })
  latestCertification: CertificationOutput | null;
}

@ObjectType('CertificationQueueConnection')
export class CertificationQueueConnection extends Paginated(CertificationQueueEntryOutput, 'CertificationQueueEntry') {}
