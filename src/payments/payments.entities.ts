import { PaymentCustomerEntity } from './payment-customer.entity';
import { SandboxPaymentObjectEntity } from './sandbox/sandbox-object.entity';
import { PaymentWebhookEventEntity } from './webhooks/webhook-event.entity';

/** Every TypeORM entity of the payments module (collected in src/database-schema.ts). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const PAYMENTS_ENTITIES: Function[] = [PaymentCustomerEntity, PaymentWebhookEventEntity, SandboxPaymentObjectEntity];
