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
import { SandboxRepository } from './sandbox.repository';

export type StripeObject = Record<string, any> & { id: string };

const PREFIX: Record<SandboxObjectKind, string> = {
  customer: 'cus',
  setup_intent: 'seti',
  payment_intent: 'pi',
  charge: 'ch',
  balance_transaction: 'txn',
  refund: 're',
  dispute: 'du',
  account: 'acct',
  account_link: 'acctlink',
  login_link: 'loginlink',
  transfer: 'tr',
  transfer_reversal: 'trr',
};

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
  constructor(private readonly objects: SandboxRepository) {}

  /**
   * Under the key's lock: the earlier response for the same request, or null
   * (then the caller creates the objects and calls `saveIdempotent`).
   */
  async replay(tx: Tx, kind: SandboxObjectKind, idempotencyKey: string, hash: string): Promise<StripeObject | null> {
    await this.objects.lockIdempotencyKey(tx, kind, idempotencyKey);
    const row = await this.objects.idempotentResponse(tx, kind, idempotencyKey);
    if (!row) return null;
    if (row.requestHash !== hash) {
      throw invalidRequest(
        `Keys for idempotent requests can only be used with the same parameters they were first used with (key ${idempotencyKey})`,
        'idempotency_error',
      );
    }
    return row.response;
  }

  /** The object a request created, with the response later retries replay. */
  async saveIdempotent(tx: Tx, kind: SandboxObjectKind, idempotencyKey: string, hash: string, data: StripeObject, response: StripeObject = data): Promise<void> {
    await this.objects.insertIdempotent(tx, kind, idempotencyKey, hash, data, response);
  }

  /** An object created as a consequence of another (a charge of a PaymentIntent, …). */
  async insert(tx: Tx, kind: SandboxObjectKind, data: StripeObject): Promise<void> {
    await this.objects.insert(tx, kind, data);
  }

  async get(tx: Tx, kind: SandboxObjectKind, id: string, forUpdate = false): Promise<StripeObject | null> {
    return this.objects.byId(tx, kind, id, forUpdate);
  }

  async require(tx: Tx, kind: SandboxObjectKind, id: string, forUpdate = false): Promise<StripeObject> {
    const found = await this.get(tx, kind, id, forUpdate);
    if (!found) throw invalidRequest(`No such ${kind}: '${id}'`, 'resource_missing');
    return found;
  }

  async update(tx: Tx, data: StripeObject): Promise<void> {
    await this.objects.update(tx, data);
  }
}
