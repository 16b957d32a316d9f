/**
 * What a model owes to the licences of its lineage, computed from the lineage
 * alone (pure, O(edges · log edges)): attribution lines, naming rules checked
 * against the model's name, an assembled NOTICE text, the use restrictions
 * that flow down to its users, and the conflicts between licences, each with
 * the edges that cause it.
 *
 * Which edges bind the model (the "flow rule", used for attributions, naming,
 * reciprocity and the commercial-use check):
 * - an edge into the model itself (a direct parent) always does: the model's
 *   maker accepted that agreement;
 * - a deeper edge (between two ancestors) does only when its terms travel with
 *   derivatives: `inheritance.copyLicence` (the licence must be passed on with
 *   every derivative) or `inheritance.useRestrictionsFlowDown` (its
 *   restrictions bind every downstream model). Otherwise it bound the
 *   ancestor's maker only.
 * Use restrictions are stricter: only edges whose terms say
 * `useRestrictionsFlowDown` (at any depth, direct parents included) pass
 * restrictions on to the model's users.
 *
 * An edge's `depth` is its distance from the model: 1 for an edge into the
 * model, the child's depth + 1 otherwise. Every list is sorted on total keys,
 * so the result does not depend on the order of the lineage's edges.
 */
import canonicalize from 'canonicalize';
import { AttributionPlacement, NamingRule } from '../../licensing/terms/terms.types';
import type { Lineage, LineageEdgeView } from './lineage.types';
import { indexLineage } from './royalty-stack';

/** One lineage edge, as obligations and conflicts point at it. */
export interface LineageEdgeRef {
  parentModelId: string;
  childModelId: string;
  agreementId: string;
  termsHash: string;
  /** 1 = an edge into the model itself. */
  depth: number;
}

export interface AttributionObligation {
  displayString: string;
  placements: AttributionPlacement[];
  noticeText: string | null;
  /** The parent whose licence requires it (the shallowest one if several require the same line). */
  fromModelId: string;
  agreementId: string;
  depth: number;
}

export interface NamingObligation {
  rule: NamingRule.PREFIX_REQUIRED | NamingRule.NOT_PRIMARY;
  token: string;
  /** The parent whose licence sets the rule (the shallowest one if several set the same rule). */
  fromModelId: string;
  agreementId: string;
  depth: number;
  /** Whether the model's current name complies. */
  satisfied: boolean;
}

export enum UseRestrictionKind {
  ACCEPTABLE_USE_POLICY = 'ACCEPTABLE_USE_POLICY',
  RESEARCH_ONLY = 'RESEARCH_ONLY',
  NO_COMMERCIAL_USE = 'NO_COMMERCIAL_USE',
  EXCLUDED_TERRITORY = 'EXCLUDED_TERRITORY',
}

export interface UseRestriction {
  kind: UseRestrictionKind;
  /** ACCEPTABLE_USE_POLICY: the policy's URL; EXCLUDED_TERRITORY: the ISO 3166-1 alpha-2 code; otherwise null. */
  value: string | null;
  /** Every flow-down edge that imposes it (shallowest first). */
  edges: LineageEdgeRef[];
}

export enum ObligationConflictKind {
  /** Two licences require different name prefixes that no single name can carry. */
  NAMING_PREFIX_CONFLICT = 'NAMING_PREFIX_CONFLICT',
  /** One licence requires a prefix that another forbids as the leading element of the name. */
  NAMING_PREFIX_VS_NOT_PRIMARY = 'NAMING_PREFIX_VS_NOT_PRIMARY',
  /** Reciprocal licences each demand the model be licensed under their own terms, and the terms differ. */
  RECIPROCAL_TERMS_DIFFER = 'RECIPROCAL_TERMS_DIFFER',
  /** The model is declared for commercial use but a binding upstream licence forbids it. */
  COMMERCIAL_USE_FORBIDDEN_UPSTREAM = 'COMMERCIAL_USE_FORBIDDEN_UPSTREAM',
}

export interface ObligationConflict {
  kind: ObligationConflictKind;
  /** What is wrong and what to do about it. */
  message: string;
  /** The edges whose licences cause the conflict (shallowest first). */
  edges: LineageEdgeRef[];
}

export interface Obligations {
  modelName: string;
  attributions: AttributionObligation[];
  naming: NamingObligation[];
  /** Every naming rule is satisfied by the model's name (true when there is none). */
  namingSatisfied: boolean;
  /** The NOTICE file text to ship with the model (deterministic). */
  notice: string;
  useRestrictions: UseRestriction[];
  conflicts: ObligationConflict[];
}

export interface ObligationsModel {
  name: string;
  commercialUse: boolean;
}

// ---------------------------------------------------------------------------
// Names

const LETTER = /\p{L}/u;
const DIGIT = /\p{N}/u;
const LOWER = /\p{Ll}/u;
const UPPER = /\p{Lu}/u;

/**
 * Whether two adjacent characters are separated by a word boundary: the next
 * character is not a letter or digit ("Llama-3", "Llama 3"), or the previous
 * one is not ("Llama-" + "3"), or letters meet digits ("Llama3"), or a
 * lowercase letter meets an uppercase one ("LlamaGuard"). "Llamafied" has no
 * boundary after "Llama".
 */
function isBoundary(prev: string, next: string): boolean {
  const prevWord = LETTER.test(prev) || DIGIT.test(prev);
  const nextWord = LETTER.test(next) || DIGIT.test(next);
  if (!prevWord || !nextWord) return true;
  if (LETTER.test(prev) !== LETTER.test(next)) return true;
  return LOWER.test(prev) && UPPER.test(next);
}

/**
 * Whether `token` is the leading element of `name`: the name (NFC, trimmed)
 * starts with the token and a word boundary follows it (or the name ends).
 * Case-sensitive unless `ignoreCase`.
 */
export function nameLeadsWith(name: string, token: string, ignoreCase = false): boolean {
  const n = name.normalize('NFC').trim();
  const t = token.normalize('NFC').trim();
  if (t === '' || n.length < t.length) return false;
  const head = n.slice(0, t.length);
  if (ignoreCase ? head.toLowerCase() !== t.toLowerCase() : head !== t) return false;
  if (n.length === t.length) return true;
  const prev = Array.from(head).pop()!;
  const next = String.fromCodePoint(n.codePointAt(t.length)!);
  return isBoundary(prev, next);
}

/**
 * PREFIX_REQUIRED: the name starts with the token (case-sensitive, word
 * boundary after it). NOT_PRIMARY: the token is not the leading element of the
 * name — checked ignoring case, since changing the case does not make a
 * trademark any less primary.
 */
export function namingSatisfiedBy(name: string, rule: NamingRule, token: string | null): boolean {
  if (rule === NamingRule.NONE || token === null) return true;
  if (rule === NamingRule.PREFIX_REQUIRED) return nameLeadsWith(name, token);
  return !nameLeadsWith(name, token, true);
}

// ---------------------------------------------------------------------------

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function compareRefs(a: LineageEdgeRef, b: LineageEdgeRef): number {
  return a.depth - b.depth || cmp(a.parentModelId, b.parentModelId) || cmp(a.childModelId, b.childModelId) || cmp(a.agreementId, b.agreementId);
}

interface Bound {
  edge: LineageEdgeView;
  ref: LineageEdgeRef;
}

/** Edges grouped under a key, the shallowest kept as the representative. */
class Groups<T> {
  private readonly groups = new Map<string, { value: T; best: Bound; all: Bound[] }>();

  add(key: string, value: T, b: Bound): void {
    const g = this.groups.get(key);
    if (!g) this.groups.set(key, { value, best: b, all: [b] });
    else {
      g.all.push(b);
      if (compareRefs(b.ref, g.best.ref) < 0) {
        g.best = b;
        g.value = value;
      }
    }
  }

  get size(): number {
    return this.groups.size;
  }

  entries(): Array<{ key: string; value: T; best: Bound; refs: LineageEdgeRef[] }> {
    return [...this.groups]
      .sort(([a], [b]) => cmp(a, b))
      .map(([key, g]) => ({ key, value: g.value, best: g.best, refs: g.all.map((x) => x.ref).sort(compareRefs) }));
  }
}

const KIND_ORDER = Object.values(ObligationConflictKind);
const RESTRICTION_ORDER = Object.values(UseRestrictionKind);
const oneLine = (s: string) => s.replace(/\s*[\r\n]+\s*/g, ' ');

export function obligations(lineage: Lineage, model: ObligationsModel): Obligations {
  const { nodes, edges } = indexLineage(lineage);
  const modelName = model.name.normalize('NFC').trim();
  const names = new Map<string, string>();
  const nameOf = (id: string): string => {
    let name = names.get(id);
    if (name === undefined) {
      name = oneLine(nodes.get(id)?.name ?? (id === lineage.root.modelId ? modelName : id));
      names.set(id, name);
    }
    return name;
  };
  const on = (r: LineageEdgeRef) => `agreement ${r.agreementId} on "${nameOf(r.parentModelId)}"`;
  const describe = (refs: readonly LineageEdgeRef[], max = 3) =>
    refs.length <= max ? refs.map(on).join(', ') : `${refs.slice(0, max).map(on).join(', ')} and ${refs.length - max} more`;

  const binding: Bound[] = [];
  const flowDown: Bound[] = [];
  for (const { edge, depth } of edges) {
    const ref: LineageEdgeRef = {
      parentModelId: edge.parentModelId,
      childModelId: edge.childModelId,
      agreementId: edge.agreementId,
      termsHash: edge.termsHash,
      depth,
    };
    const { copyLicence, useRestrictionsFlowDown } = edge.terms.inheritance;
    if (depth === 1 || copyLicence || useRestrictionsFlowDown) binding.push({ edge, ref });
    if (useRestrictionsFlowDown) flowDown.push({ edge, ref });
  }

  // Attributions, de-duplicated by (displayString, placements), the shallowest kept.
  const attributionGroups = new Groups<NonNullable<LineageEdgeView['terms']['attribution']>>();
  for (const b of binding) {
    const a = b.edge.terms.attribution;
    if (!a) continue;
    // Canonical terms keep placements sorted.
    attributionGroups.add(`${a.displayString}\u0000${a.placements.join(',')}`, a, b);
  }
  const attributionList = attributionGroups.entries().map((g) => ({
    attribution: {
      displayString: g.value.displayString,
      placements: [...g.value.placements],
      noticeText: g.value.noticeText,
      fromModelId: g.best.ref.parentModelId,
      agreementId: g.best.ref.agreementId,
      depth: g.best.ref.depth,
    } satisfies AttributionObligation,
    refs: g.refs,
  }));
  attributionList.sort(
    (x, y) =>
      x.attribution.depth - y.attribution.depth ||
      cmp(x.attribution.displayString, y.attribution.displayString) ||
      cmp(x.attribution.placements.join(','), y.attribution.placements.join(',')),
  );

  // Naming rules, one per (rule, token).
  const prefixGroups = new Groups<string>();
  const notPrimaryGroups = new Groups<string>();
  for (const b of binding) {
    const { rule, token } = b.edge.terms.naming;
    if (token === null || token.trim() === '') continue;
    if (rule === NamingRule.PREFIX_REQUIRED) prefixGroups.add(token, token, b);
    else if (rule === NamingRule.NOT_PRIMARY) notPrimaryGroups.add(token, token, b);
  }
  const prefixes = prefixGroups.entries();
  const notPrimaries = notPrimaryGroups.entries();
  const naming: NamingObligation[] = [
    ...prefixes.map((g) => ({ rule: NamingRule.PREFIX_REQUIRED as const, g })),
    ...notPrimaries.map((g) => ({ rule: NamingRule.NOT_PRIMARY as const, g })),
  ].map(({ rule, g }) => ({
    rule,
    token: g.value,
    fromModelId: g.best.ref.parentModelId,
    agreementId: g.best.ref.agreementId,
    depth: g.best.ref.depth,
    satisfied: namingSatisfiedBy(modelName, rule, g.value),
  }));
  naming.sort((a, b) => a.depth - b.depth || cmp(a.rule, b.rule) || cmp(a.token, b.token));

  // Use restrictions that flow down to the model's users.
  const restrictionGroups = new Groups<{ kind: UseRestrictionKind; value: string | null }>();
  const restrict = (kind: UseRestrictionKind, value: string | null, b: Bound) => restrictionGroups.add(`${kind}\u0000${value ?? ''}`, { kind, value }, b);
  for (const b of flowDown) {
    const t = b.edge.terms;
    if (t.acceptableUsePolicyUrl) restrict(UseRestrictionKind.ACCEPTABLE_USE_POLICY, t.acceptableUsePolicyUrl, b);
    if (t.researchOnly) restrict(UseRestrictionKind.RESEARCH_ONLY, null, b);
    if (!t.commercialUse) restrict(UseRestrictionKind.NO_COMMERCIAL_USE, null, b);
    for (const country of t.territory.excludedCountries) restrict(UseRestrictionKind.EXCLUDED_TERRITORY, country, b);
  }
  const useRestrictions: UseRestriction[] = restrictionGroups
    .entries()
    .map((g) => ({ kind: g.value.kind, value: g.value.value, edges: g.refs }))
    .sort((a, b) => RESTRICTION_ORDER.indexOf(a.kind) - RESTRICTION_ORDER.indexOf(b.kind) || cmp(a.value ?? '', b.value ?? ''));

  // Conflicts.
  const conflicts: ObligationConflict[] = [];
  const remedy = 'Remove one of these parents from the lineage, or obtain a licence on it without this naming rule.';
  for (let i = 0; i < prefixes.length; i++) {
    for (let j = i + 1; j < prefixes.length; j++) {
      const [a, b] = [prefixes[i], prefixes[j]];
      // "Llama" and "Llama-3" are compatible: a name starting with "Llama-3" starts with both.
      if (nameLeadsWith(a.value, b.value) || nameLeadsWith(b.value, a.value)) continue;
      conflicts.push({
        kind: ObligationConflictKind.NAMING_PREFIX_CONFLICT,
        message:
          `Licences require the model name to start with "${a.value}" (${describe(a.refs)}) and with "${b.value}" (${describe(b.refs)}); ` +
          `no name can start with both. ${remedy}`,
        edges: [...a.refs, ...b.refs].sort(compareRefs),
      });
    }
  }
  for (const p of prefixes) {
    for (const n of notPrimaries) {
      // Every name that starts with the prefix leads with the forbidden token exactly when the prefix itself does.
      if (!nameLeadsWith(p.value, n.value, true)) continue;
      conflicts.push({
        kind: ObligationConflictKind.NAMING_PREFIX_VS_NOT_PRIMARY,
        message:
          `The licence of ${describe(p.refs)} requires the model name to start with "${p.value}", but the licence of ${describe(n.refs)} ` +
          `forbids "${n.value}" as the leading element of the name; no name satisfies both. ${remedy}`,
        edges: [...p.refs, ...n.refs].sort(compareRefs),
      });
    }
  }

  // Reciprocal licences compare on their terms, not on termsHash: the hash also
  // covers the offer's pricing, which says nothing about how the derivative
  // must be licensed. Equal hashes imply equal terms (the canonical JSON is cached by hash).
  const termsJson = new Map<string, string>();
  const reciprocalGroups = new Groups<string>();
  for (const b of binding) {
    if (!b.edge.terms.inheritance.reciprocal) continue;
    let json = termsJson.get(b.edge.termsHash);
    if (json === undefined) {
      json = canonicalize(b.edge.terms) ?? '';
      termsJson.set(b.edge.termsHash, json);
    }
    reciprocalGroups.add(json, b.edge.termsHash, b);
  }
  if (reciprocalGroups.size > 1) {
    const groups = reciprocalGroups.entries().sort((x, y) => compareRefs(x.best.ref, y.best.ref));
    const count = groups.reduce((s, g) => s + g.refs.length, 0);
    conflicts.push({
      kind: ObligationConflictKind.RECIPROCAL_TERMS_DIFFER,
      message:
        `${count} reciprocal licences each require the model to be licensed under their own terms, and there are ${groups.length} different sets of terms: ` +
        groups.map((g) => `terms ${[...new Set(g.refs.map((r) => r.termsHash.slice(0, 12)))].join('/')} (${describe(g.refs)})`).join('; ') +
        '. The model can be licensed under one set only: keep parents whose reciprocal licences have identical terms, or obtain licences on identical terms.',
      edges: groups.flatMap((g) => g.refs).sort(compareRefs),
    });
  }

  if (model.commercialUse) {
    const forbidding = binding
      .filter((b) => !b.edge.terms.commercialUse || b.edge.terms.researchOnly)
      .sort((x, y) => compareRefs(x.ref, y.ref));
    if (forbidding.length > 0) {
      const max = 5;
      const listed = forbidding
        .slice(0, max)
        .map((b) => `${on(b.ref)} (${b.edge.terms.researchOnly ? 'research only' : 'no commercial use'})`)
        .join(', ');
      conflicts.push({
        kind: ObligationConflictKind.COMMERCIAL_USE_FORBIDDEN_UPSTREAM,
        message:
          `"${oneLine(modelName)}" is declared for commercial use, but upstream licences that bind it forbid commercial use: ${listed}` +
          `${forbidding.length > max ? ` and ${forbidding.length - max} more` : ''}. ` +
          'Declare the model non-commercial (commercialUse: false), or replace these parents with ones licensed for commercial use.',
        edges: forbidding.map((b) => b.ref),
      });
    }
  }
  conflicts.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || cmp(a.message, b.message));

  return {
    modelName,
    attributions: attributionList.map((x) => x.attribution),
    naming,
    namingSatisfied: naming.every((n) => n.satisfied),
    notice: assembleNotice(
      oneLine(modelName),
      attributionList,
      binding.map((b) => b.ref).sort(compareRefs),
      nameOf,
    ),
    useRestrictions,
    conflicts,
  };
}

const indent = (text: string, prefix: string) =>
  text
    .split(/\r?\n/)
    .map((l) => (l.trim() === '' ? '' : prefix + l.trimEnd()))
    .join('\n');

/**
 * NOTICE: the model's name, one section per attribution (its line, where it
 * must appear, whose licence requires it, its notice text, and every licence
 * that requires it), then the other licences that bind the model. Each binding
 * licence is listed once (a licence carries at most one attribution).
 */
function assembleNotice(
  modelName: string,
  attributions: ReadonlyArray<{ attribution: AttributionObligation; refs: LineageEdgeRef[] }>,
  licences: readonly LineageEdgeRef[],
  nameOf: (id: string) => string,
): string {
  const licenceLine = (r: LineageEdgeRef) =>
    `  - ${nameOf(r.parentModelId)} → ${nameOf(r.childModelId)}: agreement ${r.agreementId}, terms sha256:${r.termsHash}`;
  const out: string[] = [`NOTICE for ${modelName}`, ''];
  if (licences.length === 0) {
    out.push(`${modelName} has no licensed lineage: no attribution or licence notice is required.`);
    return out.join('\n') + '\n';
  }
  out.push(`${modelName} is derived from licensed models. The attributions and licences below apply to it and must accompany its distribution.`);
  if (attributions.length === 0) out.push('', 'No licence in its lineage requires an attribution.');
  const listed = new Set<LineageEdgeRef>();
  for (const { attribution: a, refs } of attributions) {
    out.push('', `== ${oneLine(a.displayString)} ==`);
    out.push(`Display in: ${a.placements.length > 0 ? a.placements.join(', ') : 'any placement'}`);
    out.push(`Required by the licence of: ${nameOf(a.fromModelId)}`);
    if (a.noticeText) out.push('', indent(a.noticeText, ''));
    out.push('', 'Licences requiring it:');
    for (const r of refs) {
      out.push(licenceLine(r));
      listed.add(r);
    }
  }
  const others = licences.filter((r) => !listed.has(r));
  if (others.length > 0) {
    out.push('', '== Other licences ==', `${modelName} is also distributed under these licences of its lineage:`);
    for (const r of others) out.push(licenceLine(r));
  }
  return out.join('\n') + '\n';
}
