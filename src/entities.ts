/** Every TypeORM entity, for the DataSource (app, CLI, tests). */
import { AuditEntryEntity } from './audit/audit-entry.entity';
import { ModelEntity } from './catalog/model.entity';
import { IDENTITY_ENTITIES } from './identity/identity.entity';
import { LicenseAgreementEntity } from './licensing/license-agreement.entity';
import { LicenseOfferEntity } from './licensing/license-offer.entity';
import { TeacherUpstreamEntity } from './metering/upstream/teacher-upstream.entity';
import { PROVENANCE_ENTITIES } from './provenance/provenance.entity';
import { LEDGER_ENTITIES } from './ledger/ledger.entities';
import { PAYMENTS_ENTITIES } from './payments/payments.entities';
import { BILLING_ENTITIES } from './billing/billing.entities';

export const ENTITIES = [...IDENTITY_ENTITIES, AuditEntryEntity, ModelEntity, LicenseOfferEntity, LicenseAgreementEntity, TeacherUpstreamEntity, ...PROVENANCE_ENTITIES, ...LEDGER_ENTITIES, ...PAYMENTS_ENTITIES, ...BILLING_ENTITIES];
