/** Unexpected failures: the client sees a generic INTERNAL error, the log gets the details. */
import { Logger } from '@nestjs/common';
import { AuthService } from '../src/identity/auth.service';
import { startTestApp, TestApp } from './support/app';
import { signUp } from './support/users';

describe('unexpected errors', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers INTERNAL without leaking the cause, and logs it', async () => {
    const u = await signUp(t);
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(t.app.get(AuthService), 'me').mockRejectedValueOnce(new Error('connection to 10.0.0.5 refused: secret detail'));
    try {
      const r = await t.gql(`{ me { id } }`, {}, u.token);
      expect(r.errors).toEqual([expect.objectContaining({ message: 'Internal server error', extensions: { code: 'INTERNAL' } })]);
      expect(JSON.stringify(r)).not.toContain('secret detail');
      const [[payload, message]] = logged.mock.calls as [[{ err: Error; path: string }, string]];
      expect(message).toBe('unhandled error in resolver');
      expect(payload.err.message).toContain('secret detail');
      expect(payload.path).toBe('me');
    } finally {
      logged.mockRestore();
    }
  });
});
