/** GraphQL registration of the billing enums (imported by every billing DTO file). */
import { registerEnumType } from '@nestjs/graphql';
import { BillingPeriodStatus, InvoiceKind, InvoiceLineKind, InvoiceStatus } from '../billing.entity';

export { BillingPeriodStatus, InvoiceKind, InvoiceLineKind, InvoiceStatus };

registerEnumType(InvoiceStatus, {
  name: 'InvoiceStatus',
  description: 'DRAFT → OPEN → PAID | VOID | UNCOLLECTIBLE (UNCOLLECTIBLE → PAID | VOID). A zero-total invoice is PAID when issued.',
});
registerEnumType(InvoiceKind, { name: 'InvoiceKind', description: 'UPFRONT: the upfront fee of one agreement; PERIOD: a month of usage in one currency; POOL: one period of a pool-plan subscription.' });
registerEnumType(InvoiceLineKind, {
  name: 'InvoiceLineKind',
  description:
    'UPFRONT_FEE; USAGE_INPUT / USAGE_OUTPUT (tokens of the period); MINIMUM_COMMITMENT_TRUE_UP (negative when late usage used up an ' +
    'earlier true-up); ADJUSTMENT_INPUT / ADJUSTMENT_OUTPUT (late tokens of an earlier, closed period, named by usagePeriod); ' +
    'ROYALTY (a share of a student model\'s reported outside revenue of usagePeriod owed to the ancestor modelId; negative: a correction\'s credit); ' +
    'POOL_FEE (a pool-plan subscription fee for usagePeriod, prorated by days; no agreement, model or vendor); POOL_OVERAGE (tokens beyond a ' +
    'BILL plan\'s shared allowance in usagePeriod, at the plan\'s overage price).',
});
registerEnumType(BillingPeriodStatus, { name: 'BillingPeriodStatus' });
