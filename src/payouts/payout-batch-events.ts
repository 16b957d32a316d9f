/**
 * Committed payout-batch approvals, for whoever sends the payouts. An approved
 * batch's payouts are APPROVED with `next_attempt_at` = the approval time, so
 * a periodic executor finds them anyway; a listener registered here (at module
 * init) may start on them at once instead of waiting for its next tick.
 * Listeners run after the approving transaction has committed, never on
 * rollback; a listener that throws is logged by the transaction's after-commit
 * runner and changes nothing that was committed.
 */
import { Injectable } from '@nestjs/common';

export interface PayoutBatchApproved {
  batchId: string;
  currency: string;
  /** The payouts that became APPROVED (held ones are not among them). */
  payoutIds: readonly string[];
  approvedAt: Date;
}

export type PayoutBatchApprovedListener = (event: PayoutBatchApproved) => void | Promise<void>;

@Injectable()
export class PayoutBatchEvents {
  private readonly approvedListeners: PayoutBatchApprovedListener[] = [];

  /** Registers what to do when a batch has been approved (e.g. execute it now). */
  onBatchApproved(listener: PayoutBatchApprovedListener): void {
    this.approvedListeners.push(listener);
  }

  /** Called by the review once the approval has committed. */
  async batchApproved(event: PayoutBatchApproved): Promise<void> {
    for (const listener of this.approvedListeners) await listener(event);
  }
}
