/**
 * The sandbox's stand-in for Stripe's hosted Connect pages, so payout
 * onboarding works offline, end to end, in a browser (plain server-rendered
 * HTML, no script, nothing loaded from elsewhere):
 *  - GET  /v1/sandbox/connect/onboarding/:linkId — the page an account link
 *    opens: three forms — complete the account (payouts enabled), submit it
 *    with requirements still due, or have it disabled. An expired or used
 *    link redirects to the link's refresh_url, as Stripe does.
 *  - POST /v1/sandbox/connect/onboarding/:linkId — applies the choice, emits
 *    account.updated through the sandbox's event path (the webhook inbox), and
 *    redirects (303) to the link's return_url.
 *  - GET  /v1/sandbox/connect/dashboard/:linkId — what a login link opens: the
 *    account's state, read-only.
 * The link id (random, single use, minutes long) is the only credential, as
 * with Stripe's links. Only in SANDBOX mode; with Stripe these answer 404.
 */
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RestError, restErrorHandler } from '../../platform/http/rest-errors';
import { PAYMENTS_PORT, PaymentsPort } from '../payments.port';
import { WebhookInboxService } from '../webhooks/webhook-inbox.service';
import { SANDBOX_ONBOARDING_OUTCOMES, SandboxOnboardingOutcome, SandboxPaymentsAdapter } from './sandbox-payments.adapter';
import type { StripeObject } from './sandbox-store';

export const SANDBOX_ONBOARDING_PATH = '/v1/sandbox/connect/onboarding';
export const SANDBOX_DASHBOARD_PATH = '/v1/sandbox/connect/dashboard';
const LINK_ID = /^(acctlink|loginlink)_sandbox_[0-9a-f]{32}$/;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

@Injectable()
export class SandboxConnectRoutes implements OnModuleInit {
  private readonly log = new Logger('SandboxConnect');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(PAYMENTS_PORT) private readonly port: PaymentsPort,
    private readonly sandbox: SandboxPaymentsAdapter,
    private readonly inbox: WebhookInboxService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const errorHandler = restErrorHandler({ error: (obj, msg) => this.log.error(obj, msg) });
    void fastify.register(async (scope) => {
      // Encapsulated: the HTML forms' body parser exists only here.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) =>
        done(null, Object.fromEntries(new URLSearchParams(body as string))),
      );
      scope.get(`${SANDBOX_ONBOARDING_PATH}/:linkId`, { errorHandler }, (req, reply) => this.page(req, reply));
      scope.post(`${SANDBOX_ONBOARDING_PATH}/:linkId`, { errorHandler }, (req, reply) => this.submit(req, reply));
      scope.get(`${SANDBOX_DASHBOARD_PATH}/:linkId`, { errorHandler }, (req, reply) => this.dashboard(req, reply));
    });
  }

  private linkId(req: FastifyRequest, prefix: 'acctlink' | 'loginlink'): string {
    if (this.port.mode !== 'sandbox') throw new RestError(404, 'not_found_error', 'not_found', 'Sandbox pages exist only in SANDBOX payments mode');
    const id = (req.params as { linkId?: string }).linkId ?? '';
    if (!LINK_ID.test(id) || !id.startsWith(`${prefix}_`)) throw new RestError(404, 'not_found_error', 'link_not_found', 'No such link');
    return id;
  }

  private async page(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const id = this.linkId(req, 'acctlink');
    const found = await this.sandbox.accountLink(id);
    if (!found) throw new RestError(404, 'not_found_error', 'link_not_found', 'No such account link');
    if (!found.usable) return void (await reply.header('cache-control', 'no-store').redirect(found.link.refresh_url as string, 303));
    await html(reply, onboardingPage(id, found.account));
  }

  private async submit(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const id = this.linkId(req, 'acctlink');
    const outcome = (req.body as Record<string, string> | undefined)?.outcome;
    if (!outcome || !(SANDBOX_ONBOARDING_OUTCOMES as readonly string[]).includes(outcome)) {
      throw new RestError(400, 'invalid_request_error', 'invalid_outcome', `outcome must be one of ${SANDBOX_ONBOARDING_OUTCOMES.join(', ')}`, 'outcome');
    }
    const done = await this.sandbox.completeOnboarding(id, outcome as SandboxOnboardingOutcome);
    if (done === null) throw new RestError(404, 'not_found_error', 'link_not_found', 'No such account link');
    if (done === 'expired') {
      const found = await this.sandbox.accountLink(id);
      return void (await reply.header('cache-control', 'no-store').redirect(found!.link.refresh_url as string, 303));
    }
    // The event is in the inbox; process it before the browser asks for the return page, as a prompt webhook would.
    await this.inbox.kick();
    await reply.header('cache-control', 'no-store').redirect(done.returnUrl, 303);
  }

  private async dashboard(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const id = this.linkId(req, 'loginlink');
    const account = await this.sandbox.loginLinkAccount(id);
    if (!account) throw new RestError(404, 'not_found_error', 'link_not_found', 'No such login link, or it has expired');
    await html(reply, dashboardPage(account));
  }
}

async function html(reply: FastifyReply, body: string): Promise<void> {
  await reply
    .status(200)
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; form-action 'self' http: https:; style-src 'unsafe-inline'")
    .type('text/html; charset=utf-8')
    .send(body);
}

function stateList(account: StripeObject): string {
  const r = (account.requirements ?? {}) as { currently_due?: string[]; past_due?: string[]; disabled_reason?: string | null };
  return `<dl>
<dt>Account</dt><dd id="account-id"><code>${esc(account.id)}</code></dd>
<dt>Details submitted</dt><dd>${account.details_submitted ? 'yes' : 'no'}</dd>
<dt>Payouts enabled</dt><dd id="payouts-enabled">${account.payouts_enabled ? 'yes' : 'no'}</dd>
<dt>Transfers</dt><dd>${esc(String(account.capabilities?.transfers ?? 'not requested'))}</dd>
<dt>Currently due</dt><dd>${esc((r.currently_due ?? []).join(', ') || 'nothing')}</dd>
<dt>Past due</dt><dd>${esc((r.past_due ?? []).join(', ') || 'nothing')}</dd>
<dt>Disabled reason</dt><dd>${esc(r.disabled_reason ?? 'none')}</dd>
</dl>`;
}

function onboardingPage(linkId: string, account: StripeObject): string {
  const action = `${SANDBOX_ONBOARDING_PATH}/${linkId}`;
  const form = (outcome: SandboxOnboardingOutcome, label: string, help: string) =>
    `<form method="post" action="${esc(action)}"><input type="hidden" name="outcome" value="${outcome}"><button type="submit" id="${outcome}">${esc(label)}</button> <small>${esc(help)}</small></form>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox payout onboarding</title>
<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto}form{margin:1rem 0}</style></head>
<body>
<h1>Sandbox payout onboarding</h1>
<p>This page stands in for the payment processor's hosted onboarding. No real account or money is involved.</p>
${stateList(account)}
${form('complete', 'Complete onboarding', 'details submitted, transfers active, payouts enabled')}
${form('requirements_due', 'Submit with requirements due', 'the account stays restricted until more information is provided')}
${form('disable', 'Disable the account', 'the processor rejects the account')}
</body></html>`;
}

function dashboardPage(account: StripeObject): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox Express dashboard</title></head>
<body><h1>Sandbox Express dashboard</h1>${stateList(account)}</body></html>`;
}
