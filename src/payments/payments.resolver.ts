import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { AdminOnly, CurrentPrincipal } from '../platform/auth/decorators';
import { Principal } from '../platform/auth/principal';
import { UuidPipe } from '../platform/errors/validation';
import { CloseSandboxDisputeArgs, ConfirmSandboxPaymentSetupArgs, SimulateSandboxDisputeArgs } from './dto/payments.args';
import { PaymentSetupOutput, PaymentSetupStatusOutput, toPaymentSetupOutput, toPaymentSetupStatusOutput } from './dto/payment-setup.output';
import { SandboxDisputeOutcomeEnum, SandboxDisputeOutput, toSandboxDisputeOutput } from './dto/sandbox-dispute.output';
import { PaymentsService } from './payments.service';
import { SandboxAdminService } from './sandbox/sandbox-admin.service';

@Resolver()
export class PaymentsResolver {
  constructor(
    private readonly payments: PaymentsService,
    private readonly sandboxAdmin: SandboxAdminService,
  ) {}

  @Mutation(() => PaymentSetupOutput, {
    description:
      'Members with write access. Creates the organization\'s customer at the payment processor (once) and a SetupIntent whose client secret a front end uses to save a payment method for off-session charges.',
  })
  async createPaymentSetup(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }, new UuidPipe('organizationId')) organizationId: string,
  ): Promise<PaymentSetupOutput> {
    return toPaymentSetupOutput(await this.payments.createPaymentSetup(principal, organizationId));
  }

  @Mutation(() => PaymentSetupStatusOutput, {
    description:
      'SANDBOX mode only; members with write access. Confirms a SetupIntent from createPaymentSetup with one of its testPaymentMethods (what Stripe.js would do), ' +
      "which becomes the organization's default payment method once its setup_intent.succeeded event is processed.",
  })
  async confirmSandboxPaymentSetup(
    @CurrentPrincipal() principal: Principal,
    @Args() { organizationId, setupIntentId, paymentMethod }: ConfirmSandboxPaymentSetupArgs,
  ): Promise<PaymentSetupStatusOutput> {
    return toPaymentSetupStatusOutput(await this.payments.confirmSandboxPaymentSetup(principal, organizationId, setupIntentId, paymentMethod));
  }

  @Query(() => PaymentSetupStatusOutput, { description: 'Members (read). Whether the organization has a processor customer and a default payment method on file.' })
  async paymentSetup(
    @CurrentPrincipal() principal: Principal,
    @Args('organizationId', { type: () => ID }, new UuidPipe('organizationId')) organizationId: string,
  ): Promise<PaymentSetupStatusOutput> {
    return toPaymentSetupStatusOutput(await this.payments.paymentSetupState(principal, organizationId));
  }

  @AdminOnly()
  @Mutation(() => SandboxDisputeOutput, {
    description:
      'Platform admins, SANDBOX mode only. Opens a dispute on a succeeded sandbox payment (one per charge; again returns the open one), emitting charge.dispute.created through the webhook inbox. Audit-logged.',
  })
  async simulateSandboxDispute(
    @CurrentPrincipal() principal: Principal,
    @Args() { paymentIntentId, amountMinor, reason }: SimulateSandboxDisputeArgs,
  ): Promise<SandboxDisputeOutput> {
    return toSandboxDisputeOutput(await this.sandboxAdmin.simulateDispute(principal, { paymentIntentId, amountMinor: amountMinor ?? null, reason: reason ?? null }));
  }

  @AdminOnly()
  @Mutation(() => SandboxDisputeOutput, {
    description: 'Platform admins, SANDBOX mode only. Closes a simulated dispute as WON or LOST, emitting charge.dispute.closed. Audit-logged.',
  })
  async closeSandboxDispute(
    @CurrentPrincipal() principal: Principal,
    @Args() { disputeId, outcome }: CloseSandboxDisputeArgs,
  ): Promise<SandboxDisputeOutput> {
    return toSandboxDisputeOutput(await this.sandboxAdmin.closeDispute(principal, disputeId, outcome === SandboxDisputeOutcomeEnum.WON ? 'won' : 'lost'));
  }
}
