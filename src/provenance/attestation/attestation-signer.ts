/**
 * Signs attestation statements with the configured Ed25519 key: the signed
 * bytes are the RFC 8785 canonical JSON of the statement (UTF-8), the
 * signature is pure Ed25519 (RFC 8032) over them, base64url.
 */
import { Injectable } from '@nestjs/common';
import { sign } from 'node:crypto';
import { AttestationKeyPair, AttestationKeysService } from './attestation-keys.service';
import {
  AttestationContent,
  AttestationDocument,
  AttestationStatement,
  buildAttestationStatement,
  canonicalJson,
} from './attestation.statement';

/** Signs a statement already built for `key` (its keyId must be the key's). */
export function signStatement(statement: AttestationStatement, key: AttestationKeyPair): AttestationDocument {
  if (statement.keyId !== key.keyId) throw new Error(`statement names key ${statement.keyId}, signing key is ${key.keyId}`);
  const payload = canonicalJson(statement);
  const signature = sign(null, Buffer.from(payload, 'utf8'), key.privateKey).toString('base64url');
  // The convenience copy is parsed back from the payload, so it is exactly what was signed.
  return { payload, signature, keyId: key.keyId, statement: JSON.parse(payload) as AttestationStatement };
}

@Injectable()
export class AttestationSigner {
  constructor(private readonly keys: AttestationKeysService) {}

  /** The id of the key new attestations are signed with. */
  get keyId(): string {
    return this.keys.currentKey.keyId;
  }

  /**
   * Builds the statement (stamped `issuedAt` — business time, the caller's Clock — and the current
   * key id) and signs it. The public key is recorded before anything is signed
   * with it, so a stored attestation always names a published key.
   */
  async sign(content: AttestationContent, issuedAt: Date): Promise<AttestationDocument> {
    await this.keys.ensureCurrentKeyStored();
    const key = this.keys.currentKey;
    const statement = buildAttestationStatement({
      lineage: content.lineage,
      royaltyStack: content.royaltyStack,
      certification: content.certification,
      issuedAt,
      keyId: key.keyId,
    });
    return signStatement(statement, key);
  }
}
