/**
 * The attestation signing key and the public key set.
 *
 * The private key is an Ed25519 seed from configuration (ATTESTATION_SIGNING_KEY).
 * Its public key is recorded in `attestation_keys` at boot; rows are never
 * deleted, so after a rotation (restart with a new seed) the JWKS still lists
 * every key that ever signed, and old attestations keep verifying. Key ids
 * derive from the public key bytes (`bm-` + 16 hex of SHA-256): stable across
 * restarts and instances, no registry needed.
 */
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { AppConfig } from '../../platform/config/app-config';
import { Database } from '../../platform/database/transaction';
import { AttestationKeysRepository } from './attestation-keys.repository';
import { attestationKeyId } from './attestation.statement';
import type { AttestationJwk, AttestationJwks } from './verify-attestation';

const SEED_BYTES = 32;
/** PKCS#8 DER header of an Ed25519 private key (RFC 8410); the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** How long this process serves the JWKS from memory (the HTTP answer is cacheable for 300 s anyway). */
const JWKS_MEMO_MS = 30_000;

export interface AttestationKeyPair {
  keyId: string;
  /** Raw 32-byte public key, base64url (the JWK `x`, the `attestation_keys.public_key` column). */
  publicKey: string;
  privateKey: KeyObject;
}

/** Derives the key pair from a 32-byte seed given as base64url (or base64). */
export function attestationKeyFromSeed(encodedSeed: string, setting = 'ATTESTATION_SIGNING_KEY'): AttestationKeyPair {
  const seed = Buffer.from(encodedSeed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (seed.length !== SEED_BYTES) throw new Error(`${setting} must decode to ${SEED_BYTES} bytes (got ${seed.length})`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('could not derive the Ed25519 public key');
  return { keyId: attestationKeyId(Buffer.from(x, 'base64url')), publicKey: x, privateKey };
}

export function attestationJwk(keyId: string, publicKey: string): AttestationJwk {
  return { kty: 'OKP', crv: 'Ed25519', x: publicKey, kid: keyId, use: 'sig', alg: 'EdDSA' };
}

@Injectable()
export class AttestationKeysService implements OnApplicationBootstrap {
  private readonly log = new Logger('Attestation');
  private current: AttestationKeyPair | null = null;
  private stored: Promise<void> | null = null;
  private memo: { at: number; jwks: AttestationJwks } | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly db: Database,
    // A default so the service can also be built by hand (several instances booting at once, outside Nest).
    private readonly keys: AttestationKeysRepository = new AttestationKeysRepository(),
  ) {}

  /** The key that signs now (derived once from configuration). */
  get currentKey(): AttestationKeyPair {
    this.current ??= attestationKeyFromSeed(this.config.attestationSigningKey);
    return this.current;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.ensureCurrentKeyStored();
  }

  /**
   * Records the current public key (once per process; retried after a failure).
   * Safe when several instances boot at once: insert-or-nothing under an
   * advisory lock, then the retired marks are set.
   */
  ensureCurrentKeyStored(): Promise<void> {
    this.stored ??= this.storeCurrentKey().catch((err: unknown) => {
      this.stored = null;
      throw err;
    });
    return this.stored;
  }

  /** Every key that ever signed (current and retired), as a JWKS (RFC 7517 / RFC 8037). */
  async jwks(): Promise<AttestationJwks> {
    await this.ensureCurrentKeyStored();
    if (this.memo && Date.now() - this.memo.at < JWKS_MEMO_MS) return this.memo.jwks;
    const rows = await this.keys.allEd25519(this.db.reader);
    const jwks = { keys: rows.map((r) => attestationJwk(r.key_id, r.public_key)) };
    this.memo = { at: Date.now(), jwks };
    return jwks;
  }

  private async storeCurrentKey(): Promise<void> {
    const key = this.currentKey;
    await this.db.transaction(async (tx) => {
      await this.keys.lockRegistry(tx);
      await this.keys.insertIfAbsent(tx, key.keyId, key.publicKey);
      if ((await this.keys.publicKeyOf(tx, key.keyId)) !== key.publicKey) {
        // Only a 64-bit prefix collision of SHA-256 could get here: refuse rather than publish a wrong key.
        throw new Error(`attestation key id ${key.keyId} is already recorded for another public key`);
      }
      // Informational: the current key is not retired, every other one is (from now on).
      await this.keys.retireAllBut(tx, key.keyId);
    });
    this.memo = null;
    this.log.log(`attestations are signed with key ${key.keyId}`);
  }
}
