/**
 * Payment setup for organizations: the processor customer (created once per
 * organization, also under concurrent calls), SetupIntents for the front end,
 * and the saved default payment method. Billing reads `customerFor` and
 * charges through the PAYMENTS_PORT.
 *
 * Concurrency: the processor call may not run inside a database transaction,
 * so one customer per organization comes from the idempotency key
 * `org:<id>:customer` (concurrent calls get the same customer back) and the
 * primary key on organization_id (one row wins, the others read it).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AccessService } from '../identity/access.service';
import { Principal } from '../platform/auth/principal';
import { Database } from '../platform/database/transaction';
import { BadInputError, DependencyUnavailableError, NotFoundError } from '../platform/errors/app-error';
import { PaymentsUnavailableError } from './payments.errors';
import { PAYMENTS_PORT, PaymentsMode, PaymentsPort } from './payments.port';
import { PaymentCustomerRow, PaymentsRepository } from './payments.repository';
import { SANDBOX_TEST_PAYMENT_METHODS, SandboxPaymentsAdapter } from './sandbox/sandbox-payments.adapter';
import { WebhookInboxService } from './webhooks/webhook-inbox.service';

export interface CustomerRef {
  customerId: string;
  defaultPaymentMethodId: string | null;
}

export interface PaymentSetupResult {
  mode: PaymentsMode;
  customerId: string;
  setupIntentId: string;
  clientSecret: string;
  testPaymentMethods: string[];
}

export interface PaymentSetupState {
  organizationId: string;
  mode: PaymentsMode;
  customerId: string | null;
  defaultPaymentMethodId: string | null;
  testPaymentMethods: string[];
}

@Injectable()
export class PaymentsService {
  private readonly log = new Logger('Payments');

  constructor(
    @Inject(PAYMENTS_PORT) private readonly port: PaymentsPort,
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly sandbox: SandboxPaymentsAdapter,
    private readonly inbox: WebhookInboxService,
    private readonly customers: PaymentsRepository,
  ) {}

  get mode(): PaymentsMode {
    return this.port.mode;
  }

  /** The organization's customer in the current mode, or null (none yet, or only one from the other mode). */
  async customerFor(organizationId: string): Promise<CustomerRef | null> {
    const row = await this.row(organizationId);
    if (!row || row.mode !== this.port.mode) return null;
    return { customerId: row.customerId, defaultPaymentMethodId: row.defaultPaymentMethodId };
  }

  /** Creates the processor customer once (no transaction may be open: this calls the processor). */
  async ensureCustomer(organizationId: string): Promise<{ customerId: string }> {
    const existing = await this.row(organizationId);
    if (existing && existing.mode === this.port.mode) return { customerId: existing.customerId };
    const name = await this.customers.organizationName(this.db.reader, organizationId);
    if (name === null) throw new NotFoundError('Organization', organizationId);
    const { customerId } = await this.port.ensureCustomer({ organizationId, name, idempotencyKey: `org:${organizationId}:customer` });
    // A customer of the other mode means nothing to this processor: replace it (its saved method too).
    await this.customers.saveCustomer(this.db.reader, organizationId, this.port.mode, customerId);
    const row = await this.row(organizationId);
    if (!row || row.mode !== this.port.mode) throw new Error(`payment customer of ${organizationId} changed mode concurrently`);
    if (row.customerId !== customerId) this.log.warn({ organizationId, kept: row.customerId, extra: customerId }, 'a concurrent setup created another customer; kept the first');
    else if (!existing) this.log.log({ organizationId, customerId, mode: this.port.mode }, 'payment customer created');
    return { customerId: row.customerId };
  }

  /** For members with write access; others NOT_FOUND. */
  async createPaymentSetup(principal: Principal, organizationId: string): Promise<PaymentSetupResult> {
    await this.access.requireOrganization(this.db.reader, principal, organizationId, 'write');
    try {
      const { customerId } = await this.ensureCustomer(organizationId);
      // Each call is a new setup attempt: no money moves, and an abandoned SetupIntent is harmless.
      const { setupIntentId, clientSecret } = await this.port.createSetupIntent({
        customerId,
        organizationId,
        idempotencyKey: `org:${organizationId}:setup:${randomUUID()}`,
      });
      return { mode: this.port.mode, customerId, setupIntentId, clientSecret, testPaymentMethods: this.testPaymentMethods() };
    } catch (err) {
      if (err instanceof PaymentsUnavailableError) {
        this.log.warn({ organizationId, code: err.code, retryable: err.retryable }, 'payment setup failed at the processor');
        throw new DependencyUnavailableError('The payment processor did not answer as expected; try again in a moment', {
          reason: 'PAYMENTS_UNAVAILABLE',
          retryable: err.retryable,
        });
      }
      throw err;
    }
  }

  /**
   * Sandbox only: what the browser does with the client secret. Emits
   * setup_intent.succeeded through the inbox and answers once it has been
   * processed, so the answer shows the saved method.
   */
  async confirmSandboxPaymentSetup(principal: Principal, organizationId: string, setupIntentId: string, paymentMethodId: string): Promise<PaymentSetupState> {
    await this.access.requireOrganization(this.db.reader, principal, organizationId, 'write');
    if (this.port.mode !== 'sandbox') {
      throw new BadInputError([{ field: 'setupIntentId', message: 'confirmSandboxPaymentSetup is only available in sandbox mode; with Stripe, the front end confirms the SetupIntent' }]);
    }
    const customer = await this.customerFor(organizationId);
    const intent = customer ? await this.sandbox.setupIntent(setupIntentId) : null;
    if (!customer || !intent || intent.customer !== customer.customerId) throw new NotFoundError('SetupIntent', setupIntentId);
    if (!SANDBOX_TEST_PAYMENT_METHODS.includes(paymentMethodId)) {
      throw new BadInputError([{ field: 'paymentMethod', message: `paymentMethod must be one of the sandbox test payment methods: ${SANDBOX_TEST_PAYMENT_METHODS.join(', ')}` }]);
    }
    try {
      await this.sandbox.confirmSetupIntent(setupIntentId, paymentMethodId);
    } catch (err) {
      if (err instanceof PaymentsUnavailableError && !err.retryable) throw new BadInputError([{ field: 'setupIntentId', message: err.message.replace(/^Sandbox: /, '') }]);
      throw err;
    }
    await this.inbox.kick();
    return this.state(organizationId);
  }

  /** For members (read); others NOT_FOUND. */
  async paymentSetupState(principal: Principal, organizationId: string): Promise<PaymentSetupState> {
    await this.access.requireOrganization(this.db.reader, principal, organizationId, 'read');
    return this.state(organizationId);
  }

  private async state(organizationId: string): Promise<PaymentSetupState> {
    const customer = await this.customerFor(organizationId);
    return {
      organizationId,
      mode: this.port.mode,
      customerId: customer?.customerId ?? null,
      defaultPaymentMethodId: customer?.defaultPaymentMethodId ?? null,
      testPaymentMethods: this.testPaymentMethods(),
    };
  }

  private testPaymentMethods(): string[] {
    return this.port.mode === 'sandbox' ? [...SANDBOX_TEST_PAYMENT_METHODS] : [];
  }

  private async row(organizationId: string): Promise<PaymentCustomerRow | null> {
    return this.customers.customerOf(this.db.reader, organizationId);
  }
}
