/**
 * API keys for machines: `bm_<12 chars>_<43 chars>`; the first part (prefix) is
 * stored and shown in lists, the whole key only as a SHA-256 hash (keys are
 * 256-bit random, so a fast hash is safe and keeps per-request checks cheap).
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { IsNull } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { ApiKeyPrincipal, ApiKeyScope, Principal } from '../platform/auth/principal';
import { BadInputError, NotFoundError } from '../platform/errors/app-error';
import { Database } from '../platform/database/transaction';
import { AccessService } from './access.service';
import { AGREEMENT_DIRECTORY, AgreementDirectory } from './agreement-directory';
import { ApiKeyEntity } from './identity.entity';
import { IdentityRepository } from './identity.repository';

const KEY_PATTERN = /^(bm_[A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/;
/** last_used_at is written at most this often per key, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;
/**
 * A verified key is remembered this long per process, so a busy gateway does
 * not look it up on every request. Revoking clears it at once in the process
 * that revokes; other replicas stop accepting the key within this time.
 */
export const API_KEY_CACHE_TTL_MS = 2000;
const API_KEY_CACHE_MAX = 10_000;

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

@Injectable()
export class ApiKeyService {
  /** sha256(key) → principal, for API_KEY_CACHE_TTL_MS. */
  private readonly verified = new Map<string, { principal: ApiKeyPrincipal; until: number }>();

  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly identity: IdentityRepository,
    @Optional() @Inject(AGREEMENT_DIRECTORY) private readonly agreements?: AgreementDirectory,
  ) {}

  async create(
    principal: Principal,
    input: { organizationId: string; name: string; scopes: ApiKeyScope[]; agreementId?: string },
  ): Promise<{ apiKey: ApiKeyEntity; secret: string }> {
    const needsAgreement = input.scopes.includes(ApiKeyScope.GATEWAY);
    if (needsAgreement && !input.agreementId) {
      throw new BadInputError([{ field: 'agreementId', message: 'a GATEWAY key must be bound to an agreement' }]);
    }
    return this.db.transaction(async (tx) => {
      await this.access.requireOrganization(tx, principal, input.organizationId, 'owner');
      if (input.agreementId) {
        const agreement = await this.agreements?.agreementOfDistiller(tx, input.agreementId, input.organizationId);
        if (!agreement) throw new NotFoundError('LicenseAgreement', input.agreementId);
        // A key for an agreement that can never serve again would only fail at the gateway, later and
        // less clearly. Suspended or awaiting payment may still become active: those keys are allowed.
        if (agreement.ended && needsAgreement) {
          throw new BadInputError([
            { field: 'agreementId', message: `agreement ${input.agreementId} has ended (${agreement.status}); a GATEWAY key needs an agreement that is not terminated or expired` },
          ]);
        }
      }
      const prefix = `bm_${randomBytes(9).toString('base64url')}`;
      const secret = `${prefix}_${randomBytes(32).toString('base64url')}`;
      const apiKey = await tx.save(
        tx.create(ApiKeyEntity, {
          organizationId: input.organizationId,
          name: input.name,
          prefix,
          secretHash: sha256(secret),
          scopes: input.scopes,
          agreementId: input.agreementId ?? null,
          createdByUserId: principal.kind === 'user' ? principal.userId : null,
        }),
      );
      await this.audit.record(tx, principal, {
        action: 'identity.api_key.created',
        targetType: 'ApiKey',
        targetId: apiKey.id,
        organizationId: input.organizationId,
        data: { name: input.name, prefix, scopes: input.scopes, agreementId: input.agreementId ?? null },
      });
      return { apiKey, secret };
    });
  }

  async list(principal: Principal, organizationId: string): Promise<ApiKeyEntity[]> {
    await this.access.requireOrganization(this.db.reader, principal, organizationId, 'read');
    return this.db.reader.find(ApiKeyEntity, { where: { organizationId }, order: { createdAt: 'DESC' } });
  }

  async revoke(principal: Principal, id: string): Promise<ApiKeyEntity> {
    const revoked = await this.db.transaction(async (tx) => {
      const key = await tx.findOne(ApiKeyEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!key) throw new NotFoundError('ApiKey', id);
      await this.access.requireOrganization(tx, principal, key.organizationId, 'owner', { entity: 'ApiKey', id });
      if (key.revokedAt) return key;
      key.revokedAt = new Date();
      await tx.update(ApiKeyEntity, { id }, { revokedAt: key.revokedAt });
      await this.audit.record(tx, principal, {
        action: 'identity.api_key.revoked',
        targetType: 'ApiKey',
        targetId: id,
        organizationId: key.organizationId,
        data: { prefix: key.prefix },
      });
      return key;
    });
    // After the commit: a lookup racing the revocation cannot re-cache the key as valid.
    this.forget(revoked.id);
    return revoked;
  }

  looksLikeApiKey(token: string): boolean {
    return token.startsWith('bm_');
  }

  /** A presented key → its principal, or null when unknown, malformed or revoked. */
  async authenticate(token: string): Promise<ApiKeyPrincipal | null> {
    const m = KEY_PATTERN.exec(token);
    if (!m) return null;
    const digest = sha256(token);
    const hit = this.verified.get(digest);
    if (hit && hit.until > Date.now()) return hit.principal;
    const key = await this.db.reader.findOne(ApiKeyEntity, { where: { prefix: m[1], revokedAt: IsNull() } });
    if (!key) return null;
    const presented = Buffer.from(digest, 'hex');
    if (!timingSafeEqual(presented, Buffer.from(key.secretHash, 'hex'))) return null;
    if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.identity.touchApiKeyLastUsed(this.db.reader, key.id);
    }
    const principal: ApiKeyPrincipal = {
      kind: 'apiKey',
      apiKeyId: key.id,
      organizationId: key.organizationId,
      scopes: key.scopes,
      agreementId: key.agreementId,
      isAdmin: false,
    };
    if (this.verified.size >= API_KEY_CACHE_MAX) this.verified.clear();
    // The stored last-use stays within LAST_USED_RESOLUTION_MS: the cache lives far shorter.
    this.verified.set(digest, { principal, until: Date.now() + API_KEY_CACHE_TTL_MS });
    return principal;
  }

  /** Drops a key from this process's cache (on revoke). */
  private forget(apiKeyId: string): void {
    for (const [digest, v] of this.verified) if (v.principal.apiKeyId === apiKeyId) this.verified.delete(digest);
  }

}
