/**
 * Admin / demo operations on the sandbox processor: disputes do not happen by
 * themselves there, so an admin opens and closes them to see the refund and
 * dispute flows end to end. Audit-logged in the sandbox's own transaction.
 */
import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { Principal } from '../../platform/auth/principal';
import { BadInputError, NotFoundError } from '../../platform/errors/app-error';
import { PaymentsUnavailableError } from '../payments.errors';
import { PAYMENTS_PORT, PaymentsPort } from '../payments.port';
import { SandboxDispute, SandboxDisputeOutcome, SandboxPaymentsAdapter } from './sandbox-payments.adapter';

export const SANDBOX_DISPUTE_REASONS = [
  'fraudulent',
  'duplicate',
  'product_not_received',
  'product_unacceptable',
  'subscription_canceled',
  'credit_not_processed',
  'unrecognized',
  'general',
] as const;

const PAYMENT_INTENT_ID = /^pi_sandbox_[0-9a-f]{24}$/;
const DISPUTE_ID = /^du_sandbox_[0-9a-f]{24}$/;

@Injectable()
export class SandboxAdminService {
  constructor(
    @Inject(PAYMENTS_PORT) private readonly port: PaymentsPort,
    private readonly sandbox: SandboxPaymentsAdapter,
    private readonly audit: AuditService,
  ) {}

  async simulateDispute(principal: Principal, input: { paymentIntentId: string; amountMinor: string | null; reason: string | null }): Promise<SandboxDispute> {
    this.requireSandbox('paymentIntentId');
    if (!PAYMENT_INTENT_ID.test(input.paymentIntentId)) throw new NotFoundError('PaymentIntent', input.paymentIntentId);
    if (input.amountMinor !== null && !/^[1-9][0-9]{0,17}$/.test(input.amountMinor)) {
      throw new BadInputError([{ field: 'amountMinor', message: 'amountMinor must be a positive integer in minor units, as a decimal string' }]);
    }
    if (input.reason !== null && !(SANDBOX_DISPUTE_REASONS as readonly string[]).includes(input.reason)) {
      throw new BadInputError([{ field: 'reason', message: `reason must be one of ${SANDBOX_DISPUTE_REASONS.join(', ')}` }]);
    }
    return this.mapErrors('PaymentIntent', input.paymentIntentId, () =>
      this.sandbox.simulateDispute(
        { paymentIntentId: input.paymentIntentId, amountMinor: input.amountMinor === null ? null : BigInt(input.amountMinor), reason: input.reason },
        (tx, d) =>
          this.audit.record(tx, principal, {
            action: 'payments.sandbox_dispute_simulated',
            targetType: 'SandboxDispute',
            targetId: d.id,
            data: { paymentIntentId: d.paymentIntentId, chargeId: d.chargeId, amountMinor: d.amountMinor.toString(), currency: d.currency, reason: d.reason },
          }),
      ),
    );
  }

  async closeDispute(principal: Principal, disputeId: string, outcome: SandboxDisputeOutcome): Promise<SandboxDispute> {
    this.requireSandbox('disputeId');
    if (!DISPUTE_ID.test(disputeId)) throw new NotFoundError('SandboxDispute', disputeId);
    return this.mapErrors('SandboxDispute', disputeId, () =>
      this.sandbox.closeDispute(disputeId, outcome, (tx, d) =>
        this.audit.record(tx, principal, {
          action: 'payments.sandbox_dispute_closed',
          targetType: 'SandboxDispute',
          targetId: d.id,
          data: { paymentIntentId: d.paymentIntentId, outcome },
        }),
      ),
    );
  }

  private requireSandbox(field: string): void {
    if (this.port.mode !== 'sandbox') throw new BadInputError([{ field, message: 'Simulated disputes exist only in SANDBOX payments mode' }]);
  }

  private async mapErrors<T>(entity: string, id: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof PaymentsUnavailableError && err.code === 'resource_missing') throw new NotFoundError(entity, id);
      if (err instanceof PaymentsUnavailableError && !err.retryable) throw new BadInputError([{ field: 'id', message: err.message.replace(/^Sandbox: /, '') }]);
      throw err;
    }
  }
}
