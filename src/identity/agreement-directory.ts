import type { EntityManager } from 'typeorm';

/**
 * What identity needs to know about agreements (to bind a GATEWAY key to one)
 * without depending on the licensing module: licensing provides it.
 */
export const AGREEMENT_DIRECTORY = Symbol('AGREEMENT_DIRECTORY');

export interface AgreementDirectory {
  /**
   * The agreement when it exists and `organizationId` is its distiller (else
   * null): `ended` when it is terminated, expired or past its end date.
   */
  agreementOfDistiller(em: EntityManager, agreementId: string, organizationId: string): Promise<{ status: string; ended: boolean } | null>;
}
