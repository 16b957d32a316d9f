import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { MoneyOutput } from '../../../ledger/dto/money.output';
import { Paginated } from '../../../platform/graphql/pagination';

@ObjectType('RevenueRoyalty', { description: "One stack entry's share of a reported revenue" })
export class RevenueRoyaltyOutput {
  @Field(() => ID, { description: 'The ancestor model owed the share' })
  ancestorModelId: string;

  @Field(() => ID, { description: "The ancestor's vendor organization" })
  vendorOrganizationId: string;

  @Field(() => ID, { description: 'The agreement whose licence sets the share' })
  agreementId: string;

  @Field(() => String, { description: 'LAP or LRP' })
  policy: string;

  @Field(() => Int)
  shareBps: number;

  @Field(() => Int, { description: 'Distance from the student model (1 = direct parent)' })
  depth: number;

  @Field(() => MoneyOutput, { description: 'shareBps of the gross, by the allocation rule (exact within one minor unit)' })
  amount: MoneyOutput;
}

@ObjectType('LicenseNotice', { description: 'A revenue report exceeded a threshold of a licence in the reporting model’s lineage' })
export class LicenseNoticeOutput {
  @Field(() => ID)
  id: string;

  @Field(() => ID, { description: 'The report revision that exceeded it' })
  reportId: string;

  @Field(() => ID)
  agreementId: string;

  @Field(() => ID, { description: "The agreement's vendor organization (who sees the notice)" })
  vendorOrganizationId: string;

  @Field(() => ID, { description: 'The distiller organization that reported' })
  distillerOrganizationId: string;

  @Field(() => ID, { description: 'The student model reported on' })
  modelId: string;

  @Field(() => String, { description: 'YYYY-MM' })
  period: string;

  @Field(() => String, { description: 'MONTHLY_ACTIVE_USERS or MONTHLY_REVENUE' })
  metric: string;

  @Field(() => String, { description: 'What the licence says happens above the threshold, e.g. SEPARATE_LICENSE_REQUIRED' })
  effect: string;

  @Field(() => String, { description: 'The threshold, a decimal integer string (MONTHLY_REVENUE: minor units of `currency`)' })
  threshold: string;

  @Field(() => String, { description: 'What the report says, a decimal integer string' })
  observed: string;

  @Field(() => String, { nullable: true, description: 'MONTHLY_REVENUE: the currency of threshold and observed' })
  currency: string | null;

  @Field(() => Date)
  createdAt: Date;
}

@ObjectType('ModelRevenueReport', { description: 'One revision of a student model’s reported outside revenue for a month; the latest is current' })
export class ModelRevenueReportOutput {
  @Field(() => ID)
  id: string;

  @Field(() => ID)
  modelId: string;

  @Field(() => ID, { description: 'The organization that owns the model and reported' })
  organizationId: string;

  @Field(() => String, { description: 'The month earned, YYYY-MM' })
  period: string;

  @Field(() => Int, { description: '1 for the first report of (model, period, currency); a higher revision is a correction' })
  revision: number;

  @Field(() => MoneyOutput)
  gross: MoneyOutput;

  @Field(() => String, { nullable: true })
  activeUsers: string | null;

  @Field(() => String, { nullable: true })
  evidenceUrl: string | null;

  @Field(() => String, { description: 'The billing period whose close bills the royalties (the one open when the report was accepted)' })
  billingPeriod: string;

  @Field(() => [RevenueRoyaltyOutput], { description: 'The royalties this revision owes; the close bills the difference to what was billed before' })
  royalties: RevenueRoyaltyOutput[];

  @Field(() => [LicenseNoticeOutput], { description: 'Licence thresholds this revision exceeded' })
  notices: LicenseNoticeOutput[];

  @Field(() => Date)
  createdAt: Date;
}

@ObjectType('LicenseNoticeConnection', { description: 'Newest first' })
export class LicenseNoticeConnection extends Paginated(LicenseNoticeOutput, 'LicenseNotice') {}

@ObjectType('MissingRevenueReport', { description: 'A student model with paid platform usage in a closed month and no revenue report for it' })
export class MissingRevenueReportOutput {
  @Field(() => ID)
  modelId: string;

  @Field(() => String)
  modelName: string;

  @Field(() => ID, { description: 'The distiller organization that owns the model' })
  organizationId: string;

  @Field(() => String)
  period: string;
}

@ObjectType('MissingRevenueReportConnection', { description: 'By model id' })
export class MissingRevenueReportConnection extends Paginated(MissingRevenueReportOutput, 'MissingRevenueReport') {}
