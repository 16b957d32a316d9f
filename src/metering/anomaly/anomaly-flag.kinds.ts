/** Why an agreement's usage was flagged for the vendor and admins. */
export enum AnomalyKind {
  /** A minute's tokens far above the agreement's own per-minute average over the previous day. */
  BURST = 'BURST',
  /** Gateway requests on a suspended / ended agreement, or usage reported after it stopped. */
  USAGE_AFTER_SUSPENSION = 'USAGE_AFTER_SUSPENSION',
  /** The upstream reported no token counts: usage was estimated from the text. */
  ESTIMATED_USAGE = 'ESTIMATED_USAGE',
  /** Usage beyond the period quota (recorded and billed as overage). */
  QUOTA_OVERAGE = 'QUOTA_OVERAGE',
}

export interface AnomalySignal {
  agreementId: string;
  vendorOrganizationId: string;
  distillerOrganizationId: string;
  kind: AnomalyKind;
  /** Signals of one kind in the same window (minute for bursts, hour otherwise) fold into one flag. */
  windowStart: Date;
  observedTokens: bigint | null;
  baselineTokens?: bigint | null;
  detail?: Record<string, unknown>;
}

/** Start of the hour containing `t` (UTC). */
export function hourOf(t: Date): Date {
  return new Date(Math.floor(t.getTime() / 3_600_000) * 3_600_000);
}
