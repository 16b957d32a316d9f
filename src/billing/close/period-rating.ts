/**
 * Rating one agreement for the close of a period (pure: no database).
 *
 * - Usage: input and output tokens of the period's rollup, one line each,
 *   rated half-up per line (`rateTokens`). A line with tokens is kept even at
 *   a zero price (it explains); a line without tokens is not written.
 * - Overage: tokens beyond the licence's tokensPerPeriod were counted by
 *   metering (the rollup's overage_tokens); they are marked on the lines —
 *   split between input and output by the allocation rule, in proportion to
 *   the tokens — and billed at the licence price like any other token: the
 *   licence sets no overage price, and the platform bills over-quota usage as
 *   overage rather than refusing it.
 * - Minimum commitment: when the usage amount of the period is below the
 *   agreement's minimumCommitmentMinor, one true-up line for the difference.
 *   A month the term only partly covers (the first, or the last) commits
 *   minimumCommitmentMinor × covered days ÷ days in the month, rounded
 *   half-up; a day counts when any part of it is in the term. An agreement
 *   still PENDING_PAYMENT at the close was never usable and commits nothing.
 * - Late events: for every earlier CLOSED period, the rollup now versus what
 *   lines have billed for it so far → ADJUSTMENT_INPUT / ADJUSTMENT_OUTPUT
 *   lines for the difference, at the agreement's prices. If that period's
 *   bill included a minimum-commitment true-up, the late usage first uses up
 *   what the true-up already charged: a negative true-up line gives it back
 *   (so a period costs max(commitment, usage), however late its usage comes).
 */
import { allocate } from '../../platform/money/allocation';
import { Money } from '../../platform/money/money';
import { rateTokens } from '../../platform/money/rating';
import { InvoiceLineKind } from '../billing.entity';
import { coveredDays, PeriodRange } from '../billing-period';

export interface TokenCounts {
  input: bigint;
  output: bigint;
  overage: bigint;
}

/** An earlier, closed period of the agreement: its rollup now and what has been billed for it. */
export interface EarlierPeriod {
  period: string;
  rollup: TokenCounts;
  billed: TokenCounts;
  /** Net amount of the true-up lines billed for that period so far (≥ 0). */
  trueUpBilled: bigint;
}

export interface AgreementToRate {
  id: string;
  distillerOrganizationId: string;
  vendorOrganizationId: string;
  modelId: string;
  modelName: string;
  currency: string;
  inputPrice: bigint;
  outputPrice: bigint;
  minimumCommitment: bigint;
  /** Start and (effective) end of the term; end null = runs on. */
  termStart: Date;
  termEnd: Date | null;
  /** False when no minimum is owed at all (never activated). */
  commitmentApplies: boolean;
  /** The period's rollup; null when it had no usage. */
  usage: TokenCounts | null;
  earlier: EarlierPeriod[];
}

export interface RatedLine {
  kind: InvoiceLineKind;
  agreementId: string;
  vendorOrganizationId: string;
  modelId: string;
  usagePeriod: string;
  quantity: bigint | null;
  unitPrice: bigint | null;
  amount: bigint;
  overage: bigint;
  description: string;
}

const group = (n: bigint): string => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** `overage` split over [input, output] by the allocation rule, each part capped at its quantity. */
export function splitOverage(overage: bigint, input: bigint, output: bigint): [bigint, bigint] {
  if (overage <= 0n || input + output <= 0n) return [0n, 0n];
  const capped = overage > input + output ? input + output : overage;
  const [i, o] = allocate(capped, [input, output]);
  return [i, o];
}

/** minimum × covered ÷ days, half-up. */
export function proratedCommitment(minimum: bigint, covered: number, days: number): bigint {
  if (minimum <= 0n || covered <= 0) return 0n;
  if (covered >= days) return minimum;
  const c = BigInt(covered);
  const d = BigInt(days);
  return (2n * minimum * c + d) / (2n * d);
}

export function rateAgreement(a: AgreementToRate, p: PeriodRange): RatedLine[] {
  const money = (minor: bigint) => Money.of(minor, a.currency).format();
  const base = { agreementId: a.id, vendorOrganizationId: a.vendorOrganizationId, modelId: a.modelId };
  const lines: RatedLine[] = [];

  const tokenLine = (
    kind: InvoiceLineKind,
    period: string,
    quantity: bigint,
    price: bigint,
    overage: bigint,
    what: string,
  ): RatedLine => {
    const amount = rateTokens(quantity, price);
    const over = overage > 0n ? `; ${group(overage)} of them beyond the period quota (overage, billed at the licence price)` : '';
    return {
      ...base,
      kind,
      usagePeriod: period,
      quantity,
      unitPrice: price,
      amount,
      overage,
      description: `${what} — ${a.modelName}, ${period}: ${group(quantity)} tokens × ${money(price)} per million tokens = ${money(amount)}${over}`,
    };
  };

  // The period's usage.
  let usageAmount = 0n;
  if (a.usage) {
    const [inOver, outOver] = splitOverage(a.usage.overage, a.usage.input, a.usage.output);
    if (a.usage.input > 0n) lines.push(tokenLine(InvoiceLineKind.USAGE_INPUT, p.period, a.usage.input, a.inputPrice, inOver, 'Input tokens'));
    if (a.usage.output > 0n) lines.push(tokenLine(InvoiceLineKind.USAGE_OUTPUT, p.period, a.usage.output, a.outputPrice, outOver, 'Output tokens'));
    usageAmount = lines.reduce((s, l) => s + l.amount, 0n);
  }

  // The minimum commitment of the period.
  if (a.commitmentApplies && a.minimumCommitment > 0n) {
    const covered = coveredDays(p, a.termStart, a.termEnd);
    const committed = proratedCommitment(a.minimumCommitment, covered, p.days);
    if (committed > usageAmount) {
      const share = covered >= p.days ? '' : ` (${covered} of ${p.days} days of the month in the term)`;
      lines.push({
        ...base,
        kind: InvoiceLineKind.MINIMUM_COMMITMENT_TRUE_UP,
        usagePeriod: p.period,
        quantity: null,
        unitPrice: null,
        amount: committed - usageAmount,
        overage: 0n,
        description:
          `Minimum commitment — ${a.modelName}, ${p.period}: ${money(committed)}${share}, ` +
          `usage ${money(usageAmount)}, true-up ${money(committed - usageAmount)}`,
      });
    }
  }

  // Late usage of earlier closed periods.
  for (const q of [...a.earlier].sort((x, y) => (x.period < y.period ? -1 : x.period > y.period ? 1 : 0))) {
    if (q.period >= p.period) continue;
    // Rollups only grow (events are immutable); a smaller rollup is not credited automatically.
    const inDiff = q.rollup.input > q.billed.input ? q.rollup.input - q.billed.input : 0n;
    const outDiff = q.rollup.output > q.billed.output ? q.rollup.output - q.billed.output : 0n;
    if (inDiff === 0n && outDiff === 0n) continue;
    const overDiff = q.rollup.overage > q.billed.overage ? q.rollup.overage - q.billed.overage : 0n;
    const [inOver, outOver] = splitOverage(overDiff, inDiff, outDiff);
    const adjustments: RatedLine[] = [];
    if (inDiff > 0n) adjustments.push(tokenLine(InvoiceLineKind.ADJUSTMENT_INPUT, q.period, inDiff, a.inputPrice, inOver, 'Late input tokens'));
    if (outDiff > 0n) adjustments.push(tokenLine(InvoiceLineKind.ADJUSTMENT_OUTPUT, q.period, outDiff, a.outputPrice, outOver, 'Late output tokens'));
    lines.push(...adjustments);
    const lateAmount = adjustments.reduce((s, l) => s + l.amount, 0n);
    const credit = lateAmount < q.trueUpBilled ? lateAmount : q.trueUpBilled;
    if (credit > 0n) {
      lines.push({
        ...base,
        kind: InvoiceLineKind.MINIMUM_COMMITMENT_TRUE_UP,
        usagePeriod: q.period,
        quantity: null,
        unitPrice: null,
        amount: -credit,
        overage: 0n,
        description:
          `Minimum commitment — ${a.modelName}, ${q.period}: the true-up billed for that month already covered ` +
          `${money(credit)} of this late usage`,
      });
    }
  }
  return lines;
}
