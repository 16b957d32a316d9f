/** What billing reads of other modules' tables, kept with billing's SQL. */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

@Injectable()
export class BillingRepository {
  async organizationExists(em: EntityManager, id: string): Promise<boolean> {
    const [r]: { id: string }[] = await em.query(`SELECT id FROM organizations WHERE id = $1`, [id]);
    return r !== undefined;
  }
}
