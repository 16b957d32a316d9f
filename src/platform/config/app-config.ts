/**
 * The one place that reads process.env. Every setting is typed, validated at
 * boot and either defaulted or required; secrets are marked so that
 * `describe()` (what the service logs about itself) never prints them.
 */
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsDefined,
  isEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';
import { loadOrCreateLocalSecret } from './local-secrets';

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const SECRET_KEYS = new Set<keyof AppConfig>(['jwtSecret', 'adminPassword', 'databaseUrl', 'secretsKey', 'previousSecretsKeys', 'attestationSigningKey', 'stripeSecretKey', 'stripeWebhookSecret', 'stripeConnectWebhookSecret', 'metricsToken']);

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : Number(value);

export class AppConfig {
  @IsIn(NODE_ENVS)
  nodeEnv: NodeEnv = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  port = 3000;

  @IsString()
  host = '127.0.0.1';

  /** postgres://… of the database; unset = embedded PostgreSQL under `dataDir`. */
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  databaseUrl?: string;

  /** Where local state lives (embedded PostgreSQL data, generated local secrets). */
  @IsString()
  dataDir = '.data';

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(65535)
  embeddedPostgresPort = 54329;

  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  jwtSecret: string;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(86400)
  jwtTtlSeconds = 900;

  /**
   * The platform admins the configuration vouches for: one address or several,
   * comma-separated. At every boot each becomes an admin (an existing user is
   * promoted, keeping their password; a missing one is created with
   * ADMIN_PASSWORD as their first password). They cannot be revoked through
   * the API while listed here: remove them from ADMIN_EMAIL instead.
   */
  @IsOptional()
  @IsString()
  adminEmail?: string;

  /** The initial password of every ADMIN_EMAIL address that has no account yet (existing users keep theirs). */
  @IsOptional()
  @IsString()
  @MinLength(12, { message: 'ADMIN_PASSWORD must be at least 12 characters' })
  adminPassword?: string;

  @IsIn(LOG_LEVELS)
  logLevel: (typeof LOG_LEVELS)[number] = 'info';

  /** `json` (one object per line, for log shippers) or `pretty` (for people); default: pretty on a terminal outside production. */
  @IsIn(['json', 'pretty'])
  logFormat: 'json' | 'pretty';

  /** Failed log-ins allowed per email (and per client address) in `loginWindowSeconds`. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  loginMaxFailures = 5;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  loginWindowSeconds = 900;

  /** GraphQL limits: enforced during validation, before any resolver runs. */
  @Transform(toInt)
  @IsInt()
  @Min(2)
  graphqlMaxDepth = 10;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  graphqlMaxAliases = 15;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  graphqlMaxCost = 5000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  graphqlMaxBatch = 10;

  /**
   * Most lexical tokens a GraphQL document may hold: the parser stops at this
   * many, so an oversized query is refused before it is fully parsed.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(1_000_000)
  graphqlMaxTokens = 1000;

  /** Largest /graphql request body (bytes): sized for queries, not uploads; above it → 413. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(64 * 1024 * 1024)
  graphqlMaxBodyBytes = 256 * 1024;

  /** Parsed+validated query texts kept in memory (0 disables the cache). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  graphqlQueryCache = 1024;

  /**
   * How long an anonymous public query's answer (catalog, teacherModel, offers)
   * may be served from memory; mutations on this process clear it at once.
   * 0 turns the cache off.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60_000)
  publicCacheTtlMs = 2000;

  /**
   * Rate limits per client and per minute (0 = off): anonymous callers are
   * counted by client address (see `trustProxy`), authenticated ones by user
   * or API key. "Points" are mutations and expensive fields (exports,
   * lineage), each occurrence counted, across aliases and batched operations.
   * Kept in this process's memory: with N replicas a client may get up to N×.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  rateLimitAnonymousPerMinute = 300;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  rateLimitAuthenticatedPerMinute = 1200;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  rateLimitAnonymousPointsPerMinute = 60;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  rateLimitAuthenticatedPointsPerMinute = 600;

  /**
   * Anonymous GraphQL requests that cost points (exports, obligations …)
   * executing at once; more wait their turn (up to 64 waiting, then 429), so a
   * burst of anonymous expensive work cannot take every core from signed-in
   * callers. 0 = no cap.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  rateLimitAnonymousExpensiveConcurrency = 1;

  /**
   * A client that was refused and sends again before its Retry-After gets its
   * next 429s after this delay (ms; at most 1,024 held at once): a client that
   * honours Retry-After never notices, one that keeps hammering loses its own
   * throughput instead of the server's CPU. 0 = answer at once.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10_000)
  rateLimitRefusalDelayMs = 1000;

  /**
   * Longest a single SQL statement of the app may run (ms) before PostgreSQL
   * cancels it; a cancelled GraphQL request answers TIMEOUT. 0 = no limit.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  dbStatementTimeoutMs = 15_000;

  /**
   * Browser origins allowed to call the API (CORS), e.g.
   * `https://app.example.com,http://localhost:5173`. Empty: no CORS headers.
   */
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.split(',').map((o) => o.trim()).filter(Boolean) : value,
  )
  @IsArray()
  @Matches(/^https?:\/\/[^/\s]+$/, { each: true, message: 'CORS_ORIGINS must be a comma-separated list of origins like https://app.example.com' })
  corsOrigins: string[] = [];

  /**
   * Which proxies to trust for the client address (log-in throttling, logs):
   * `false` (default: the socket address), `true` (any), a hop count, or a
   * comma-separated list of addresses / CIDRs.
   */
  @Transform(({ value }: { value: unknown }) => {
    if (typeof value !== 'string') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    return /^\d+$/.test(value) ? Number(value) : value;
  })
  @IsDefined()
  trustProxy: boolean | number | string = false;

  /** Run background jobs (pg-boss) in this process. */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value !== 'false' && value !== '0' : value))
  @IsBoolean()
  jobsEnabled = true;

  /** How often an idle worker polls for jobs (seconds, ≥ 0.5). */
  @Transform(({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value)))
  @Min(0.5)
  @Max(300)
  jobsPollSeconds = 2;

  /**
   * Key that seals secrets at rest (upstream credentials, watermark keys) with
   * AES-256-GCM: 32 bytes, base64 or base64url. Generated and kept in
   * `<dataDir>/local-secrets.json` outside production when unset.
   */
  @IsString()
  @Matches(/^[A-Za-z0-9+/_-]{43}=?$/, { message: 'SECRETS_KEY must be 32 bytes, base64-encoded (43-44 characters)' })
  secretsKey: string;

  /** Retired sealing keys (comma-separated), still accepted for opening secrets sealed before a rotation. */
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.split(',').map((k) => k.trim()).filter(Boolean) : value,
  )
  @IsArray()
  @Matches(/^[A-Za-z0-9+/_-]{43}=?$/, { each: true, message: 'SECRETS_KEY_PREVIOUS must list 32-byte base64 keys' })
  previousSecretsKeys: string[] = [];

  /**
   * Ed25519 private key that signs model attestations: its 32-byte seed,
   * base64url (or base64). Generate one with
   * `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`
   * or `openssl genpkey -algorithm ed25519 -outform DER | tail -c 32 | base64 | tr '+/' '-_' | tr -d '='`.
   * Rotation: start with a new key; the old public key stays published at
   * /.well-known/beiming-keys.json, so attestations it signed still verify.
   * Generated and kept in `<dataDir>/local-secrets.json` outside production when unset.
   */
  @IsString()
  @Matches(/^[A-Za-z0-9+/_-]{43}=?$/, { message: 'ATTESTATION_SIGNING_KEY must be a 32-byte Ed25519 seed, base64url-encoded (43 characters)' })
  attestationSigningKey: string;

  /** Largest chat-completions request body the gateway accepts (bytes). */
  @Transform(toInt)
  @IsInt()
  @Min(64 * 1024)
  @Max(64 * 1024 * 1024)
  gatewayMaxBodyBytes = 8 * 1024 * 1024;

  /**
   * Completion tokens reserved against quota and rate limit for a gateway
   * request that sets no `max_tokens` (the reservation is released and the
   * real usage recorded when the answer ends).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  gatewayDefaultMaxTokens = 1024;

  /**
   * Whether the gateway may connect to loopback / private / link-local
   * upstream addresses. Off in production (vendors choose upstream URLs: this
   * keeps the gateway from reaching the platform's own network); on elsewhere
   * so a local demo upstream works.
   */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value === 'true' || value === '1' : value))
  @IsBoolean()
  gatewayAllowPrivateUpstreams: boolean;

  /**
   * Platform cap on a model's royalty stack (the shares its ancestors take
   * of its revenue), in basis points: registering lineage above it is refused.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10_000)
  royaltyStackCapBps = 5000;

  /**
   * The platform's public URL, used in links it hands out (model-card and
   * CycloneDX exports, verification links). Default: this server's address.
   */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s]+$/, { message: 'PUBLIC_BASE_URL must be an absolute http(s) URL' })
  publicBaseUrl?: string;

  /**
   * When a gateway request's usage counts as stored. `durable` (default): the
   * answer waits for the usage event's commit to reach the WAL on disk.
   * `async`: it waits for the commit but not the disk flush — about a WAL
   * flush less latency per request; a crash of the database server (not of
   * the app) may lose the last fraction of a second of gateway usage.
   */
  @IsIn(['durable', 'async'])
  gatewayUsageCommit: 'durable' | 'async' = 'durable';

  /**
   * Gateway admission leases: a process reserves up to this many tokens of an
   * agreement's limits at once and admits requests against them locally, so
   * pre-authorisation costs one database round trip per lease instead of one
   * per request. Capped at 1/20 of the period quota and 1/4 of the per-minute
   * limit; near a limit the gateway falls back to exact per-request
   * reservations. 0 turns leases off.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  gatewayAdmissionLeaseTokens = 50_000;

  /**
   * The longest a gateway request may take from start to end, whatever the
   * upstream does. A teacher upstream's `timeoutMs` is an idle timeout (the
   * longest silence); an upstream trickling a byte every second would never
   * hit it, so this deadline bounds the whole request.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  gatewayMaxRequestMs = 600_000;

  /** How long a lease admits requests (it stays reserved until those requests are recorded). */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(60_000)
  gatewayAdmissionLeaseMs = 1000;

  /** Burst flag: a minute's tokens above k × the agreement's per-minute average over the previous day. */
  @Transform(toInt)
  @IsInt()
  @Min(2)
  @Max(100_000)
  anomalyBurstFactor = 10;

  /** Burst flag: minutes below this many tokens are never flagged (a quiet agreement's first use is not a burst). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  anomalyBurstMinTokens = 10_000;

  /**
   * Stripe secret key (sk_test_… / sk_live_…). Set → the `stripe` payments
   * adapter; unset → the in-process `sandbox` adapter (no real money).
   */
  @IsOptional()
  @Matches(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, { message: 'STRIPE_SECRET_KEY must look like sk_test_… or sk_live_…' })
  stripeSecretKey?: string;

  /** Signing secret of the Stripe webhook endpoint (whsec_…); required with STRIPE_SECRET_KEY. */
  @IsOptional()
  @Matches(/^whsec_[A-Za-z0-9_+/=]+$/, { message: 'STRIPE_WEBHOOK_SECRET must look like whsec_…' })
  stripeWebhookSecret?: string;

  /**
   * Signing secret of the Stripe Connect webhook endpoint (whsec_…), a
   * different endpoint from STRIPE_WEBHOOK_SECRET's: it receives the events
   * of vendors' connected accounts (account.updated, payout.paid / failed).
   * Unset → POST /v1/stripe/connect-webhooks answers 503.
   */
  @IsOptional()
  @Matches(/^whsec_[A-Za-z0-9_+/=]+$/, { message: 'STRIPE_CONNECT_WEBHOOK_SECRET must look like whsec_…' })
  stripeConnectWebhookSecret?: string;

  /** Points the Stripe SDK at another API host (a local Stripe-compatible server in tests), e.g. http://127.0.0.1:12111. */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s/]+(:\d+)?\/?$/, { message: 'STRIPE_API_BASE must be an http(s) origin, e.g. http://127.0.0.1:12111' })
  stripeApiBase?: string;

  /** The platform's fee on collected licence revenue, in basis points (an admin may override it per vendor). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10_000)
  platformFeeBps = 1500;

  /**
   * When a failed invoice charge is retried, in hours after the first failure,
   * comma-separated; after the last one the invoice becomes UNCOLLECTIBLE and
   * the distiller's agreements are suspended until it is paid.
   */
  @Transform(({ value }) => (typeof value === 'string' ? value.split(',').map((v) => Number(v.trim())) : value))
  @IsArray()
  @IsInt({ each: true })
  @Min(1, { each: true })
  collectionRetryHours: number[] = [24, 72, 168];

  /**
   * How long a vendor's new earnings stay pending before they count as
   * available for payout, in whole days after the money was collected: the
   * window in which a refund or a dispute is most likely to claw it back.
   * 0 makes earnings available as soon as they are booked.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(365)
  earningsHoldbackDays = 7;

  /**
   * Pool gaming flag: a teacher whose pool tokens in a period come from one
   * subscriber for more than this share (basis points) is flagged and its pool
   * earnings of the period are held for admin review. 10000 turns the flag off.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  poolFlagSubscriberShareBps = 8000;

  /**
   * Longest a single SQL statement of a pool period's close may run (ms),
   * instead of DB_STATEMENT_TIMEOUT_MS: a big pool (100,000 subscribers, 2 M
   * subscriber–teacher pairs) aggregates its rollups in statements of several
   * seconds, and a close waiting on the plan's lock waits for the running one.
   * 0 = no limit.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  poolCloseStatementTimeoutMs = 600_000;

  /**
   * The smallest payout per currency, in minor units, comma-separated
   * `CUR:amount` pairs. A vendor whose available earnings are below its
   * currency's minimum waits for the next batch; a currency that is not
   * listed cannot be batched.
   */
  @IsString()
  @Matches(/^\s*[A-Z]{3}:\d{1,15}\s*(,\s*[A-Z]{3}:\d{1,15}\s*)*$/, { message: 'PAYOUT_MINIMUMS must look like USD:2500,EUR:2500,JPY:300' })
  payoutMinimums = 'USD:2500,EUR:2500,GBP:2000,CHF:2500,CAD:2500,AUD:2500,JPY:300';

  /**
   * Optional per-admin ceilings on the batches an admin may approve:
   * comma-separated `email:CUR:amount` (minor units). An admin with a ceiling
   * in the batch's currency cannot approve a batch whose total to send is
   * above it; admins without one are not limited.
   */
  @IsOptional()
  @IsString()
  payoutApprovalLimits?: string;

  /** How many payouts one process sends at the same time. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  payoutConcurrency = 8;

  /**
   * The most requests per second one process sends to the processor while
   * executing payouts (Stripe allows 100 per second in live mode, 25 in test
   * mode); a 429 slows it down further.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  payoutMaxRequestsPerSecond = 20;

  /**
   * How long a process owns a payout it is sending (seconds). A payout still
   * SENDING when its lease ran out (the process died) is taken over by the
   * next executor, which resends with the same idempotency key.
   */
  @Transform(toInt)
  @IsInt()
  @Min(5)
  @Max(3600)
  payoutLeaseSeconds = 120;

  /**
   * How long the processor remembers an idempotency key (Stripe: 24 h), in
   * hours. A payout SENDING for longer is first looked up among its batch's
   * transfers (transfer_group, metadata payout_id) before any new request.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24)
  payoutKeyWindowHours = 23;

  /**
   * TEST ONLY (refused unless NODE_ENV=test): the executor kills its own
   * process at this recovery point — after-ledger, after-transfer or
   * after-record — to prove that a restart sends no second transfer.
   */
  @IsOptional()
  @IsIn(['after-ledger', 'after-transfer', 'after-record'])
  payoutCrashAt?: 'after-ledger' | 'after-transfer' | 'after-record';

  /** PAYOUT_MINIMUMS as a map currency → minimum (minor units). */
  get payoutMinimumByCurrency(): Map<string, bigint> {
    return parsePayoutMinimums(this.payoutMinimums);
  }

  /** PAYOUT_APPROVAL_LIMITS as a map `email currency` → ceiling (minor units). */
  get payoutApprovalLimitByAdmin(): Map<string, bigint> {
    return parsePayoutApprovalLimits(this.payoutApprovalLimits);
  }

  /**
   * Serve Prometheus metrics at GET /metrics. Default: on outside production,
   * off in production (where it should be enabled together with a token or
   * behind a network boundary).
   */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value === 'true' || value === '1' : value))
  @IsBoolean()
  metricsEnabled: boolean;

  /** When set, GET /metrics requires `Authorization: Bearer <token>` (at least 16 characters). */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  metricsToken?: string;

  /** ADMIN_EMAIL's addresses, trimmed, lower-cased, without duplicates. */
  get adminEmails(): string[] {
    return parseAdminEmails(this.adminEmail);
  }

  /** PUBLIC_BASE_URL, or this server's own address. */
  get publicUrl(): string {
    return (this.publicBaseUrl ?? `http://${this.host === '0.0.0.0' ? '127.0.0.1' : this.host}:${this.port}`).replace(/\/+$/, '');
  }

  get isProduction(): boolean {
    return this.nodeEnv === 'production';
  }

  /** Settings safe to log: secrets are shown as set/unset only. */
  describe(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) {
      out[k] = SECRET_KEYS.has(k as keyof AppConfig) ? (v ? '<set>' : '<unset>') : v;
    }
    return out;
  }
}

/** Maps environment variable names onto AppConfig fields. */
const ENV_MAP: Record<string, keyof AppConfig> = {
  NODE_ENV: 'nodeEnv',
  PORT: 'port',
  HOST: 'host',
  DATABASE_URL: 'databaseUrl',
  DATA_DIR: 'dataDir',
  EMBEDDED_PG_PORT: 'embeddedPostgresPort',
  JWT_SECRET: 'jwtSecret',
  JWT_TTL_SECONDS: 'jwtTtlSeconds',
  ADMIN_EMAIL: 'adminEmail',
  ADMIN_PASSWORD: 'adminPassword',
  LOG_LEVEL: 'logLevel',
  LOG_FORMAT: 'logFormat',
  LOGIN_MAX_FAILURES: 'loginMaxFailures',
  LOGIN_WINDOW_SECONDS: 'loginWindowSeconds',
  GRAPHQL_MAX_DEPTH: 'graphqlMaxDepth',
  GRAPHQL_MAX_ALIASES: 'graphqlMaxAliases',
  GRAPHQL_MAX_COST: 'graphqlMaxCost',
  GRAPHQL_MAX_BATCH: 'graphqlMaxBatch',
  GRAPHQL_QUERY_CACHE: 'graphqlQueryCache',
  GRAPHQL_MAX_TOKENS: 'graphqlMaxTokens',
  GRAPHQL_MAX_BODY_BYTES: 'graphqlMaxBodyBytes',
  PUBLIC_CACHE_TTL_MS: 'publicCacheTtlMs',
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: 'rateLimitAnonymousPerMinute',
  RATE_LIMIT_AUTHENTICATED_PER_MINUTE: 'rateLimitAuthenticatedPerMinute',
  RATE_LIMIT_ANONYMOUS_POINTS_PER_MINUTE: 'rateLimitAnonymousPointsPerMinute',
  RATE_LIMIT_AUTHENTICATED_POINTS_PER_MINUTE: 'rateLimitAuthenticatedPointsPerMinute',
  RATE_LIMIT_ANONYMOUS_EXPENSIVE_CONCURRENCY: 'rateLimitAnonymousExpensiveConcurrency',
  RATE_LIMIT_REFUSAL_DELAY_MS: 'rateLimitRefusalDelayMs',
  DB_STATEMENT_TIMEOUT_MS: 'dbStatementTimeoutMs',
  JOBS_ENABLED: 'jobsEnabled',
  CORS_ORIGINS: 'corsOrigins',
  TRUST_PROXY: 'trustProxy',
  JOBS_POLL_SECONDS: 'jobsPollSeconds',
  SECRETS_KEY: 'secretsKey',
  SECRETS_KEY_PREVIOUS: 'previousSecretsKeys',
  ATTESTATION_SIGNING_KEY: 'attestationSigningKey',
  GATEWAY_MAX_BODY_BYTES: 'gatewayMaxBodyBytes',
  GATEWAY_DEFAULT_MAX_TOKENS: 'gatewayDefaultMaxTokens',
  GATEWAY_ALLOW_PRIVATE_UPSTREAMS: 'gatewayAllowPrivateUpstreams',
  GATEWAY_USAGE_COMMIT: 'gatewayUsageCommit',
  ANOMALY_BURST_FACTOR: 'anomalyBurstFactor',
  ROYALTY_STACK_CAP_BPS: 'royaltyStackCapBps',
  PUBLIC_BASE_URL: 'publicBaseUrl',
  ANOMALY_BURST_MIN_TOKENS: 'anomalyBurstMinTokens',
  GATEWAY_ADMISSION_LEASE_TOKENS: 'gatewayAdmissionLeaseTokens',
  GATEWAY_ADMISSION_LEASE_MS: 'gatewayAdmissionLeaseMs',
  GATEWAY_MAX_REQUEST_MS: 'gatewayMaxRequestMs',
  STRIPE_SECRET_KEY: 'stripeSecretKey',
  STRIPE_WEBHOOK_SECRET: 'stripeWebhookSecret',
  STRIPE_CONNECT_WEBHOOK_SECRET: 'stripeConnectWebhookSecret',
  STRIPE_API_BASE: 'stripeApiBase',
  PLATFORM_FEE_BPS: 'platformFeeBps',
  COLLECTION_RETRY_HOURS: 'collectionRetryHours',
  EARNINGS_HOLDBACK_DAYS: 'earningsHoldbackDays',
  POOL_FLAG_SUBSCRIBER_SHARE_BPS: 'poolFlagSubscriberShareBps',
  POOL_CLOSE_STATEMENT_TIMEOUT_MS: 'poolCloseStatementTimeoutMs',
  PAYOUT_MINIMUMS: 'payoutMinimums',
  PAYOUT_APPROVAL_LIMITS: 'payoutApprovalLimits',
  PAYOUT_CONCURRENCY: 'payoutConcurrency',
  PAYOUT_MAX_REQUESTS_PER_SECOND: 'payoutMaxRequestsPerSecond',
  PAYOUT_LEASE_SECONDS: 'payoutLeaseSeconds',
  PAYOUT_KEY_WINDOW_HOURS: 'payoutKeyWindowHours',
  PAYOUT_CRASH_AT: 'payoutCrashAt',
  METRICS_ENABLED: 'metricsEnabled',
  METRICS_TOKEN: 'metricsToken',
};

/**
 * The secrets a production start cannot do without. Outside production each
 * is generated once into `<dataDir>/local-secrets.json`; in production a
 * missing one stops the start. The README's Docker command and
 * docker-compose.yml are checked against this list (test/docker-compose.spec.ts).
 */
export const PRODUCTION_SECRETS: ReadonlyArray<{ env: string; field: 'jwtSecret' | 'secretsKey' | 'attestationSigningKey'; bytes: number; hint: string }> = [
  { env: 'JWT_SECRET', field: 'jwtSecret', bytes: 48, hint: 'at least 32 characters: `openssl rand -base64 48`' },
  { env: 'SECRETS_KEY', field: 'secretsKey', bytes: 32, hint: '32 random bytes, base64: `openssl rand -base64 32`' },
  {
    env: 'ATTESTATION_SIGNING_KEY',
    field: 'attestationSigningKey',
    bytes: 32,
    hint: "an Ed25519 seed, 32 random bytes base64url: `openssl rand -base64 32 | tr '+/' '-_' | tr -d '='`",
  },
];

/** Environment variables that must be set when NODE_ENV=production. */
export function requiredInProduction(): string[] {
  return PRODUCTION_SECRETS.map((s) => s.env);
}

export class ConfigError extends Error {}

/**
 * Reads and validates configuration. `overrides` (field names) win over the
 * environment; tests use them instead of mutating process.env.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<keyof AppConfig, unknown>> = {},
): AppConfig {
  const raw: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(ENV_MAP)) {
    if (env[name] !== undefined && env[name] !== '') raw[field] = env[name];
  }
  Object.assign(raw, overrides);
  const nodeEnv = (raw.nodeEnv as string) ?? 'development';
  raw.gatewayAllowPrivateUpstreams ??= nodeEnv !== 'production';
  raw.logFormat ??= process.stdout.isTTY && nodeEnv !== 'production' ? 'pretty' : 'json';
  for (const secret of PRODUCTION_SECRETS) {
    if (raw[secret.field]) continue;
    if (nodeEnv === 'production') throw new ConfigError(`${secret.env} is required when NODE_ENV=production (${secret.hint})`);
    raw[secret.field] = loadOrCreateLocalSecret(String(raw.dataDir ?? '.data'), secret.field, secret.bytes);
  }
  raw.metricsEnabled ??= nodeEnv !== 'production';
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: false, forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.map(
      (e) => `${envName(e.property)}: ${Object.values(e.constraints ?? {}).join('; ')}`,
    );
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  if (config.stripeSecretKey && !config.stripeWebhookSecret) {
    throw new ConfigError('STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY (the signing secret of the webhook endpoint, whsec_…)');
  }
  if (config.collectionRetryHours.some((h, i, a) => i > 0 && h <= a[i - 1])) {
    throw new ConfigError('COLLECTION_RETRY_HOURS must be increasing, e.g. 24,72,168');
  }
  if (config.stripeConnectWebhookSecret && config.stripeConnectWebhookSecret === config.stripeWebhookSecret) {
    throw new ConfigError('STRIPE_CONNECT_WEBHOOK_SECRET must be the Connect endpoint\'s own signing secret, not STRIPE_WEBHOOK_SECRET');
  }
  if (config.adminEmail !== undefined) {
    const listed = config.adminEmail.split(',').map((e) => e.trim());
    const bad = listed.filter((e) => !isEmail(e));
    if (bad.length > 0 || listed.length === 0) {
      throw new ConfigError(`ADMIN_EMAIL must be an email address or a comma-separated list of them (not: ${bad.map((b) => JSON.stringify(b)).join(', ')})`);
    }
  }
  try {
    parsePayoutMinimums(config.payoutMinimums);
    parsePayoutApprovalLimits(config.payoutApprovalLimits);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (config.payoutCrashAt !== undefined && config.nodeEnv !== 'test') {
    throw new ConfigError('PAYOUT_CRASH_AT is a test hook: it is refused unless NODE_ENV=test');
  }
  if ((config.adminEmail && !config.adminPassword) || (!config.adminEmail && config.adminPassword)) {
    throw new ConfigError('ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
  }
  return config;
}

function envName(field: string): string {
  return Object.entries(ENV_MAP).find(([, f]) => f === field)?.[0] ?? field;
}

/** The addresses of an ADMIN_EMAIL value (comma-separated), trimmed, lower-cased and de-duplicated. */
export function parseAdminEmails(value: string | undefined): string[] {
  if (!value) return [];
  return [...new Set(value.split(',').map((e) => e.trim().toLowerCase()).filter((e) => e.length > 0))];
}

/** `USD:2500,EUR:2500` → USD → 2500n, EUR → 2500n. Throws on a malformed, repeated, unknown-looking or zero entry. */
export function parsePayoutMinimums(value: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const part of value.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const m = /^([A-Z]{3}):(\d{1,15})$/.exec(part);
    if (!m) throw new Error(`PAYOUT_MINIMUMS: "${part}" is not CUR:amount (e.g. USD:2500)`);
    if (out.has(m[1])) throw new Error(`PAYOUT_MINIMUMS: ${m[1]} is listed twice`);
    const minimum = BigInt(m[2]);
    if (minimum <= 0n) throw new Error(`PAYOUT_MINIMUMS: the minimum for ${m[1]} must be at least 1`);
    out.set(m[1], minimum);
  }
  return out;
}

/** `a@x.io:USD:100000,b@x.io:EUR:5000` → "a@x.io USD" → 100000n, … (emails lower-cased). */
export function parsePayoutApprovalLimits(value: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  if (!value) return out;
  for (const part of value.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const m = /^([^\s:,]+@[^\s:,]+):([A-Z]{3}):(\d{1,15})$/.exec(part);
    if (!m || !isEmail(m[1])) throw new Error(`PAYOUT_APPROVAL_LIMITS: "${part}" is not email:CUR:amount (e.g. alice@example.com:USD:1000000)`);
    const key = `${m[1].toLowerCase()} ${m[2]}`;
    if (out.has(key)) throw new Error(`PAYOUT_APPROVAL_LIMITS: ${m[1]} has two limits for ${m[2]}`);
    out.set(key, BigInt(m[3]));
  }
  return out;
}
