import { Injectable } from '@nestjs/common';

/**
 * The time billing decides by (which period is current, which periods are
 * due). A seam so tests can close "next month" without waiting for it.
 */
@Injectable()
export class BillingClock {
  now(): Date {
    return new Date();
  }
}
