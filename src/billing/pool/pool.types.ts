/** The pool plan's vocabulary (shared by billing/pool and earnings/pool). */

export enum PoolOverage {
  /** Past the shared allowance the gateway refuses (429) until the next period. */
  REFUSE = 'REFUSE',
  /** Past the shared allowance usage goes on, billed on the next renewal invoice at the plan's overage price. */
  BILL = 'BILL',
}

export enum PoolDistributionMode {
  PRO_RATA = 'PRO_RATA',
  USER_CENTRIC = 'USER_CENTRIC',
}

export enum PoolPlanStatus {
  ACTIVE = 'ACTIVE',
  /** A newer version of the plan exists: no new subscriptions; subscribers move to the newest version at renewal. */
  SUPERSEDED = 'SUPERSEDED',
  /** No new subscriptions and no renewals: subscriptions end at the end of their period. */
  RETIRED = 'RETIRED',
}

export enum PoolSubscriptionStatus {
  ACTIVE = 'ACTIVE',
  /** An invoice of the subscription's distiller was written off: pool agreements refused until it is paid. */
  SUSPENDED = 'SUSPENDED',
  ENDED = 'ENDED',
}

export interface PoolPlanRow {
  id: string;
  name: string;
  version: number;
  currency: string;
  monthlyFeeMinor: bigint;
  tokenAllowance: bigint;
  overage: PoolOverage;
  overagePerMillionMinor: bigint | null;
  distribution: PoolDistributionMode;
  minimumTokensToEarn: bigint;
  platformFeeBps: number;
  status: PoolPlanStatus;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface PoolSubscriptionRow {
  id: string;
  planId: string;
  distillerOrganizationId: string;
  currency: string;
  status: PoolSubscriptionStatus;
  suspensionCause: string | null;
  cancelAtPeriodEnd: boolean;
  startedAt: Date;
  endedAt: Date | null;
}
