/**
 * The onboarding link's two landing pages on this service (the processor
 * sends the vendor's browser here, so they are plain GETs):
 *  - GET /v1/payouts/onboarding/refresh?organizationId=…&state=… — the link
 *    expired or was used: makes a new one and redirects (302) to it. Owners only.
 *  - GET /v1/payouts/onboarding/return?organizationId=…&state=… — the vendor
 *    left the flow: reads the account from the processor and shows where it
 *    stands (a small HTML page). Members.
 * Both need authentication: an `Authorization: Bearer` session or API key, or
 * the signed `state` the link was made with (it names the user who started
 * onboarding; their role is checked again now). Without either: 401.
 * Another organization's id, or one without an account: 404.
 */
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PrincipalResolver } from '../identity/principal-resolver';
import { Principal } from '../platform/auth/principal';
import { Clock } from '../platform/clock/clock';
import { AppConfig } from '../platform/config/app-config';
import { AppError, ErrorCode, httpStatusFor, isClientFacing } from '../platform/errors/app-error';
import { RestError, RestErrorType, restErrorHandler } from '../platform/http/rest-errors';
import { isUuid } from '../platform/validation/uuid';
import { verifyOnboardingState } from './onboarding-state';
import { ONBOARDING_REFRESH_PATH, ONBOARDING_RETURN_PATH, PayoutAccountState, PayoutOnboardingService } from './payout-onboarding.service';

const REST_TYPE: Partial<Record<ErrorCode, RestErrorType>> = {
  [ErrorCode.UNAUTHENTICATED]: 'authentication_error',
  [ErrorCode.FORBIDDEN]: 'permission_error',
  [ErrorCode.NOT_FOUND]: 'not_found_error',
  [ErrorCode.BAD_USER_INPUT]: 'invalid_request_error',
  [ErrorCode.CONFLICT]: 'invalid_request_error',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

@Injectable()
export class PayoutOnboardingRoutes implements OnModuleInit {
  private readonly log = new Logger('PayoutOnboardingRoutes');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly principals: PrincipalResolver,
    private readonly onboarding: PayoutOnboardingService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const errorHandler = restErrorHandler({ error: (obj, msg) => this.log.error(obj, msg) });
    fastify.get(ONBOARDING_REFRESH_PATH, { errorHandler }, (req, reply) => this.refresh(req, reply));
    fastify.get(ONBOARDING_RETURN_PATH, { errorHandler }, (req, reply) => this.returned(req, reply));
  }

  private async refresh(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { principal, organizationId } = await this.authenticate(req);
    const link = await this.mapErrors(() => this.onboarding.refreshLink(principal, organizationId));
    await reply.header('cache-control', 'no-store').redirect(link.url, 302);
  }

  private async returned(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { principal, organizationId } = await this.authenticate(req);
    const state = await this.mapErrors(() => this.onboarding.afterReturn(principal, organizationId));
    await reply.status(200).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(returnPage(state));
  }

  /** The organization asked about, and who asks: a bearer credential, else the signed state (which must name the same organization). */
  private async authenticate(req: FastifyRequest): Promise<{ principal: Principal; organizationId: string }> {
    const query = req.query as Record<string, unknown>;
    const organizationId = typeof query.organizationId === 'string' ? query.organizationId : '';
    if (!isUuid(organizationId)) throw new RestError(400, 'invalid_request_error', 'invalid_organization_id', 'organizationId must be a UUID', 'organizationId');
    if (req.headers.authorization !== undefined) {
      const principal = await this.mapErrors(() => this.principals.resolve(req.headers.authorization));
      if (principal) return { principal, organizationId };
    }
    const token = typeof query.state === 'string' ? query.state : '';
    const state = token ? verifyOnboardingState(this.config.jwtSecret, token, Math.floor(this.clock.now().getTime() / 1000)) : null;
    if (!state || state.organizationId !== organizationId) {
      throw new RestError(401, 'authentication_error', 'unauthenticated', 'Log in (Authorization: Bearer …) or use the link from startPayoutOnboarding, whose state has not expired');
    }
    // The user may have lost their admin flag or left since: the access check runs on the live membership.
    return { principal: { kind: 'user', userId: state.userId, isAdmin: false }, organizationId };
  }

  private async mapErrors<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof AppError && isClientFacing(err)) {
        throw new RestError(httpStatusFor(err.code), REST_TYPE[err.code] ?? 'server_error', err.code.toLowerCase(), err.message);
      }
      throw err;
    }
  }
}

function returnPage(s: PayoutAccountState): string {
  const list = (items: string[]) => (items.length ? `<ul>${items.map((i) => `<li><code>${escapeHtml(i)}</code></li>`).join('')}</ul>` : '<p>none</p>');
  const headline = s.canReceiveTransfers
    ? 'Your payout account is ready: earnings can be transferred to it.'
    : s.disabledReason
      ? `Your payout account is restricted (${escapeHtml(s.disabledReason)}).`
      : 'Your payout account is not ready yet.';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Payout onboarding</title></head>
<body>
<h1>Payout onboarding</h1>
<p id="headline">${headline}</p>
<dl>
<dt>Account</dt><dd id="account-id"><code>${escapeHtml(s.accountId)}</code></dd>
<dt>Payouts enabled</dt><dd id="payouts-enabled">${s.payoutsEnabled ? 'yes' : 'no'}</dd>
<dt>Details submitted</dt><dd id="details-submitted">${s.detailsSubmitted ? 'yes' : 'no'}</dd>
<dt>Can receive transfers</dt><dd id="can-receive-transfers">${s.canReceiveTransfers ? 'yes' : 'no'}</dd>
</dl>
<h2>Currently due</h2>${list(s.currentlyDue)}
<h2>Past due</h2>${list(s.pastDue)}
<p>You can close this window.</p>
</body></html>`;
}
