/** Every TypeORM entity of the licensing module (collected in src/database-schema.ts). */
import { LicenseAgreementEntity } from './license-agreement.entity';
import { LicenseOfferEntity } from './license-offer.entity';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const LICENSING_ENTITIES: Function[] = [LicenseOfferEntity, LicenseAgreementEntity];
