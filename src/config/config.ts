import * as z from 'zod';
import { parseDurationSeconds } from './duration';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const seconds = parseDurationSeconds(value);
      if (seconds === undefined) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration such as 900, 15m, 12h or 30d' });
        return z.NEVER;
      }
      return seconds;
    });

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const bytes = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Milliseconds, at most a day. */
const ms = (fallback: number, min = 1) =>
  z.coerce
    .number()
    .int()
    .min(min)
    .max(24 * 3600_000)
    .default(fallback);

/** A BullMQ queue name or key prefix. */
const redisName = (fallback: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "." or "-"')
    .default(fallback);

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v.trim() : undefined));

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  BACKEND_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
  ),
  DATABASE_CONNECT_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  DATA_DIR: z.string().default('./.data'),
  REDIS_URL: optionalString.pipe(
    z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .optional(),
  ),
  JWT_SECRET: optionalString.pipe(
    z
      .string()
      .refine((s) => new TextEncoder().encode(s).length >= 32, 'must be at least 32 bytes')
      .optional(),
  ),
  JWT_ISSUER: z.string().min(1).default('workflow-platform'),
  JWT_AUDIENCE: z.string().min(1).default('workflow-platform-api'),
  JWT_ACCESS_TTL: duration('15m'),
  JWT_REFRESH_TTL: duration('30d'),
  BCRYPT_COST: z.coerce.number().int().min(10).max(15).default(10),
  LOGIN_GUARD_MAX_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  LOGIN_GUARD_WINDOW: duration('1m'),
  LOGIN_GUARD_BLOCK: duration('5m'),
  REGISTER_RATE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(50),
  REGISTER_RATE_WINDOW: duration('10m'),
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  MCP_URL: optionalString.pipe(z.url({ protocol: /^(https?|wss?)$/ }).optional()),
  MCP_COMMAND: optionalString,
  MCP_AUTH_TOKEN: optionalString,
  MCP_ALLOWED_TOOLS: list,
  MCP_MAX_SESSIONS_PER_USER: z.coerce.number().int().min(1).max(1000).default(5),
  MCP_SESSION_IDLE_MS: z.coerce.number().int().min(100).max(86_400_000).default(600_000),
  MCP_UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  MCP_GATEWAY_MODE: z.enum(['sessions', 'stateless']).default('sessions'),
  MCP_MAX_SESSIONS: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  MCP_SESSION_DETACHED_MS: z.coerce.number().int().min(100).max(86_400_000).default(30_000),
  MCP_SESSION_REPLAY_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(64 * 1024 * 1024)
    .default(256 * 1024),
  MCP_SESSION_BACKLOG_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .max(256 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  MCP_WS_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(16),
  MCP_WS_MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .max(256 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  ADMIN_USERNAME: optionalString,
  ADMIN_EMAIL: optionalString,
  ADMIN_PASSWORD: optionalString,
  CORS_ORIGINS: list,
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v, ctx) => {
      if (v === 'false' || v === '0' || v === '') return 0;
      if (v === 'true') return 1;
      const hops = Number(v);
      if (Number.isInteger(hops) && hops > 0 && hops < 10) return hops;
      ctx.addIssue({ code: 'custom', message: 'must be true, false or a number of proxy hops (1-9)' });
      return z.NEVER;
    }),
  WS_PING_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  WS_MESSAGES_PER_SECOND: z.coerce.number().int().min(1).max(1_000_000).default(50),
  WS_MAX_CONNECTIONS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(20),
  WS_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  WS_MAX_BUFFERED_BYTES: bytes(4 * MIB, 64 * 1024, GIB),
  WS_USER_BYTES_PER_SECOND: bytes(8 * MIB, 64 * 1024, GIB),
  HTTP_USER_BYTES_PER_SECOND: bytes(8 * MIB, 64 * 1024, GIB),
  EDGE_WS_SHARDS: z.coerce.number().int().min(1).max(4096).default(16),
  EDGE_WS_FORWARD_QUEUE: z.coerce.number().int().min(100).max(1_000_000).default(10_000),
  RUN_RESULT_BUDGET_BYTES: bytes(4 * MIB, 64 * 1024, GIB),
  RUN_STORAGE_PER_USER_BYTES: bytes(2 * GIB, MIB, 1024 * GIB),
  RUN_STORAGE_TOTAL_BYTES: bytes(64 * GIB, MIB, 1024 * 1024 * GIB),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  METRICS_TOKEN: optionalString.pipe(
    z
      .string()
      .refine((s) => new TextEncoder().encode(s).length >= 16, 'must be at least 16 bytes')
      .optional(),
  ),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  EDGE_EVENTS_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  EDGE_EVENTS_SECRET: optionalString.pipe(
    z
      .string()
      .refine((s) => new TextEncoder().encode(s).length >= 32, 'must be at least 32 bytes')
      .optional(),
  ),
  WORKFLOW_QUEUE_NAME: redisName('workflow-runs'),
  BULLMQ_PREFIX: redisName('bull'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(8),
  RUN_LEASE_MS: ms(30_000, 1000),
  RUN_HEARTBEAT_MS: ms(1000, 50),
  STEP_TIMEOUT_MS: ms(30_000),
  STEP_RETRY_BASE_MS: ms(500, 0),
  STEP_RETRY_MAX_MS: ms(30_000, 0),
  MCP_UNAVAILABLE_RETRIES: z.coerce.number().int().min(0).max(20).default(3),
  WORKER_LOCK_DURATION_MS: ms(30_000, 1000),
  WORKER_STALLED_INTERVAL_MS: ms(30_000, 500),
  RECONCILE_INTERVAL_MS: ms(15_000, 100),
  RECONCILE_GRACE_MS: ms(5000, 0),
  WORKER_SHUTDOWN_TIMEOUT_MS: ms(20_000, 0),
  RUNNER_POLL_MS: ms(1000, 50),
  ENQUEUE_TIMEOUT_MS: ms(2000, 50),
  // Finished jobs BullMQ keeps (Bull Board's Completed and Failed tabs): the newest N of each.
  BULLMQ_KEEP_COMPLETED: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  BULLMQ_KEEP_FAILED: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  WORKER_CHECK_INTERVAL_MS: ms(30_000, 100),
});

export type Env = Record<string, string | undefined>;

/** Every variable `loadConfig` reads (test/compose.test.ts checks docker-compose.yml against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  databaseUrl?: string;
  /** Tries at start while the database is unreachable (refused, not resolvable, starting up), with backoff. */
  databaseConnectAttempts: number;
  dataDir: string;
  redisUrl?: string;
  /** Undefined until the runtime entry supplies a generated one (see src/node/jwt-secret.ts). */
  jwtSecret?: string;
  jwtIssuer: string;
  jwtAudience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  bcryptCost: number;
  /** POST /auth/login per client address: more than `maxFailures` failures in `windowMs` block it for `blockMs`. */
  loginGuard: { maxFailures: number; windowMs: number; blockMs: number };
  /** POST /auth/register per client address: at most `limit` in `windowMs`. */
  registerRateLimit: { limit: number; windowMs: number };
  /** Deadline of a Redis command on a request path (login guard, registration limit, enqueue); then Postgres or a clear error. */
  redisCommandTimeoutMs: number;
  mcpUrl?: string;
  mcpCommand?: string;
  mcpAuthToken?: string;
  /** MCP_ALLOWED_TOOLS: the only tools the gateway, /tools/list and workflows may use; undefined = all. */
  mcpAllowedTools?: string[];
  /** /mcp gateway: concurrent sessions per user (HTTP sessions, WebSockets and in-flight stateless requests). */
  mcpMaxSessionsPerUser: number;
  /** /mcp gateway: a session without any message either way for this long is closed. */
  mcpSessionIdleMs: number;
  /** /mcp gateway: how long a request may wait for the upstream's answer. */
  mcpUpstreamTimeoutMs: number;
  /** /mcp gateway: `sessions` (Mcp-Session-Id, held by one instance) or `stateless` (no session ids at all). */
  mcpGatewayMode: 'sessions' | 'stateless';
  /** /mcp gateway: sessions of all users together, per process. */
  mcpMaxSessions: number;
  /** /mcp gateway: a Streamable HTTP session whose client holds no stream and waits for nothing this long stops counting. */
  mcpSessionDetachedMs: number;
  /** /mcp gateway: events already sent kept per session for `Last-Event-ID` resumption. */
  mcpSessionReplayBytes: number;
  /** /mcp gateway: server messages a session keeps for a client that has no stream open (or does not read it). */
  mcpSessionBacklogBytes: number;
  /** /mcp over WebSocket: bytes waiting to be sent to a client before its requests are no longer read. */
  mcpWsMaxBufferedBytes: number;
  /** /mcp over WebSocket: requests of one connection waiting for the upstream before its frames are no longer read. */
  mcpWsMaxInFlight: number;
  admin?: { username: string; email: string; password: string };
  corsOrigins: string[];
  trustProxyHops: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** /ws heartbeat: ping period; a client silent for a whole period is dropped. */
  wsPingIntervalMs: number;
  /** /ws incoming messages per second per connection (bursts of twice that, at least 200, are allowed). */
  wsMessagesPerSecond: number;
  /** /ws connections one user may hold open at once. */
  wsMaxConnectionsPerUser: number;
  /** /ws connections open at once in this process (on the edge: in each connection shard). */
  wsMaxConnections: number;
  /** Undelivered outgoing bytes of one /ws connection before it is closed as a slow consumer (1013). */
  wsMaxBufferedBytes: number;
  /**
   * Bytes per second one user's /ws traffic may cost in this process, across all their
   * connections: frames sent plus each publish times the sockets it reaches (a second's worth at once).
   */
  wsUserBytesPerSecond: number;
  /**
   * Bytes per second one user's authenticated REST requests may move in this process: request
   * bodies plus JSON response bodies (a second's worth at once); over it, 429 until paid back.
   */
  httpUserBytesPerSecond: number;
  /** Edge: connection-shard Durable Objects the /ws sockets are spread over (by user id). */
  edgeWsShards: number;
  /** Edge: realtime messages one Durable Object holds for another while a batch to it is in flight. */
  edgeWsForwardQueue: number;
  /** Bytes one run may produce: step results plus templated arguments, counted as they are made. */
  runResultBudgetBytes: number;
  /** Stored bytes of one user's runs (results of finished runs; active runs count at the full run budget). */
  runStoragePerUserBytes: number;
  /** Stored result bytes of every run together; checked against a total refreshed every few seconds. */
  runStorageTotalBytes: number;
  /** Bearer token a Prometheus scraper presents on `GET /metrics` (admins may use their access token). */
  metricsToken?: string;
  /** The worker's own /metrics and /health port; 0 turns it off. */
  workerMetricsPort: number;
  /** Node processes also POST workflow-status events, signed with `edgeEventsSecret`, to this edge route. */
  edgeEventsUrl?: string;
  /** HMAC-SHA256 key shared with the edge Worker's `/internal/events` (EDGE_EVENTS_SECRET there too). */
  edgeEventsSecret?: string;
  /** How runs are queued and executed: BullMQ, the worker, the executor and the in-process runner. */
  runner: RunnerConfig;
}

/** The run queue and executor settings (README "Workflows"). */
export interface RunnerConfig {
  /** WORKFLOW_QUEUE_NAME: the BullMQ queue of runs. */
  queueName: string;
  /** BULLMQ_PREFIX: the prefix of BullMQ's Redis keys. */
  bullmqPrefix: string;
  /** BULLMQ_KEEP_COMPLETED / BULLMQ_KEEP_FAILED: finished jobs BullMQ keeps, newest first. */
  keepCompletedJobs: number;
  keepFailedJobs: number;
  /** WORKER_CONCURRENCY: runs one worker (or the in-process runner) executes at once. */
  concurrency: number;
  /** RUN_LEASE_MS: how long an executor holds a run without renewing its lease. */
  leaseMs: number;
  /** RUN_HEARTBEAT_MS: how often the lease is renewed (at most a third of the lease). */
  heartbeatMs: number;
  /** STEP_TIMEOUT_MS: a step's tool call without its own `timeoutMs`. */
  stepTimeoutMs: number;
  stepRetryBaseMs: number;
  stepRetryMaxMs: number;
  /** MCP_UNAVAILABLE_RETRIES: retries of a step whose MCP server cannot be reached. */
  mcpUnavailableRetries: number;
  workerLockDurationMs: number;
  workerStalledIntervalMs: number;
  reconcileIntervalMs: number;
  reconcileGraceMs: number;
  /** WORKER_SHUTDOWN_TIMEOUT_MS: how long a stopping worker lets its runs go on before releasing them. */
  shutdownTimeoutMs: number;
  /** RUNNER_POLL_MS: how often the in-process runner looks for runs without a notification. */
  pollMs: number;
  /** ENQUEUE_TIMEOUT_MS: how long the API waits for Redis to take a new run's job. */
  enqueueTimeoutMs: number;
  /** WORKER_CHECK_INTERVAL_MS: how often the API counts the queue's live workers. */
  workerCheckIntervalMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** What `npm run db:migrate` needs, parsed by the same rules as loadConfig. */
export function loadMigrateConfig(env: Env): Pick<Config, 'databaseUrl' | 'databaseConnectAttempts' | 'logLevel'> {
  const parsed = envSchema
    .pick({ DATABASE_URL: true, DATABASE_CONNECT_ATTEMPTS: true, LOG_LEVEL: true })
    .safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0] ?? 'env')} ${i.message}`));
  }
  const e = parsed.data;
  return { databaseUrl: e.DATABASE_URL, databaseConnectAttempts: e.DATABASE_CONNECT_ATTEMPTS, logLevel: e.LOG_LEVEL };
}

/** Parses the environment once at start; every bad variable becomes one line naming it. */
export function loadConfig(env: Env): Config {
  const parsed = envSchema.safeParse(env);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${String(i.path[0] ?? 'env')} ${i.message}`)),
    ...crossFieldProblems(env),
  ];
  if (parsed.success && parsed.data.RUN_HEARTBEAT_MS * 3 > parsed.data.RUN_LEASE_MS) {
    problems.push('RUN_HEARTBEAT_MS must be at most a third of RUN_LEASE_MS');
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    nodeEnv: e.NODE_ENV,
    port: e.BACKEND_PORT ?? e.PORT ?? 4000,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseConnectAttempts: e.DATABASE_CONNECT_ATTEMPTS,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    jwtSecret: e.JWT_SECRET,
    jwtIssuer: e.JWT_ISSUER,
    jwtAudience: e.JWT_AUDIENCE,
    accessTtlSeconds: e.JWT_ACCESS_TTL,
    refreshTtlSeconds: e.JWT_REFRESH_TTL,
    bcryptCost: e.BCRYPT_COST,
    loginGuard: {
      maxFailures: e.LOGIN_GUARD_MAX_FAILURES,
      windowMs: e.LOGIN_GUARD_WINDOW * 1000,
      blockMs: e.LOGIN_GUARD_BLOCK * 1000,
    },
    registerRateLimit: { limit: e.REGISTER_RATE_LIMIT, windowMs: e.REGISTER_RATE_WINDOW * 1000 },
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    mcpUrl: e.MCP_URL,
    mcpCommand: e.MCP_COMMAND,
    mcpAuthToken: e.MCP_AUTH_TOKEN,
    mcpAllowedTools: e.MCP_ALLOWED_TOOLS.length > 0 ? e.MCP_ALLOWED_TOOLS : undefined,
    mcpMaxSessionsPerUser: e.MCP_MAX_SESSIONS_PER_USER,
    mcpSessionIdleMs: e.MCP_SESSION_IDLE_MS,
    mcpUpstreamTimeoutMs: e.MCP_UPSTREAM_TIMEOUT_MS,
    mcpGatewayMode: e.MCP_GATEWAY_MODE,
    mcpMaxSessions: e.MCP_MAX_SESSIONS,
    mcpSessionDetachedMs: e.MCP_SESSION_DETACHED_MS,
    mcpSessionReplayBytes: e.MCP_SESSION_REPLAY_BYTES,
    mcpSessionBacklogBytes: e.MCP_SESSION_BACKLOG_BYTES,
    mcpWsMaxBufferedBytes: e.MCP_WS_MAX_BUFFERED_BYTES,
    mcpWsMaxInFlight: e.MCP_WS_MAX_IN_FLIGHT,
    admin:
      e.ADMIN_USERNAME && e.ADMIN_EMAIL && e.ADMIN_PASSWORD
        ? { username: e.ADMIN_USERNAME, email: e.ADMIN_EMAIL, password: e.ADMIN_PASSWORD }
        : undefined,
    corsOrigins: e.CORS_ORIGINS,
    trustProxyHops: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    wsPingIntervalMs: e.WS_PING_INTERVAL_MS,
    wsMessagesPerSecond: e.WS_MESSAGES_PER_SECOND,
    wsMaxConnectionsPerUser: e.WS_MAX_CONNECTIONS_PER_USER,
    wsMaxConnections: e.WS_MAX_CONNECTIONS,
    wsMaxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
    wsUserBytesPerSecond: e.WS_USER_BYTES_PER_SECOND,
    httpUserBytesPerSecond: e.HTTP_USER_BYTES_PER_SECOND,
    edgeWsShards: e.EDGE_WS_SHARDS,
    edgeWsForwardQueue: e.EDGE_WS_FORWARD_QUEUE,
    runResultBudgetBytes: e.RUN_RESULT_BUDGET_BYTES,
    runStoragePerUserBytes: e.RUN_STORAGE_PER_USER_BYTES,
    runStorageTotalBytes: e.RUN_STORAGE_TOTAL_BYTES,
    metricsToken: e.METRICS_TOKEN,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    edgeEventsUrl: e.EDGE_EVENTS_URL,
    edgeEventsSecret: e.EDGE_EVENTS_SECRET,
    runner: {
      queueName: e.WORKFLOW_QUEUE_NAME,
      bullmqPrefix: e.BULLMQ_PREFIX,
      keepCompletedJobs: e.BULLMQ_KEEP_COMPLETED,
      keepFailedJobs: e.BULLMQ_KEEP_FAILED,
      concurrency: e.WORKER_CONCURRENCY,
      leaseMs: e.RUN_LEASE_MS,
      heartbeatMs: e.RUN_HEARTBEAT_MS,
      stepTimeoutMs: e.STEP_TIMEOUT_MS,
      stepRetryBaseMs: e.STEP_RETRY_BASE_MS,
      stepRetryMaxMs: e.STEP_RETRY_MAX_MS,
      mcpUnavailableRetries: e.MCP_UNAVAILABLE_RETRIES,
      workerLockDurationMs: e.WORKER_LOCK_DURATION_MS,
      workerStalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
      reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
      reconcileGraceMs: e.RECONCILE_GRACE_MS,
      shutdownTimeoutMs: e.WORKER_SHUTDOWN_TIMEOUT_MS,
      pollMs: e.RUNNER_POLL_MS,
      enqueueTimeoutMs: e.ENQUEUE_TIMEOUT_MS,
      workerCheckIntervalMs: e.WORKER_CHECK_INTERVAL_MS,
    },
  };
}

/** Rules spanning several variables, checked on the raw env so they are reported with every other problem. */
function crossFieldProblems(env: Env): string[] {
  const problems: string[] = [];
  if (env.NODE_ENV === 'production' && !env.JWT_SECRET?.trim()) {
    problems.push('JWT_SECRET is required when NODE_ENV=production');
  }
  const adminSet = [env.ADMIN_USERNAME, env.ADMIN_EMAIL, env.ADMIN_PASSWORD].filter((v) => v?.trim()).length;
  if (env.EDGE_EVENTS_URL?.trim() && !env.EDGE_EVENTS_SECRET?.trim()) {
    problems.push('EDGE_EVENTS_SECRET is required with EDGE_EVENTS_URL');
  }
  if (adminSet > 0 && adminSet < 3) {
    problems.push('ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
  }
  return problems;
}
