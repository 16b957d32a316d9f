/**
 * Every migration, in order. `npm run migration:generate -- migrations/<Name>`
 * writes a new file: add its class here (test/migrations.e2e-spec.ts fails
 * when entities and migrations disagree).
 */
import { Identity1795800000000 } from './1795800000000-Identity';
import { CatalogLicensing1795800100000 } from './1795800100000-CatalogLicensing';
import { Metering1795800200000 } from './1795800200000-Metering';
import { Provenance1795800300000 } from './1795800300000-Provenance';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const MIGRATIONS: Function[] = [Identity1795800000000, CatalogLicensing1795800100000, Metering1795800200000, Provenance1795800300000];
