/**
 * Events of connected accounts (from the Connect endpoint, or the sandbox):
 *  - account.updated: the event only says "read me again" — one more
 *    generation is counted in the inbox's transaction, and the account is
 *    read from the processor once that has committed (never inside it). The
 *    payload's state is NOT stored: events arrive duplicated and in any order;
 *    the processor's current state is what counts.
 *  - payout.paid / payout.failed (the payout is the connected account's own,
 *    named by the event's `account`): recorded on the account row — latest
 *    payout by creation time, failed overriding paid for the same payout.
 * Events about accounts that are not ours are logged and ignored.
 */
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { StripeEventLike, WebhookHandlers } from '../payments/webhooks/webhook-handlers';
import { afterCommit, Tx } from '../platform/database/transaction';
import { PayoutAccountsRepository } from './payout-accounts.repository';
import { PayoutOnboardingService } from './payout-onboarding.service';

const ACCOUNT_ID = /^acct_[A-Za-z0-9_]{1,250}$/;

@Injectable()
export class ConnectEventHandlers implements OnModuleInit {
  private readonly log = new Logger('ConnectEvents');

  constructor(
    private readonly handlers: WebhookHandlers,
    private readonly accounts: PayoutAccountsRepository,
    private readonly onboarding: PayoutOnboardingService,
  ) {}

  onModuleInit(): void {
    this.handlers.on('account.updated', (tx, event) => this.accountUpdated(tx, event));
    this.handlers.on('payout.paid', (tx, event) => this.payout(tx, event, 'paid'));
    this.handlers.on('payout.failed', (tx, event) => this.payout(tx, event, 'failed'));
  }

  async accountUpdated(tx: Tx, event: StripeEventLike): Promise<void> {
    const object = event.data.object as { id?: unknown };
    const accountId = typeof event.account === 'string' ? event.account : typeof object.id === 'string' ? object.id : null;
    if (!accountId || !ACCOUNT_ID.test(accountId)) {
      this.log.warn({ eventId: event.id }, 'account.updated without an account id: ignored');
      return;
    }
    const generation = await this.accounts.requestSync(tx, accountId);
    if (generation === null) {
      this.log.log({ eventId: event.id, accountId }, 'account.updated for an account that is not ours: ignored');
      return;
    }
    afterCommit(tx, async () => {
      try {
        await this.onboarding.syncAccount(accountId);
      } catch (err) {
        this.log.warn({ eventId: event.id, accountId, err }, 'connected account read failed after account.updated; the sweep will retry');
      }
    });
  }

  async payout(tx: Tx, event: StripeEventLike, status: 'paid' | 'failed'): Promise<void> {
    const payout = event.data.object as { id?: unknown; created?: unknown; failure_code?: unknown };
    const accountId = event.account;
    if (typeof accountId !== 'string' || !ACCOUNT_ID.test(accountId) || typeof payout.id !== 'string') {
      this.log.log({ eventId: event.id, type: event.type }, 'payout event of the platform account (no connected account): ignored');
      return;
    }
    const changed = await this.accounts.recordPayout(tx, accountId, {
      payoutId: payout.id,
      status,
      failureCode: status === 'failed' && typeof payout.failure_code === 'string' ? payout.failure_code : null,
      createdSeconds: typeof payout.created === 'number' ? payout.created : event.created,
    });
    if (!changed) this.log.log({ eventId: event.id, accountId, payoutId: payout.id, status }, 'payout event ignored: unknown account, or a newer payout state is recorded');
  }
}
