/**
 * Provides WATERMARK_DIRECTORY to licensing (publishing terms with
 * watermarkRequired needs a registered scheme) without licensing importing
 * provenance. Global, like LicensingModule's AGREEMENT_DIRECTORY for identity:
 * ProvenanceModule imports it once.
 */
import { Global, Injectable, Module } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { WATERMARK_DIRECTORY, WatermarkDirectory } from '../../licensing/license-offer.service';
import { WatermarkRepository } from './watermark.repository';

@Injectable()
export class WatermarkSchemeDirectory implements WatermarkDirectory {
  constructor(private readonly watermarks: WatermarkRepository) {}

  hasScheme(em: EntityManager, modelId: string): Promise<boolean> {
    return this.watermarks.hasScheme(em, modelId);
  }
}

@Global()
@Module({
  providers: [WatermarkRepository, { provide: WATERMARK_DIRECTORY, useClass: WatermarkSchemeDirectory }],
  exports: [WATERMARK_DIRECTORY],
})
export class WatermarkDirectoryModule {}
