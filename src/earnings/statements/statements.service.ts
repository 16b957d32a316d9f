/**
 * Signed statements: a vendor's earnings per (organization, period,
 * currency) and a distiller's usage per (organization, period), for CLOSED
 * billing periods only.
 *
 * The first request builds the statement from one consistent snapshot of the
 * database (REPEATABLE READ), checks that an earnings statement equals the
 * ledger to the minor unit, signs the RFC 8785 payload with the current
 * attestation key and stores it; concurrent first requests each build one,
 * exactly one is stored (the unique index; the others read it back), and every
 * later request returns the stored bytes.
 */
import { Injectable } from '@nestjs/common';
import { createHash, sign } from 'node:crypto';
import { AuditService } from '../../audit/audit.service';
import { parsePeriod, PeriodRange } from '../../billing/billing-period';
import { AccessService } from '../../identity/access.service';
import { OrganizationService } from '../../identity/organization.service';
import type { Principal } from '../../platform/auth/principal';
import { Clock } from '../../platform/clock/clock';
import { Database } from '../../platform/database/transaction';
import { BadInputError, NotFoundError } from '../../platform/errors/app-error';
import { assertUuid } from '../../platform/errors/validation';
import { isCurrencyCode } from '../../platform/validation/iso-codes';
import { AttestationKeysService } from '../../provenance/attestation/attestation-keys.service';
import { canonicalJson } from '../../provenance/attestation/attestation.statement';
import { UsageMerkleService } from '../usage-proofs/usage-merkle.service';
import { earningsLines, StatementMismatchError } from './earnings-lines';
import {
  AccountTotals,
  AnyStatement,
  CurrencyTotal,
  EARNINGS_SOURCES,
  EARNINGS_STATEMENT_TYPE,
  EarningsSource,
  EarningsStatement,
  StatementDocument,
  StatementKind,
  USAGE_LEAF_DESCRIPTION,
  USAGE_LEAF_ORDER,
  USAGE_STATEMENT_TYPE,
  UsageAgreementEntry,
  UsageStatement,
} from './statement.types';
import { StatementPeriodNotClosedError } from './statements.errors';
import { AccountSums, StatementsRepository, StoredStatementRow } from './statements.repository';

export interface IssuedStatement<S extends AnyStatement = AnyStatement> {
  row: StoredStatementRow;
  document: StatementDocument<S>;
}

type Unsigned<S extends AnyStatement> = Omit<S, 'keyId'>;

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** Ledger sign (debit positive) → the vendor's side (credit positive), per account and net. */
function vendorSide(s: AccountSums): AccountTotals {
  return { payableMinor: (-s.payable).toString(), heldMinor: (-s.held).toString(), netMinor: (-(s.payable + s.held)).toString() };
}

function addTotals(a: AccountSums, b: AccountSums): AccountSums {
  return { payable: a.payable + b.payable, held: a.held + b.held };
}

@Injectable()
export class StatementsService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessService,
    private readonly organizations: OrganizationService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly keys: AttestationKeysService,
    private readonly merkle: UsageMerkleService,
    private readonly repo: StatementsRepository,
  ) {}

  async earnings(principal: Principal, organizationId: string, period: string, currency: string): Promise<IssuedStatement<EarningsStatement>> {
    assertUuid('organizationId', organizationId);
    const range = parsePeriod(period);
    if (!isCurrencyCode(currency)) throw new BadInputError([{ field: 'currency', message: 'currency must be an ISO 4217 code, upper-case (e.g. USD)' }]);
    return this.getOrIssue(principal, organizationId.toLowerCase(), 'EARNINGS', range, currency, (closedAt) =>
      this.buildEarnings(organizationId.toLowerCase(), range, currency, closedAt),
    ) as Promise<IssuedStatement<EarningsStatement>>;
  }

  async usage(principal: Principal, organizationId: string, period: string): Promise<IssuedStatement<UsageStatement>> {
    assertUuid('organizationId', organizationId);
    const range = parsePeriod(period);
    return this.getOrIssue(principal, organizationId.toLowerCase(), 'USAGE', range, null, (closedAt) =>
      this.buildUsage(organizationId.toLowerCase(), range, closedAt),
    ) as Promise<IssuedStatement<UsageStatement>>;
  }

  private async getOrIssue(
    principal: Principal,
    organizationId: string,
    kind: StatementKind,
    range: PeriodRange,
    currency: string | null,
    build: (closedAt: Date) => Promise<Unsigned<AnyStatement>>,
  ): Promise<IssuedStatement> {
    const em = this.db.reader;
    if (!principal.isAdmin) await this.access.requireOrganization(em, principal, organizationId, 'read');
    else if (!(await this.organizations.findById(organizationId, em))) throw new NotFoundError('Organization', organizationId);
    const existing = await this.repo.stored(em, organizationId, kind, range.period, currency);
    if (existing) return { row: existing, document: documentOf(existing) };
    const bp = await this.repo.billingPeriod(em, range.period);
    if (!bp || bp.status !== 'CLOSED' || !bp.closedAt) throw new StatementPeriodNotClosedError(range.period, bp?.status ?? 'OPEN');

    const unsigned = await build(bp.closedAt);
    await this.keys.ensureCurrentKeyStored();
    const key = this.keys.currentKey;
    const payload = canonicalJson({ ...unsigned, keyId: key.keyId });
    const signature = sign(null, Buffer.from(payload, 'utf8'), key.privateKey).toString('base64url');
    const issuedAt = new Date(unsigned.issuedAt);

    return this.db.transaction(async (tx) => {
      const row = await this.repo.insertIfAbsent(tx, {
        organizationId,
        kind,
        period: range.period,
        currency,
        keyId: key.keyId,
        payload,
        signature,
        payloadSha256: sha256(payload),
        issuedAt,
      });
      if (!row) {
        // A concurrent first request stored its statement first: that one is the statement.
        const stored = await this.repo.stored(tx, organizationId, kind, range.period, currency);
        if (!stored) throw new Error(`statement ${kind} ${organizationId} ${range.period} conflicted but cannot be read`);
        return { row: stored, document: documentOf(stored) };
      }
      await this.audit.record(tx, principal, {
        action: 'earnings.statement.issued',
        targetType: 'Statement',
        targetId: row.id,
        organizationId,
        data: { kind, period: range.period, currency, keyId: key.keyId, payloadSha256: sha256(payload) },
      });
      return { row, document: documentOf(row) };
    });
  }

  /** The earnings statement from one snapshot; refuses (StatementMismatchError) unless it equals the ledger. */
  private buildEarnings(organizationId: string, range: PeriodRange, currency: string, closedAt: Date): Promise<Unsigned<EarningsStatement>> {
    return this.db.dataSource.transaction('REPEATABLE READ', async (em) => {
      const entries = await this.repo.vendorEntries(em, organizationId, currency, range.start, range.end);
      const invoiceIds = [...new Set(entries.map((e) => e.invoiceId).filter((id): id is string => id !== null))];
      // One connection (the snapshot's): the queries run one after the other.
      const invoiceNumbers = await this.repo.invoiceNumbers(em, invoiceIds);
      const parts = await this.repo.allocationParts(em, invoiceIds);
      const legacyPayables = await this.repo.legacyPayables(em, organizationId, invoiceIds);
      const vendorLines = await this.repo.vendorLineSums(em, organizationId, invoiceIds);
      const opening = await this.repo.vendorSums(em, organizationId, currency, null, range.start);
      const change = await this.repo.vendorSums(em, organizationId, currency, range.start, range.end);
      const lines = earningsLines({ organizationId, entries, invoiceNumbers, parts, legacyPayables, vendorLines });

      const bySource = Object.fromEntries(EARNINGS_SOURCES.map((s) => [s, 0n])) as Record<EarningsSource, bigint>;
      let payable = 0n;
      let held = 0n;
      for (const l of lines) {
        const a = BigInt(l.amountMinor);
        bySource[l.source] += a;
        if (l.account === 'PAYABLE') payable += a;
        else held += a;
      }
      // The statement must say what the ledger says: the vendor's payable and held accounts moved by exactly its lines.
      const ledgerChange = vendorSide(change);
      if (payable.toString() !== ledgerChange.payableMinor || held.toString() !== ledgerChange.heldMinor) {
        throw new StatementMismatchError(
          `earnings statement of ${organizationId} for ${range.period} ${currency}: lines total payable ${payable}, held ${held}; ` +
            `the ledger moved payable ${ledgerChange.payableMinor}, held ${ledgerChange.heldMinor}`,
        );
      }
      return {
        type: EARNINGS_STATEMENT_TYPE,
        organizationId,
        period: range.period,
        currency,
        periodStart: range.start.toISOString(),
        periodEnd: range.end.toISOString(),
        billingPeriodClosedAt: closedAt.toISOString(),
        lines,
        totalsBySource: Object.fromEntries(EARNINGS_SOURCES.map((s) => [s, bySource[s].toString()])) as Record<EarningsSource, string>,
        totals: { payableMinor: payable.toString(), heldMinor: held.toString(), netMinor: (payable + held).toString() },
        ledger: { opening: vendorSide(opening), change: ledgerChange, closing: vendorSide(addTotals(opening, change)) },
        issuedAt: this.clock.now().toISOString(),
      };
    });
  }

  private buildUsage(organizationId: string, range: PeriodRange, closedAt: Date): Promise<Unsigned<UsageStatement>> {
    return this.db.dataSource.transaction('REPEATABLE READ', async (em) => {
      const agreements = await this.repo.distillerAgreements(em, organizationId, range.end);
      const charges = await this.repo.charges(em, organizationId, range.period, range.start, range.end);
      const entries: UsageAgreementEntry[] = [];
      const totals = new Map<string, bigint>();
      for (const a of agreements) {
        const root = await this.merkle.periodRoot(em, a.id, range.period);
        const mine = charges.filter((c) => c.agreementId === a.id);
        if (root.eventCount === 0 && mine.length === 0) continue;
        const perCurrency = new Map<string, bigint>();
        for (const c of mine) {
          perCurrency.set(c.currency, (perCurrency.get(c.currency) ?? 0n) + BigInt(c.amountMinor));
          totals.set(c.currency, (totals.get(c.currency) ?? 0n) + BigInt(c.amountMinor));
        }
        entries.push({
          agreementId: a.id,
          modelId: a.modelId,
          vendorOrganizationId: a.vendorOrganizationId,
          usage: { eventCount: root.eventCount, inputTokens: root.inputTokens.toString(), outputTokens: root.outputTokens.toString(), merkleRoot: root.merkleRoot },
          charges: mine.map((c) => ({
            invoiceId: c.invoiceId,
            invoiceNumber: c.invoiceNumber,
            invoiceKind: c.invoiceKind,
            position: c.position,
            kind: c.kind,
            currency: c.currency,
            usagePeriod: c.usagePeriod,
            quantity: c.quantity,
            unitPricePerMillionMinor: c.unitPriceMinor,
            amountMinor: c.amountMinor,
          })),
          chargeTotals: currencyTotals(perCurrency),
        });
      }
      return {
        type: USAGE_STATEMENT_TYPE,
        organizationId,
        period: range.period,
        periodStart: range.start.toISOString(),
        periodEnd: range.end.toISOString(),
        billingPeriodClosedAt: closedAt.toISOString(),
        merkle: { hashing: 'RFC6962-SHA256', leaf: USAGE_LEAF_DESCRIPTION, order: USAGE_LEAF_ORDER },
        agreements: entries,
        totals: currencyTotals(totals),
        issuedAt: this.clock.now().toISOString(),
      };
    });
  }
}

function currencyTotals(m: Map<string, bigint>): CurrencyTotal[] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([currency, v]) => ({ currency, amountMinor: v.toString() }));
}

export function documentOf<S extends AnyStatement>(row: StoredStatementRow): StatementDocument<S> {
  return { payload: row.payload, signature: row.signature, keyId: row.keyId, statement: JSON.parse(row.payload) as S };
}
