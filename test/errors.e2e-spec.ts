/**
 * Bugs and unexpected failures: the client sees a generic INTERNAL error with
 * the request id, the log gets the error with its stack and the same id.
 * That holds for an unexpected exception and for an AppError whose code is
 * INTERNAL (e.g. InvalidPostingError, a bug in the caller by its own comment).
 */
import { Logger } from '@nestjs/common';
import { AuthService } from '../src/identity/auth.service';
import { InvalidPostingError, PostingErrorReason } from '../src/ledger/ledger.errors';
import { DependencyUnavailableError, NotFoundError } from '../src/platform/errors/app-error';
import { AttestationKeysService } from '../src/provenance/attestation/attestation-keys.service';
import { startTestApp, TestApp } from './support/app';
import { signUp, TestUser } from './support/users';

describe('unexpected errors', () => {
  let t: TestApp;
  let u: TestUser;
  let logged: jest.SpyInstance;
  beforeAll(async () => {
    t = await startTestApp();
    u = await signUp(t);
  });
  afterAll(() => t.close());
  beforeEach(() => {
    logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  const meFails = async (error: Error) => {
    jest.spyOn(t.app.get(AuthService), 'me').mockRejectedValueOnce(error);
    const res = await t.request({ method: 'POST', url: '/graphql', body: { query: '{ me { id } }' }, headers: { authorization: `Bearer ${u.token}` } });
    return { res, requestId: res.headers['x-request-id'] as string };
  };

  it.each([
    ['an unexpected exception', () => new Error('connection to 10.0.0.5 refused: secret detail'), 'unhandled error in resolver'],
    ['an AppError with code INTERNAL', () => new InvalidPostingError(PostingErrorReason.UNBALANCED, 'secret detail: account 4000 off by 17'), 'internal error'],
  ])('%s: generic message and request id to the client, the error with stack and request id to the log', async (_label, make, logMessage) => {
    const error = make();
    const { res, requestId } = await meFails(error);
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.errors).toEqual([
      { message: 'Internal server error', locations: [{ line: 1, column: 3 }], path: ['me'], extensions: { code: 'INTERNAL', requestId } },
    ]);
    expect(res.text).not.toContain('secret detail');
    expect(res.text).not.toContain('UNBALANCED');
    expect(logged).toHaveBeenCalledTimes(1);
    const [payload, message] = logged.mock.calls[0] as [{ err: Error; reqId: string; path: string }, string];
    expect(message).toBe(logMessage);
    expect(payload.err).toBe(error);
    expect(payload.err.stack).toContain('secret detail');
    expect(payload.reqId).toBe(requestId);
    expect(payload.path).toBe('me');
  });

  it.each([
    ['NOT_FOUND', () => new NotFoundError('User', 'u-1'), { message: 'User u-1 not found', extensions: { code: 'NOT_FOUND', entity: 'User' } }],
    [
      'INTERNAL for an unavailable dependency (not a bug)',
      () => new DependencyUnavailableError('The payment processor did not answer; try again', { reason: 'PAYMENTS_UNAVAILABLE', retryable: true }),
      { message: 'The payment processor did not answer; try again', extensions: { code: 'INTERNAL', reason: 'PAYMENTS_UNAVAILABLE', retryable: true } },
    ],
  ])('other AppErrors still reach the client as they are, unlogged: %s', async (_label, make, expected) => {
    const { res } = await meFails(make());
    expect(res.body.errors[0]).toMatchObject(expected);
    expect(res.body.errors[0].extensions).not.toHaveProperty('requestId');
    expect(logged).not.toHaveBeenCalled();
  });

  it('REST: an INTERNAL AppError answers 500 with a generic message and the request id, and is logged', async () => {
    const error = new InvalidPostingError(PostingErrorReason.BAD_ACCOUNT, 'secret detail: unknown account code 9999');
    jest.spyOn(t.app.get(AttestationKeysService), 'jwks').mockRejectedValueOnce(error);
    const res = await t.request({ method: 'GET', url: '/.well-known/beiming-keys.json' });
    const requestId = res.headers['x-request-id'];
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: 'Internal server error', requestId } });
    expect(logged).toHaveBeenCalledWith({ err: error, reqId: requestId }, 'internal error');
  });
});
