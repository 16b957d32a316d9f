/**
 * Hugging Face model-card front matter for a model and its licensed lineage
 * Pure: the caller loads the model, its `Lineage`, royalty
 * stack, obligations and certification, and gets the YAML block (between `---`
 * lines) that goes at the top of the model's README.md.
 *
 * Hugging Face's own fields:
 * - `license: other`, `license_name`, `license_link` (HF's convention for a
 *   licence that is not in its list). `license_name` is
 *   `beiming-lineage-<12 hex>` — the first 12 hex digits of SHA-256 over the
 *   sorted, distinct terms hashes of every edge of the lineage, so two models
 *   bound by the same set of accepted terms share a licence name — or
 *   `beiming-platform-terms` for a model without lineage.
 * - `base_model`: the DIRECT parents only, as `<organization>/<model-slug>`
 *   where `<organization>` is the owning organization's name reduced to HF's
 *   namespace alphabet (`[A-Za-z0-9._-]`, see `huggingFaceNamespace`), or its id
 *   (reduced the same way) when the name is unknown or reduces to nothing.
 *   These are platform references, not Hub repositories: the Hub may refuse
 *   a `base_model` that names no repository of its own, so a caller whose
 *   models are mirrored on the Hub passes their repository ids in
 *   `huggingFaceRepoIds` (model id → `owner/repo`).
 * - `base_model_relation`: HF knows adapter / merge / quantized / finetune and
 *   has no distillation relation. DISTILLED and FINETUNED map to `finetune`
 *   (the student's weights are trained on the teacher's signal — the closest
 *   valid value), MERGED to `merge`, QUANTIZED to `quantized`. With several
 *   direct parents of different relations: `merge` if one of them is MERGED,
 *   else `finetune`. Omitted with `base_model` when there is no parent.
 *
 * Extension keys (HF keeps unknown metadata keys):
 * - `distillation:` (only when the lineage has a DISTILLED edge): the
 *   distillation generation and the direct teachers with their method — the
 *   relation HF cannot express.
 * - `beiming:`: everything else, exactly — the model (ids, weights digest), the
 *   direct parents and every ancestor and edge of the lineage (relation,
 *   method, agreement id, terms hash), the royalty stack, attribution lines and
 *   NOTICE text, certification status and the verification links.
 *
 * Output is deterministic (arrays sorted, keys in a fixed order) and reads
 * back identically in YAML 1.2 and 1.1 readers (PyYAML, which the Hub's
 * Python tooling uses): a string that a 1.1 reader would take for something
 * else (`yes`, `on`, `1_000`, `12:30`, a date) is double-quoted, and so is
 * any string with characters PyYAML refuses raw (see the emitter below;
 * checked against PyYAML 6.0 safe_load on 5,000 generated cards when written).
 *
 * The input types and link helpers here are shared with the CycloneDX export
 * (cyclonedx.ts).
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { ModelCard } from '../../catalog/model.entity';
import { isUuid } from '../../platform/validation/uuid';
import { indexLineage } from '../lineage/royalty-stack';
import type { Lineage, LineageEdgeView, LineageModel, LineageNode, RoyaltyStack } from '../lineage/lineage.types';
import { LineageRelation } from '../provenance.entity';

// ---------------------------------------------------------------------------
// Shared input (Hugging Face card and CycloneDX BOM)
// ---------------------------------------------------------------------------

export interface ExportModel {
  id: string;
  name: string;
  slug: string;
  organizationId: string;
  organizationName: string;
  /** `sha256:<hex>` (other `<alg>:<hex>` forms are carried as text). */
  weightsDigest: string | null;
  card: ModelCard;
  commercialUse: boolean;
}

export interface ExportObligations {
  attributions: ReadonlyArray<{ displayString: string }>;
  /** The assembled NOTICE text ('' when there is none). */
  notice: string;
}

export type ExportCertificationStatus = 'CERTIFIED' | 'EXPIRED' | 'REVOKED' | 'NONE';

export interface ExportCertification {
  status: ExportCertificationStatus;
  certifiedAt: Date | null;
  expiresAt: Date | null;
}

export interface ProvenanceExportInput {
  model: ExportModel;
  /** The model's lineage; `lineage.root.modelId` must be `model.id`. */
  lineage: Lineage;
  royaltyStack: RoyaltyStack;
  obligations: ExportObligations;
  /** null: never certified (status NONE). */
  certification: ExportCertification | null;
  /** Absolute http(s) URL of the platform, e.g. `https://beiming.example` (a path prefix is kept). */
  publicBaseUrl: string;
  /** Names of the ancestors' organizations by organization id (ids are used where a name is missing). */
  organizationNames?: Readonly<Record<string, string>>;
  /** Hugging Face repository ids (`owner/repo`) by model id, for parents mirrored on the Hub. */
  huggingFaceRepoIds?: Readonly<Record<string, string>>;
}

export interface ExportLinks {
  /** The model's page. */
  model: string;
  /** Licence and obligations of the model (HF `license_link`). */
  licence: string;
  /** Public verification (lineage + latest attestation) by weights digest; the model page without a digest. */
  verification: string;
  /** The attestation public keys (JWKS). */
  keys: string;
}

/**
 * The platform URLs an export links to, in one place:
 * `<base>/models/<id>`, `<base>/models/<id>/licence`,
 * `<base>/verify/<weights digest, URL-encoded>`, `<base>/.well-known/beiming-keys.json`.
 */
export function exportLinks(publicBaseUrl: string, model: Pick<ExportModel, 'id' | 'weightsDigest'>): ExportLinks {
  let url: URL;
  try {
    url = new URL(publicBaseUrl);
  } catch {
    throw new Error(`publicBaseUrl must be an absolute http(s) URL, got ${JSON.stringify(publicBaseUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`publicBaseUrl must be an absolute http(s) URL, got ${JSON.stringify(publicBaseUrl)}`);
  }
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  const modelUrl = `${base}/models/${encodeURIComponent(model.id)}`;
  return {
    model: modelUrl,
    licence: `${modelUrl}/licence`,
    verification: model.weightsDigest ? `${base}/verify/${encodeURIComponent(model.weightsDigest)}` : modelUrl,
    keys: `${base}/.well-known/beiming-keys.json`,
  };
}

/** Edges of the lineage (child is the root or an ancestor) in a stable order, after a consistency check. */
export function sortedLineageEdges(input: ProvenanceExportInput): LineageEdgeView[] {
  if (input.lineage.root.modelId !== input.model.id) {
    throw new Error(`lineage of ${input.lineage.root.modelId} passed for model ${input.model.id}`);
  }
  // Throws InconsistentLineageError on an edge whose parent is not an ancestor.
  const { edges } = indexLineage(input.lineage);
  return edges.map((e) => e.edge).sort((a, b) => cmp(a.childModelId, b.childModelId) || cmp(a.parentModelId, b.parentModelId));
}

/** Ancestors once each (shallowest depth kept), by depth, then name, then id. */
export function sortedAncestors(lineage: Lineage): LineageNode[] {
  const byId = new Map<string, LineageNode>();
  for (const a of lineage.ancestors) {
    const seen = byId.get(a.modelId);
    if (!seen || a.depth < seen.depth) byId.set(a.modelId, a);
  }
  return [...byId.values()].sort((a, b) => a.depth - b.depth || cmp(a.name, b.name) || cmp(a.modelId, b.modelId));
}

/** `sha256:<hex>` for a bare 64-hex terms hash (as stored), the value unchanged otherwise. */
export function displayTermsHash(termsHash: string): string {
  return /^[0-9a-f]{64}$/i.test(termsHash) ? `sha256:${termsHash.toLowerCase()}` : termsHash;
}

/** HF `license_name`: shared by models bound by the same set of accepted terms (see the module comment). */
export function beimingLicenceName(edges: readonly LineageEdgeView[]): string {
  if (edges.length === 0) return 'beiming-platform-terms';
  const hashes = [...new Set(edges.map((e) => e.termsHash.toLowerCase()))].sort();
  return `beiming-lineage-${createHash('sha256').update(hashes.join('\n'), 'utf8').digest('hex').slice(0, 12)}`;
}

export function organizationNameOf(input: ProvenanceExportInput, organizationId: string): string | null {
  if (organizationId === input.model.organizationId) return input.model.organizationName;
  const names = input.organizationNames;
  return names && Object.hasOwn(names, organizationId) ? names[organizationId] : null;
}

/**
 * An organization name in HF's namespace alphabet: accents dropped, every run
 * of other characters → `-`, no leading/trailing `-` or `.`, at most 96
 * characters; '' when nothing is left.
 */
export function huggingFaceNamespace(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 96)
    .replace(/[-.]+$/g, '');
}

/** The `base_model` reference of a model (see the module comment). */
export function huggingFaceRef(input: ProvenanceExportInput, model: LineageModel): string {
  const repoIds = input.huggingFaceRepoIds;
  if (repoIds && Object.hasOwn(repoIds, model.modelId)) return repoIds[model.modelId];
  const namespace =
    huggingFaceNamespace(organizationNameOf(input, model.organizationId) ?? '') || huggingFaceNamespace(model.organizationId) || model.organizationId;
  return `${namespace}/${model.slug}`;
}

export type HuggingFaceRelation = 'adapter' | 'merge' | 'quantized' | 'finetune';

export function huggingFaceRelation(relation: LineageRelation): HuggingFaceRelation {
  switch (relation) {
    case LineageRelation.DISTILLED:
    case LineageRelation.FINETUNED:
      return 'finetune';
    case LineageRelation.MERGED:
      return 'merge';
    case LineageRelation.QUANTIZED:
      return 'quantized';
    default: {
      const unknown: never = relation;
      throw new Error(`unknown lineage relation ${String(unknown)}`);
    }
  }
}

/** The one `base_model_relation` for the model's direct edges (undefined without parents). */
export function huggingFaceBaseModelRelation(directEdges: readonly LineageEdgeView[]): HuggingFaceRelation | undefined {
  const relations = new Set(directEdges.map((e) => huggingFaceRelation(e.relation)));
  if (relations.size === 0) return undefined;
  if (relations.size === 1) return [...relations][0];
  return relations.has('merge') ? 'merge' : 'finetune';
}

export function certificationOf(input: ProvenanceExportInput): { status: ExportCertificationStatus; certifiedAt: string | null; expiresAt: string | null } {
  const c = input.certification;
  return {
    status: c?.status ?? 'NONE',
    certifiedAt: c?.certifiedAt ? c.certifiedAt.toISOString() : null,
    expiresAt: c?.expiresAt ? c.expiresAt.toISOString() : null,
  };
}

// ---------------------------------------------------------------------------
// The front matter
// ---------------------------------------------------------------------------

export function huggingFaceCardYaml(input: ProvenanceExportInput): string {
  return toFrontMatter(huggingFaceCardMetadata(input));
}

/** The metadata object that `huggingFaceCardYaml` serialises (plain data). */
export function huggingFaceCardMetadata(input: ProvenanceExportInput): Record<string, unknown> {
  const { model, lineage } = input;
  const links = exportLinks(input.publicBaseUrl, model);
  const edges = sortedLineageEdges(input);
  const ancestors = sortedAncestors(lineage);
  const nodes = new Map<string, LineageModel>([[lineage.root.modelId, lineage.root], ...ancestors.map((a) => [a.modelId, a] as const)]);
  const refOf = (id: string) => huggingFaceRef(input, nodes.get(id)!);
  const direct = edges
    .filter((e) => e.childModelId === model.id)
    .sort((a, b) => cmp(refOf(a.parentModelId), refOf(b.parentModelId)) || cmp(a.parentModelId, b.parentModelId));

  const meta: Record<string, unknown> = {
    license: 'other',
    license_name: beimingLicenceName(edges),
    license_link: links.licence,
  };
  if (direct.length > 0) {
    meta.base_model = direct.map((e) => refOf(e.parentModelId));
    meta.base_model_relation = huggingFaceBaseModelRelation(direct);
  }
  if (model.card.languages.length > 0) meta.language = [...model.card.languages];
  const distilled = edges.some((e) => e.relation === LineageRelation.DISTILLED);
  meta.tags = distilled ? ['beiming', 'distillation'] : ['beiming'];

  if (distilled) {
    meta.distillation = {
      generation: lineage.distillationGeneration,
      teachers: direct
        .filter((e) => e.relation === LineageRelation.DISTILLED)
        .map((e) => ({ model: refOf(e.parentModelId), model_id: e.parentModelId, method: e.method })),
    };
  }

  const edgeFields = (e: LineageEdgeView) => ({
    relation: e.relation,
    hf_relation: huggingFaceRelation(e.relation),
    method: e.method,
    agreement_id: e.agreementId,
    terms_hash: displayTermsHash(e.termsHash),
    data_share_bps: e.dataShareBps,
  });

  meta.beiming = {
    model_id: model.id,
    name: model.name,
    slug: model.slug,
    organization: { id: model.organizationId, name: model.organizationName },
    weights_digest: model.weightsDigest,
    commercial_use: model.commercialUse,
    lineage: {
      distillation_generation: lineage.distillationGeneration,
      depth: lineage.depth,
      parents: direct.map((e) => ({ model: refOf(e.parentModelId), model_id: e.parentModelId, ...edgeFields(e) })),
      ancestors: ancestors.map((a) => ({
        model: refOf(a.modelId),
        model_id: a.modelId,
        name: a.name,
        slug: a.slug,
        organization: { id: a.organizationId, name: organizationNameOf(input, a.organizationId) },
        weights_digest: a.weightsDigest,
        commercial_use: a.commercialUse,
        depth: a.depth,
      })),
      edges: edges.map((e) => ({ child_id: e.childModelId, parent_id: e.parentModelId, ...edgeFields(e) })),
    },
    royalties: {
      total_bps: input.royaltyStack.totalBps,
      entries: input.royaltyStack.entries.map((r) => ({
        model_id: r.modelId,
        organization_id: r.organizationId,
        policy: r.policy,
        share_bps: r.shareBps,
        depth: r.depth,
        agreement_id: r.agreementId,
      })),
    },
    attribution: input.obligations.attributions.map((a) => a.displayString),
    notice: input.obligations.notice,
    certification: (({ status, certifiedAt, expiresAt }) => ({ status, certified_at: certifiedAt, expires_at: expiresAt }))(certificationOf(input)),
    verification: { url: links.verification, keys_url: links.keys },
  };
  return meta;
}

// ---------------------------------------------------------------------------
// YAML emitter
//
// The metadata is plain data (maps with fixed identifier keys, arrays,
// strings, integers, booleans, null), so it is written by this small emitter
// rather than the `yaml` library's: that one writes some characters raw (DEL,
// NEL, LS/PS, BOM, tabs in plain scalars) that PyYAML — what the Hub's Python
// tooling reads cards with — refuses or reads as line breaks. Here every
// string is either
// - plain, only when it is made of unremarkable characters and reads back as
//   the same string in YAML 1.2 and 1.1 (checked with the `yaml` parser:
//   `yes`, `on`, `1_000`, `12:30`, dates… are not plain in 1.1),
// - a literal block (`|` / `|-`) for multi-line text of printable characters,
// - or double-quoted with every character outside YAML's printable set (and
//   the 1.1 line breaks NEL, LS, PS, and the BOM) escaped.
// ---------------------------------------------------------------------------

type YamlValue = string | number | boolean | null | undefined | YamlValue[] | { [key: string]: YamlValue };

function toFrontMatter(meta: Record<string, unknown>): string {
  const lines: string[] = [];
  emitMap(meta as { [key: string]: YamlValue }, 0, lines);
  return `---\n${lines.join('\n')}\n---\n`;
}

function isMap(v: YamlValue): v is { [key: string]: YamlValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function emitMap(map: { [key: string]: YamlValue }, indent: number, out: string[], firstPrefix?: string): void {
  let first = true;
  for (const [key, value] of Object.entries(map)) {
    if (value === undefined) continue;
    const pad = first && firstPrefix !== undefined ? firstPrefix : ' '.repeat(indent);
    first = false;
    emitEntry(`${pad}${yamlKey(key)}:`, value, indent, out);
  }
  if (first) {
    // An empty map: only reachable for nested values (the top level always has keys).
    out.push(`${firstPrefix ?? ' '.repeat(indent)}{}`);
  }
}

/** `head` is `<indent>key:` or `<indent>-`; writes the value after it (inline or as a nested block). */
function emitEntry(head: string, value: YamlValue, indent: number, out: string[]): void {
  if (Array.isArray(value)) {
    if (value.length === 0) out.push(`${head} []`);
    else {
      out.push(head);
      emitSeq(value, indent + 2, out);
    }
  } else if (isMap(value)) {
    if (Object.values(value).every((v) => v === undefined)) out.push(`${head} {}`);
    else {
      out.push(head);
      emitMap(value, indent + 2, out);
    }
  } else if (typeof value === 'string' && value.includes('\n') && blockSafe(value)) {
    out.push(`${head} ${value.endsWith('\n') ? '|' : '|-'}`);
    const pad = ' '.repeat(indent + 2);
    for (const line of (value.endsWith('\n') ? value.slice(0, -1) : value).split('\n')) out.push(line === '' ? '' : pad + line);
  } else {
    out.push(`${head} ${yamlScalar(value)}`);
  }
}

function emitSeq(items: YamlValue[], indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  for (const item of items) {
    if (isMap(item) && Object.values(item).some((v) => v !== undefined)) emitMap(item, indent + 2, out, `${pad}- `);
    else emitEntry(`${pad}-`, item, indent, out);
  }
}

function yamlKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) && plainIsString(key) ? key : doubleQuoted(key);
}

function yamlScalar(value: YamlValue): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} to YAML`);
    return String(value);
  }
  if (typeof value === 'string') return plainIsString(value) ? value : doubleQuoted(value);
  throw new Error('not a scalar');
}

/** Characters that may appear raw: YAML's printable set less the 1.1 line breaks (NEL, LS, PS) and the BOM. */
function rawOk(cp: number): boolean {
  return (
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff && cp !== 0x2028 && cp !== 0x2029) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

function allRawOk(value: string, allowNewline: boolean): boolean {
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (!(rawOk(cp) || (allowNewline && cp === 0x0a))) return false;
  }
  return true;
}

/**
 * Multi-line text that a literal block keeps exactly: printable, no space
 * before the first text (it would change the detected indentation), no
 * trailing spaces, at most one final newline.
 */
function blockSafe(value: string): boolean {
  return allRawOk(value, true) && !/^\n*[ ]/.test(value) && !value.endsWith('\n\n') && value !== '\n' && !/[ ]\n|[ ]$/.test(value);
}

const PLAIN_CHARS = /^[A-Za-z0-9](?:[A-Za-z0-9 _.,()/+>'-]|:(?=[A-Za-z0-9_./>-]))*$/;

/**
 * Whether a string can be written plain and read back as the same string by
 * YAML 1.2 and 1.1 readers. Fast paths for the bulk of an export (ids,
 * hashes, enum values, simple names): 6+ characters of `[A-Za-z0-9_./>-]` and
 * inner single spaces and colons, starting with a letter, cannot be a 1.1
 * bool/null (at most 5 letters) nor a number or date (they start with a
 * digit, sign or dot) nor a mapping key or comment (no `: `, no `#`);
 * a UUID cannot be either. Other candidates are asked of the `yaml` parser in
 * both versions.
 */
export function plainIsString(value: string): boolean {
  if ((value.length >= 6 && SAFE_PLAIN.test(value)) || isUuid(value as unknown)) return true; // (unknown: the type guard must not narrow `value` below)
  if (!PLAIN_CHARS.test(value) || value.endsWith(' ') || value.includes('  ')) return false;
  try {
    return parseYaml(value, { version: '1.1' }) === value && parseYaml(value, { version: '1.2' }) === value;
  } catch {
    return false;
  }
}

const SAFE_PLAIN = /^[A-Za-z](?:[A-Za-z0-9_./>-]|[ :](?=[A-Za-z0-9_./>-]))*$/;

function doubleQuoted(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (cp === 0x0a) out += '\\n';
    else if (cp === 0x09) out += '\\t';
    else if (cp === 0x0d) out += '\\r';
    else if (rawOk(cp)) out += ch;
    else if (cp <= 0xff) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += `\\u${cp.toString(16).padStart(4, '0')}`; // BMP only here: astral code points are rawOk
  }
  return `${out}"`;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
