import { Global, Module } from '@nestjs/common';
import { RateLimitService } from './rate-limit.service';

/** Per-client request and points budgets (GraphQL hook in app.factory.ts; REST routes call the service). */
@Global()
@Module({ providers: [RateLimitService], exports: [RateLimitService] })
export class RateLimitModule {}
