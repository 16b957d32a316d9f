/**
 * Payout onboarding of vendors: each organization gets ONE connected account
 * at the processor (Stripe Connect, or the sandbox's stand-in), created on the
 * first `startPayoutOnboarding`, and a fresh onboarding link on every call.
 *
 * One account per organization, also under concurrent calls: the processor
 * call cannot run inside a database transaction, so every attempt sends the
 * idempotency key `org:<id>:connect-account` (the processor answers concurrent
 * and repeated requests with the same account) and the row is keyed by the
 * organization (the first insert wins; the others read it).
 *
 * The account's state follows the processor: an account event only counts
 * one more generation to read (in the inbox's transaction); after the commit
 * the account is re-read from the processor (`retrieveConnectedAccount`) and
 * stored unless a read after more events is stored already. So duplicated,
 * reordered or stale events end in the processor's current state, and a
 * failed read is retried by the sweep job.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../identity/access.service';
import { PaymentsUnavailableError } from '../payments/payments.errors';
import { ConnectedAccount, PAYMENTS_PORT, PaymentsMode, PaymentsPort } from '../payments/payments.port';
import { Principal } from '../platform/auth/principal';
import { Clock } from '../platform/clock/clock';
import { AppConfig } from '../platform/config/app-config';
import { Database } from '../platform/database/transaction';
import { ConflictError, DependencyUnavailableError, ForbiddenError, NotFoundError } from '../platform/errors/app-error';
import { ONBOARDING_STATE_TTL_SECONDS, signOnboardingState } from './onboarding-state';
import { PayoutAccountRow, PayoutAccountsRepository } from './payout-accounts.repository';

export const ONBOARDING_REFRESH_PATH = '/v1/payouts/onboarding/refresh';
export const ONBOARDING_RETURN_PATH = '/v1/payouts/onboarding/return';

export interface PayoutAccountState {
  organizationId: string;
  mode: PaymentsMode;
  accountId: string;
  chargesEnabled: boolean;
  payoutsEnabled: boolean;
  detailsSubmitted: boolean;
  currentlyDue: string[];
  pastDue: string[];
  disabledReason: string | null;
  /** The transfers capability is active and nothing disables the account. */
  canReceiveTransfers: boolean;
  /** When the stored state was last read from the processor (null: never since the account was created). */
  syncedAt: Date | null;
  lastPayout: { payoutId: string; status: 'paid' | 'failed'; failureCode: string | null; createdAt: Date } | null;
}

export interface OnboardingLink {
  url: string;
  expiresAt: Date;
  account: PayoutAccountState;
}

export const canReceiveTransfers = (r: Pick<PayoutAccountRow, 'transfersCapability' | 'disabledReason'>): boolean =>
  r.transfersCapability === 'active' && r.disabledReason === null;

export function toState(r: PayoutAccountRow): PayoutAccountState {
  return {
    organizationId: r.organizationId,
    mode: r.mode,
    accountId: r.accountId,
    chargesEnabled: r.chargesEnabled,
    payoutsEnabled: r.payoutsEnabled,
    detailsSubmitted: r.detailsSubmitted,
    currentlyDue: r.currentlyDue,
    pastDue: r.pastDue,
    disabledReason: r.disabledReason,
    canReceiveTransfers: canReceiveTransfers(r),
    syncedAt: r.syncedAt,
    lastPayout:
      r.lastPayoutId && r.lastPayoutStatus && r.lastPayoutCreated
        ? { payoutId: r.lastPayoutId, status: r.lastPayoutStatus, failureCode: r.lastPayoutFailureCode, createdAt: r.lastPayoutCreated }
        : null,
  };
}

@Injectable()
export class PayoutOnboardingService {
  private readonly log = new Logger('PayoutOnboarding');

  constructor(
    @Inject(PAYMENTS_PORT) private readonly port: PaymentsPort,
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly accounts: PayoutAccountsRepository,
  ) {}

  /** Owners: creates the organization's connected account once, and answers a fresh onboarding link. */
  async startOnboarding(principal: Principal, organizationId: string): Promise<OnboardingLink> {
    await this.access.requireOrganization(this.db.reader, principal, organizationId, 'owner');
    if (principal.kind !== 'user') throw new ForbiddenError('Payout onboarding needs a user session, not an API key');
    const row = await this.ensureAccount(principal, organizationId);
    return this.link(row, principal.userId);
  }

  /** Members (read); others NOT_FOUND. null before onboarding started (or only an account of the other mode exists). */
  async payoutAccount(principal: Principal, organizationId: string): Promise<PayoutAccountState | null> {
    await this.access.requireOrganization(this.db.reader, principal, organizationId, 'read');
    const row = await this.current(organizationId);
    return row ? toState(row) : null;
  }

  /** Owners: a single-use link into the Express dashboard; CONFLICT until onboarding has been submitted. */
  async dashboardLink(principal: Principal, organizationId: string): Promise<{ url: string }> {
    await this.access.requireOrganization(this.db.reader, principal, organizationId, 'owner');
    const row = await this.current(organizationId);
    if (!row) throw new NotFoundError('PayoutAccount', organizationId);
    if (!row.detailsSubmitted) throw new ConflictError('The payout account has not finished onboarding; use startPayoutOnboarding first', { reason: 'ONBOARDING_INCOMPLETE' });
    return this.processor(organizationId, () => this.port.createLoginLink(row.accountId));
  }

  /**
   * The refresh URL's work: a new onboarding link for an owner (the caller
   * resolved who it is from a session or the signed state). NOT_FOUND when
   * they are not in the organization or it has no account yet.
   */
  async refreshLink(principal: Principal, organizationId: string): Promise<OnboardingLink> {
    await this.access.requireOrganization(this.db.reader, principal, organizationId, 'owner');
    if (principal.kind !== 'user') throw new ForbiddenError('Payout onboarding needs a user session, not an API key');
    const row = await this.current(organizationId);
    if (!row) throw new NotFoundError('PayoutAccount', organizationId);
    return this.link(row, principal.userId);
  }

  /** The return URL's work: reads the account from the processor now (webhooks may lag) and answers its state. */
  async afterReturn(principal: Principal, organizationId: string): Promise<PayoutAccountState> {
    await this.access.requireOrganization(this.db.reader, principal, organizationId, 'read');
    const row = await this.current(organizationId);
    if (!row) throw new NotFoundError('PayoutAccount', organizationId);
    try {
      await this.syncAccount(row.accountId);
    } catch (err) {
      this.log.warn({ organizationId, accountId: row.accountId, err }, 'could not read the account after onboarding; showing the stored state');
    }
    return toState((await this.current(organizationId)) ?? row);
  }

  /**
   * Reads the account from the processor and stores its state, unless a read
   * made after more events is already stored. Never inside a transaction.
   */
  async syncAccount(accountId: string): Promise<boolean> {
    const before = await this.accounts.byAccount(this.db.reader, accountId);
    if (!before) return false;
    const generation = before.syncRequested;
    const account = await this.port.retrieveConnectedAccount(accountId);
    return this.storeState(accountId, generation, account);
  }

  /** The sweep: accounts whose latest event has not been followed by a successful read. */
  async syncPending(limit = 50): Promise<{ synced: number; failed: number }> {
    const ids = await this.accounts.unsynced(this.db.reader, limit);
    let synced = 0;
    let failed = 0;
    for (const id of ids) {
      try {
        await this.syncAccount(id);
        synced++;
      } catch (err) {
        failed++;
        this.log.warn({ accountId: id, err }, 'connected account read failed; the sweep will retry');
      }
    }
    return { synced, failed };
  }

  private async storeState(accountId: string, generation: bigint, account: ConnectedAccount): Promise<boolean> {
    const written = await this.db.transaction((tx) => this.accounts.saveState(tx, accountId, generation, account));
    if (!written) this.log.log({ accountId, generation: generation.toString() }, 'connected account read superseded by a newer one; not stored');
    return written;
  }

  private async ensureAccount(principal: Principal, organizationId: string): Promise<PayoutAccountRow> {
    const existing = await this.current(organizationId);
    if (existing) return existing;
    const country = await this.accounts.organizationCountry(this.db.reader, organizationId);
    if (country === undefined) throw new NotFoundError('Organization', organizationId);
    const account = await this.processor(organizationId, () =>
      this.port.createConnectedAccount({ organizationId, country, idempotencyKey: `org:${organizationId}:connect-account` }),
    );
    const created = await this.db.transaction(async (tx) => {
      const inserted = await this.accounts.saveAccount(tx, organizationId, this.port.mode, account.id);
      if (inserted) {
        await this.accounts.saveState(tx, account.id, 0n, account);
        await this.audit.record(tx, principal, {
          action: 'payouts.account_created',
          targetType: 'PayoutAccount',
          targetId: account.id,
          organizationId,
          data: { mode: this.port.mode, accountId: account.id },
        });
      }
      return inserted;
    });
    const row = await this.current(organizationId);
    if (!row) throw new Error(`payout account of ${organizationId} changed mode concurrently`);
    if (row.accountId !== account.id) this.log.warn({ organizationId, kept: row.accountId, extra: account.id }, 'a concurrent onboarding created another account; kept the first');
    else if (created) this.log.log({ organizationId, accountId: account.id, mode: this.port.mode }, 'connected account created');
    return row;
  }

  private async link(row: PayoutAccountRow, userId: string): Promise<OnboardingLink> {
    const state = signOnboardingState(this.config.jwtSecret, {
      organizationId: row.organizationId,
      userId,
      expiresAt: Math.floor(this.clock.now().getTime() / 1000) + ONBOARDING_STATE_TTL_SECONDS,
    });
    const query = `organizationId=${encodeURIComponent(row.organizationId)}&state=${encodeURIComponent(state)}`;
    const base = this.config.publicUrl;
    const { url, expiresAt } = await this.processor(row.organizationId, () =>
      this.port.createAccountLink({ accountId: row.accountId, refreshUrl: `${base}${ONBOARDING_REFRESH_PATH}?${query}`, returnUrl: `${base}${ONBOARDING_RETURN_PATH}?${query}` }),
    );
    return { url, expiresAt, account: toState(row) };
  }

  /** The organization's account in the current mode, or null. */
  private async current(organizationId: string): Promise<PayoutAccountRow | null> {
    const row = await this.accounts.byOrganization(this.db.reader, organizationId);
    return row && row.mode === this.port.mode ? row : null;
  }

  private async processor<T>(organizationId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof PaymentsUnavailableError) {
        this.log.warn({ organizationId, code: err.code, retryable: err.retryable }, 'payout onboarding call failed at the processor');
        throw new DependencyUnavailableError('The payment processor did not answer as expected; try again in a moment', {
          reason: 'PAYMENTS_UNAVAILABLE',
          retryable: err.retryable,
        });
      }
      throw err;
    }
  }
}
