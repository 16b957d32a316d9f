import { Global, Module } from '@nestjs/common';
import { Clock } from './clock';
import { ClockStateRepository } from './clock-state.repository';
import { ClockSync } from './clock-sync.service';

/** The platform Clock, and the sandbox clock's persisted offset that keeps every process on the same time. */
@Global()
@Module({ providers: [Clock, ClockStateRepository, ClockSync], exports: [Clock, ClockStateRepository, ClockSync] })
export class ClockModule {}
