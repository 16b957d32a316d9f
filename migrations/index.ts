/**
 * Every migration, in order. `npm run migration:generate -- migrations/<Name>`
 * writes a new file: add its class here (test/migrations.e2e-spec.ts fails
 * when entities and migrations disagree).
 */
import { Identity1795800000000 } from './1795800000000-Identity';
import { CatalogLicensing1795800100000 } from './1795800100000-CatalogLicensing';
import { Metering1795800200000 } from './1795800200000-Metering';
import { Provenance1795800300000 } from './1795800300000-Provenance';
import { Ledger1795800400000 } from './1795800400000-Ledger';
import { Payments1795800500000 } from './1795800500000-Payments';
import { Billing1795800600000 } from './1795800600000-Billing';
import { Collection1795800700000 } from './1795800700000-Collection';
import { RefundRequests1795800750000 } from './1795800750000-RefundRequests';
import { UpstreamErrors1795800810000 } from './1795800810000-UpstreamErrors';
import { RoyaltyCascade1795800900000 } from './1795800900000-RoyaltyCascade';
import { RevenueReports1795800910000 } from './1795800910000-RevenueReports';
import { Statements1795800930000 } from './1795800930000-Statements';
import { UsageEventOrder1795800940000 } from './1795800940000-UsageEventOrder';
import { PayoutOnboarding1795800950000 } from './1795800950000-PayoutOnboarding';
import { PayoutBatches1795801000000 } from './1795801000000-PayoutBatches';
import { PayoutVendorHolds1795801010000 } from './1795801010000-PayoutVendorHolds';
import { PayoutReversalsReconciliation1795801200000 } from './1795801200000-PayoutReversalsReconciliation';
import { PoolPlans1795801300000 } from './1795801300000-PoolPlans';
import { SandboxClock1795801400000 } from './1795801400000-SandboxClock';
import { BusinessTimeMetering1795801410000 } from './1795801410000-BusinessTimeMetering';
import { PoolCloseIndexes1795801500000 } from './1795801500000-PoolCloseIndexes';
import { PoolClawback1795801600000 } from './1795801600000-PoolClawback';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const MIGRATIONS: Function[] = [Identity1795800000000, CatalogLicensing1795800100000, Metering1795800200000, Provenance1795800300000,
  Ledger1795800400000, Payments1795800500000, Billing1795800600000, Collection1795800700000,
  RefundRequests1795800750000, UpstreamErrors1795800810000, RoyaltyCascade1795800900000, RevenueReports1795800910000,
  Statements1795800930000,
  UsageEventOrder1795800940000, PayoutOnboarding1795800950000,
  PayoutBatches1795801000000,
  PayoutVendorHolds1795801010000, PayoutReversalsReconciliation1795801200000,
  PoolPlans1795801300000,
  SandboxClock1795801400000, BusinessTimeMetering1795801410000,
  PoolCloseIndexes1795801500000, PoolClawback1795801600000];
