/**
 * Persistence of the sandbox processor's objects, with Stripe's idempotency
 * semantics: a request's key is locked (transaction-scoped advisory lock) and
 * looked up; a retry with the same parameters gets the first response back
 * verbatim, the same key with other parameters is refused
 * (idempotency_error). Ids are derived from a hash of the key, so the same key
 * names the same object however many times it is sent — also after a restart.
 */
import { createHash } from 'node:crypto';
import type { Tx } from '../../platform/database/transaction';
import { PaymentsUnavailableError } from '../payments.errors';
import type { SandboxObjectKind } from './sandbox-object.entity';

export type StripeObject = Record<string, any> & { id: string };

const PREFIX: Record<SandboxObjectKind, string> = {
  customer: 'cus',
  setup_intent: 'seti',
  payment_intent: 'pi',
  charge: 'ch',
  balance_transaction: 'txn',
  refund: 're',
  dispute: 'du',
};

const SANDBOX_LOCK_NAMESPACE = 7_340_501; // pg_advisory_xact_lock(int, int) namespace owned by the sandbox

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `pi_sandbox_<24 hex>`: derived from the kind and the seed (an idempotency key or a parent object's id). */
export function sandboxId(kind: SandboxObjectKind, seed: string): string {
  return `${PREFIX[kind]}_sandbox_${sha256(`${kind}\u0000${seed}`).slice(0, 24)}`;
}

/** A hash of request parameters independent of key order (what Stripe compares on a replay). */
export function requestHash(params: unknown): string {
  return sha256(stableJson(params));
}

function stableJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return JSON.stringify(v.toString());
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function invalidRequest(message: string, code: string): PaymentsUnavailableError {
  return new PaymentsUnavailableError(`Sandbox: ${message}`, code, false, 400);
}

export class SandboxStore {
  /**
   * Under the key's lock: the earlier response for the same request, or null
   * (then the caller creates the objects and calls `saveIdempotent`).
   */
  async replay(tx: Tx, kind: SandboxObjectKind, idempotencyKey: string, hash: string): Promise<StripeObject | null> {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SANDBOX_LOCK_NAMESPACE, `${kind}:${idempotencyKey}`]);
    const [row] = (await tx.query(`SELECT request_hash, response FROM sandbox_payment_objects WHERE kind = $1 AND idempotency_key = $2`, [
      kind,
      idempotencyKey,
    ])) as { request_hash: string; response: StripeObject }[];
    if (!row) return null;
    if (row.request_hash !== hash) {
      throw invalidRequest(
        `Keys for idempotent requests can only be used with the same parameters they were first used with (key ${idempotencyKey})`,
        'idempotency_error',
      );
    }
    return row.response;
  }

  /** The object a request created, with the response later retries replay. */
  async saveIdempotent(tx: Tx, kind: SandboxObjectKind, idempotencyKey: string, hash: string, data: StripeObject, response: StripeObject = data): Promise<void> {
    await tx.query(
      `INSERT INTO sandbox_payment_objects (id, kind, idempotency_key, request_hash, response, data)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)`,
      [data.id, kind, idempotencyKey, hash, JSON.stringify(response), JSON.stringify(data)],
    );
  }

  /** An object created as a consequence of another (a charge of a PaymentIntent, …). */
  async insert(tx: Tx, kind: SandboxObjectKind, data: StripeObject): Promise<void> {
    await tx.query(`INSERT INTO sandbox_payment_objects (id, kind, data) VALUES ($1, $2, $3::jsonb)`, [data.id, kind, JSON.stringify(data)]);
  }

  async get(tx: Tx, kind: SandboxObjectKind, id: string, forUpdate = false): Promise<StripeObject | null> {
    const [row] = (await tx.query(`SELECT data FROM sandbox_payment_objects WHERE id = $1 AND kind = $2${forUpdate ? ' FOR UPDATE' : ''}`, [
      id,
      kind,
    ])) as { data: StripeObject }[];
    return row?.data ?? null;
  }

  async require(tx: Tx, kind: SandboxObjectKind, id: string, forUpdate = false): Promise<StripeObject> {
    const found = await this.get(tx, kind, id, forUpdate);
    if (!found) throw invalidRequest(`No such ${kind}: '${id}'`, 'resource_missing');
    return found;
  }

  async update(tx: Tx, data: StripeObject): Promise<void> {
    await tx.query(`UPDATE sandbox_payment_objects SET data = $2::jsonb, updated_at = now() WHERE id = $1`, [data.id, JSON.stringify(data)]);
  }
}
