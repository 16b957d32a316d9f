import { Column, Entity, PrimaryColumn } from 'typeorm';

export type SandboxObjectKind = 'customer' | 'setup_intent' | 'payment_intent' | 'charge' | 'balance_transaction' | 'refund' | 'dispute' | 'account' | 'account_link' | 'login_link' | 'transfer' | 'transfer_reversal';

/**
 * The sandbox processor's objects, Stripe-shaped. Objects created by a request
 * keep its idempotency key, a hash of its parameters and the first response,
 * which a retry with the same key gets back verbatim (as Stripe replays).
 */
@Entity({ name: 'sandbox_payment_objects' })
export class SandboxPaymentObjectEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  kind: SandboxObjectKind;

  @Column({ type: 'text', name: 'idempotency_key', nullable: true })
  idempotencyKey: string | null;

  @Column({ type: 'text', name: 'request_hash', nullable: true })
  requestHash: string | null;

  @Column({ type: 'jsonb', nullable: true })
  response: Record<string, unknown> | null;

  /** The object's current state. */
  @Column({ type: 'jsonb' })
  data: Record<string, unknown>;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column({ type: 'timestamptz', name: 'updated_at', default: () => 'now()' })
  updatedAt: Date;
}
