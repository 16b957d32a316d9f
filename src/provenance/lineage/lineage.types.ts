/**
 * The lineage of one model as the database returns it (recursive CTE over
 * model_lineage_edges): the model itself, every ancestor once, and every edge
 * among them with the accepted terms of its agreement. Pure data: royalty
 * stacks, obligations, attestations and exports are computed from it.
 */
import type { CanonicalTerms } from '../../licensing/terms/terms.types';
import type { DistillationMethod, LineageRelation } from '../provenance.entity';

export interface LineageModel {
  modelId: string;
  name: string;
  slug: string;
  /** The organization that owns (sells) the model. */
  organizationId: string;
  weightsDigest: string | null;
  commercialUse: boolean;
}

export interface LineageNode extends LineageModel {
  /** Shortest number of edges from the root model (direct parents: 1). */
  depth: number;
}

export interface LineageEdgeView {
  childModelId: string;
  parentModelId: string;
  agreementId: string;
  relation: LineageRelation;
  method: DistillationMethod | null;
  dataShareBps: number | null;
  termsHash: string;
  /** The agreement's accepted terms (snapshot), hashed to termsHash. */
  terms: CanonicalTerms;
}

export interface Lineage {
  root: LineageModel;
  /** Ancestors only (not the root), each once. */
  ancestors: LineageNode[];
  /** Every edge whose child is the root or an ancestor. */
  edges: LineageEdgeView[];
  /** Longest chain of DISTILLED edges ending at the root (0 for a model with no distilled ancestry). */
  distillationGeneration: number;
  /** Longest chain of edges of any relation ending at the root. */
  depth: number;
}

export interface RoyaltyStackEntry {
  /** The ancestor model that is owed the share. */
  modelId: string;
  organizationId: string;
  policy: 'LAP' | 'LRP';
  shareBps: number;
  /** Shortest distance from the root (1 = direct parent). */
  depth: number;
  /** The agreement whose licence sets this share (the one with the largest share if several). */
  agreementId: string;
}

export interface RoyaltyStack {
  entries: RoyaltyStackEntry[];
  /** Sum of all entries' shares: what leaves the model's revenue, in basis points. */
  totalBps: number;
}
