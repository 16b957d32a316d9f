/**
 * The SQL of watermark schemes read outside the ORM. Every method takes the
 * caller's EntityManager (the transaction's, or the reader), so none can run
 * outside the transaction by accident.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

@Injectable()
export class WatermarkRepository {
  async hasScheme(em: EntityManager, modelId: string): Promise<boolean> {
    const [row] = (await em.query(`SELECT EXISTS (SELECT 1 FROM watermark_schemes WHERE model_id = $1) AS present`, [modelId])) as { present: boolean }[];
    return row.present;
  }
}
