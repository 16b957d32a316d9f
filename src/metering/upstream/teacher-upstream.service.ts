/**
 * Owns teacher upstreams: where the gateway forwards a teacher model's
 * requests, and the vendor's credential for it, sealed at rest with SecretBox
 * (context `teacher_upstream:<modelId>`, so a sealed value copied to another
 * model's row does not open). The credential is never returned, logged or
 * written to the audit log; only its keyed fingerprint is.
 *
 * The gateway reads upstreams through `resolveForGateway`, which keeps the
 * opened value in memory for at most UPSTREAM_CACHE_TTL_MS; configuring an
 * upstream clears this process's entry at once (other processes see the change
 * within the TTL).
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { CatalogService, ModelRef } from '../../catalog/catalog.service';
import { SingleFlight } from '../../catalog/single-flight';
import { AccessLevel, AccessService } from '../../identity/access.service';
import { Principal } from '../../platform/auth/principal';
import { AppConfig } from '../../platform/config/app-config';
import { SecretBox } from '../../platform/crypto/secret-box';
import { Database } from '../../platform/database/transaction';
import { BadInputError, FieldError, NotFoundError } from '../../platform/errors/app-error';
import {
  API_KEY_MAX_LENGTH,
  BASE_URL_MAX_LENGTH,
  TIMEOUT_MS_MAX,
  TIMEOUT_MS_MIN,
  UPSTREAM_MODEL_MAX_LENGTH,
} from './dto/teacher-upstream.input';
import { TeacherUpstreamEntity } from './teacher-upstream.entity';
import { UpstreamRepository, UpstreamRow } from './upstream.repository';

/** What the gateway needs to forward a request; `apiKey` is the opened credential — never log it. */
export interface GatewayUpstream {
  modelId: string;
  /** Normalised, without trailing slash (e.g. https://api.vendor.example/v1). */
  baseUrl: string;
  upstreamModel: string;
  timeoutMs: number;
  apiKey: string;
  /** When the upstream was last configured. */
  updatedAt: Date;
}

export interface ConfigureTeacherUpstreamCommand {
  modelId: string;
  baseUrl: string;
  apiKey: string;
  upstreamModel: string;
  timeoutMs: number;
}

/** How long `resolveForGateway` may serve an opened upstream from memory. */
export const UPSTREAM_CACHE_TTL_MS = 5000;
/** Entries kept at most (expired ones are swept first, then the oldest). */
const UPSTREAM_CACHE_MAX = 10_000;
const ENTITY = 'TeacherModel';

/** The SecretBox context of a model's upstream credential. */
export const upstreamCredentialContext = (modelId: string): string => `teacher_upstream:${modelId}`;

/**
 * An absolute http(s) URL without credentials, query or fragment, normalised
 * (lower-case scheme and host, default port dropped, trailing slashes
 * removed). `requireHttps` in production.
 */
export function normalizeBaseUrl(raw: string, requireHttps: boolean): string {
  const bad = (message: string) => new BadInputError([{ field: 'baseUrl', message }]);
  const s = raw.trim();
  // The WHATWG parser would quietly accept `http:host` or `https:/host`: insist on the literal form.
  if (!/^https?:\/\/[^/]/i.test(s)) throw bad('baseUrl must be an absolute http(s) URL, e.g. https://api.example.com/v1');
  if (/[\s\p{Cc}]/u.test(s)) throw bad('baseUrl must not contain spaces or control characters');
  if (s.includes('?')) throw bad('baseUrl must not have a query string');
  if (s.includes('#')) throw bad('baseUrl must not have a fragment');
  const authority = s.slice(s.indexOf('//') + 2).split('/')[0];
  if (authority.includes('@')) throw bad('baseUrl must not contain credentials (pass the key as apiKey)');
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw bad('baseUrl must be an absolute http(s) URL, e.g. https://api.example.com/v1');
  }
  if (!url.hostname) throw bad('baseUrl must name a host');
  if (requireHttps && url.protocol !== 'https:') throw bad('baseUrl must use https');
  const normalized = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  if (normalized.length > BASE_URL_MAX_LENGTH) throw bad(`baseUrl must be at most ${BASE_URL_MAX_LENGTH} characters`);
  return normalized;
}

interface CacheEntry {
  value: GatewayUpstream | null;
  expiresAt: number;
}

@Injectable()
export class TeacherUpstreamService {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly loads = new SingleFlight<GatewayUpstream | null>();
  /** Bumped by every invalidation: loads that began before it neither store nor share their result. */
  private generation = 0;

  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly catalog: CatalogService,
    private readonly box: SecretBox,
    private readonly config: AppConfig,
    private readonly upstreams: UpstreamRepository,
  ) {}

  /**
   * Creates or replaces the model's upstream (write access to the model's
   * vendor organization; another organization's model is NOT_FOUND). The
   * credential is sealed before it reaches the database.
   */
  async configure(principal: Principal, input: ConfigureTeacherUpstreamCommand): Promise<TeacherUpstreamEntity> {
    const baseUrl = this.validate(input);
    const upstream = await this.db.transaction(async (tx) => {
      const model = await this.loadModel(tx, principal, input.modelId, 'write', { lock: true });
      const { sealed, keyId } = this.box.seal(input.apiKey, upstreamCredentialContext(model.id));
      const fingerprint = this.box.fingerprint(input.apiKey);
      const row = await this.upstreams.upsert(tx, {
        modelId: model.id,
        organizationId: model.organizationId,
        baseUrl,
        upstreamModel: input.upstreamModel,
        timeoutMs: input.timeoutMs,
        credentialSealed: sealed,
        credentialKeyId: keyId,
        credentialFingerprint: fingerprint,
        configuredByUserId: principal.kind === 'user' ? principal.userId : null,
      });
      await this.audit.record(tx, principal, {
        action: 'metering.upstream.configured',
        targetType: 'TeacherUpstream',
        targetId: model.id,
        organizationId: model.organizationId,
        data: {
          baseUrl,
          upstreamModel: input.upstreamModel,
          timeoutMs: input.timeoutMs,
          credentialFingerprint: fingerprint,
          replaced: !row.inserted,
        },
      });
      return toEntity(row);
    });
    this.invalidate(upstream.modelId);
    return upstream;
  }

  /** The model's upstream, or null when none is configured (members of the vendor organization; others: NOT_FOUND). */
  async get(principal: Principal, modelId: string): Promise<TeacherUpstreamEntity | null> {
    const em = this.db.reader;
    await this.loadModel(em, principal, modelId, 'read');
    return em.findOne(TeacherUpstreamEntity, { where: { modelId } });
  }

  /**
   * For the gateway: the model's upstream with its credential opened, or null
   * when none is configured. No authorization here (the gateway has already
   * bound the request to an agreement on this model). Served from memory for
   * at most UPSTREAM_CACHE_TTL_MS; concurrent misses share one load. Throws
   * SecretBoxError if the credential cannot be opened (e.g. its key was retired
   * without being listed in SECRETS_KEY_PREVIOUS).
   */
  async resolveForGateway(modelId: string): Promise<GatewayUpstream | null> {
    const hit = this.cache.get(modelId);
    if (hit && hit.expiresAt > Date.now()) return hit.value;
    const generation = this.generation;
    return this.loads.run(`${generation}:${modelId}`, async () => {
      const startedAt = Date.now();
      const value = await this.loadForGateway(modelId);
      if (this.generation === generation) this.store(modelId, { value, expiresAt: startedAt + UPSTREAM_CACHE_TTL_MS });
      return value;
    });
  }

  /** Drops the cached upstream of one model (or all): the next gateway request reads the database. */
  invalidate(modelId?: string): void {
    this.generation += 1;
    if (modelId === undefined) this.cache.clear();
    else this.cache.delete(modelId);
  }

  private async loadForGateway(modelId: string): Promise<GatewayUpstream | null> {
    const row = await this.db.reader.findOne(TeacherUpstreamEntity, { where: { modelId } });
    if (!row) return null;
    return Object.freeze({
      modelId: row.modelId,
      baseUrl: row.baseUrl,
      upstreamModel: row.upstreamModel,
      timeoutMs: row.timeoutMs,
      apiKey: this.box.open(row.credentialSealed, row.credentialKeyId, upstreamCredentialContext(row.modelId)),
      updatedAt: row.updatedAt,
    });
  }

  private store(modelId: string, entry: CacheEntry): void {
    if (this.cache.size >= UPSTREAM_CACHE_MAX) {
      const now = Date.now();
      for (const [k, e] of this.cache) if (e.expiresAt <= now) this.cache.delete(k);
      if (this.cache.size >= UPSTREAM_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(modelId, entry);
  }

  /** Field rules the input types cannot express (they depend on configuration), and a defensive re-check. */
  private validate(input: ConfigureTeacherUpstreamCommand): string {
    const errors: FieldError[] = [];
    let baseUrl = '';
    try {
      // https in production, unless the operator allows private upstreams (an internal network may speak plain http).
      baseUrl = normalizeBaseUrl(input.baseUrl, this.config.isProduction && !this.config.gatewayAllowPrivateUpstreams);
    } catch (err) {
      if (!(err instanceof BadInputError)) throw err;
      errors.push(...err.fields);
    }
    if (input.apiKey.length < 1 || input.apiKey.length > API_KEY_MAX_LENGTH) {
      errors.push({ field: 'apiKey', message: `apiKey must be 1 to ${API_KEY_MAX_LENGTH} characters` });
    }
    if (input.upstreamModel.length < 1 || input.upstreamModel.length > UPSTREAM_MODEL_MAX_LENGTH) {
      errors.push({ field: 'upstreamModel', message: `upstreamModel must be 1 to ${UPSTREAM_MODEL_MAX_LENGTH} characters` });
    }
    if (!Number.isInteger(input.timeoutMs) || input.timeoutMs < TIMEOUT_MS_MIN || input.timeoutMs > TIMEOUT_MS_MAX) {
      errors.push({ field: 'timeoutMs', message: `timeoutMs must be an integer from ${TIMEOUT_MS_MIN} to ${TIMEOUT_MS_MAX}` });
    }
    if (errors.length > 0) throw new BadInputError(errors);
    return baseUrl;
  }

  /**
   * The model, if the principal has `level` access to its organization.
   * Another organization's model is NOT_FOUND with the model's id, exactly as
   * an unknown one (the owner's id is not revealed).
   */
  private async loadModel(em: EntityManager, principal: Principal, modelId: string, level: AccessLevel, opts: { lock?: boolean } = {}): Promise<ModelRef> {
    const model = await this.catalog.findModelRef(em, modelId, opts);
    if (!model) throw new NotFoundError(ENTITY, modelId);
    await this.access.requireOrganization(em, principal, model.organizationId, level, { entity: ENTITY, id: modelId });
    return model;
  }
}

function toEntity(row: UpstreamRow): TeacherUpstreamEntity {
  return {
    modelId: row.model_id,
    organizationId: row.organization_id,
    baseUrl: row.base_url,
    upstreamModel: row.upstream_model,
    timeoutMs: row.timeout_ms,
    credentialSealed: row.credential_sealed,
    credentialKeyId: row.credential_key_id,
    credentialFingerprint: row.credential_fingerprint,
    configuredByUserId: row.configured_by_user_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
