import type { EntityManager } from 'typeorm';

/**
 * What identity needs to know about agreements (to bind a GATEWAY key to one)
 * without depending on the licensing module: licensing provides it.
 */
export const AGREEMENT_DIRECTORY = Symbol('AGREEMENT_DIRECTORY');

export interface AgreementDirectory {
  /** True when the agreement exists and `organizationId` is its distiller. */
  isAgreementOfDistiller(em: EntityManager, agreementId: string, organizationId: string): Promise<boolean>;
}
