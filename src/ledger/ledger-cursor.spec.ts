import { BadInputError } from '../platform/errors/app-error';
import { decodeEntryCursor, decodeTransactionCursor, encodeEntryCursor, encodeTransactionCursor } from './ledger-cursor';

const ID = '0b7c5f0e-3d0a-4a53-9a53-5d1f2f1c9e11';

describe('ledger cursors', () => {
  it('round-trip', () => {
    const c = { occurredAtMicros: '1924992000123456', id: ID };
    expect(decodeTransactionCursor(encodeTransactionCursor(c))).toEqual(c);
    expect(decodeEntryCursor(encodeEntryCursor('42'))).toBe('42');
  });

  it('refuse anything they did not produce, as BAD_USER_INPUT', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    for (const bad of ['', '!!', b64('ltx:1:not-a-uuid'), b64(`lent:1`), b64(`ltx:1:${ID}x`), `${encodeTransactionCursor({ occurredAtMicros: '1', id: ID })}=`]) {
      expect(() => decodeTransactionCursor(bad)).toThrow(BadInputError);
    }
    for (const bad of ['', b64('lent:0'), b64('lent:-1'), b64(`lent:${2n ** 63n}`), b64(`ltx:1:${ID}`), b64('lent:01')]) {
      expect(() => decodeEntryCursor(bad)).toThrow(BadInputError);
    }
  });
});
