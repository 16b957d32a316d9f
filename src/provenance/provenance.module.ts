import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { CertificationResolver, ModelCertificationResolver } from './certification/certification.resolver';
import { CertificationRepository } from './certification/certification.repository';
import { CertificationService } from './certification/certification.service';
import { WatermarkDirectoryModule } from './watermark/watermark-directory';
import { WatermarkResolver } from './watermark/watermark.resolver';
import { WatermarkService } from './watermark/watermark.service';
import { LineageLoader } from './lineage/lineage.loader';
import { LineageRepository } from './lineage/lineage.repository';
import { RoyaltyLineages } from './lineage/royalty-lineages';
import { RoyaltyStackService } from './lineage/royalty-stack.service';
import { StudentModelResolver } from './student/student-model.resolver';
import { StudentModelRepository } from './student/student-model.repository';
import { StudentModelService } from './student/student-model.service';
import { AttestationKeysRepository } from './attestation/attestation-keys.repository';
import { AttestationKeysService } from './attestation/attestation-keys.service';
import { AttestationSigner } from './attestation/attestation-signer';
import { AttestationResolver } from './attestation/attestation.resolver';
import { AttestationService } from './attestation/attestation.service';
import { ProvenanceExportsResolver } from './exports/exports.resolver';
import { ProvenanceSnapshots } from './exports/provenance-snapshots';
import { ProvenanceSnapshotsRepository } from './exports/provenance-snapshots.repository';
import { WellKnownController } from './attestation/well-known.controller';
import { ModelPagesController } from './pages/model-pages.controller';
import { ModelPagesService } from './pages/model-pages.service';

/**
 * Provenance: student models and their licensed lineage,
 * royalty stacks, obligations, certification, signed attestations, the
 * watermark registry, exports (Hugging Face card, CycloneDX) and the public
 * model, licence and verification pages the exports link to.
 */
@Module({
  imports: [CatalogModule, WatermarkDirectoryModule],
  providers: [
    CertificationRepository,
    CertificationService,
    CertificationResolver,
    ModelCertificationResolver,
    WatermarkService,
    WatermarkResolver,
    LineageRepository,
    LineageLoader,
    RoyaltyLineages,
    RoyaltyStackService,
    StudentModelRepository,
    StudentModelService,
    StudentModelResolver,
    AttestationKeysRepository,
    AttestationKeysService,
    AttestationSigner,
    AttestationService,
    AttestationResolver,
    ProvenanceExportsResolver,
    ProvenanceSnapshotsRepository,
    ProvenanceSnapshots,
    ModelPagesService,
  ],
  controllers: [
    WellKnownController,
    ModelPagesController,
  ],
  // RoyaltyLineages for the cascade; the attestation key also signs earnings and usage statements;
  // RoyaltyStackService for revenue reports.
  exports: [RoyaltyLineages, AttestationKeysService, RoyaltyStackService],
})
export class ProvenanceModule {}
