import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from './audit/audit.module';
import { CatalogModule } from './catalog/catalog.module';
import { IdentityModule } from './identity/identity.module';
import { LicensingModule } from './licensing/licensing.module';
import { MeteringModule } from './metering/metering.module';
import { ProvenanceModule } from './provenance/provenance.module';
import { LedgerModule } from './ledger/ledger.module';
import { PaymentsModule } from './payments/payments.module';
import { PayoutsModule } from './payouts/payouts.module';
import { BillingModule } from './billing/billing.module';
import { CollectionModule } from './billing/collection/collection.module';
import { PoolModule } from './billing/pool/pool.module';
import { EarningsModule } from './earnings/earnings.module';
import { StatementsModule } from './earnings/statements/statements.module';
import { UsageProofsModule } from './earnings/usage-proofs/usage-proofs.module';
import { DATABASE_SCHEMA } from './database-schema';
import { AppConfig } from './platform/config/app-config';
import { PlatformModule } from './platform/platform.module';
import { SandboxClockModule } from './sandbox/sandbox-clock.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [PlatformModule.forRoot(config, DATABASE_SCHEMA), AuditModule, IdentityModule, CatalogModule, LicensingModule, MeteringModule, ProvenanceModule, LedgerModule, PaymentsModule, PayoutsModule, BillingModule, CollectionModule, PoolModule, EarningsModule, StatementsModule, UsageProofsModule, SandboxClockModule],
    };
  }
}
