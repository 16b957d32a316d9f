/**
 * Boots the whole application on a fresh database for an e2e spec and talks to
 * it as a client would (HTTP through Fastify's inject: no socket, same stack).
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory';
import { AppConfig, loadConfig } from '../../src/platform/config/app-config';
import { createTestDatabase, TestDatabase } from './database';

export interface GqlResponse<T = Record<string, any>> {
  status: number;
  data: T | null;
  errors?: { message: string; path?: string[]; extensions: { code: string; [k: string]: any } }[];
  headers: Record<string, unknown>;
}

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  db: TestDatabase;
  dataSource: DataSource;
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse<T>>;
  /** Raw request (e.g. batched or malformed bodies). */
  request(opts: { method: 'GET' | 'POST'; url: string; body?: unknown; headers?: Record<string, string> }): Promise<{
    status: number;
    body: any;
    text: string;
    headers: Record<string, unknown>;
  }>;
  close(): Promise<void>;
}

export async function startTestApp(overrides: Partial<Record<keyof AppConfig, unknown>> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = loadConfig(
    {},
    {
      nodeEnv: 'test',
      databaseUrl: db.url,
      jwtSecret: randomBytes(32).toString('hex'),
      secretsKey: randomBytes(32).toString('base64url'),
      attestationSigningKey: randomBytes(32).toString('base64url'),
      logLevel: 'silent',
      // Mercurius loads its query cache with import(), which Jest's CommonJS
      // runtime cannot do; the cache is exercised by the benchmark instead.
      graphqlQueryCache: 0,
      // Specs that seed rows with SQL and then read the catalog would see cached
      // answers; the response cache has its own spec (public-cache.e2e-spec.ts).
      publicCacheTtlMs: 0,
      // pg-boss installs its schema and polls: only the specs about jobs turn it on.
      jobsEnabled: false,
      // Specs drive the API hard from one address: budgets far above any spec's
      // traffic keep the limiter in the path; rate-limits.e2e-spec.ts sets real ones.
      rateLimitAnonymousPerMinute: 1_000_000,
      rateLimitAuthenticatedPerMinute: 1_000_000,
      rateLimitAnonymousPointsPerMinute: 1_000_000,
      rateLimitAuthenticatedPointsPerMinute: 1_000_000,
      dataDir: mkdtempSync(join(tmpdir(), 'beiming-app-')),
      ...overrides,
    },
  );
  const app = await createApp(config, { bufferLogs: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const fastify = app.getHttpAdapter().getInstance();

  const request: TestApp['request'] = async ({ method, url, body, headers }) => {
    const res = await fastify.inject({
      method,
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      parsed = null;
    }
    return { status: res.statusCode, body: parsed, text: res.body, headers: res.headers };
  };

  return {
    app,
    config,
    db,
    dataSource: app.get(DataSource),
    request,
    async gql(query, variables, token) {
      const res = await request({
        method: 'POST',
        url: '/graphql',
        body: { query, variables },
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return { status: res.status, data: res.body?.data ?? null, errors: res.body?.errors, headers: res.headers };
    },
    async close() {
      await app.close();
      await db.drop();
    },
  };
}
