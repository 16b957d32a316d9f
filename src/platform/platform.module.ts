import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HttpErrorFilter } from './errors/http-exception.filter';
import { createValidationPipe } from './errors/validation';
import { GraphiqlController } from './graphql/graphiql.controller';
import { GraphQLModule } from './graphql/graphql.module';
import { HealthController } from './health/health.controller';

/** Configuration, database, GraphQL, logging, health, error mapping. */
@Module({})
export class PlatformModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: PlatformModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            // Never log credentials.
            redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["stripe-signature"]'], censor: '[redacted]' },
            autoLogging: { ignore: (req) => req.url === '/health' },
            transport: undefined,
          },
        }),
        DatabaseModule,
        GraphQLModule,
        TerminusModule,
      ],
      controllers: [HealthController, ...(config.isProduction ? [] : [GraphiqlController])],
      providers: [
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
