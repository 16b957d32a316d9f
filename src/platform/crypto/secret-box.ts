/**
 * Seals secrets at rest (teacher upstream credentials now, watermark keys
 * later) with AES-256-GCM under the key from configuration (`SECRETS_KEY`).
 *
 * Sealed format: `version (1 byte) | iv (12 bytes) | tag (16 bytes) | ciphertext`.
 * The caller's `context` (e.g. `teacher_upstream:<modelId>`) is bound as
 * additional authenticated data together with the version byte, so a sealed
 * value copied to another row (another context) does not open.
 *
 * Rotation: a value is stored with the id of the key that sealed it (`keyId`,
 * the first 16 hex characters of SHA-256 over the key bytes — it identifies the
 * key without revealing it). Opening accepts the current key and the retired
 * ones listed in `SECRETS_KEY_PREVIOUS`; sealing always uses the current key.
 *
 * Nothing here ever puts a plaintext (or a key) into an error message.
 */
import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;
/** HKDF info of the fingerprint key: separate from the sealing key, never used to encrypt. */
const FINGERPRINT_INFO = 'beiming/secret-box/fingerprint/v1';

export interface SealedSecret {
  sealed: Buffer;
  /** Which key sealed it (see `SecretBox.keyIdOf`); store it beside the sealed bytes. */
  keyId: string;
}

/** A sealed value that cannot be opened: unknown key, wrong context, tampered or malformed bytes. */
export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/** 32 bytes from base64 or base64url (what AppConfig accepts). */
export function decodeSecretsKey(encoded: string, setting = 'SECRETS_KEY'): Buffer {
  const key = Buffer.from(encoded.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== KEY_BYTES) throw new SecretBoxError(`${setting} must decode to ${KEY_BYTES} bytes (got ${key.length})`);
  return key;
}

@Injectable()
export class SecretBox {
  private readonly currentKey: Buffer;
  /** The current key's id: values sealed under another id may be re-sealed. */
  readonly currentKeyId: string;
  private readonly keys = new Map<string, Buffer>();
  private readonly fingerprintKey: Buffer;

  constructor(config: AppConfig) {
    this.currentKey = decodeSecretsKey(config.secretsKey);
    this.currentKeyId = SecretBox.keyIdOf(this.currentKey);
    this.keys.set(this.currentKeyId, this.currentKey);
    for (const encoded of config.previousSecretsKeys) {
      const key = decodeSecretsKey(encoded, 'SECRETS_KEY_PREVIOUS');
      const id = SecretBox.keyIdOf(key);
      if (!this.keys.has(id)) this.keys.set(id, key);
    }
    this.fingerprintKey = Buffer.from(hkdfSync('sha256', this.currentKey, Buffer.alloc(0), FINGERPRINT_INFO, KEY_BYTES));
  }

  /** First 16 hex characters of SHA-256 over the key bytes. */
  static keyIdOf(key: Buffer): string {
    return createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  /** Encrypts under the current key with a fresh random IV; `context` must be given again to open. */
  seal(plaintext: string, context: string): SealedSecret {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.currentKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(VERSION, context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]);
    return { sealed, keyId: this.currentKeyId };
  }

  /** The plaintext, or a SecretBoxError (unknown key id, wrong context, tampered or malformed value). */
  open(sealed: Buffer, keyId: string, context: string): string {
    const key = this.keys.get(keyId);
    if (!key) {
      throw new SecretBoxError(
        `Cannot open a secret sealed with key ${keyId}: it is neither SECRETS_KEY (${this.currentKeyId}) nor listed in SECRETS_KEY_PREVIOUS`,
      );
    }
    if (sealed.length < HEADER_BYTES) throw new SecretBoxError(`Cannot open a secret: sealed value is too short (${sealed.length} bytes)`);
    const version = sealed[0];
    if (version !== VERSION) throw new SecretBoxError(`Cannot open a secret: unknown sealed format version ${version}`);
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, HEADER_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(version, context));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(`Cannot open a secret for ${context}: authentication failed (tampered, or sealed for another context)`);
    }
  }

  /**
   * A short label telling users which credential is configured, without
   * revealing it: `sha256:` + 12 hex characters of HMAC-SHA256 under a key
   * derived from SECRETS_KEY (so a low-entropy secret cannot be guessed from its
   * fingerprint without the key). Stable for a given SECRETS_KEY; after a
   * rotation, new fingerprints differ from stored ones for the same secret.
   */
  fingerprint(secret: string): string {
    return `sha256:${createHmac('sha256', this.fingerprintKey).update(secret, 'utf8').digest('hex').slice(0, 12)}`;
  }
}

function aad(version: number, context: string): Buffer {
  return Buffer.concat([Buffer.from([version]), Buffer.from(context, 'utf8')]);
}
