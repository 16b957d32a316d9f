import { Global, Module } from '@nestjs/common';
import { AuditRepository } from './audit.repository';
import { AuditResolver } from './audit.resolver';
import { AuditService } from './audit.service';

/** Owns the append-only, hash-chained audit log. */
@Global()
@Module({ providers: [AuditService, AuditRepository, AuditResolver], exports: [AuditService] })
export class AuditModule {}
