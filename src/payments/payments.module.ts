import { WebhookInboxMetrics } from './webhooks/webhook-inbox.metrics';
import { Logger, Module } from '@nestjs/common';
import { AppConfig } from '../platform/config/app-config';
import { PaymentMethodHandler } from './payment-method.handler';
import { PAYMENTS_PORT, PaymentsPort } from './payments.port';
import { PaymentsRepository } from './payments.repository';
import { PaymentsResolver } from './payments.resolver';
import { PaymentsService } from './payments.service';
import { SandboxAdminService } from './sandbox/sandbox-admin.service';
import { SandboxConnectRoutes } from './sandbox/sandbox-connect.routes';
import { SandboxPaymentsAdapter } from './sandbox/sandbox-payments.adapter';
import { StripePaymentsAdapter } from './stripe/stripe-payments.adapter';
import { StripeWebhookRoutes } from './webhooks/stripe-webhook.routes';
import { WebhookHandlers } from './webhooks/webhook-handlers';
import { WebhookInboxJob } from './webhooks/webhook-inbox.job';
import { WebhookInboxRepository } from './webhooks/webhook-inbox.repository';
import { WebhookInboxService } from './webhooks/webhook-inbox.service';

/**
 * Payments: the payment processor behind one port — `stripe`
 * (STRIPE_SECRET_KEY set) or the in-process `sandbox` (the default) —, the
 * webhook inbox both feed, and organizations' payment setup.
 *
 * For other modules: inject PAYMENTS_PORT (charge, refund, fees — never inside
 * a transaction), PaymentsService (customerFor / ensureCustomer), and
 * WebhookHandlers (`on(type, handler)` at init) to react to events.
 */
@Module({
  providers: [
    PaymentsRepository,
    WebhookInboxRepository,
    WebhookHandlers,
    WebhookInboxService,
    WebhookInboxJob,
    WebhookInboxMetrics,
    StripeWebhookRoutes,
    SandboxPaymentsAdapter,
    {
      provide: PAYMENTS_PORT,
      inject: [AppConfig, SandboxPaymentsAdapter],
      useFactory: (config: AppConfig, sandbox: SandboxPaymentsAdapter): PaymentsPort => {
        const log = new Logger('Payments');
        if (config.stripeSecretKey) {
          log.log({ mode: 'stripe', apiBase: config.stripeApiBase ?? 'https://api.stripe.com', webhooks: Boolean(config.stripeWebhookSecret), connectWebhooks: Boolean(config.stripeConnectWebhookSecret) }, 'payments: Stripe adapter');
          return new StripePaymentsAdapter({ secretKey: config.stripeSecretKey, apiBase: config.stripeApiBase });
        }
        log.log({ mode: 'sandbox' }, 'payments: SANDBOX adapter (in-process, no real money; set STRIPE_SECRET_KEY for Stripe)');
        return sandbox;
      },
    },
    PaymentsService,
    PaymentMethodHandler,
    SandboxAdminService,
    SandboxConnectRoutes,
    PaymentsResolver,
  ],
  exports: [PAYMENTS_PORT, PaymentsService, WebhookHandlers, WebhookInboxService, SandboxPaymentsAdapter],
})
export class PaymentsModule {}
