/** GraphQL registration of the licensing enums (imported by every licensing DTO file). */
import { registerEnumType } from '@nestjs/graphql';
import { AgreementStatus } from '../license-agreement.entity';
import { OfferStatus } from '../license-offer.entity';
import { AttributionPlacement, NamingRule, OutputTraining, RoyaltyPolicy, ThresholdEffect, ThresholdMetric } from '../terms/terms.types';

/** Which side of an agreement an organization is on. */
export enum AgreementRole {
  DISTILLER = 'DISTILLER',
  VENDOR = 'VENDOR',
}

registerEnumType(OutputTraining, {
  name: 'OutputTrainingPolicy',
  description: 'What the licence allows regarding training other models on the teacher outputs. PROHIBITED offers cannot be published.',
});
registerEnumType(AttributionPlacement, { name: 'AttributionPlacement' });
registerEnumType(NamingRule, {
  name: 'NamingRule',
  description: 'PREFIX_REQUIRED: derived names start with `token`; NOT_PRIMARY: `token` may not be the leading element; NONE.',
});
registerEnumType(ThresholdMetric, { name: 'ThresholdMetric', description: 'MONTHLY_REVENUE is in minor units of the offer currency.' });
registerEnumType(ThresholdEffect, { name: 'ThresholdEffect' });
registerEnumType(RoyaltyPolicy, {
  name: 'RoyaltyPolicy',
  description: 'LAP: absolute share of every descendant revenue; LRP: share of the direct child revenue only.',
});
registerEnumType(OfferStatus, { name: 'LicenseOfferStatus' });
registerEnumType(AgreementStatus, {
  name: 'LicenseAgreementStatus',
  description: 'PENDING_PAYMENT (upfront fee due) / ACTIVE / SUSPENDED are live; TERMINATED and EXPIRED are final.',
});
registerEnumType(AgreementRole, { name: 'AgreementRole' });

export { AgreementStatus, AttributionPlacement, NamingRule, OfferStatus, OutputTraining, RoyaltyPolicy, ThresholdEffect, ThresholdMetric };
