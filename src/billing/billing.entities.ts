import { BillingPeriodEntity, InvoiceEntity, InvoiceLineEntity, VendorFeeOverrideEntity } from './billing.entity';

/** Every TypeORM entity of the billing module (collected in src/database-schema.ts). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const BILLING_ENTITIES: Function[] = [BillingPeriodEntity, InvoiceEntity, InvoiceLineEntity, VendorFeeOverrideEntity];
