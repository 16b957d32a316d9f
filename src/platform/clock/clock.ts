import { Global, Injectable, Module } from '@nestjs/common';

/**
 * The time every time-dependent money rule decides by: which billing period
 * is current, which periods are due, when held earnings become available.
 * One seam, so a test (or a sandbox test clock) can move "now" for all of
 * them at once instead of waiting for it.
 */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}

@Global()
@Module({ providers: [Clock], exports: [Clock] })
export class ClockModule {}
