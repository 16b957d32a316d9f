/**
 * Explaining a pool distribution. Platform admins see every teacher and
 * subscriber; a vendor (read access to `organizationId`) sees its own
 * teachers' lines (tokens, share of the eligible tokens, amount, threshold
 * status, flags); a distiller sees what it paid and, under USER_CENTRIC,
 * where its part of the net went (its own tokens per teacher, split by the
 * allocation rule); platform admins may ask for any organization's view.
 * The clawback (refunds of earlier distributed periods netted by this
 * distribution) is in the distribution's totals for everyone; which
 * subscriber's refund of which period it came from only in the admins'
 * complete view.
 * Anyone else: NOT_FOUND.
 */
import { Injectable } from '@nestjs/common';
import { AccessService } from '../../identity/access.service';
import { Principal } from '../../platform/auth/principal';
import { Database } from '../../platform/database/transaction';
import { NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { subscriberBreakdown } from './pool-distribution';
import { DistributionLineRow, DistributionRow, DistributionSubscriberRow, PoolClawbackRow, PoolDistributionRepository, PoolPlanTerms } from './pool-distribution.repository';

export interface PoolStatement {
  plan: PoolPlanTerms;
  distribution: DistributionRow;
  /** The teachers the caller may see. */
  lines: DistributionLineRow[];
  /** The subscribers the caller may see. */
  subscribers: DistributionSubscriberRow[];
  /** USER_CENTRIC, a distiller's view: where its part of the net went. */
  feeBreakdown: Array<{ modelId: string; vendorOrganizationId: string; tokens: bigint; amountMinor: bigint }>;
  /** Admins' complete view: the refunds this distribution netted, per subscription period. */
  clawbacks: PoolClawbackRow[];
  /** Whether the caller sees everything (admin, no organization named). */
  complete: boolean;
}

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

@Injectable()
export class PoolStatementService {
  constructor(
    private readonly db: Database,
    private readonly repo: PoolDistributionRepository,
    private readonly access: AccessService,
  ) {}

  async statement(principal: Principal, planId: string, period: string, organizationId: string | null): Promise<PoolStatement> {
    assertUuid('planId', planId);
    if (organizationId !== null) assertUuid('organizationId', organizationId);
    const notFound = () => new NotFoundError('PoolDistribution', `${planId}/${period}`);
    if (!PERIOD.test(period)) throw notFound();
    const em = this.db.reader;
    if (organizationId !== null && !principal.isAdmin) await this.access.requireOrganization(em, principal, organizationId, 'read', { entity: 'PoolDistribution', id: `${planId}/${period}` });
    else if (!principal.isAdmin) throw notFound();
    const plan = await this.repo.plan(em, planId);
    const distribution = plan ? await this.repo.existing(em, planId, period) : null;
    if (!plan || !distribution) throw notFound();
    if (organizationId === null) {
      return {
        plan,
        distribution,
        lines: await this.repo.lines(em, planId, period, null),
        subscribers: await this.repo.subscribers(em, planId, period, null),
        feeBreakdown: [],
        clawbacks: await this.repo.clawbacks(em, planId, period),
        complete: true,
      };
    }
    const lines = await this.repo.lines(em, planId, period, organizationId);
    const subscribers = await this.repo.subscribers(em, planId, period, organizationId);
    if (lines.length === 0 && subscribers.length === 0 && !principal.isAdmin) throw notFound();
    let feeBreakdown: PoolStatement['feeBreakdown'] = [];
    const me = subscribers[0];
    if (plan.distribution === 'USER_CENTRIC' && me && !me.toRemainder && me.netMinor > 0n) {
      const usage = await this.repo.usageOf(em, planId, period, new Date(`${period}-01T00:00:00Z`), organizationId);
      const eligible = new Set((await this.repo.lines(em, planId, period, null)).filter((l) => l.eligible).map((l) => l.modelId));
      const vendorOf = new Map(usage.map((u) => [u.modelId, u.vendorOrganizationId]));
      const parts = subscriberBreakdown(
        {
          mode: 'USER_CENTRIC',
          grossMinor: distribution.grossMinor,
          feeMinor: distribution.feeMinor,
          netMinor: distribution.distributedMinor,
          distributedMinor: distribution.distributedMinor,
          carriedMinor: distribution.carriedMinor,
          clawbackMinor: distribution.clawbackMinor,
          clawbackCarriedMinor: distribution.clawbackCarriedMinor,
          totalEligibleTokens: distribution.totalEligibleTokens,
          remainderMinor: distribution.remainderMinor,
          teachers: [...eligible].map((id) => ({ teacherId: id, tokens: 0n, eligible: true, amountMinor: 0n })),
          subscribers: [{ subscriberId: organizationId, paidMinor: me.paidMinor, netMinor: me.netMinor, eligibleTokens: me.eligibleTokens, toRemainder: false }],
        },
        usage.map((u) => ({ subscriberId: organizationId, teacherId: u.modelId, tokens: u.tokens })),
        organizationId,
      );
      feeBreakdown = parts.map((x) => ({ modelId: x.teacherId, vendorOrganizationId: vendorOf.get(x.teacherId)!, tokens: x.tokens, amountMinor: x.amountMinor }));
    }
    return { plan, distribution, lines, subscribers, feeBreakdown, clawbacks: [], complete: false };
  }
}
