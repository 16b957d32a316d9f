import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from './config/app-config';
import { ClockModule } from './clock/clock.module';
import { CryptoModule } from './crypto/crypto.module';
import { ConfigModule } from './config/config.module';
import type { DatabaseSchema } from './database/data-source-options';
import { DatabaseModule } from './database/database.module';
import { HttpErrorFilter } from './errors/http-exception.filter';
import { createValidationPipe } from './errors/validation';
import { ConsoleController } from './console/console.controller';
import { GraphiqlController } from './graphql/graphiql.controller';
import { GraphQLModule } from './graphql/graphql.module';
import { HealthController } from './health/health.controller';
import { JobsModule } from './jobs/jobs.module';
import { MetricsModule } from './metrics/metrics.module';
import { AppLogger, pinoOptions } from './logging/logger-options';
import { RateLimitModule } from './rate-limit/rate-limit.module';

/** Configuration, database, GraphQL, logging, health, metrics, error mapping. */
@Module({})
export class PlatformModule {
  /** `schema`: the feature modules' entities and the migrations, from the composition root. */
  static forRoot(config: AppConfig, schema: DatabaseSchema): DynamicModule {
    return {
      module: PlatformModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          // Requests are logged by a Fastify hook (app.factory.ts), which sees every
          // route, Mercurius' /graphql included; Nest middleware would not.
          pinoHttp: { ...pinoOptions(config), autoLogging: false },
        }),
        DatabaseModule.forRoot(schema),
        GraphQLModule,
        TerminusModule,
        JobsModule,
        CryptoModule,
        ClockModule,
        RateLimitModule,
        MetricsModule,
      ],
      exports: [AppLogger],
      controllers: [HealthController, ConsoleController, ...(config.isProduction ? [] : [GraphiqlController])],
      providers: [
        AppLogger,
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
