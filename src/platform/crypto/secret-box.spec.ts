import { createHash, randomBytes } from 'node:crypto';
import { loadConfig } from '../config/app-config';
import { decodeSecretsKey, SecretBox, SecretBoxError } from './secret-box';

const newKey = () => randomBytes(32).toString('base64url');

function box(secretsKey: string, previousSecretsKeys: string[] = []): SecretBox {
  return new SecretBox(loadConfig({}, { nodeEnv: 'test', jwtSecret: 'j'.repeat(40), secretsKey, previousSecretsKeys }));
}

const CONTEXT = 'teacher_upstream:0b6c1f44-7a0e-4a43-9c3e-9a3c1c2e5f10';

describe('SecretBox', () => {
  const key = newKey();
  const b = box(key);

  it('opens what it sealed (unicode and empty strings included)', () => {
    for (const plaintext of ['sk-live-0123456789abcdef', '', 'clé 🔑 密钥', 'x'.repeat(4096)]) {
      const { sealed, keyId } = b.seal(plaintext, CONTEXT);
      expect(b.open(sealed, keyId, CONTEXT)).toBe(plaintext);
    }
  });

  it('lays out version | iv | tag | ciphertext, and never contains the plaintext', () => {
    const plaintext = 'sk-live-this-must-not-appear';
    const { sealed } = b.seal(plaintext, CONTEXT);
    expect(sealed[0]).toBe(1);
    expect(sealed.length).toBe(1 + 12 + 16 + Buffer.byteLength(plaintext));
    expect(sealed.includes(Buffer.from(plaintext))).toBe(false);
  });

  it('uses a different IV (and ciphertext) every time', () => {
    const a = b.seal('same secret', CONTEXT).sealed;
    const c = b.seal('same secret', CONTEXT).sealed;
    expect(a.subarray(1, 13).equals(c.subarray(1, 13))).toBe(false);
    expect(a.equals(c)).toBe(false);
  });

  it('keyId is the first 16 hex of SHA-256 over the key bytes', () => {
    const expected = createHash('sha256').update(decodeSecretsKey(key)).digest('hex').slice(0, 16);
    expect(b.seal('x', CONTEXT).keyId).toBe(expected);
    expect(b.currentKeyId).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{16}$/);
  });

  it('accepts standard base64 keys (with padding) as well as base64url', () => {
    const raw = randomBytes(32);
    const std = box(raw.toString('base64'));
    const url = box(raw.toString('base64url'));
    expect(std.currentKeyId).toBe(url.currentKeyId);
    const { sealed, keyId } = std.seal('s', CONTEXT);
    expect(url.open(sealed, keyId, CONTEXT)).toBe('s');
  });

  it('does not open under another context (a value copied to another row)', () => {
    const { sealed, keyId } = b.seal('secret', CONTEXT);
    expect(() => b.open(sealed, keyId, 'teacher_upstream:00000000-0000-4000-8000-000000000000')).toThrow(SecretBoxError);
    expect(() => b.open(sealed, keyId, 'teacher_upstream:00000000-0000-4000-8000-000000000000')).toThrow(/authentication failed/);
  });

  it('refuses any tampered byte (version, iv, tag, ciphertext) and truncated values', () => {
    const { sealed, keyId } = b.seal('secret value', CONTEXT);
    for (let i = 0; i < sealed.length; i++) {
      const copy = Buffer.from(sealed);
      copy[i] ^= 0x01;
      expect(() => b.open(copy, keyId, CONTEXT)).toThrow(SecretBoxError);
    }
    expect(() => b.open(sealed.subarray(0, 20), keyId, CONTEXT)).toThrow(/too short/);
    expect(() => b.open(sealed.subarray(0, sealed.length - 1), keyId, CONTEXT)).toThrow(SecretBoxError);
    expect(() => b.open(Buffer.concat([sealed, Buffer.from([0])]), keyId, CONTEXT)).toThrow(SecretBoxError);
  });

  it('never puts the plaintext into its errors', () => {
    const plaintext = 'sk-very-secret-value';
    const { sealed, keyId } = b.seal(plaintext, CONTEXT);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 0xff;
    try {
      b.open(tampered, keyId, CONTEXT);
      throw new Error('opened a tampered value');
    } catch (err) {
      expect(err).toBeInstanceOf(SecretBoxError);
      expect(String((err as Error).message)).not.toContain(plaintext);
      expect(String((err as Error).message)).not.toContain(key);
    }
  });

  describe('rotation', () => {
    const oldKey = newKey();
    const before = box(oldKey);
    const { sealed, keyId } = before.seal('sealed before the rotation', CONTEXT);

    it('opens values sealed with a retired key listed in previousSecretsKeys, and seals with the new one', () => {
      const after = box(newKey(), [oldKey]);
      expect(keyId).toBe(before.currentKeyId);
      expect(after.currentKeyId).not.toBe(keyId);
      expect(after.open(sealed, keyId, CONTEXT)).toBe('sealed before the rotation');
      const resealed = after.seal('new', CONTEXT);
      expect(resealed.keyId).toBe(after.currentKeyId);
      expect(() => before.open(resealed.sealed, resealed.keyId, CONTEXT)).toThrow(/neither SECRETS_KEY/); // the old process cannot read new values
    });

    it('gives a clear error for a key id it does not hold', () => {
      const after = box(newKey());
      expect(() => after.open(sealed, keyId, CONTEXT)).toThrow(SecretBoxError);
      expect(() => after.open(sealed, keyId, CONTEXT)).toThrow(
        new RegExp(`key ${keyId}: it is neither SECRETS_KEY \\(${after.currentKeyId}\\) nor listed in SECRETS_KEY_PREVIOUS`),
      );
    });

    it('does not open with a different key under a forged key id', () => {
      // The key id only selects a key; authentication still decides.
      const other = box(newKey(), [newKey()]);
      expect(() => other.open(sealed, other.currentKeyId, CONTEXT)).toThrow(/authentication failed/);
    });
  });

  describe('fingerprint', () => {
    it('is a short stable label: sha256: + 12 hex', () => {
      const fp = b.fingerprint('sk-live-1');
      expect(fp).toMatch(/^sha256:[0-9a-f]{12}$/);
      expect(b.fingerprint('sk-live-1')).toBe(fp);
      expect(box(key).fingerprint('sk-live-1')).toBe(fp); // same key, another process
    });

    it('differs per secret', () => {
      const fps = new Set(['a', 'b', 'sk-live-1', 'sk-live-2', ''].map((s) => b.fingerprint(s)));
      expect(fps.size).toBe(5);
    });

    it('is keyed: not a plain hash of the secret, and another SECRETS_KEY gives another label', () => {
      const plain = createHash('sha256').update('sk-live-1').digest('hex').slice(0, 12);
      expect(b.fingerprint('sk-live-1')).not.toBe(`sha256:${plain}`);
      expect(box(newKey()).fingerprint('sk-live-1')).not.toBe(b.fingerprint('sk-live-1'));
    });
  });
});
