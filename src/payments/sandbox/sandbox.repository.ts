/**
 * The SQL of the sandbox processor: its objects (sandbox_payment_objects),
 * the advisory lock of an idempotency key, and the one read it makes of our
 * own customers. A plain class: the sandbox's adapter is also built outside
 * the container (a restarted instance over the same database), so it cannot
 * take this as a provider. Every method takes the caller's EntityManager.
 */
import type { EntityManager } from 'typeorm';
import type { SandboxObjectKind } from './sandbox-object.entity';
import type { StripeObject } from './sandbox-store';

/** pg_advisory_xact_lock(int, int) namespace owned by the sandbox. */
const SANDBOX_LOCK_NAMESPACE = 7_340_501;

export interface IdempotentResponseRow {
  requestHash: string;
  response: StripeObject;
}

export class SandboxRepository {
  /** Serializes requests with the same kind and idempotency key until the transaction ends. */
  async lockIdempotencyKey(em: EntityManager, kind: SandboxObjectKind, idempotencyKey: string): Promise<void> {
    await em.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SANDBOX_LOCK_NAMESPACE, `${kind}:${idempotencyKey}`]);
  }

  async idempotentResponse(em: EntityManager, kind: SandboxObjectKind, idempotencyKey: string): Promise<IdempotentResponseRow | null> {
    const [row] = (await em.query(`SELECT request_hash, response FROM sandbox_payment_objects WHERE kind = $1 AND idempotency_key = $2`, [
      kind,
      idempotencyKey,
    ])) as { request_hash: string; response: StripeObject }[];
    return row ? { requestHash: row.request_hash, response: row.response } : null;
  }

  async insertIdempotent(em: EntityManager, kind: SandboxObjectKind, idempotencyKey: string, hash: string, data: StripeObject, response: StripeObject): Promise<void> {
    await em.query(
      `INSERT INTO sandbox_payment_objects (id, kind, idempotency_key, request_hash, response, data)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)`,
      [data.id, kind, idempotencyKey, hash, JSON.stringify(response), JSON.stringify(data)],
    );
  }

  async insert(em: EntityManager, kind: SandboxObjectKind, data: StripeObject): Promise<void> {
    await em.query(`INSERT INTO sandbox_payment_objects (id, kind, data) VALUES ($1, $2, $3::jsonb)`, [data.id, kind, JSON.stringify(data)]);
  }

  async byId(em: EntityManager, kind: SandboxObjectKind, id: string, forUpdate: boolean): Promise<StripeObject | null> {
    const [row] = (await em.query(`SELECT data FROM sandbox_payment_objects WHERE id = $1 AND kind = $2${forUpdate ? ' FOR UPDATE' : ''}`, [
      id,
      kind,
    ])) as { data: StripeObject }[];
    return row?.data ?? null;
  }

  async update(em: EntityManager, data: StripeObject): Promise<void> {
    await em.query(`UPDATE sandbox_payment_objects SET data = $2::jsonb, updated_at = now() WHERE id = $1`, [data.id, JSON.stringify(data)]);
  }

  /** The default payment method our side saved for the customer (null: none saved, or no such customer). */
  async savedDefaultPaymentMethod(em: EntityManager, customerId: string): Promise<string | null> {
    const [row] = (await em.query(`SELECT default_payment_method_id FROM payment_customers WHERE customer_id = $1`, [customerId])) as {
      default_payment_method_id: string | null;
    }[];
    return row?.default_payment_method_id ?? null;
  }

  /** Balance transactions whose `created` (Unix seconds) is in [from, to), oldest first. */
  async balanceTransactionsCreated(em: EntityManager, fromSeconds: number, toSeconds: number): Promise<StripeObject[]> {
    const rows = (await em.query(
      `SELECT data FROM sandbox_payment_objects
        WHERE kind = 'balance_transaction' AND (data->>'created')::bigint >= $1 AND (data->>'created')::bigint < $2
        ORDER BY (data->>'created')::bigint, id`,
      [fromSeconds, toSeconds],
    )) as { data: StripeObject }[];
    return rows.map((r) => r.data);
  }

  // ---- transfers and the platform balance

  /** Serializes what spends the sandbox balance of one currency until the transaction ends. */
  async lockBalance(em: EntityManager, currency: string): Promise<void> {
    await em.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SANDBOX_LOCK_NAMESPACE, `balance:${currency.toLowerCase()}`]);
  }

  /** Σ net (Stripe's units) of the balance transactions of a currency in a status. */
  async balanceNet(em: EntityManager, currency: string, status: 'available' | 'pending'): Promise<bigint> {
    const [row] = (await em.query(
      `SELECT coalesce(sum((data->>'net')::bigint), 0)::text AS net FROM sandbox_payment_objects
        WHERE kind = 'balance_transaction' AND data->>'currency' = $1 AND data->>'status' = $2`,
      [currency.toLowerCase(), status],
    )) as { net: string }[];
    return BigInt(row.net);
  }

  /** Σ net per currency and status (Stripe's units, as text). */
  async balanceByCurrency(em: EntityManager): Promise<{ currency: string; status: string; net: string }[]> {
    return (await em.query(
      `SELECT data->>'currency' AS currency, data->>'status' AS status, sum((data->>'net')::bigint)::text AS net
         FROM sandbox_payment_objects WHERE kind = 'balance_transaction' GROUP BY 1, 2 ORDER BY 1, 2`,
    )) as { currency: string; status: string; net: string }[];
  }

  /** The transfers of a transfer group, oldest first. */
  async transfersByGroup(em: EntityManager, transferGroup: string): Promise<StripeObject[]> {
    const rows = (await em.query(
      `SELECT data FROM sandbox_payment_objects WHERE kind = 'transfer' AND data->>'transfer_group' = $1
        ORDER BY (data->>'created')::bigint, id`,
      [transferGroup],
    )) as { data: StripeObject }[];
    return rows.map((r) => r.data);
  }
}
