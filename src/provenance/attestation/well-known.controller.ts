import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../../platform/auth/decorators';
import { AttestationKeysService } from './attestation-keys.service';
import type { AttestationJwks } from './verify-attestation';

/** Public keys that verify attestations, current and retired (anyone may fetch and cache them). */
@Public()
@Controller('.well-known')
export class WellKnownController {
  constructor(private readonly keys: AttestationKeysService) {}

  @Get('beiming-keys.json')
  @Header('cache-control', 'public, max-age=300')
  @Header('content-type', 'application/json; charset=utf-8')
  keySet(): Promise<AttestationJwks> {
    return this.keys.jwks();
  }
}
