/**
 * The watermark registry: a vendor registers, per model, the
 * watermark schemes its outputs carry — public parameters shown to the
 * organization, secret key material sealed with SecretBox under the context
 * `watermark_scheme:<scheme id>` (the id is generated here before sealing, so a
 * sealed value copied to another row does not open). The secret is never
 * returned, logged or audited; only its keyed fingerprint is.
 *
 * Licensing asks whether a model has a scheme (publishing terms with
 * watermarkRequired) through WATERMARK_DIRECTORY (watermark-directory.ts).
 */
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { CatalogService, ModelRef } from '../../catalog/catalog.service';
import { AccessLevel, AccessService } from '../../identity/access.service';
import { Principal } from '../../platform/auth/principal';
import { SecretBox } from '../../platform/crypto/secret-box';
import { Database } from '../../platform/database/transaction';
import { BadInputError, FieldError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { WatermarkSchemeEntity, WatermarkSchemeKind } from '../provenance.entity';
import { SECRET_MAX_LENGTH } from './dto/watermark.input';
import { parametersProblem } from './dto/watermark-parameters';

const MODEL = 'TeacherModel';

/** The SecretBox context of a scheme's secret. */
export const watermarkSecretContext = (schemeId: string): string => `watermark_scheme:${schemeId}`;

export interface RegisterWatermarkSchemeCommand {
  modelId: string;
  scheme: WatermarkSchemeKind;
  parameters: Record<string, unknown>;
  secretKeyMaterial: string;
}

@Injectable()
export class WatermarkService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly catalog: CatalogService,
    private readonly box: SecretBox,
  ) {}

  /** A new scheme for the model (write access to its organization; another organization's model is NOT_FOUND). */
  async register(principal: Principal, input: RegisterWatermarkSchemeCommand): Promise<WatermarkSchemeEntity> {
    assertUuid('modelId', input.modelId);
    const parameters = validate(input);
    return this.db.transaction(async (tx) => {
      const model = await this.loadModel(tx, principal, input.modelId, 'write');
      const id = randomUUID();
      const { sealed, keyId } = this.box.seal(input.secretKeyMaterial, watermarkSecretContext(id));
      const secretFingerprint = this.box.fingerprint(input.secretKeyMaterial);
      const scheme = tx.create(WatermarkSchemeEntity, {
        id,
        modelId: model.id,
        organizationId: model.organizationId,
        scheme: input.scheme,
        parameters,
        secretSealed: sealed,
        secretKeyId: keyId,
        secretFingerprint,
        registeredByUserId: principal.kind === 'user' ? principal.userId : null,
      });
      // insert (not save: the id is set, save would look it up first); created_at comes back from RETURNING.
      await tx.insert(WatermarkSchemeEntity, scheme as never);
      await this.audit.record(tx, principal, {
        action: 'provenance.watermark.registered',
        targetType: 'WatermarkScheme',
        targetId: id,
        organizationId: model.organizationId,
        data: { modelId: model.id, scheme: input.scheme, parameters, secretFingerprint },
      });
      return scheme;
    });
  }

  /** The model's schemes, newest first (read access to its organization; others: NOT_FOUND). */
  async list(principal: Principal, modelId: string): Promise<WatermarkSchemeEntity[]> {
    assertUuid('modelId', modelId);
    const em = this.db.reader;
    await this.loadModel(em, principal, modelId, 'read');
    return em.find(WatermarkSchemeEntity, { where: { modelId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** The model, if the principal has `level` access to its organization; unknown and foreign models alike are NOT_FOUND with the model's id. */
  private async loadModel(em: EntityManager, principal: Principal, modelId: string, level: AccessLevel): Promise<ModelRef> {
    const model = await this.catalog.findModelRef(em, modelId);
    if (!model) throw new NotFoundError(MODEL, modelId);
    await this.access.requireOrganization(em, principal, model.organizationId, level, { entity: MODEL, id: modelId });
    return model;
  }
}

/** Re-checks what the input types check (for callers other than GraphQL): BAD_USER_INPUT naming the fields. */
function validate(input: RegisterWatermarkSchemeCommand): Record<string, unknown> {
  const errors: FieldError[] = [];
  const problem = parametersProblem(input.parameters);
  if (problem) errors.push({ field: 'parameters', message: problem });
  if (typeof input.secretKeyMaterial !== 'string' || input.secretKeyMaterial.length < 1 || input.secretKeyMaterial.length > SECRET_MAX_LENGTH) {
    errors.push({ field: 'secretKeyMaterial', message: `secretKeyMaterial must be 1 to ${SECRET_MAX_LENGTH} characters` });
  }
  if (!Object.values(WatermarkSchemeKind).includes(input.scheme)) {
    errors.push({ field: 'scheme', message: 'scheme must be SYNTHID_TEXT, GREEN_LIST or OTHER' });
  }
  if (errors.length > 0) throw new BadInputError(errors);
  return input.parameters;
}
