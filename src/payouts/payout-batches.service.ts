/**
 * Payout batches: one admin's snapshot of what may be paid out in a currency,
 * and the reads of batches and payouts.
 *
 * createPayoutBatch takes, in one transaction serialised per currency (an
 * advisory lock; the partial unique index on open payouts is the backstop),
 * every vendor whose available earnings (after the holdback, net of a
 * negative carry-forward) reach the currency's minimum, whose connected
 * account can receive transfers, who is not on a vendor hold and who has no
 * open payout in the currency. Each payout's amount is explained by ledger
 * lines (the entries on the vendor's payable and paid accounts not yet behind
 * a live payout, without pending earnings); a vendor whose lines do not add up
 * to its available earnings is skipped (LEDGER_MISMATCH), never paid an
 * amount its lines do not explain. Everyone else with anything owed or
 * pending is listed as skipped, with the reason. The work is set-based: a
 * fixed number of statements whatever the number of vendors.
 *
 * When nobody can be paid the batch is refused (CONFLICT NOTHING_TO_PAY, with
 * the skip counts) rather than written empty: an empty batch would still ask a
 * second admin to approve nothing and sit in the review queue; the refusal
 * tells the admin why at once and writes nothing.
 */
import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { EarningsBalance, EarningsBalanceService } from '../earnings/earnings-balance.service';
import { holdbackCutoff } from '../earnings/earnings-figures';
import { AccessService } from '../identity/access.service';
import type { Principal } from '../platform/auth/principal';
import { Clock } from '../platform/clock/clock';
import { AppConfig } from '../platform/config/app-config';
import { isUniqueViolation } from '../platform/database/pg-errors';
import { Database, Tx } from '../platform/database/transaction';
import { BadInputError, ConflictError, ForbiddenError, NotFoundError } from '../platform/errors/app-error';
import { assertUuid } from '../platform/errors/validation';
import { MAX_PAGE_SIZE } from '../platform/graphql/limits';
import { Money } from '../platform/money/money';
import { CursorParts, defineCursor } from '../platform/paging/cursor';
import { Page, pageOf } from '../platform/paging/page';
import { isCurrencyCode } from '../platform/validation/iso-codes';
import {
  CandidateLine,
  NewPayout,
  NewSkip,
  PayoutAccountNow,
  PayoutBatchRow,
  PayoutBatchesRepository,
  PayoutBatchStatus,
  PayoutLineRow,
  PayoutRow,
  SkipRow,
  StatusCount,
  VendorPayoutState,
} from './payout-batches.repository';
import { canReceiveTransfers } from './payout-onboarding.service';
import { snapshotHash } from './payout-snapshot';

export const SkipReason = {
  BELOW_MINIMUM: 'BELOW_MINIMUM',
  NO_PAYOUT_ACCOUNT: 'NO_PAYOUT_ACCOUNT',
  ACCOUNT_CANNOT_RECEIVE_TRANSFERS: 'ACCOUNT_CANNOT_RECEIVE_TRANSFERS',
  VENDOR_ON_HOLD: 'VENDOR_ON_HOLD',
  OPEN_PAYOUT: 'OPEN_PAYOUT',
  NOTHING_AVAILABLE: 'NOTHING_AVAILABLE',
  LEDGER_MISMATCH: 'LEDGER_MISMATCH',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

/** Batches newest first: (created_at, id) descending. */
const BATCH_CURSOR = defineCursor('payout-batch', [CursorParts.timeKey, CursorParts.uuid]);
/** A batch's payouts and skipped vendors by organization id. */
const BATCH_VENDOR_CURSOR = defineCursor('payout-batch-vendor', [CursorParts.uuid]);
/** A vendor's payouts newest first. */
const VENDOR_PAYOUT_CURSOR = defineCursor('vendor-payout', [CursorParts.timeKey, CursorParts.uuid]);

export interface PayoutDetail extends PayoutRow {
  lines: PayoutLineRow[];
  /** The connected account as it is now (null: the organization has none any more). */
  accountNow: PayoutAccountNow | null;
  cursor: string;
}

export interface SkipDetail extends SkipRow {
  cursor: string;
}

export interface BatchProgress {
  byStatus: StatusCount[];
  sentMinor: bigint;
  reversedMinor: bigint;
  /** Amount of the payouts that will be (or were) sent: neither HELD nor CANCELLED. */
  toSendMinor: bigint;
}

export interface BatchListRow extends PayoutBatchRow {
  cursor: string;
}

/** The vendor's figures a skip and the payout decision are made from. */
interface Candidate {
  balance: EarningsBalance;
  state: VendorPayoutState;
}

@Injectable()
export class PayoutBatchesService {
  private readonly log = new Logger('PayoutBatches');

  constructor(
    private readonly db: Database,
    private readonly repo: PayoutBatchesRepository,
    private readonly earnings: EarningsBalanceService,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /** Platform admins (users). The new IN_REVIEW batch. */
  async create(principal: Principal, currency: string): Promise<PayoutBatchRow> {
    const adminId = requireAdminUser(principal);
    if (!isCurrencyCode(currency)) throw new BadInputError([{ field: 'currency', message: 'currency must be an ISO 4217 code, upper-case' }]);
    const minimum = this.config.payoutMinimumByCurrency.get(currency);
    if (minimum === undefined) {
      throw new BadInputError([{ field: 'currency', message: `no payout minimum is configured for ${currency}: add it to PAYOUT_MINIMUMS to batch payouts in it` }]);
    }
    try {
      return await this.db.transaction(async (tx) => {
        await this.repo.lockCurrency(tx, currency);
        return this.createLocked(tx, principal, adminId, currency, minimum);
      });
    } catch (err) {
      // Only reachable if batch creation were not serialised: the index keeps one open payout per vendor and currency.
      if (isUniqueViolation(err, 'UQ_payouts_open_per_vendor')) {
        throw new ConflictError(`Another payout batch in ${currency} was created at the same time; retry`, { reason: 'CONCURRENT_BATCH' });
      }
      throw err;
    }
  }

  private async createLocked(tx: Tx, principal: Principal, adminId: string, currency: string, minimum: bigint): Promise<PayoutBatchRow> {
    const orgs = await this.repo.vendorCandidates(tx, currency);
    const balances = await this.earnings.balancesOfMany(tx, orgs, currency);
    // One "now" for the whole batch: the balances' own.
    const asOf = balances[0]?.asOf ?? this.clock.now();
    const holdbackDays = balances[0]?.holdbackDays ?? this.config.earningsHoldbackDays;
    const owed = balances.filter((b) => b.payable !== 0n || b.pending > 0n);
    const states = new Map((await this.repo.vendorStates(tx, owed.map((b) => b.organizationId), currency)).map((s) => [s.organizationId, s]));

    const skips: NewSkip[] = [];
    const eligible: Candidate[] = [];
    for (const balance of owed) {
      const state = states.get(balance.organizationId)!;
      const skip = this.skipOf(balance, state, minimum);
      if (skip) skips.push(skip);
      else eligible.push({ balance, state });
    }

    const lines = await this.repo.candidateLines(tx, eligible.map((c) => c.balance.organizationId), currency, holdbackCutoff(asOf, holdbackDays));
    const linesByOrg = groupBy(lines, (l) => l.organizationId);
    const payouts: NewPayout[] = [];
    for (const { balance, state } of eligible) {
      const own = linesByOrg.get(balance.organizationId) ?? [];
      const sum = own.reduce((s, l) => s + l.amountMinor, 0n);
      if (sum !== balance.available) {
        this.log.error(`payout lines of ${balance.organizationId} in ${currency} sum to ${sum}, available is ${balance.available}: skipped (LEDGER_MISMATCH)`);
        skips.push({
          organizationId: balance.organizationId,
          reason: SkipReason.LEDGER_MISMATCH,
          availableMinor: balance.available,
          detail: `the unpaid ledger lines sum to ${fmt(sum, currency)}, available earnings are ${fmt(balance.available, currency)}`,
        });
        continue;
      }
      payouts.push({
        id: randomUUID(),
        organizationId: balance.organizationId,
        accountId: state.accountId!,
        amountMinor: balance.available,
        lines: own.map((l: CandidateLine) => ({ entryId: l.entryId, amountMinor: l.amountMinor })),
      });
    }

    const skipCounts = countBy(skips, (s) => s.reason);
    if (payouts.length === 0) {
      throw new ConflictError(`No vendor can be paid in ${currency} now (${skips.length} skipped); nothing was created`, {
        reason: 'NOTHING_TO_PAY',
        skipped: skips.length,
        skipCounts,
      });
    }
    for (const p of payouts) {
      const total = p.lines.reduce((s, l) => s + l.amountMinor, 0n);
      if (total !== p.amountMinor || p.amountMinor <= 0n) throw new Error(`payout ${p.id}: lines sum to ${total}, amount is ${p.amountMinor}`);
    }

    const batchId = randomUUID();
    const totalMinor = payouts.reduce((s, p) => s + p.amountMinor, 0n);
    const hash = snapshotHash(
      { id: batchId, currency, minimumMinor: minimum, asOf, holdbackDays },
      payouts.map((p) => ({ ...p, status: 'PENDING' })),
    );
    const createdAt = this.clock.now();
    await this.repo.insertBatch(tx, { id: batchId, currency, minimumMinor: minimum, asOf, holdbackDays, totalMinor, payoutCount: payouts.length, snapshotHash: hash, createdBy: adminId }, createdAt);
    await this.repo.insertPayouts(tx, batchId, currency, payouts, createdAt);
    await this.repo.insertSkips(tx, batchId, skips);
    await this.audit.record(tx, principal, {
      action: 'payouts.batch.created',
      targetType: 'PayoutBatch',
      targetId: batchId,
      data: { currency, totalMinor: totalMinor.toString(), payoutCount: payouts.length, skipped: skips.length, skipCounts, snapshotHash: hash, asOf: asOf.toISOString() },
    });
    return (await this.repo.batch(tx, batchId))!;
  }

  /** Why a vendor with something owed or pending is left out, or null when it may be paid (lines permitting). */
  private skipOf(b: EarningsBalance, s: VendorPayoutState, minimum: bigint): NewSkip | null {
    const skip = (reason: SkipReason, detail: string | null): NewSkip => ({ organizationId: b.organizationId, reason, availableMinor: b.available, detail });
    const c = b.currency;
    if (s.holdReason !== null) return skip(SkipReason.VENDOR_ON_HOLD, `on hold: ${s.holdReason}`);
    if (s.openPayoutId !== null) return skip(SkipReason.OPEN_PAYOUT, `payout ${s.openPayoutId} is ${s.openPayoutStatus}`);
    if (b.available === 0n) {
      const parts = [`pending ${fmt(b.pending, c)}${b.availableAt ? ` (available from ${b.availableAt.toISOString()})` : ''}`];
      parts.push(`negative carry-forward ${fmt(b.negativeCarryForward, c)}`);
      return skip(SkipReason.NOTHING_AVAILABLE, parts.join('; '));
    }
    if (b.available < minimum) return skip(SkipReason.BELOW_MINIMUM, `available ${fmt(b.available, c)} is below the minimum of ${fmt(minimum, c)}`);
    if (s.accountId === null) return skip(SkipReason.NO_PAYOUT_ACCOUNT, 'payout onboarding not started');
    if (!canReceiveTransfers({ transfersCapability: s.transfersCapability as never, disabledReason: s.disabledReason })) {
      const parts = [`transfers capability ${s.transfersCapability ?? 'not requested'}`];
      if (s.disabledReason) parts.push(`disabled: ${s.disabledReason}`);
      if (s.pastDue.length) parts.push(`past due: ${s.pastDue.join(', ')}`);
      if (s.currentlyDue.length) parts.push(`currently due: ${s.currentlyDue.join(', ')}`);
      return skip(SkipReason.ACCOUNT_CANNOT_RECEIVE_TRANSFERS, parts.join('; '));
    }
    return null;
  }

  // ---------------------------------------------------------------- reads (admins)

  async batch(id: string): Promise<PayoutBatchRow> {
    assertUuid('id', id);
    const row = await this.repo.batch(this.db.reader, id.toLowerCase());
    if (!row) throw new NotFoundError('PayoutBatch', id);
    return row;
  }

  async batches(filter: { status: PayoutBatchStatus | null; currency: string | null }, first: number, after: string | null): Promise<Page<BatchListRow>> {
    checkFirst(first);
    const keys = after == null ? null : BATCH_CURSOR.decode(after);
    const rows = await this.repo.listBatches(this.db.reader, filter, keys && { createdKey: keys[0], id: keys[1] }, first + 1);
    return pageOf(rows, first, (r) => ({ ...r, cursor: BATCH_CURSOR.encode([r.createdKey, r.id]) }));
  }

  async batchPayouts(batchId: string, first: number, after: string | null): Promise<Page<PayoutDetail>> {
    checkFirst(first);
    const afterOrg = after == null ? null : BATCH_VENDOR_CURSOR.decode(after)[0];
    const em = this.db.reader;
    const page = pageOf(await this.repo.batchPayouts(em, batchId, afterOrg, first + 1), first);
    return { rows: await this.details(page.rows, (p) => BATCH_VENDOR_CURSOR.encode([p.organizationId])), hasNextPage: page.hasNextPage };
  }

  async batchSkips(batchId: string, first: number, after: string | null): Promise<Page<SkipDetail>> {
    checkFirst(first);
    const afterOrg = after == null ? null : BATCH_VENDOR_CURSOR.decode(after)[0];
    const rows = await this.repo.batchSkips(this.db.reader, batchId, afterOrg, first + 1);
    return pageOf(rows, first, (r) => ({ ...r, cursor: BATCH_VENDOR_CURSOR.encode([r.organizationId]) }));
  }

  async skipCounts(batchId: string): Promise<{ reason: string; count: number }[]> {
    return this.repo.skipCounts(this.db.reader, batchId);
  }

  async progress(batchId: string): Promise<BatchProgress> {
    const byStatus = await this.repo.statusCounts(this.db.reader, batchId);
    const sum = (pick: (s: StatusCount) => bigint, where: (s: StatusCount) => boolean) => byStatus.filter(where).reduce((t, s) => t + pick(s), 0n);
    return {
      byStatus,
      sentMinor: sum((s) => s.amountMinor, (s) => s.status === 'SENT'),
      reversedMinor: sum((s) => s.reversedMinor, () => true),
      toSendMinor: sum((s) => s.amountMinor, (s) => s.status !== 'HELD' && s.status !== 'CANCELLED'),
    };
  }

  // ---------------------------------------------------------------- reads (vendors)

  /** Members of the organization (read) and platform admins; anyone else is told it does not exist. Newest first. */
  async organizationPayouts(principal: Principal, organizationId: string, first: number, after: string | null): Promise<Page<PayoutDetail>> {
    assertUuid('organizationId', organizationId);
    checkFirst(first);
    const org = organizationId.toLowerCase();
    const em = this.db.reader;
    if (principal.isAdmin) {
      if (!(await this.repo.organizationExists(em, org))) throw new NotFoundError('Organization', organizationId);
    } else {
      await this.access.requireOrganization(em, principal, org, 'read', { entity: 'Organization', id: organizationId });
    }
    const keys = after == null ? null : VENDOR_PAYOUT_CURSOR.decode(after);
    const page = pageOf(await this.repo.organizationPayouts(em, org, keys && { createdKey: keys[0], id: keys[1] }, first + 1), first);
    return { rows: await this.details(page.rows, (p) => VENDOR_PAYOUT_CURSOR.encode([p.createdKey, p.id])), hasNextPage: page.hasNextPage };
  }

  /** One payout with its lines (admins: the resolver's guard). */
  async payoutDetail(payoutId: string): Promise<PayoutDetail> {
    const row = await this.repo.payout(this.db.reader, payoutId);
    if (!row) throw new NotFoundError('Payout', payoutId);
    const [detail] = await this.details([row], (p) => BATCH_VENDOR_CURSOR.encode([p.organizationId]));
    return detail;
  }

  /** Lines and current account state of a page of payouts: two statements for the page. */
  private async details(rows: PayoutRow[], cursorOf: (p: PayoutRow) => string): Promise<PayoutDetail[]> {
    const em = this.db.reader;
    const lines = groupBy(await this.repo.linesOf(em, rows.map((p) => p.id)), (l) => l.payoutId);
    const accounts = await this.repo.accountsNow(em, [...new Set(rows.map((p) => p.organizationId))]);
    return rows.map((p) => ({ ...p, lines: lines.get(p.id) ?? [], accountNow: accounts.get(p.organizationId) ?? null, cursor: cursorOf(p) }));
  }
}

/** The acting admin's user id; FORBIDDEN for anyone else (API keys are never admins). */
export function requireAdminUser(principal: Principal): string {
  if (principal.kind !== 'user' || !principal.isAdmin) throw new ForbiddenError('Platform admins only');
  return principal.userId;
}

function checkFirst(first: number): void {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadInputError([{ field: 'first', message: `first must be between 1 and ${MAX_PAGE_SIZE}` }]);
  }
}

const fmt = (amount: bigint, currency: string) => Money.of(amount, currency).format();

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}
