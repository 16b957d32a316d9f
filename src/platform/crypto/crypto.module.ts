import { Global, Module } from '@nestjs/common';
import { SecretBox } from './secret-box';

/** Sealing of secrets at rest, for every module (global like the database and jobs modules). */
@Global()
@Module({ providers: [SecretBox], exports: [SecretBox] })
export class CryptoModule {}
