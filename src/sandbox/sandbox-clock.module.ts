import { Module } from '@nestjs/common';
import { SandboxClockResolver } from './sandbox-clock.resolver';
import { SandboxClockService } from './sandbox-clock.service';

/** Owns the sandbox test clock's API: reading business time, and advancing it (admins, sandbox mode). */
@Module({ providers: [SandboxClockService, SandboxClockResolver] })
export class SandboxClockModule {}
