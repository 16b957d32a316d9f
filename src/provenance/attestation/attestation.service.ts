/**
 * Issuing attestations (the model's organization or an admin) and the public
 * `verifyModel` lookup by weights digest. The statement is built from the
 * lineage as stored, the royalty stack computed from it, and the current
 * certification status; it is signed, stored, and audit-logged.
 */
import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AuditService } from '../../audit/audit.service';
import { CatalogService } from '../../catalog/catalog.service';
import { ModelEntity } from '../../catalog/model.entity';
import { AccessService } from '../../identity/access.service';
import { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { NotFoundError } from '../../platform/errors/app-error';
import { CertificationService } from '../certification/certification.service';
import { LineageLoader } from '../lineage/lineage.loader';
import { Lineage } from '../lineage/lineage.types';
import { royaltyStack } from '../lineage/royalty-stack';
import { AttestationEntity } from '../provenance.entity';
import { AttestationSigner } from './attestation-signer';
import { AttestationDocument } from './attestation.statement';
import { Clock } from '../../platform/clock/clock';

export interface IssuedAttestation {
  row: AttestationEntity;
  document: AttestationDocument;
}

@Injectable()
export class AttestationService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly catalog: CatalogService,
    private readonly lineage: LineageLoader,
    private readonly certifications: CertificationService,
    private readonly signer: AttestationSigner,
    private readonly clock: Clock,
  ) {}

  async issue(principal: Principal, modelId: string): Promise<IssuedAttestation> {
    return this.db.transaction(async (tx) => {
      const model = (await this.catalog.findModels(tx, [modelId])).get(modelId);
      if (!model) throw new NotFoundError('TeacherModel', modelId);
      if (!principal.isAdmin) {
        await this.access.requireOrganization(tx, principal, model.organizationId, 'write', { entity: 'TeacherModel', id: modelId });
      }
      const lineage = await this.lineage.load(tx, model);
      // Business time: the certification's status and the attestation's issue date read the platform Clock.
      const now = this.clock.now();
      const cert = await this.certifications.statusOf(tx, model.id, now);
      const document = await this.signer.sign(
        {
          lineage,
          royaltyStack: royaltyStack(lineage),
          certification: cert.status === 'NONE' ? null : { status: cert.status, certifiedAt: cert.certifiedAt, expiresAt: cert.expiresAt },
        },
        now,
      );
      const row = tx.create(AttestationEntity, {
        modelId: model.id,
        keyId: document.keyId,
        statement: document.statement as unknown as Record<string, unknown>,
        payload: document.payload,
        signature: document.signature,
        issuedAt: new Date(document.statement.issuedAt),
        issuedByUserId: principal.kind === 'user' ? principal.userId : null,
      });
      await tx.save(AttestationEntity, row);
      await this.audit.record(tx, principal, {
        action: 'provenance.attestation.issued',
        targetType: 'TeacherModel',
        targetId: model.id,
        organizationId: model.organizationId,
        data: { attestationId: row.id, keyId: document.keyId, weightsDigest: model.weightsDigest, payloadSha256: sha256(document.payload) },
      });
      return { row, document };
    });
  }

  /** Public: the model claiming these weights, its lineage and its latest attestation; null when none does. */
  async verify(weightsDigest: string): Promise<{ model: ModelEntity; lineage: Lineage; latest: AttestationEntity | null } | null> {
    const em = this.db.reader;
    const model = await this.catalog.findByWeightsDigest(em, weightsDigest);
    if (!model) return null;
    const [lineage, latest] = await Promise.all([
      this.lineage.load(em, model),
      em.findOne(AttestationEntity, { where: { modelId: model.id }, order: { issuedAt: 'DESC', id: 'DESC' } }),
    ]);
    return { model, lineage, latest };
  }
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
