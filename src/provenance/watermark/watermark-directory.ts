/**
 * Provides WATERMARK_DIRECTORY to licensing (publishing terms with
 * watermarkRequired needs a registered scheme) without licensing importing
 * provenance. Global, like LicensingModule's AGREEMENT_DIRECTORY for identity:
 * ProvenanceModule imports it once.
 */
import { Global, Injectable, Module } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { WATERMARK_DIRECTORY, WatermarkDirectory } from '../../licensing/license-offer.service';

@Injectable()
export class WatermarkSchemeDirectory implements WatermarkDirectory {
  async hasScheme(em: EntityManager, modelId: string): Promise<boolean> {
    const [row] = (await em.query(`SELECT EXISTS (SELECT 1 FROM watermark_schemes WHERE model_id = $1) AS present`, [modelId])) as { present: boolean }[];
    return row.present;
  }
}

@Global()
@Module({
  providers: [{ provide: WATERMARK_DIRECTORY, useClass: WatermarkSchemeDirectory }],
  exports: [WATERMARK_DIRECTORY],
})
export class WatermarkDirectoryModule {}
