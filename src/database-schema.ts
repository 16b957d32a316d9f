/**
 * The composition root of the database schema: every feature module's
 * entities (each module exports its own list) and the migrations. The app
 * module, the migration CLI (scripts/data-source.ts) and the test harness all
 * take this one list; platform/ receives it and imports no feature module.
 */
import { MIGRATIONS } from '../migrations';
import { AUDIT_ENTITIES } from './audit/audit-entry.entity';
import { BILLING_ENTITIES } from './billing/billing.entities';
import { CATALOG_ENTITIES } from './catalog/model.entity';
import { IDENTITY_ENTITIES } from './identity/identity.entity';
import { LEDGER_ENTITIES } from './ledger/ledger.entities';
import { LICENSING_ENTITIES } from './licensing/licensing.entities';
import { METERING_ENTITIES } from './metering/metering.entities';
import { PAYMENTS_ENTITIES } from './payments/payments.entities';
import type { DatabaseSchema } from './platform/database/data-source-options';
import { PROVENANCE_ENTITIES } from './provenance/provenance.entity';

export const DATABASE_SCHEMA: DatabaseSchema = {
  entities: [
    ...IDENTITY_ENTITIES,
    ...AUDIT_ENTITIES,
    ...CATALOG_ENTITIES,
    ...LICENSING_ENTITIES,
    ...METERING_ENTITIES,
    ...PROVENANCE_ENTITIES,
    ...LEDGER_ENTITIES,
    ...PAYMENTS_ENTITIES,
    ...BILLING_ENTITIES,
  ],
  migrations: MIGRATIONS,
};
