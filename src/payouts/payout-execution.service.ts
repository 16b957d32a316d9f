/**
 * Executes approved payouts, exactly once per payout.
 *
 * A run takes what is due (APPROVED payouts whose next attempt has come, and
 * SENDING payouts whose lease ran out), PAYOUT_CONCURRENCY at a time, and for
 * each:
 *  (a) one transaction (PayoutExecutionTransitions.claim): lock, claim
 *      (status guard), checks, PAYOUT posting — the payout row is the outbox;
 *  (b) the transfer, with the payout's stored idempotency key, transfer_group
 *      `payout_batch:<batch id>` and metadata payout_id / batch_id /
 *      idempotency_key; funded from the payout's charge when it can be tied to
 *      one (source_transaction), otherwise after a balance check (one balance
 *      request per currency per run, spent down locally);
 *  (c) recording the transfer id (SENT).
 * A crash between any two steps leaves a SENDING payout: when its lease runs
 * out, another run sends the same request again with the same key, and the
 * processor replays the first transfer. Past the key window (the payout has
 * been SENDING for PAYOUT_KEY_WINDOW_HOURS), the key may be forgotten, so the
 * batch's transfers are listed first and a transfer whose metadata names the
 * payout is recorded instead of sending anything.
 *
 * Requests are paced by ProcessorRateLimiter (PAYOUT_MAX_REQUESTS_PER_SECOND);
 * a 429 is retried after Retry-After or a full-jitter backoff, unless the
 * processor said Stripe-Should-Retry: false (then the payout is given back
 * for a later run). balance_insufficient is retried later; a refusal for good
 * (account, capability) books PAYOUT_FAILED and marks the payout FAILED.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { PaymentsRateLimitedError, PaymentsUnavailableError, TransferRefusedError } from '../payments/payments.errors';
import { PAYMENTS_PORT, PaymentsPort, TransferResult } from '../payments/payments.port';
import { Clock } from '../platform/clock/clock';
import { AppConfig } from '../platform/config/app-config';
import { Database } from '../platform/database/transaction';
import { BatchProgressRow, ExecPayoutRow, PayoutExecutionRepository } from './payout-execution.repository';
import { ClaimOutcome, PayoutExecutionTransitions, RecordOutcome } from './payout-execution.transitions';
import { fullJitterMs, ProcessorRateLimiter } from './processor-rate';

export const transferGroupOf = (batchId: string): string => `payout_batch:${batchId}`;

/** Retries of one request after 429s before the payout is given back for a later run. */
const MAX_INLINE_429_RETRIES = 8;
/** When a payout given back is tried again: balance short, processor unavailable (grows with attempts, full jitter), told not to retry. */
const RETRY_LATER_BASE_MS = 30_000;
const RETRY_LATER_CAP_MS = 3600_000;
/** Payouts claimed per transaction, and claim transactions at a time. */
const CLAIM_CHUNK = 25;
const CLAIMERS = 2;
/** Transfers recorded per transaction at most, and how long a recording waits for others to join it. */
const RECORD_CHUNK = 50;
const RECORD_WAIT_MS = 5;
/** A progress line every this many payouts. */
const PROGRESS_EVERY = 250;

export interface ExecutionRunResult {
  picked: number;
  sent: number;
  failed: number;
  deferred: number;
  skipped: number;
  requests: number;
  rateLimited: number;
  completedBatches: string[];
}

type Step = 'sent' | 'failed' | 'deferred' | 'skipped';

/** What one run shares between its workers: balances per currency (one request each), counters. */
class RunState {
  /** One balance read per currency per run, and what is left of it after the sends so far. */
  readonly balanceReads = new Map<string, Promise<void>>();
  readonly remaining = new Map<string, bigint>();
  requests = 0;
  rateLimited = 0;
  done = 0;
}

@Injectable()
export class PayoutExecutionService {
  private readonly log = new Logger('PayoutExecution');
  /** This process's name on the leases it takes. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly limiter: ProcessorRateLimiter;
  private running: Promise<ExecutionRunResult> | null = null;

  constructor(
    private readonly db: Database,
    private readonly repo: PayoutExecutionRepository,
    private readonly transitions: PayoutExecutionTransitions,
    @Inject(PAYMENTS_PORT) private readonly port: PaymentsPort,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {
    this.limiter = new ProcessorRateLimiter(config.payoutMaxRequestsPerSecond);
  }

  /** One run (a second call while one is running joins it). */
  run(opts: { batchId?: string } = {}): Promise<ExecutionRunResult> {
    if (!this.running) {
      this.running = this.execute(opts.batchId ?? null).finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /** Counts of a batch's payouts by status (for the batch's page); null when there is no such batch. */
  async progress(batchId: string): Promise<BatchProgressRow | null> {
    return this.repo.batchProgress(this.db.reader, batchId);
  }

  private async execute(batchId: string | null): Promise<ExecutionRunResult> {
    const state = new RunState();
    const result: ExecutionRunResult = { picked: 0, sent: 0, failed: 0, deferred: 0, skipped: 0, requests: 0, rateLimited: 0, completedBatches: [] };
    const attempted = new Set<string>();
    const tally = (step: Step) => {
      result[step]++;
      if (++state.done % PROGRESS_EVERY === 0) this.log.log({ done: state.done, ...counts(result) }, 'payout execution progress');
    };
    const recorder = new RecordBatcher((items) => this.db.transaction((tx) => this.transitions.recordMany(tx, items)));
    for (;;) {
      const due = (await this.repo.due(this.db.reader, this.clock.now(), 1000, batchId)).filter((id) => !attempted.has(id));
      if (due.length === 0) break;
      for (const id of due) attempted.add(id);
      result.picked += due.length;
      // Claims (database work, a chunk per transaction) run ahead of the sends (paced by the request rate).
      const ready = new AsyncQueue<{ payout: ExecPayoutRow; source: string | null }>();
      const concurrency = this.config.payoutConcurrency;
      let next = 0;
      const claimChunk = async (chunk: string[]) => {
        let outcomes: ClaimOutcome[];
        try {
          outcomes = await this.db.transaction((tx) => this.transitions.claimMany(tx, chunk, this.owner));
        } catch (err) {
          this.log.error({ err, payouts: chunk.length }, 'claiming payouts failed; a later run retries them');
          for (let k = 0; k < chunk.length; k++) tally('skipped');
          return;
        }
        this.crashPoint('after-ledger');
        const handled = new Set<string>();
        for (const o of outcomes) {
          if (o.kind === 'claimed') {
            handled.add(o.payout.id);
            ready.push({ payout: o.payout, source: o.sourceCharge ?? null });
          } else if (o.kind === 'failed') {
            handled.add(o.payoutId);
            tally('failed');
          }
        }
        for (const id of chunk) if (!handled.has(id)) tally('skipped');
      };
      // CLAIMERS transactions at a time (distinct vendors: they do not wait for each other).
      const producer = Promise.all(
        Array.from({ length: CLAIMERS }, async () => {
          while (next < due.length) {
            await ready.roomFor(concurrency * 2);
            const chunk = due.slice(next, next + CLAIM_CHUNK);
            next += CLAIM_CHUNK;
            if (chunk.length > 0) await claimChunk(chunk);
          }
        }),
      ).finally(() => ready.close());
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let item = await ready.pop(); item; item = await ready.pop()) {
            let step: Step;
            try {
              step = await this.send(item.payout, item.source, state, recorder);
            } catch (err) {
              // A database error, or a bug: the payout stays SENDING (its lease runs out) and a later run retries it with the same key.
              this.log.error({ payoutId: item.payout.id, err }, 'payout execution step failed; a later run retries it');
              step = 'skipped';
            }
            tally(step);
          }
        }),
      );
      await producer;
    }
    result.completedBatches = (await this.db.transaction((tx) => this.repo.finishBatches(tx, this.clock.now()))).map((b) => `${b.id}:${b.status}`);
    result.requests = state.requests;
    result.rateLimited = state.rateLimited;
    if (result.picked > 0) this.log.log({ ...counts(result), requests: result.requests, rateLimited: result.rateLimited, completedBatches: result.completedBatches }, 'payout execution run done');
    return result;
  }

  private async send(p: ExecPayoutRow, source: string | null, state: RunState, recorder: RecordBatcher): Promise<Step> {
    const group = transferGroupOf(p.batchId);
    const windowMs = this.config.payoutKeyWindowHours * 3600_000;
    if (p.sendingSince && this.clock.now().getTime() - p.sendingSince.getTime() >= windowMs) {
      // The key may have expired at the processor: a resend could make a second transfer. Look first.
      let found: TransferResult | undefined;
      try {
        const transfers = await this.request(state, () => this.port.listTransfersByGroup(group));
        found = transfers.find((t) => t.metadata.payout_id === p.id);
      } catch (err) {
        return this.giveBack(p, err);
      }
      if (found) {
        this.log.log({ payoutId: p.id, transferId: found.id }, 'payout past the key window: its transfer was found in the batch group');
        return this.recordSent(p, found, recorder);
      }
    }

    if (!source) {
      let left: bigint | null;
      try {
        left = await this.reserve(state, p.currency, p.amountMinor);
      } catch (err) {
        return this.giveBack(p, err);
      }
      if (left === null) {
        return this.giveBack(p, new TransferRefusedError(`the platform balance in ${p.currency} is below ${p.amountMinor} (checked before sending)`, 'balance_insufficient', true));
      }
    }

    let transfer: TransferResult;
    try {
      transfer = await this.request(state, () =>
        this.port.createTransfer({
          destinationAccountId: p.accountId,
          amountMinor: p.amountMinor,
          currency: p.currency,
          transferGroup: group,
          idempotencyKey: p.idempotencyKey,
          description: `Payout ${p.id}`,
          metadata: { payout_id: p.id, batch_id: p.batchId, idempotency_key: p.idempotencyKey },
          sourceTransaction: source,
        }),
      );
    } catch (err) {
      if (!source) this.unreserve(state, p.currency, p.amountMinor);
      if (err instanceof TransferRefusedError && !err.retryLater) {
        const failed = await this.db.transaction((tx) => this.transitions.fail(tx, p, err.code, `the processor refused the transfer: ${err.message}`));
        this.log.warn({ payoutId: p.id, code: err.code }, 'transfer refused: payout FAILED, the amount is owed again');
        return failed ? 'failed' : 'skipped';
      }
      return this.giveBack(p, err);
    }
    this.crashPoint('after-transfer');
    return this.recordSent(p, transfer, recorder);
  }

  private async recordSent(p: ExecPayoutRow, t: TransferResult, recorder: RecordBatcher): Promise<Step> {
    const outcome = await recorder.record({ payoutId: p.id, transferId: t.id, createdAt: t.createdAt });
    this.crashPoint('after-record');
    return outcome === 'recorded' || outcome === 'already-recorded' ? 'sent' : 'skipped';
  }

  /** Back to the queue until later (the payout stays SENDING; its posting stands). */
  private async giveBack(p: ExecPayoutRow, err: unknown): Promise<Step> {
    let delayMs = RETRY_LATER_BASE_MS + fullJitterMs(p.attempts, RETRY_LATER_BASE_MS, RETRY_LATER_CAP_MS);
    let what: string;
    if (err instanceof PaymentsRateLimitedError) {
      what = `rate limited (Stripe-Should-Retry: ${err.shouldRetry})`;
      if (err.retryAfterMs !== null) delayMs = Math.max(delayMs, err.retryAfterMs);
    } else if (err instanceof TransferRefusedError) {
      what = `${err.code}: ${err.message}`;
    } else if (err instanceof PaymentsUnavailableError) {
      what = `${err.code}: ${err.message}`;
      if (!err.retryable) {
        // The same request cannot succeed (idempotency_error, invalid parameters): someone must look.
        delayMs = RETRY_LATER_CAP_MS;
        this.log.error({ alarm: 'payout_request_invalid', payoutId: p.id, code: err.code }, `ALARM: the processor refused the payout's request as invalid: ${err.message}`);
      }
    } else {
      throw err;
    }
    const until = new Date(this.clock.now().getTime() + delayMs);
    await this.db.transaction((tx) => this.repo.release(tx, p.id, this.owner, until, what, this.clock.now()));
    this.log.warn({ payoutId: p.id, retryAt: until.toISOString(), reason: what }, 'payout given back for a later run');
    return 'deferred';
  }

  /**
   * Takes `amount` out of this run's view of the platform balance (read once
   * per currency per run): the balance left, or null when it is too low. The
   * check and the deduction happen with no await between them, so concurrent
   * sends cannot both take the same money.
   */
  private async reserve(state: RunState, currency: string, amount: bigint): Promise<bigint | null> {
    let load = state.balanceReads.get(currency);
    if (!load) {
      load = this.request(state, () => this.port.retrieveBalance()).then((bal) => {
        state.remaining.set(currency, bal.available.find((x) => x.currency === currency)?.amountMinor ?? 0n);
      });
      state.balanceReads.set(currency, load);
      // A failed read is not kept: the next payout asks again.
      load.catch(() => state.balanceReads.delete(currency));
    }
    await load;
    const left = state.remaining.get(currency) ?? 0n;
    if (left < amount) return null;
    state.remaining.set(currency, left - amount);
    return left - amount;
  }

  private unreserve(state: RunState, currency: string, amount: bigint): void {
    state.remaining.set(currency, (state.remaining.get(currency) ?? 0n) + amount);
  }

  /** One processor request: paced, and retried after 429s unless the processor says not to. */
  private async request<T>(state: RunState, call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.limiter.take();
      state.requests++;
      try {
        const value = await call();
        this.limiter.succeeded();
        return value;
      } catch (err) {
        if (!(err instanceof PaymentsRateLimitedError)) throw err;
        state.rateLimited++;
        this.limiter.rateLimited(err.retryAfterMs);
        if (err.shouldRetry === false || attempt + 1 >= MAX_INLINE_429_RETRIES) throw err;
        const wait = Math.max(err.retryAfterMs ?? 0, fullJitterMs(attempt, 100, 5_000));
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** The fault-injection hook of the recovery tests: configuration refuses it outside NODE_ENV=test. */
  private crashPoint(point: 'after-ledger' | 'after-transfer' | 'after-record'): void {
    if (this.config.payoutCrashAt === point && this.config.nodeEnv === 'test') {
      process.kill(process.pid, 'SIGKILL');
    }
  }
}

type RecordItem = { payoutId: string; transferId: string; createdAt: Date };

/** Collects recordings for a few milliseconds and writes them in one transaction; each caller learns its own outcome. */
class RecordBatcher {
  private pending: { item: RecordItem; resolve: (o: RecordOutcome) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly write: (items: RecordItem[]) => Promise<Map<string, RecordOutcome>>) {}

  record(item: RecordItem): Promise<RecordOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= RECORD_CHUNK) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), RECORD_WAIT_MS);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.write(batch.map((b) => b.item)).then(
      (outcomes) => batch.forEach((b) => b.resolve(outcomes.get(b.item.payoutId) ?? 'not-sending')),
      (err) => batch.forEach((b) => b.reject(err)),
    );
  }
}

/** A FIFO whose consumers wait for items; `roomFor` lets the producer stay a bounded distance ahead. */
class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly takers: ((v: T | null) => void)[] = [];
  private readonly roomWaiters: (() => void)[] = [];
  private closed = false;

  push(v: T): void {
    const taker = this.takers.shift();
    if (taker) taker(v);
    else this.items.push(v);
  }

  pop(): Promise<T | null> {
    if (this.items.length > 0) {
      const v = this.items.shift()!;
      this.roomWaiters.splice(0).forEach((w) => w());
      return Promise.resolve(v);
    }
    if (this.closed) return Promise.resolve(null);
    this.roomWaiters.splice(0).forEach((w) => w());
    return new Promise((resolve) => this.takers.push(resolve));
  }

  async roomFor(limit: number): Promise<void> {
    while (this.items.length >= limit) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.takers.splice(0).forEach((t) => t(null));
  }
}

function counts(r: ExecutionRunResult) {
  return { picked: r.picked, sent: r.sent, failed: r.failed, deferred: r.deferred, skipped: r.skipped };
}
