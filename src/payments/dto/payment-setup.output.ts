import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import type { PaymentsMode } from '../payments.port';
import type { PaymentSetupResult, PaymentSetupState } from '../payments.service';

export enum PaymentsModeEnum {
  SANDBOX = 'SANDBOX',
  STRIPE = 'STRIPE',
}
registerEnumType(PaymentsModeEnum, {
  name: 'PaymentsMode',
  description: 'Which payment processor this server uses. SANDBOX: in-process and deterministic, no real money moves (the default without a Stripe key).',
});

const modeOf = (m: PaymentsMode): PaymentsModeEnum => (m === 'stripe' ? PaymentsModeEnum.STRIPE : PaymentsModeEnum.SANDBOX);

@ObjectType('PaymentSetup', { description: 'What a front end needs to save a payment method for off-session charges (a SetupIntent).' })
export class PaymentSetupOutput {
  @Field(() => PaymentsModeEnum)
  mode: PaymentsModeEnum;

  @Field(() => String, { description: "The organization's customer at the processor." })
  customerId: string;

  @Field(() => String)
  setupIntentId: string;

  @Field(() => String, { description: 'For Stripe.js confirmSetup (STRIPE); in SANDBOX, confirm with confirmSandboxPaymentSetup instead.' })
  clientSecret: string;

  @Field(() => [String], { description: 'SANDBOX only (else empty): pm_sandbox_visa succeeds, pm_sandbox_declined and pm_sandbox_insufficient_funds decline.' })
  testPaymentMethods: string[];
}

@ObjectType('PaymentSetupStatus', { description: "Whether an organization can be charged: its processor customer and saved default payment method." })
export class PaymentSetupStatusOutput {
  @Field(() => ID)
  organizationId: string;

  @Field(() => PaymentsModeEnum)
  mode: PaymentsModeEnum;

  @Field(() => String, { nullable: true, description: 'Null until a payment setup was started.' })
  customerId: string | null;

  @Field(() => Boolean)
  hasDefaultPaymentMethod: boolean;

  @Field(() => String, { nullable: true })
  defaultPaymentMethodId: string | null;

  @Field(() => [String], { description: 'SANDBOX only (else empty).' })
  testPaymentMethods: string[];
}

export function toPaymentSetupOutput(r: PaymentSetupResult): PaymentSetupOutput {
  return { mode: modeOf(r.mode), customerId: r.customerId, setupIntentId: r.setupIntentId, clientSecret: r.clientSecret, testPaymentMethods: r.testPaymentMethods };
}

export function toPaymentSetupStatusOutput(s: PaymentSetupState): PaymentSetupStatusOutput {
  return {
    organizationId: s.organizationId,
    mode: modeOf(s.mode),
    customerId: s.customerId,
    hasDefaultPaymentMethod: s.defaultPaymentMethodId !== null,
    defaultPaymentMethodId: s.defaultPaymentMethodId,
    testPaymentMethods: s.testPaymentMethods,
  };
}
