import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { AppConfig } from '../platform/config/app-config';
import { AccessService } from './access.service';
import { ApiKeyService } from './api-key.service';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { IdentityRepository } from './identity.repository';
import { IdentityResolver } from './identity.resolver';
import { LoginThrottleService } from './login-throttle.service';
import { MembershipService } from './membership.service';
import { OrganizationService } from './organization.service';
import { PlatformAdminService } from './platform-admin.service';
import { PrincipalResolver } from './principal-resolver';

/** Owns users, organizations, memberships, sessions (JWT) and API keys. */
@Global()
@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        secret: config.jwtSecret,
        signOptions: { algorithm: 'HS256', issuer: 'beiming' },
        verifyOptions: { algorithms: ['HS256'], issuer: 'beiming' },
      }),
    }),
  ],
  providers: [
    AuthService,
    ApiKeyService,
    AccessService,
    LoginThrottleService,
    IdentityRepository,
    OrganizationService,
    MembershipService,
    PlatformAdminService,
    IdentityResolver,
    PrincipalResolver,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [AccessService, AuthService, ApiKeyService, OrganizationService, PrincipalResolver],
})
export class IdentityModule {}
