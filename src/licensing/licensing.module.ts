import { Global, Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';

/** Owns licence terms, offers (versioned, hashed) and agreements. */
@Global()
@Module({ imports: [CatalogModule], providers: [], exports: [] })
export class LicensingModule {}
