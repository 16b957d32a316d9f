import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { PaymentsMode } from './payments.port';

/**
 * An organization's customer at the payment processor (one per organization),
 * and the payment method it saved last (set by `setup_intent.succeeded`; the
 * newest setup wins whatever order the events arrive in).
 */
@Entity({ name: 'payment_customers' })
export class PaymentCustomerEntity {
  @PrimaryColumn({ type: 'uuid', name: 'organization_id' })
  organizationId: string;

  /** Which adapter created the customer: a sandbox customer means nothing to Stripe, and vice versa. */
  @Column({ type: 'text' })
  mode: PaymentsMode;

  @Column({ type: 'text', name: 'customer_id' })
  customerId: string;

  @Column({ type: 'text', name: 'default_payment_method_id', nullable: true })
  defaultPaymentMethodId: string | null;

  /** The SetupIntent that saved the default. */
  @Column({ type: 'text', name: 'default_setup_intent_id', nullable: true })
  defaultSetupIntentId: string | null;

  /** When that SetupIntent was created at the processor: an older setup's late event does not replace a newer one. */
  @Column({ type: 'timestamptz', name: 'default_payment_method_at', nullable: true })
  defaultPaymentMethodAt: Date | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column({ type: 'timestamptz', name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}
