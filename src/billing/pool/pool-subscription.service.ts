/**
 * Pool subscriptions (distillers). Subscribing invoices the current period at
 * once — the monthly fee prorated by the days left in the month, the day of
 * subscribing included, split by the allocation rule — through the existing
 * invoices (kind POOL) and collection; every later period is invoiced at
 * renewal (the first days of the month, with the previous period's overage
 * on BILL plans). A written-off invoice suspends the subscription like the
 * distiller's agreements; like them it stays suspended — renewals invoice
 * nothing while it is — until the distiller has paid everything written off,
 * which reinstates it and invoices the rest of the current month (prorated,
 * as at subscribing) unless that month is invoiced already. Cancelling ends
 * it at the end of the current period (suspended or not); a retired plan
 * renews nobody.
 *
 * One live subscription per distiller and currency (a partial unique index);
 * renewals take one advisory lock and skip periods already invoiced (the
 * primary key of pool_subscription_periods), so a repeated or concurrent
 * renewal invoices nothing twice.
 */
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service';
import { AccessService } from '../../identity/access.service';
import { AgreementHooks } from '../../licensing/agreement-hooks';
import { AgreementCause } from '../../licensing/agreement-status.table';
import { AgreementTransitions } from '../../licensing/agreement-transitions.service';
import { AgreementStatus } from '../../licensing/license-agreement.entity';
import { Principal } from '../../platform/auth/principal';
import { Clock } from '../../platform/clock/clock';
import { isUniqueViolation } from '../../platform/database/pg-errors';
import { Database, Tx } from '../../platform/database/transaction';
import { NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { allocate } from '../../platform/money/allocation';
import { Money } from '../../platform/money/money';
import { rateTokens } from '../../platform/money/rating';
import { coveredDays, nextPeriod, parsePeriod, PeriodRange, periodOf } from '../billing-period';
import { InvoiceKind, InvoiceLineKind } from '../billing.entity';
import { IssuedInvoice, InvoiceWriter, LineDraft } from '../invoices/invoice-writer.service';
import { PoolRepository, SubscriptionPeriodRow } from './pool.repository';
import { PoolOverage, PoolPlanRow, PoolPlanStatus, PoolSubscriptionRow, PoolSubscriptionStatus } from './pool.types';

/** A pool invoice is due at once (access starts before it is paid; an unpaid one ends in suspension). */
export const POOL_INVOICE_DUE_DAYS = 0;

export type SubscribeOutcome =
  | { kind: 'subscribed'; subscription: PoolSubscriptionRow; invoice: IssuedInvoice }
  | { kind: 'exists'; subscription: PoolSubscriptionRow }
  | { kind: 'plan-not-available'; plan: PoolPlanRow };

export type CancelOutcome = { kind: 'cancelled'; subscription: PoolSubscriptionRow; endsAt: Date } | { kind: 'already-ended'; subscription: PoolSubscriptionRow };

export interface RenewalSummary {
  period: string;
  invoiced: number;
  ended: number;
  /** Suspended for non-payment: not invoiced (paying reinstates and invoices). */
  suspended: number;
}

/** Tokens of one month beyond the allowance, at the price of the plan version they were used under. */
interface Overage {
  period: string;
  tokens: bigint;
  pricePerMillion: bigint;
}

@Injectable()
export class PoolSubscriptionService implements OnModuleInit {
  private readonly log = new Logger('Pool');

  constructor(
    private readonly db: Database,
    private readonly repo: PoolRepository,
    private readonly writer: InvoiceWriter,
    private readonly audit: AuditService,
    private readonly access: AccessService,
    private readonly clock: Clock,
    private readonly hooks: AgreementHooks,
    private readonly transitions: AgreementTransitions,
  ) {}

  onModuleInit(): void {
    this.hooks.answerPoolSubscription(async (tx, distiller, currency) => {
      const s = await this.repo.liveSubscription(tx, distiller, currency, 'share');
      return s ? { id: s.id, status: s.status === PoolSubscriptionStatus.ACTIVE ? 'ACTIVE' : 'SUSPENDED' } : null;
    });
  }

  async subscribe(actor: Principal, planId: string, organizationId: string): Promise<SubscribeOutcome> {
    assertUuid('planId', planId);
    assertUuid('organizationId', organizationId);
    try {
      return await this.db.transaction((tx) => this.subscribeTx(tx, actor, planId, organizationId));
    } catch (e) {
      if (isUniqueViolation(e, 'UQ_pool_subscriptions_live')) {
        const plan = await this.repo.plan(this.db.reader, planId);
        const live = plan ? await this.repo.liveSubscription(this.db.reader, organizationId, plan.currency, null) : null;
        if (live) return { kind: 'exists', subscription: live };
      }
      throw e;
    }
  }

  private async subscribeTx(tx: Tx, actor: Principal, planId: string, organizationId: string): Promise<SubscribeOutcome> {
    await this.access.requireOrganization(tx, actor, organizationId, 'write');
    // FOR SHARE: a concurrent retire or new version waits for this subscription, or this sees its result.
    const plan = await this.repo.plan(tx, planId, { lock: 'share' });
    if (!plan) throw new NotFoundError('PoolPlan', planId);
    if (plan.status !== PoolPlanStatus.ACTIVE) return { kind: 'plan-not-available', plan };
    const live = await this.repo.liveSubscription(tx, organizationId, plan.currency, 'update');
    if (live) return { kind: 'exists', subscription: live };
    const now = this.clock.now();
    const subscription = await this.repo.insertSubscription(tx, {
      planId: plan.id,
      distillerOrganizationId: organizationId,
      currency: plan.currency,
      startedAt: now,
      createdByUserId: actor.kind === 'user' ? actor.userId : null,
    });
    const p = periodOf(now);
    const days = coveredDays(p, now, null);
    const fee = days === p.days ? plan.monthlyFeeMinor : allocate(plan.monthlyFeeMinor, [BigInt(days), BigInt(p.days - days)])[0];
    const invoice = await this.invoicePeriod(tx, subscription, plan, p, { fee, days, overages: [] });
    await this.audit.record(tx, actor, {
      action: 'billing.pool_subscription.created',
      targetType: 'PoolSubscription',
      targetId: subscription.id,
      organizationId,
      data: { planId: plan.id, plan: `${plan.name} v${plan.version}`, currency: plan.currency, period: p.period, days, feeMinor: fee.toString(), invoiceNumber: invoice.number },
    });
    return { kind: 'subscribed', subscription, invoice };
  }

  /** Ends the subscription at the end of the current period (its pool agreements end with it). */
  async cancel(actor: Principal, subscriptionId: string): Promise<CancelOutcome> {
    assertUuid('subscriptionId', subscriptionId);
    return this.db.transaction(async (tx) => {
      const s = await this.repo.subscription(tx, subscriptionId, true);
      if (!s) throw new NotFoundError('PoolSubscription', subscriptionId);
      await this.access.requireOrganization(tx, actor, s.distillerOrganizationId, 'write', { entity: 'PoolSubscription', id: subscriptionId });
      if (s.status === PoolSubscriptionStatus.ENDED) return { kind: 'already-ended', subscription: s };
      const endsAt = periodOf(this.clock.now()).end;
      if (!s.cancelAtPeriodEnd) {
        await this.repo.setCancelAtPeriodEnd(tx, s.id);
        await this.audit.record(tx, actor, {
          action: 'billing.pool_subscription.cancelled',
          targetType: 'PoolSubscription',
          targetId: s.id,
          organizationId: s.distillerOrganizationId,
          data: { endsAt: endsAt.toISOString() },
        });
      }
      return { kind: 'cancelled', subscription: { ...s, cancelAtPeriodEnd: true }, endsAt };
    });
  }

  async get(principal: Principal, subscriptionId: string): Promise<{ subscription: PoolSubscriptionRow; periods: SubscriptionPeriodRow[] }> {
    assertUuid('subscriptionId', subscriptionId);
    const s = await this.repo.subscription(this.db.reader, subscriptionId);
    if (!s) throw new NotFoundError('PoolSubscription', subscriptionId);
    if (!principal.isAdmin) await this.access.requireOrganization(this.db.reader, principal, s.distillerOrganizationId, 'read', { entity: 'PoolSubscription', id: subscriptionId });
    return { subscription: s, periods: await this.repo.periodsOf(this.db.reader, s.id) };
  }

  async listFor(principal: Principal, organizationId: string): Promise<PoolSubscriptionRow[]> {
    assertUuid('organizationId', organizationId);
    if (!principal.isAdmin) await this.access.requireOrganization(this.db.reader, principal, organizationId, 'read');
    return this.repo.subscriptionsOf(this.db.reader, organizationId);
  }

  /** The current month's (business time) use of the subscription's shared allowance; the caller has read the subscription. */
  async allowanceUse(subscriptionId: string): Promise<{ period: string; allowance: bigint; used: bigint }> {
    const p = periodOf(this.clock.now());
    const s = (await this.repo.subscription(this.db.reader, subscriptionId))!;
    const plan = (await this.repo.plan(this.db.reader, s.planId))!;
    return { period: p.period, allowance: plan.tokenAllowance, used: await this.repo.pooledTokens(this.db.reader, subscriptionId, p.start) };
  }

  periodsOf(subscriptionId: string): Promise<SubscriptionPeriodRow[]> {
    return this.repo.periodsOf(this.db.reader, subscriptionId);
  }

  /**
   * Renews every live subscription into `periodText` (normally the current
   * month, run on its first days): ends those cancelled or on a retired plan
   * (their pool agreements are terminated), moves the others to the newest
   * version of their plan and invoices the period's fee plus, on BILL plans,
   * the previous period's tokens beyond the allowance. Idempotent.
   */
  async renew(periodText: string): Promise<RenewalSummary> {
    const p = parsePeriod(periodText);
    return this.db.transaction(async (tx) => {
      await this.repo.lockRenewals(tx);
      const due = await this.repo.toRenew(tx, p.period, p.start);
      let invoiced = 0;
      let ended = 0;
      let suspended = 0;
      for (const s of due) {
        const current = (await this.repo.plan(tx, s.planId))!;
        const newest = current.status === PoolPlanStatus.SUPERSEDED ? await this.repo.activeVersion(tx, current.name, current.currency) : current;
        if (s.cancelAtPeriodEnd || !newest || newest.status !== PoolPlanStatus.ACTIVE) {
          await this.endSubscription(tx, s, p.start, s.cancelAtPeriodEnd ? 'cancelled' : 'plan retired');
          ended++;
          continue;
        }
        // Suspended for non-payment: no new invoice on top of the unpaid one (paying reinstates and invoices then).
        if (s.status === PoolSubscriptionStatus.SUSPENDED) {
          suspended++;
          continue;
        }
        const overages = await this.unbilledOverages(tx, s, p);
        if (newest.id !== s.planId) await this.repo.renewTo(tx, s.id, newest.id);
        await this.invoicePeriod(tx, { ...s, planId: newest.id }, newest, p, { fee: newest.monthlyFeeMinor, days: p.days, overages });
        invoiced++;
      }
      if (invoiced + ended > 0) this.log.log({ period: p.period, invoiced, ended, suspended }, 'pool subscriptions renewed');
      return { period: p.period, invoiced, ended, suspended };
    });
  }

  /** Billing: an invoice of the distiller was written off. */
  suspendForNonPayment(tx: Tx, distillerOrganizationId: string): Promise<string[]> {
    return this.repo.suspendForNonPayment(tx, distillerOrganizationId);
  }

  /**
   * Billing: the distiller has nothing uncollectible left. Its subscriptions
   * suspended for non-payment are reinstated; one whose current month was
   * not invoiced (renewals skipped it while suspended) is invoiced the rest
   * of the month now, prorated by days as at subscribing, on the newest
   * version of its plan (ended instead when that plan is retired). Takes the
   * renewal lock first: a renewal running at the same time sees either the
   * suspended subscription or the reinstated one with its month invoiced
   * (and cannot end a cancelled one halfway through its reinstatement); the
   * primary key of the subscription's periods is the backstop.
   */
  async reinstateAfterPayment(tx: Tx, distillerOrganizationId: string): Promise<string[]> {
    await this.repo.lockRenewals(tx);
    const ids = await this.repo.reinstateAfterPayment(tx, distillerOrganizationId);
    const now = this.clock.now();
    const p = periodOf(now);
    for (const id of ids) {
      const s = (await this.repo.subscription(tx, id))!;
      if (await this.repo.hasPeriod(tx, s.id, p.period)) continue;
      const current = (await this.repo.plan(tx, s.planId))!;
      const newest = current.status === PoolPlanStatus.SUPERSEDED ? await this.repo.activeVersion(tx, current.name, current.currency) : current;
      if (!newest || newest.status !== PoolPlanStatus.ACTIVE) {
        await this.endSubscription(tx, s, now, 'plan retired');
        continue;
      }
      // The overage of the last month invoiced before the suspension was never billed (no renewal invoice carried it).
      const overages = await this.unbilledOverages(tx, s, p);
      if (newest.id !== s.planId) await this.repo.renewTo(tx, s.id, newest.id);
      const days = coveredDays(p, now, null);
      const fee = days === p.days ? newest.monthlyFeeMinor : allocate(newest.monthlyFeeMinor, [BigInt(days), BigInt(p.days - days)])[0];
      const invoice = await this.invoicePeriod(tx, { ...s, planId: newest.id }, newest, p, { fee, days, overages });
      await this.audit.record(tx, null, {
        action: 'billing.pool_subscription.reinstated',
        targetType: 'PoolSubscription',
        targetId: s.id,
        organizationId: s.distillerOrganizationId,
        data: { period: p.period, days, feeMinor: fee.toString(), invoiceNumber: invoice.number },
      });
    }
    return ids;
  }

  private async endSubscription(tx: Tx, s: PoolSubscriptionRow, at: Date, why: string): Promise<void> {
    await this.repo.end(tx, s.id, at);
    await this.transitions.move(tx, {
      cause: AgreementCause.TERMINATE,
      to: AgreementStatus.TERMINATED,
      scope: { poolSubscriptionId: s.id },
      reason: `Pool subscription ended (${why})`,
      actor: null,
      auditData: (m) => ({ poolSubscriptionId: s.id, from: m.from, to: m.to }),
    });
    await this.audit.record(tx, null, { action: 'billing.pool_subscription.ended', targetType: 'PoolSubscription', targetId: s.id, organizationId: s.distillerOrganizationId, data: { why, at: at.toISOString() } });
  }

  /**
   * The overage not billed yet when `p` is invoiced: a month's tokens beyond
   * the allowance are billed on the next invoice of the subscription, so
   * every month from the last one invoiced up to the month before `p` (one
   * month normally; more after a suspension skipped renewals), each at the
   * allowance and price of the plan version it was used under (BILL plans).
   */
  private async unbilledOverages(tx: Tx, s: PoolSubscriptionRow, p: PeriodRange): Promise<Overage[]> {
    const last = (await this.repo.periodsOf(tx, s.id)).filter((x) => x.period < p.period).pop();
    if (!last) return [];
    const out: Overage[] = [];
    for (let m = parsePeriod(last.period); m.period < p.period; m = nextPeriod(m)) {
      const plan = (await this.repo.plan(tx, m.period === last.period ? last.planId : s.planId))!;
      if (plan.overage !== PoolOverage.BILL || plan.overagePerMillionMinor === null) continue;
      const used = await this.repo.pooledTokens(tx, s.id, m.start);
      if (used > plan.tokenAllowance) out.push({ period: m.period, tokens: used - plan.tokenAllowance, pricePerMillion: plan.overagePerMillionMinor });
    }
    return out;
  }

  private async invoicePeriod(
    tx: Tx,
    s: PoolSubscriptionRow,
    plan: PoolPlanRow,
    p: PeriodRange,
    c: { fee: bigint; days: number; overages: readonly Overage[] },
  ): Promise<IssuedInvoice> {
    const fmt = (m: bigint) => Money.of(m, plan.currency).format();
    const lines: LineDraft[] = [
      {
        kind: InvoiceLineKind.POOL_FEE,
        agreementId: null,
        vendorOrganizationId: null,
        modelId: null,
        usagePeriod: p.period,
        quantity: null,
        unitPrice: null,
        amount: c.fee,
        overage: 0n,
        description: `Pool plan "${plan.name}" v${plan.version}, ${p.period}${c.days < p.days ? ` (${c.days} of ${p.days} days)` : ''}: ${fmt(c.fee)}`,
      },
    ];
    let overageMinor = 0n;
    let overageTokens = 0n;
    for (const o of c.overages) {
      const amount = rateTokens(o.tokens, o.pricePerMillion);
      overageMinor += amount;
      overageTokens += o.tokens;
      lines.push({
        kind: InvoiceLineKind.POOL_OVERAGE,
        agreementId: null,
        vendorOrganizationId: null,
        modelId: null,
        usagePeriod: o.period,
        quantity: o.tokens,
        unitPrice: o.pricePerMillion,
        amount,
        overage: o.tokens,
        description: `Pool tokens beyond the allowance in ${o.period}: ${o.tokens} at ${fmt(o.pricePerMillion)} per million`,
      });
    }
    await this.repo.ensureBillingPeriod(tx, p);
    const [invoice] = await this.writer.issue(tx, [
      {
        distillerOrganizationId: s.distillerOrganizationId,
        currency: plan.currency,
        kind: InvoiceKind.POOL,
        period: p.period,
        agreementId: null,
        poolSubscriptionId: s.id,
        dueInDays: POOL_INVOICE_DUE_DAYS,
        lines,
      },
    ]);
    if (!invoice) throw new Error(`pool subscription ${s.id}: period ${p.period} is already invoiced`);
    await this.repo.insertPeriod(tx, {
      subscriptionId: s.id,
      period: p.period,
      planId: plan.id,
      invoiceId: invoice.id,
      feeMinor: c.fee,
      daysCovered: c.days,
      daysInPeriod: p.days,
      overageTokens,
      overageMinor,
    });
    await this.audit.record(tx, null, {
      action: 'billing.invoice.issued',
      targetType: 'Invoice',
      targetId: invoice.id,
      organizationId: s.distillerOrganizationId,
      data: { number: invoice.number, kind: invoice.kind, poolSubscriptionId: s.id, period: p.period, currency: invoice.currency, totalMinor: invoice.totalMinor.toString() },
    });
    return invoice;
  }
}
