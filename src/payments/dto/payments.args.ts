import { ArgsType, Field, ID } from '@nestjs/graphql';
import { IsEnum, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsUuid } from '../../platform/validation/uuid';
import { SandboxDisputeOutcomeEnum } from './sandbox-dispute.output';

/** Processor ids (seti_…, pi_…, du_…, pm_…) are opaque strings, at most 255 characters at Stripe. */
const PROCESSOR_ID_MAX = 255;

@ArgsType()
export class ConfirmSandboxPaymentSetupArgs {
  @Field(() => ID)
  @IsUuid()
  organizationId: string;

  @Field(() => ID, { description: 'From createPaymentSetup.' })
  @IsString()
  @MaxLength(PROCESSOR_ID_MAX)
  setupIntentId: string;

  @Field(() => String, { description: 'One of PaymentSetup.testPaymentMethods (e.g. pm_sandbox_visa).' })
  @IsString()
  @MaxLength(PROCESSOR_ID_MAX)
  paymentMethod: string;
}

@ArgsType()
export class SimulateSandboxDisputeArgs {
  @Field(() => ID, { description: 'A succeeded sandbox PaymentIntent (pi_sandbox_…).' })
  @IsString()
  @MaxLength(PROCESSOR_ID_MAX)
  paymentIntentId: string;

  @Field(() => String, { nullable: true, description: 'Disputed amount in minor units, as a decimal string; default: the whole charge.' })
  @IsOptional()
  @IsString()
  @MaxLength(20)
  amountMinor?: string | null;

  @Field(() => String, { nullable: true, description: "Stripe's dispute reason (fraudulent, duplicate, product_not_received, …); default fraudulent." })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  reason?: string | null;
}

@ArgsType()
export class CloseSandboxDisputeArgs {
  @Field(() => ID, { description: 'From simulateSandboxDispute (du_sandbox_…).' })
  @IsString()
  @MaxLength(PROCESSOR_ID_MAX)
  disputeId: string;

  @Field(() => SandboxDisputeOutcomeEnum)
  @IsEnum(SandboxDisputeOutcomeEnum)
  outcome: SandboxDisputeOutcomeEnum;
}
