import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { PaymentsModeEnum } from '../../payments/dto/payment-setup.output';
import type { OnboardingLink, PayoutAccountState } from '../payout-onboarding.service';

export enum PayoutStatusEnum {
  PAID = 'PAID',
  FAILED = 'FAILED',
}
registerEnumType(PayoutStatusEnum, { name: 'PayoutStatus', description: "The last payout the processor reported for a vendor's connected account." });

@ObjectType('PayoutEventSummary', { description: 'The latest payout of the connected account to its bank, as reported by the processor.' })
export class PayoutEventSummaryOutput {
  @Field(() => String)
  payoutId: string;

  @Field(() => PayoutStatusEnum)
  status: PayoutStatusEnum;

  @Field(() => String, { nullable: true, description: 'Why it failed (account_closed, no_account, …); null unless FAILED.' })
  failureCode: string | null;

  @Field(() => Date)
  createdAt: Date;
}

@ObjectType('PayoutAccount', { description: "A vendor organization's connected account at the payment processor, as last read from it." })
export class PayoutAccountOutput {
  @Field(() => ID)
  organizationId: string;

  @Field(() => PaymentsModeEnum)
  mode: PaymentsModeEnum;

  @Field(() => String, { description: 'The connected account (acct_…).' })
  accountId: string;

  @Field(() => Boolean)
  chargesEnabled: boolean;

  @Field(() => Boolean)
  payoutsEnabled: boolean;

  @Field(() => Boolean, { description: 'Whether the vendor has submitted the onboarding form.' })
  detailsSubmitted: boolean;

  @Field(() => [String], { description: 'Requirements the processor needs now (requirements.currently_due).' })
  currentlyDue: string[];

  @Field(() => [String], { description: 'Requirements overdue: the account is restricted until they are provided (requirements.past_due).' })
  pastDue: string[];

  @Field(() => String, { nullable: true, description: 'Why the account is restricted (requirements.disabled_reason), or null.' })
  disabledReason: string | null;

  @Field(() => Boolean, { description: 'The transfers capability is active and the account has no disabled reason: earnings can be transferred to it.' })
  canReceiveTransfers: boolean;

  @Field(() => Date, { nullable: true, description: 'When this state was read from the processor.' })
  syncedAt: Date | null;

  @Field(() => PayoutEventSummaryOutput, { nullable: true })
  lastPayout: PayoutEventSummaryOutput | null;
}

@ObjectType('PayoutOnboardingLink', { description: 'Where to send the vendor to onboard (single use, expires within minutes: ask again for a new one).' })
export class PayoutOnboardingLinkOutput {
  @Field(() => String)
  url: string;

  @Field(() => Date)
  expiresAt: Date;

  @Field(() => PayoutAccountOutput)
  account: PayoutAccountOutput;
}

@ObjectType('PayoutDashboardLink', { description: "A single-use link into the connected account's Express dashboard." })
export class PayoutDashboardLinkOutput {
  @Field(() => String)
  url: string;
}

export const toPayoutAccountOutput = (s: PayoutAccountState): PayoutAccountOutput => ({
  ...s,
  mode: s.mode === 'stripe' ? PaymentsModeEnum.STRIPE : PaymentsModeEnum.SANDBOX,
  lastPayout: s.lastPayout ? { ...s.lastPayout, status: s.lastPayout.status === 'paid' ? PayoutStatusEnum.PAID : PayoutStatusEnum.FAILED } : null,
});

export const toOnboardingLinkOutput = (l: OnboardingLink): PayoutOnboardingLinkOutput => ({
  url: l.url,
  expiresAt: l.expiresAt,
  account: toPayoutAccountOutput(l.account),
});
