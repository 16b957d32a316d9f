/**
 * CycloneDX ML-BOM of a model with its licensed lineage as pedigree.
 * Pure: same input → same JSON object (plain data, ready for
 * JSON.stringify), valid against the official CycloneDX JSON schema shipped by
 * @cyclonedx/cyclonedx-library (spec 1.6 by default — what most consumers
 * read today —, 1.7 on request; the spec tests validate both).
 *
 * Layout:
 * - `metadata.component`: the model, `type: machine-learning-model`,
 *   `bom-ref` = model id, hashes from the weights digest (`sha256:<hex>` →
 *   `{alg: 'SHA-256', content: <hex>}`; sha384/sha512/sha3-* likewise; any
 *   other form is only carried as the `beiming:weightsDigest` property),
 *   licence = the Beiming licence of the model (the same `license_name` and
 *   link as the Hugging Face card), `modelCard` from the catalog card
 *   (evaluations → performanceMetrics with `type` = metric and `slice` =
 *   benchmark; intended uses → useCases; limitations → technicalLimitations;
 *   parameter count, context length, modalities, languages → modelCard
 *   properties), links to the model page, licence, verification and keys.
 * - `pedigree.ancestors`: every ancestor once (flat: a diamond's shared
 *   ancestor appears once, so every bom-ref in the BOM is unique), each a
 *   `machine-learning-model` with bom-ref = model id, name, supplier, hashes
 *   when its digest is known, and as licences the agreements under which it
 *   was used ("Beiming agreement <id> (terms sha256:<hash>)", acknowledgement
 *   `concluded`: the platform checked the agreement when the edge was
 *   registered).
 * - CycloneDX has no distillation relation (nor finetune/merge/quantize
 *   between components): each edge parent → child is described on the parent
 *   (the ancestor) by properties in the `beiming:` namespace,
 *   `beiming:edge:<child model id>:relation|method|agreementId|termsHash|dataShareBps`,
 *   and in words in `pedigree.notes`. The royalty entries of an ancestor are
 *   `beiming:royalty:<LAP|LRP>:shareBps|agreementId` on it.
 * - `dependencies`: the DAG, one entry per model (root and ancestors):
 *   `{ref: child, dependsOn: [its direct parents]}` (`[]` for a model without
 *   parents: known to have none).
 * - `serialNumber`: `urn:uuid:<UUID v5>` of the RFC 8785 canonical JSON of the
 *   BOM without its serial number, in a fixed Beiming namespace, so the same
 *   lineage always exports the same bytes (reproducible, diffable). There is no
 *   `metadata.timestamp` unless the caller passes one (it then enters the
 *   serial number too).
 */
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { LineageEdgeView, LineageModel, LineageNode, RoyaltyStackEntry } from '../lineage/lineage.types';
import { LineageRelation } from '../provenance.entity';
import {
  beimingLicenceName,
  certificationOf,
  displayTermsHash,
  exportLinks,
  organizationNameOf,
  ProvenanceExportInput,
  sortedAncestors,
  sortedLineageEdges,
} from './huggingface-card';

export type CycloneDxSpecVersion = '1.6' | '1.7';

export interface CycloneDxOptions {
  /** Default '1.6'. */
  specVersion?: CycloneDxSpecVersion;
  /** `metadata.timestamp` (omitted by default, to keep exports reproducible). */
  timestamp?: Date;
}

export interface CdxProperty {
  name: string;
  value: string;
}

export interface CdxHash {
  alg: 'SHA-256' | 'SHA-384' | 'SHA-512' | 'SHA3-256' | 'SHA3-384' | 'SHA3-512';
  content: string;
}

export interface CdxLicenseChoice {
  license: { name: string; acknowledgement: 'declared' | 'concluded'; url?: string };
}

export interface CdxExternalReference {
  type: 'website' | 'license' | 'attestation' | 'other';
  url: string;
  comment?: string;
}

export interface CdxComponent {
  type: 'machine-learning-model';
  'bom-ref': string;
  supplier?: { name: string };
  name: string;
  description?: string;
  hashes?: CdxHash[];
  licenses?: CdxLicenseChoice[];
  externalReferences?: CdxExternalReference[];
  pedigree?: { ancestors: CdxComponent[]; notes: string };
  modelCard?: Record<string, unknown>;
  tags?: string[];
  properties?: CdxProperty[];
}

export interface CycloneDxBom {
  $schema: string;
  bomFormat: 'CycloneDX';
  specVersion: CycloneDxSpecVersion;
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp?: string;
    tools: { components: Array<{ type: 'application'; name: string; description: string }> };
    component: CdxComponent;
  };
  dependencies: Array<{ ref: string; dependsOn: string[] }>;
}

/** Namespace of the serial numbers' UUID v5 (a fixed random UUID: Beiming CycloneDX exports). */
export const BEIMING_BOM_NAMESPACE = 'cba7836d-2eec-42cc-83ab-61e94a602495';

export function cycloneDxBom(input: ProvenanceExportInput, options: CycloneDxOptions = {}): CycloneDxBom {
  const specVersion = options.specVersion ?? '1.6';
  const { model, lineage } = input;
  const links = exportLinks(input.publicBaseUrl, model);
  const edges = sortedLineageEdges(input);
  const ancestors = sortedAncestors(lineage);
  const names = new Map<string, string>([[lineage.root.modelId, model.name], ...ancestors.map((a) => [a.modelId, a.name] as const)]);
  const parentsOf = groupBy(edges, (e) => e.childModelId);
  const childrenOf = groupBy(edges, (e) => e.parentModelId);
  const royaltyOf = groupBy(input.royaltyStack.entries, (r) => r.modelId);

  const root: CdxComponent = {
    type: 'machine-learning-model',
    'bom-ref': model.id,
    supplier: { name: model.organizationName },
    name: model.name,
  };
  if (model.card.summary) root.description = model.card.summary;
  const rootHashes = hashesOf(model.weightsDigest);
  if (rootHashes) root.hashes = rootHashes;
  root.licenses = [{ license: { name: beimingLicenceName(edges), acknowledgement: 'declared', url: links.licence } }];
  root.externalReferences = [
    { type: 'website', url: links.model },
    { type: 'license', url: links.licence },
    { type: 'attestation', url: links.verification, comment: 'Beiming verification: lineage and the latest signed attestation' },
    { type: 'other', url: links.keys, comment: 'Beiming attestation public keys (JWKS, Ed25519)' },
  ];
  if (ancestors.length > 0) {
    root.pedigree = {
      ancestors: ancestors.map((a) => ancestorComponent(input, a, childrenOf.get(a.modelId) ?? [], royaltyOf.get(a.modelId) ?? [])),
      notes: pedigreeNotes(input, edges, names),
    };
  }
  const modelCard = modelCardOf(input);
  if (modelCard) root.modelCard = modelCard;
  root.tags = edges.some((e) => e.relation === LineageRelation.DISTILLED) ? ['beiming', 'distillation'] : ['beiming'];
  root.properties = rootProperties(input);

  const dependencies = [lineage.root.modelId, ...ancestors.map((a) => a.modelId)].map((ref) => ({
    ref,
    dependsOn: [...new Set((parentsOf.get(ref) ?? []).map((e) => e.parentModelId))].sort(cmp),
  }));

  const metadata: CycloneDxBom['metadata'] = {
    tools: { components: [{ type: 'application', name: 'beiming', description: 'Beiming licensed-distillation marketplace: provenance export' }] },
    component: root,
  };
  if (options.timestamp) metadata.timestamp = options.timestamp.toISOString();

  const unsigned = {
    $schema: `http://cyclonedx.org/schema/bom-${specVersion}.schema.json`,
    bomFormat: 'CycloneDX' as const,
    specVersion,
    version: 1 as const,
    metadata,
    dependencies,
  };
  const json = canonicalize(unsigned);
  if (json === undefined) throw new Error('BOM is not serialisable');
  return {
    $schema: unsigned.$schema,
    bomFormat: unsigned.bomFormat,
    specVersion,
    serialNumber: `urn:uuid:${uuidV5(BEIMING_BOM_NAMESPACE, json)}`,
    version: 1,
    metadata,
    dependencies,
  };
}

function ancestorComponent(
  input: ProvenanceExportInput,
  node: LineageNode,
  childEdges: readonly LineageEdgeView[],
  royalties: readonly RoyaltyStackEntry[],
): CdxComponent {
  const orgName = organizationNameOf(input, node.organizationId);
  const c: CdxComponent = {
    type: 'machine-learning-model',
    'bom-ref': node.modelId,
    ...(orgName !== null ? { supplier: { name: orgName } } : {}),
    name: node.name,
  };
  const hashes = hashesOf(node.weightsDigest);
  if (hashes) c.hashes = hashes;
  const licences = new Map<string, CdxLicenseChoice>();
  for (const e of childEdges) {
    const name = agreementLicenceName(e);
    if (!licences.has(name)) licences.set(name, { license: { name, acknowledgement: 'concluded' } });
  }
  if (licences.size > 0) c.licenses = [...licences.values()];
  const props: CdxProperty[] = [...modelProperties(node), { name: 'beiming:lineage:depth', value: String(node.depth) }];
  for (const e of childEdges) {
    const p = `beiming:edge:${e.childModelId}`;
    props.push({ name: `${p}:relation`, value: e.relation });
    if (e.method) props.push({ name: `${p}:method`, value: e.method });
    props.push({ name: `${p}:agreementId`, value: e.agreementId });
    props.push({ name: `${p}:termsHash`, value: displayTermsHash(e.termsHash) });
    if (e.dataShareBps !== null) props.push({ name: `${p}:dataShareBps`, value: String(e.dataShareBps) });
  }
  for (const r of [...royalties].sort((a, b) => cmp(a.policy, b.policy))) {
    props.push({ name: `beiming:royalty:${r.policy}:shareBps`, value: String(r.shareBps) });
    props.push({ name: `beiming:royalty:${r.policy}:agreementId`, value: r.agreementId });
  }
  c.properties = props;
  return c;
}

/** The licence name of one lineage edge's agreement. */
export function agreementLicenceName(edge: Pick<LineageEdgeView, 'agreementId' | 'termsHash'>): string {
  return `Beiming agreement ${edge.agreementId} (terms ${displayTermsHash(edge.termsHash)})`;
}

function modelProperties(m: Pick<LineageModel, 'slug' | 'organizationId' | 'commercialUse' | 'weightsDigest'>): CdxProperty[] {
  const props: CdxProperty[] = [
    { name: 'beiming:slug', value: m.slug },
    { name: 'beiming:organizationId', value: m.organizationId },
    { name: 'beiming:commercialUse', value: String(m.commercialUse) },
  ];
  if (m.weightsDigest) props.push({ name: 'beiming:weightsDigest', value: m.weightsDigest });
  return props;
}

function rootProperties(input: ProvenanceExportInput): CdxProperty[] {
  const { model, lineage } = input;
  const cert = certificationOf(input);
  const props: CdxProperty[] = [
    ...modelProperties(model),
    { name: 'beiming:lineage:distillationGeneration', value: String(lineage.distillationGeneration) },
    { name: 'beiming:lineage:depth', value: String(lineage.depth) },
    { name: 'beiming:royalty:totalBps', value: String(input.royaltyStack.totalBps) },
    { name: 'beiming:certification:status', value: cert.status },
  ];
  if (cert.certifiedAt) props.push({ name: 'beiming:certification:certifiedAt', value: cert.certifiedAt });
  if (cert.expiresAt) props.push({ name: 'beiming:certification:expiresAt', value: cert.expiresAt });
  for (const a of input.obligations.attributions) props.push({ name: 'beiming:attribution', value: a.displayString });
  if (input.obligations.notice) props.push({ name: 'beiming:notice', value: input.obligations.notice });
  return props;
}

function pedigreeNotes(input: ProvenanceExportInput, edges: readonly LineageEdgeView[], names: Map<string, string>): string {
  const { lineage } = input;
  const lines = [
    `Beiming licensed lineage: distillation generation ${lineage.distillationGeneration}, depth ${lineage.depth}.`,
    'CycloneDX has no distillation relation: each ancestor carries beiming:edge:<child model id>:relation|method|agreementId|termsHash properties for every edge from it, and dependencies hold the graph.',
  ];
  for (const e of edges) {
    const how = e.method ? `${e.relation} (${e.method})` : e.relation;
    lines.push(
      `${names.get(e.childModelId)} [${e.childModelId}] ← ${how} ← ${names.get(e.parentModelId)} [${e.parentModelId}]; agreement ${e.agreementId}; terms ${displayTermsHash(e.termsHash)}`,
    );
  }
  return lines.join('\n');
}

function modelCardOf(input: ProvenanceExportInput): Record<string, unknown> | undefined {
  const card = input.model.card;
  const mc: Record<string, unknown> = {};
  if (card.evaluations.length > 0) {
    mc.quantitativeAnalysis = {
      performanceMetrics: card.evaluations.map((e) => ({ type: e.metric, value: String(e.value), slice: e.benchmark })),
    };
  }
  const considerations: Record<string, string[]> = {};
  if (card.intendedUses.length > 0) considerations.useCases = [...card.intendedUses];
  if (card.limitations.length > 0) considerations.technicalLimitations = [...card.limitations];
  if (Object.keys(considerations).length > 0) mc.considerations = considerations;
  const props: CdxProperty[] = [];
  if (card.parameterCount !== null) props.push({ name: 'beiming:parameterCount', value: card.parameterCount });
  if (card.contextLength !== null) props.push({ name: 'beiming:contextLength', value: String(card.contextLength) });
  for (const m of card.modalities) props.push({ name: 'beiming:modality', value: m });
  for (const l of card.languages) props.push({ name: 'beiming:language', value: l });
  if (card.trainingDataSummary) props.push({ name: 'beiming:trainingDataSummary', value: card.trainingDataSummary });
  if (props.length > 0) mc.properties = props;
  return Object.keys(mc).length > 0 ? mc : undefined;
}

const DIGEST_ALGORITHMS: Record<string, { alg: CdxHash['alg']; hexLength: number }> = {
  sha256: { alg: 'SHA-256', hexLength: 64 },
  sha384: { alg: 'SHA-384', hexLength: 96 },
  sha512: { alg: 'SHA-512', hexLength: 128 },
  'sha3-256': { alg: 'SHA3-256', hexLength: 64 },
  'sha3-384': { alg: 'SHA3-384', hexLength: 96 },
  'sha3-512': { alg: 'SHA3-512', hexLength: 128 },
};

/** `<alg>:<hex>` → CycloneDX hashes; undefined for a missing or unrecognised digest. */
export function hashesOf(digest: string | null): CdxHash[] | undefined {
  if (!digest) return undefined;
  const m = /^([a-z0-9-]+):([0-9a-f]+)$/i.exec(digest);
  if (!m) return undefined;
  const known = Object.hasOwn(DIGEST_ALGORITHMS, m[1].toLowerCase()) ? DIGEST_ALGORITHMS[m[1].toLowerCase()] : undefined;
  if (!known || m[2].length !== known.hexLength) return undefined;
  return [{ alg: known.alg, content: m[2].toLowerCase() }];
}

/** RFC 9562 UUID version 5 (SHA-1, name-based) of `name` (UTF-8) in `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error(`not a UUID: ${namespace}`);
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = out.get(k);
    if (list) list.push(x);
    else out.set(k, [x]);
  }
  return out;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
