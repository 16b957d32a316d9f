/**
 * The SQL of the attestation key registry (attestation_keys). Every method
 * takes the caller's EntityManager (the transaction's, or the reader), so none
 * can run outside the transaction by accident.
 */
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface AttestationKeyRow {
  key_id: string;
  public_key: string;
}

@Injectable()
export class AttestationKeysRepository {
  /** Every Ed25519 key that ever signed, oldest first (the order of the published key set). */
  async allEd25519(em: EntityManager): Promise<AttestationKeyRow[]> {
    return em.query(`SELECT "key_id", "public_key" FROM "attestation_keys" WHERE "algorithm" = 'Ed25519' ORDER BY "created_at", "key_id"`);
  }

  /** Serialises key registration across instances booting at once, until the transaction ends. */
  async lockRegistry(tx: EntityManager): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('beiming:attestation_keys'))`);
  }

  async insertIfAbsent(tx: EntityManager, keyId: string, publicKey: string): Promise<void> {
    await tx.query(`INSERT INTO "attestation_keys" ("key_id", "algorithm", "public_key") VALUES ($1, 'Ed25519', $2) ON CONFLICT ("key_id") DO NOTHING`, [
      keyId,
      publicKey,
    ]);
  }

  async publicKeyOf(tx: EntityManager, keyId: string): Promise<string | null> {
    const [row] = (await tx.query(`SELECT "public_key" FROM "attestation_keys" WHERE "key_id" = $1`, [keyId])) as { public_key: string }[];
    return row?.public_key ?? null;
  }

  /** The given key is current, every other one retired; rows already in that state are not rewritten. */
  async retireAllBut(tx: EntityManager, keyId: string): Promise<void> {
    await tx.query(
      `UPDATE "attestation_keys" SET "retired_at" = CASE WHEN "key_id" = $1 THEN NULL ELSE now() END
          WHERE ("key_id" = $1) = ("retired_at" IS NOT NULL)`,
      [keyId],
    );
  }
}
