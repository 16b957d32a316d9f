/**
 * Whole-response cache for anonymous, read-only queries of public data (the
 * catalog's front page is the hottest request of the API). Only an operation
 * whose root fields are all in PUBLIC_CACHEABLE_FIELDS, sent without an
 * Authorization header, answered 200 without errors, is stored — keyed by its
 * exact text, variables and operation name.
 *
 * Freshness: every GraphQL mutation that completes on this process clears the
 * cache, and an answer computed while a mutation completed is not stored
 * (generation check), so on one replica a read after a write sees the write.
 * Other replicas may serve an answer up to PUBLIC_CACHE_TTL_MS old.
 * PUBLIC_CACHE_TTL_MS=0 turns the cache off.
 */
import { Injectable } from '@nestjs/common';
import { DocumentNode, Kind, OperationDefinitionNode, parse } from 'graphql';
import { AppConfig } from '../config/app-config';

/** Root fields that return the same public data to every anonymous caller. */
export const PUBLIC_CACHEABLE_FIELDS = new Set(['catalog', 'teacherModel', 'licenseOffer', 'licenseOffers']);

const MAX_ENTRIES = 1000;
const MAX_BODY_BYTES = 256 * 1024;

interface Entry {
  body: string;
  expiresAt: number;
}

export interface GraphQLRequestBody {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

@Injectable()
export class PublicResponseCache {
  private readonly entries = new Map<string, Entry>();
  private generationCounter = 0;
  readonly ttlMs: number;

  constructor(config: AppConfig) {
    this.ttlMs = config.publicCacheTtlMs;
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** Changes whenever the cache is invalidated; a store must present the value it saw before computing. */
  get generation(): number {
    return this.generationCounter;
  }

  /** The cache key of a request, or null when the request may not be served from the cache. */
  keyOf(body: unknown, hasAuthorization: boolean): string | null {
    if (!this.enabled || hasAuthorization || !body || typeof body !== 'object' || Array.isArray(body)) return null;
    const { query, variables, operationName } = body as GraphQLRequestBody;
    if (typeof query !== 'string') return null;
    return JSON.stringify([query, variables ?? null, operationName ?? null]);
  }

  get(key: string): string | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.body;
  }

  /** Stores an answer if it is cacheable and nothing was invalidated since `generation` was read. */
  store(key: string, body: unknown, generation: number, requestBody: GraphQLRequestBody): void {
    if (generation !== this.generationCounter || typeof body !== 'string' || body.length > MAX_BODY_BYTES) return;
    if (body.includes('"errors"') || !isPublicQuery(requestBody)) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { body, expiresAt: Date.now() + this.ttlMs });
  }

  invalidate(): void {
    this.generationCounter += 1;
    this.entries.clear();
  }
}

/** True when the selected operation is a query whose root fields are all public-cacheable. */
export function isPublicQuery(body: GraphQLRequestBody): boolean {
  let doc: DocumentNode;
  try {
    doc = parse(String(body.query));
  } catch {
    return false;
  }
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = typeof body.operationName === 'string' ? ops.find((o) => o.name?.value === body.operationName) : ops.length === 1 ? ops[0] : undefined;
  if (!op || op.operation !== 'query') return false;
  let domainFields = 0;
  for (const sel of op.selectionSet.selections) {
    if (sel.kind !== Kind.FIELD) return false; // fragments at the root: not worth analysing
    if (sel.name.value === '__typename') continue;
    if (!PUBLIC_CACHEABLE_FIELDS.has(sel.name.value)) return false;
    domainFields += 1;
  }
  return domainFields > 0;
}

/** For the Mercurius hooks: does this document contain a mutation? */
export function hasMutation(document: DocumentNode): boolean {
  return document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'mutation');
}
