import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { bigintTransformer } from '../platform/database/bigint.transformer';

export enum ModelStatus {
  DRAFT = 'DRAFT',
  LISTED = 'LISTED',
  UNLISTED = 'UNLISTED',
}

/** What a model card holds (stored as jsonb; validated by the GraphQL input types). */
export interface ModelCard {
  summary: string;
  parameterCount: string | null; // decimal string (may exceed 2^53)
  modalities: string[];
  contextLength: number | null;
  languages: string[];
  trainingDataSummary: string | null;
  evaluations: { benchmark: string; metric: string; value: number }[];
  intendedUses: string[];
  limitations: string[];
  baseModels: string[];
}

/**
 * One entity for every model: a teacher a vendor lists, and a student
 * registered with its lineage (src/provenance), which may itself be listed as
 * a teacher with its own offers (indirect distillation).
 */
@Entity({ name: 'models' })
export class ModelEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid', name: 'organization_id' })
  organizationId: string;

  /** URL-safe, unique within the organization. */
  @Column({ type: 'text' })
  slug: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'jsonb' })
  card: ModelCard;

  /** Copied from the card for filtering (catalog min/max parameters). */
  @Column({ type: 'bigint', name: 'parameter_count', nullable: true, transformer: bigintTransformer })
  parameterCount: bigint | null;

  /** Copied from the card for filtering (catalog modality). */
  @Column({ type: 'text', array: true })
  modalities: string[];

  @Column({ type: 'text' })
  status: ModelStatus;

  /** Digest of the released weights (`sha256:<hex>`); students must declare it, teachers may. Unique. */
  @Column({ type: 'text', name: 'weights_digest', nullable: true })
  weightsDigest: string | null;

  /** Declared for commercial use (licences that are research-only or non-commercial cannot back its lineage). */
  @Column({ type: 'boolean', name: 'commercial_use', default: true })
  commercialUse: boolean;

  @Column({ type: 'timestamptz', name: 'listed_at', nullable: true })
  listedAt: Date | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column({ type: 'timestamptz', name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const CATALOG_ENTITIES: Function[] = [ModelEntity];
