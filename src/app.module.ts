import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from './audit/audit.module';
import { CatalogModule } from './catalog/catalog.module';
import { IdentityModule } from './identity/identity.module';
import { LicensingModule } from './licensing/licensing.module';
import { MeteringModule } from './metering/metering.module';
import { ProvenanceModule } from './provenance/provenance.module';
import { AppConfig } from './platform/config/app-config';
import { PlatformModule } from './platform/platform.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [PlatformModule.forRoot(config), AuditModule, IdentityModule, CatalogModule, LicensingModule, MeteringModule, ProvenanceModule],
    };
  }
}
