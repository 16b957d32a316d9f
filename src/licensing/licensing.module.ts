import { Global, Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { AGREEMENT_DIRECTORY } from '../identity/agreement-directory';
import { AgreementExpiryJob } from './agreement-expiry.job';
import { AgreementHooks } from './agreement-hooks';
import { AgreementPaymentStatusService } from './agreement-payment-status.service';
import { AgreementPartiesResolver } from './agreement-parties.resolver';
import { AgreementTransitions } from './agreement-transitions.service';
import { LicenseAgreementResolver } from './license-agreement.resolver';
import { LicenseAgreementService } from './license-agreement.service';
import { LicenseOfferResolver } from './license-offer.resolver';
import { LicenseOfferService } from './license-offer.service';
import { LicensingRepository } from './licensing.repository';
import { TeacherModelOffersResolver } from './model-offers.resolver';

/**
 * Owns licence terms (schema, canonical form, hash), offers (versioned,
 * immutable) and agreements. Provides AGREEMENT_DIRECTORY to identity (binding
 * GATEWAY API keys to an agreement of the distiller), and AgreementHooks for
 * modules that act in the accept transaction (billing).
 */
@Global()
@Module({
  imports: [CatalogModule],
  providers: [
    LicenseOfferService,
    LicenseAgreementService,
    AgreementHooks,
    AgreementPaymentStatusService,
    AgreementTransitions,
    LicensingRepository,
    { provide: AGREEMENT_DIRECTORY, useExisting: LicenseAgreementService },
    LicenseOfferResolver,
    LicenseAgreementResolver,
    TeacherModelOffersResolver,
    AgreementPartiesResolver,
    AgreementExpiryJob,
  ],
  exports: [LicenseOfferService, LicenseAgreementService, AgreementHooks, AgreementPaymentStatusService, AgreementTransitions, AGREEMENT_DIRECTORY],
})
export class LicensingModule {}
