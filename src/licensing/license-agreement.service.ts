/**
 * Agreements: accepting an offer (with every business refusal as a result, not
 * an exception), the agreement reads of both parties, status changes by the
 * vendor or a platform admin, and the expiry sweep. Status changes go through
 * AgreementTransitions (the state table in agreement-status.table.ts).
 *
 * Concurrency: accept locks the offer row FOR SHARE (retire takes FOR UPDATE,
 * so a retire and an accept serialise and no agreement lands on a retired
 * offer); two accepts of the same offer by the same distiller are arbitrated by
 * the partial unique index UQ_license_agreements_live.
 */
import { Injectable } from '@nestjs/common';
import { Brackets, EntityManager, In } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { CatalogService } from '../catalog/catalog.service';
import { ModelStatus } from '../catalog/model.entity';
import { AccessService } from '../identity/access.service';
import { AgreementDirectory } from '../identity/agreement-directory';
import { OrganizationService } from '../identity/organization.service';
import { Principal } from '../platform/auth/principal';
import { isUniqueViolation } from '../platform/database/pg-errors';
import { Database, Tx } from '../platform/database/transaction';
import { BadInputError, ForbiddenError, NotFoundError } from '../platform/errors/app-error';
import { AgreementHooks } from './agreement-hooks';
import { AgreementCause, assertTransition, isAllowedTransition, ruleOf } from './agreement-status.table';
import { AgreementTransitions } from './agreement-transitions.service';
import { AgreementRole } from './dto/licensing.enums';
import { AgreementStatus, LicenseAgreementEntity } from './license-agreement.entity';
import { LicensingRepository } from './licensing.repository';
import { assertUuid } from '../platform/errors/validation';
import { CursorParts, defineCursor } from '../platform/paging/cursor';
import { Page, pageOf } from '../platform/paging/page';
import { LicenseOfferEntity, OfferStatus } from './license-offer.entity';
import { effectiveStatus, OfferSummary } from './licensing.mapper';
import { Clock } from '../platform/clock/clock';
import type { CanonicalPricing, CanonicalTerms } from './terms/terms.types';

const LIVE = [AgreementStatus.PENDING_PAYMENT, AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED];
const LIVE_SQL = `('PENDING_PAYMENT', 'ACTIVE', 'SUSPENDED')`;
const DAY_MS = 86_400_000;
const EXPIRY_BATCH = 500;
/** How long the gateway may act on a remembered agreement status (see meteringView). */
export const METERING_VIEW_TTL_MS = 1000;

export interface AgreementView {
  agreement: LicenseAgreementEntity;
  offer: OfferSummary;
}

export type AcceptOutcome =
  | { kind: 'accepted'; view: AgreementView }
  | { kind: 'terms-changed'; offerId: string; currentTermsHash: string }
  | { kind: 'not-available'; offerId: string; reason: 'OFFER_RETIRED' | 'MODEL_NOT_LISTED'; currentOfferId: string | null }
  | { kind: 'territory'; country: string | null }
  | { kind: 'self-dealing' }
  | { kind: 'pool-not-allowed'; reason: 'NOT_POOL_ELIGIBLE' | 'LEFT_POOL' | 'NO_SUBSCRIPTION' | 'SUBSCRIPTION_SUSPENDED'; currency: string }
  | { kind: 'exists'; view: AgreementView };

/** An agreement as metering sees it (the limits come from the accepted terms snapshot). */
export interface AgreementMeteringView {
  id: string;
  modelId: string;
  vendorOrganizationId: string;
  distillerOrganizationId: string;
  status: AgreementStatus;
  statusChangedAt: Date;
  startsAt: Date;
  endsAt: Date | null;
  tokensPerPeriod: bigint | null;
  tokensPerMinute: bigint | null;
  /** A pool agreement: its subscription (the plan's allowance is shared by all of the subscription's pool agreements). */
  poolSubscriptionId: string | null;
}

/** An agreement as provenance sees it: who, on which model, in what state, under which exact terms. */
export interface AgreementLineageView {
  id: string;
  modelId: string;
  vendorOrganizationId: string;
  distillerOrganizationId: string;
  status: AgreementStatus;
  termsHash: string;
  terms: CanonicalTerms;
}

export type TransitionOutcome =
  | { kind: 'changed'; view: AgreementView }
  | { kind: 'invalid'; current: AgreementStatus; requested: AgreementStatus };

export type Transition = 'suspend' | 'terminate' | 'reinstate';

/** The status each vendor request asks for, as reported when the table refuses it. */
const REQUESTED: Record<Transition, AgreementStatus> = {
  suspend: AgreementStatus.SUSPENDED,
  terminate: AgreementStatus.TERMINATED,
  reinstate: AgreementStatus.ACTIVE,
};

export interface AgreementPage extends Page<AgreementView> {
  totalCount: number;
}

const summary = (o: LicenseOfferEntity): OfferSummary => ({ id: o.id, name: o.name, version: o.version });

/** Newest first: the id of the last agreement (its created_at is looked up). */
export const AGREEMENT_CURSOR = defineCursor('agreement', [CursorParts.uuid]);

@Injectable()
export class LicenseAgreementService implements AgreementDirectory {
  private readonly meteringCache = new Map<string, { view: AgreementMeteringView; until: number }>();

  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly catalog: CatalogService,
    private readonly organizations: OrganizationService,
    private readonly hooks: AgreementHooks,
    private readonly transitions: AgreementTransitions,
    private readonly licensing: LicensingRepository,
    private readonly clock: Clock,
  ) {
    // Committed status changes only: a view re-read before the commit would otherwise outlive it.
    hooks.onStatusChanged((changes) => {
      for (const c of changes) this.meteringCache.delete(c.id);
    });
  }

  async accept(principal: Principal, input: { offerId: string; organizationId: string; acceptedTermsHash: string; viaPool?: boolean }): Promise<AcceptOutcome> {
    const distillerId = input.organizationId;
    try {
      return await this.db.transaction((tx) => this.acceptTx(tx, principal, input));
    } catch (e) {
      // A concurrent accept committed first: the index arbitrated, report the winner.
      if (isUniqueViolation(e, 'UQ_license_agreements_live')) {
        const live = await this.db.reader.findOne(LicenseAgreementEntity, {
          where: { offerId: input.offerId, distillerOrganizationId: distillerId, status: In(LIVE) },
        });
        if (live) return { kind: 'exists', view: await this.viewOf(this.db.reader, live) };
      }
      throw e;
    }
  }

  private async acceptTx(
    tx: Tx,
    principal: Principal,
    input: { offerId: string; organizationId: string; acceptedTermsHash: string; viaPool?: boolean },
  ): Promise<AcceptOutcome> {
    const distillerId = input.organizationId;
    await this.access.requireOrganization(tx, principal, distillerId, 'write');
    // FOR SHARE: a concurrent retire (FOR UPDATE) waits for us, or we see its result.
    const offer = await tx.findOne(LicenseOfferEntity, { where: { id: input.offerId }, lock: { mode: 'pessimistic_read' } });
    if (!offer) throw new NotFoundError('LicenseOffer', input.offerId);
    const model = await this.catalog.findModelRef(tx, offer.modelId, { lock: true });
    if (!model) throw new NotFoundError('LicenseOffer', input.offerId);
    // A vendor may use its own model under a pool subscription (the pool's gaming flags hold what that earns).
    if (offer.organizationId === distillerId && !input.viaPool) return { kind: 'self-dealing' };
    // An offer that was never public (publicAt, kept by the database) does not exist for outsiders.
    if (offer.publicAt === null && !(await this.access.isMember(tx, principal, offer.organizationId))) {
      throw new NotFoundError('LicenseOffer', input.offerId);
    }
    if (offer.status !== OfferStatus.ACTIVE) {
      const current = await tx.findOne(LicenseOfferEntity, {
        where: { modelId: offer.modelId, name: offer.name, status: OfferStatus.ACTIVE },
        select: { id: true },
      });
      return { kind: 'not-available', offerId: offer.id, reason: 'OFFER_RETIRED', currentOfferId: current?.id ?? null };
    }
    if (model.status !== ModelStatus.LISTED) {
      return { kind: 'not-available', offerId: offer.id, reason: 'MODEL_NOT_LISTED', currentOfferId: offer.id };
    }
    if (offer.termsHash !== input.acceptedTermsHash) {
      return { kind: 'terms-changed', offerId: offer.id, currentTermsHash: offer.termsHash };
    }
    const terms = offer.terms as unknown as CanonicalTerms;
    const excluded = terms.territory.excludedCountries;
    if (excluded.length > 0) {
      const org = await this.organizations.findById(distillerId, tx);
      const country = org?.country ?? null;
      if (!country || excluded.includes(country)) return { kind: 'territory', country };
    }

    let poolSubscriptionId: string | null = null;
    if (input.viaPool) {
      const pricing = offer.pricing as unknown as CanonicalPricing;
      if (!offer.poolEligible) return { kind: 'pool-not-allowed', reason: 'NOT_POOL_ELIGIBLE', currency: pricing.currency };
      if (await this.licensing.hasLeftPool(tx, offer.modelId)) return { kind: 'pool-not-allowed', reason: 'LEFT_POOL', currency: pricing.currency };
      const sub = await this.hooks.poolSubscription(tx, distillerId, pricing.currency);
      if (!sub) return { kind: 'pool-not-allowed', reason: 'NO_SUBSCRIPTION', currency: pricing.currency };
      if (sub.status !== 'ACTIVE') return { kind: 'pool-not-allowed', reason: 'SUBSCRIPTION_SUSPENDED', currency: pricing.currency };
      poolSubscriptionId = sub.id;
    }

    await this.transitions.expire(tx, { offerId: offer.id, distillerOrganizationId: distillerId });
    const live = await tx.findOne(LicenseAgreementEntity, {
      where: { offerId: offer.id, distillerOrganizationId: distillerId, status: In(LIVE) },
    });
    if (live) return { kind: 'exists', view: { agreement: live, offer: summary(offer) } };

    const now = this.clock.now();
    const pricing = offer.pricing as unknown as CanonicalPricing;
    const status = poolSubscriptionId === null && BigInt(pricing.upfrontFeeMinor) > 0n ? AgreementStatus.PENDING_PAYMENT : AgreementStatus.ACTIVE;
    assertTransition(null, status, AgreementCause.ACCEPT);
    const agreement = await tx.save(
      tx.create(LicenseAgreementEntity, {
        offerId: offer.id,
        modelId: offer.modelId,
        vendorOrganizationId: offer.organizationId,
        distillerOrganizationId: distillerId,
        acceptedByUserId: principal.kind === 'user' ? principal.userId : null,
        acceptedAt: now,
        termsSnapshot: offer.terms,
        pricingSnapshot: offer.pricing,
        termsHash: offer.termsHash,
        status,
        statusReason: null,
        statusChangedAt: now,
        startsAt: now,
        endsAt: terms.termDays ? new Date(now.getTime() + terms.termDays * DAY_MS) : null,
        poolSubscriptionId,
      }),
    );
    await this.audit.record(tx, principal, {
      action: ruleOf(AgreementCause.ACCEPT).audit,
      targetType: 'LicenseAgreement',
      targetId: agreement.id,
      organizationId: distillerId,
      data: {
        offerId: offer.id,
        modelId: offer.modelId,
        vendorOrganizationId: offer.organizationId,
        termsHash: offer.termsHash,
        status,
        endsAt: agreement.endsAt?.toISOString() ?? null,
        ...(poolSubscriptionId ? { poolSubscriptionId } : {}),
      },
    });
    // e.g. billing's upfront-fee invoice: committed with the agreement or not at all.
    await this.hooks.runAccepted(tx, agreement, principal);
    return { kind: 'accepted', view: { agreement, offer: summary(offer) } };
  }

  /** Visible to members of either party only; others get NOT_FOUND. */
  async get(principal: Principal, id: string): Promise<AgreementView> {
    assertUuid('id', id);
    const em = this.db.reader;
    const a = await em.findOne(LicenseAgreementEntity, { where: { id } });
    if (!a || !(await this.isParty(em, principal, a))) throw new NotFoundError('LicenseAgreement', id);
    return this.viewOf(em, a);
  }

  /** The distiller's agreements, or the vendor's agreements on its models; newest first. */
  async list(
    principal: Principal,
    q: { organizationId: string; role: AgreementRole; status: AgreementStatus | null; first: number; after: string | null },
  ): Promise<AgreementPage> {
    if (!Number.isInteger(q.first) || q.first < 1 || q.first > 100) throw new BadInputError([{ field: 'first', message: 'must be between 1 and 100' }]);
    const afterId = q.after === null ? null : AGREEMENT_CURSOR.decode(q.after)[0];
    assertUuid('organizationId', q.organizationId);
    const em = this.db.reader;
    await this.access.requireOrganization(em, principal, q.organizationId, 'read');
    const column = q.role === AgreementRole.DISTILLER ? 'a.distiller_organization_id' : 'a.vendor_organization_id';
    const qb = em.createQueryBuilder(LicenseAgreementEntity, 'a').where(`${column} = :org`, { org: q.organizationId });
    if (q.status) this.whereEffectiveStatus(qb, q.status);
    const totalCount = await qb.clone().getCount();
    if (afterId) {
      qb.andWhere('(a.created_at, a.id) < (SELECT c.created_at, c.id FROM license_agreements c WHERE c.id = :afterId)', { afterId });
    }
    const rows = await qb.orderBy('a.created_at', 'DESC').addOrderBy('a.id', 'DESC').limit(q.first + 1).getMany();
    const page = pageOf(rows, q.first);
    return { rows: await this.viewsOf(em, page.rows), hasNextPage: page.hasNextPage, totalCount };
  }

  async changeStatus(principal: Principal, id: string, transition: Transition, reason: string): Promise<TransitionOutcome> {
    assertUuid('id', id);
    const text = reason.trim();
    if (text.length < 1 || text.length > 1000) throw new BadInputError([{ field: 'reason', message: 'reason must be 1 to 1000 characters' }]);
    return this.db.transaction(async (tx): Promise<TransitionOutcome> => {
      const a = await tx.findOne(LicenseAgreementEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!a) throw new NotFoundError('LicenseAgreement', id);
      await this.requireVendorOrAdmin(tx, principal, a);
      if (effectiveStatus(a, this.clock.now()) === AgreementStatus.EXPIRED && a.status !== AgreementStatus.EXPIRED) {
        await this.transitions.expire(tx, { id: a.id });
        a.status = AgreementStatus.EXPIRED;
      }
      const offer = await tx.findOneOrFail(LicenseOfferEntity, { where: { id: a.offerId } });
      const { cause, to } = await this.requestOf(tx, transition, a);
      if (!isAllowedTransition(a.status, to, cause)) return { kind: 'invalid', current: a.status, requested: REQUESTED[transition] };
      const [moved] = await this.transitions.move(tx, {
        cause,
        to,
        from: a.status,
        scope: { id: a.id },
        reason: text,
        actor: principal,
        auditData: (m) => ({ from: m.from, to: m.to, reason: text }),
      });
      // The row is locked since the read above, so the move cannot miss it.
      if (!moved) throw new Error(`agreement ${a.id} did not move from ${a.status} to ${to}`);
      a.status = to;
      a.statusReason = text;
      a.suspensionCause = null;
      a.statusChangedAt = moved.statusChangedAt;
      return { kind: 'changed', view: { agreement: a, offer: summary(offer) } };
    });
  }

  /**
   * Marks live agreements whose term has ended as EXPIRED (in batches, skipping
   * rows another transaction holds), with an audit entry each. Reads already
   * report them as EXPIRED; this makes the stored status catch up. Scheduling
   * it is left to the jobs infrastructure.
   */
  async expireDueAgreements(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.db.transaction((tx) => this.transitions.expire(tx, {}, EXPIRY_BATCH));
      total += n;
      if (n < EXPIRY_BATCH) return total;
    }
  }

  /**
   * One agreement's metering view for the gateway, remembered per process for
   * METERING_VIEW_TTL_MS (a status change made through this process clears it
   * at once; other replicas see it within the TTL). Null when unknown.
   */
  async meteringView(id: string): Promise<AgreementMeteringView | null> {
    const hit = this.meteringCache.get(id);
    if (hit && hit.until > Date.now()) return hit.view;
    const view = (await this.meteringViews(this.db.reader, [id])).get(id) ?? null;
    if (this.meteringCache.size >= 10_000) this.meteringCache.clear();
    if (view) this.meteringCache.set(id, { view, until: Date.now() + METERING_VIEW_TTL_MS });
    return view;
  }

  /**
   * What metering needs about agreements (status, term, parties, limits), for
   * many at once; unknown ids are absent from the map.
   */
  async meteringViews(em: EntityManager, ids: readonly string[]): Promise<Map<string, AgreementMeteringView>> {
    const out = new Map<string, AgreementMeteringView>();
    if (ids.length === 0) return out;
    const rows = await this.licensing.meteringViews(em, ids);
    for (const r of rows) {
      out.set(r.id, {
        id: r.id,
        modelId: r.model_id,
        vendorOrganizationId: r.vendor_organization_id,
        distillerOrganizationId: r.distiller_organization_id,
        status: r.status,
        statusChangedAt: r.status_changed_at,
        startsAt: r.starts_at,
        endsAt: r.ends_at,
        tokensPerPeriod: r.tokens_per_period === null ? null : BigInt(r.tokens_per_period),
        tokensPerMinute: r.tokens_per_minute === null ? null : BigInt(r.tokens_per_minute),
        poolSubscriptionId: r.pool_subscription_id ?? null,
      });
    }
    return out;
  }

  /**
   * What provenance needs to back a lineage edge with an agreement: parties,
   * status and the accepted terms. `lock` takes FOR SHARE row locks, so a
   * concurrent suspension or termination waits for the caller's transaction.
   */
  async lineageViews(em: EntityManager, ids: readonly string[], opts: { lock?: boolean } = {}): Promise<Map<string, AgreementLineageView>> {
    const out = new Map<string, AgreementLineageView>();
    if (ids.length === 0) return out;
    const rows = await this.licensing.lineageViews(em, ids, opts.lock ?? false);
    for (const r of rows) {
      out.set(r.id, {
        id: r.id,
        modelId: r.model_id,
        vendorOrganizationId: r.vendor_organization_id,
        distillerOrganizationId: r.distiller_organization_id,
        status: r.status,
        termsHash: r.terms_hash,
        terms: r.terms_snapshot,
      });
    }
    return out;
  }

  /** AgreementDirectory (for identity: binding GATEWAY keys). */
  async agreementOfDistiller(em: EntityManager, agreementId: string, organizationId: string): Promise<{ status: string; ended: boolean } | null> {
    const a = await em.findOne(LicenseAgreementEntity, { where: { id: agreementId, distillerOrganizationId: organizationId } });
    if (!a) return null;
    const ended = a.status === AgreementStatus.TERMINATED || a.status === AgreementStatus.EXPIRED || (a.endsAt !== null && a.endsAt <= this.clock.now());
    return { status: a.status, ended };
  }

  /** What a vendor's request means for this agreement: the cause, and the status it would move to. */
  private async requestOf(tx: Tx, transition: Transition, a: LicenseAgreementEntity): Promise<{ cause: AgreementCause; to: AgreementStatus }> {
    switch (transition) {
      case 'suspend':
        return { cause: AgreementCause.VENDOR_SUSPEND, to: AgreementStatus.SUSPENDED };
      case 'terminate':
        return { cause: AgreementCause.TERMINATE, to: AgreementStatus.TERMINATED };
      case 'reinstate': {
        // An upfront fee not paid yet (billing answers): back to PENDING_PAYMENT, the gateway keeps refusing.
        const fee = BigInt((a.pricingSnapshot as unknown as CanonicalPricing).upfrontFeeMinor);
        const unpaid = a.status === AgreementStatus.SUSPENDED && fee > 0n && !(await this.hooks.upfrontPaid(tx, a.id));
        return { cause: AgreementCause.VENDOR_REINSTATE, to: unpaid ? AgreementStatus.PENDING_PAYMENT : AgreementStatus.ACTIVE };
      }
    }
  }

  /** Vendor members with write access, or a platform admin; the distiller gets FORBIDDEN, anyone else NOT_FOUND. */
  private async requireVendorOrAdmin(tx: Tx, principal: Principal, a: LicenseAgreementEntity): Promise<void> {
    if (principal.isAdmin || (await this.access.hasAccess(tx, principal, [a.vendorOrganizationId], 'write'))) return;
    if (await this.access.isMember(tx, principal, a.distillerOrganizationId)) {
      throw new ForbiddenError('Only the vendor or a platform admin may change the status of an agreement');
    }
    throw new NotFoundError('LicenseAgreement', a.id);
  }

  private isParty(em: EntityManager, principal: Principal, a: LicenseAgreementEntity): Promise<boolean> {
    return this.access.hasAccess(em, principal, [a.distillerOrganizationId, a.vendorOrganizationId], 'read');
  }

  private whereEffectiveStatus(qb: ReturnType<EntityManager['createQueryBuilder']>, status: AgreementStatus): void {
    if (status === AgreementStatus.EXPIRED) {
      qb.andWhere(
        new Brackets((b) => {
          b.where(`a.status = 'EXPIRED'`).orWhere(`(a.status IN ${LIVE_SQL} AND a.ends_at <= :now)`, { now: this.clock.now() });
        }),
      );
    } else if (LIVE.includes(status)) {
      qb.andWhere('a.status = :status AND (a.ends_at IS NULL OR a.ends_at > :now)', { status, now: this.clock.now() });
    } else {
      qb.andWhere('a.status = :status', { status });
    }
  }

  private async viewOf(em: EntityManager, a: LicenseAgreementEntity): Promise<AgreementView> {
    return (await this.viewsOf(em, [a]))[0];
  }

  /** Agreements with their offers' (id, name, version), in one query for the page. */
  private async viewsOf(em: EntityManager, rows: LicenseAgreementEntity[]): Promise<AgreementView[]> {
    if (rows.length === 0) return [];
    const offers = await em.find(LicenseOfferEntity, {
      where: { id: In([...new Set(rows.map((r) => r.offerId))]) },
      select: { id: true, name: true, version: true },
    });
    const byId = new Map(offers.map((o) => [o.id, summary(o)]));
    return rows.map((agreement) => ({ agreement, offer: byId.get(agreement.offerId)! }));
  }
}
