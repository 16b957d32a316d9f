import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { DatabaseSchema, dataSourceOptions } from './data-source-options';
import { Database } from './transaction';

@Global()
@Module({})
export class DatabaseModule {
  /** `schema` comes from the composition root: platform imports no feature module. */
  static forRoot(schema: DatabaseSchema): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => {
            if (!config.databaseUrl) throw new Error('databaseUrl must be resolved before the app module is built');
            // The app's sessions only (migrations run without it): a runaway query cannot hold a pooled connection for long.
            return dataSourceOptions(config.databaseUrl, schema, {}, { statementTimeoutMs: config.dbStatementTimeoutMs });
          },
        }),
      ],
      providers: [Database],
      exports: [Database],
    };
  }
}
