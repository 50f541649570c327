import { getConnInfo } from '@hono/node-server/conninfo';
import type { Redis } from 'ioredis';
import { AccessTokens } from '../auth/access-tokens';
import type { AddressRateLimit } from '../auth/address-rate-limit';
import type { LoginGuard } from '../auth/login-guard';
import { PostgresLoginGuard } from '../auth/postgres-login-guard';
import { PostgresRateLimit } from '../auth/postgres-rate-limit';
import { RefreshTokenStore } from '../auth/refresh-tokens';
import { StoreFallback } from '../auth/store-fallback';
import { type Clock, systemClock } from '../clock';
import type { Config } from '../config/config';
import type { Database } from '../db/database';
import type { AppDeps, HealthCheck } from '../deps';
import type { Logger } from '../logging/logger';
import type { McpToolClient } from '../mcp/tool-client';
import type { McpGateway } from '../mcp-gateway/mcp-gateway';
import { mcpGatewayParts } from '../mcp-gateway/streamable-http-gateway';
import { toolPolicyOf } from '../mcp-gateway/tool-policy';
import type { Metrics } from '../observability/metrics';
import type { ChannelHub } from '../realtime/channel-hub';
import { databaseResourceCheck } from '../realtime/database-resource-check';
import { InMemoryChannelHub } from '../realtime/in-memory-channel-hub';
import { RealtimeGateway, realtimeOptionsFrom } from '../realtime/realtime-gateway';
import { UserHttpBudget } from '../http/user-http-budget';
import { type RunQueue, rowOnlyRunQueue } from '../runs/run-queue';
import { RunService } from '../runs/run-service';
import { UserQueries } from '../users/user-queries';
import { type OpenDatabase, openDatabase, runMigrations } from './database';
import { withEdgeEvents } from './edge-event-forwarder';
import { createBuiltinMcpClient } from './mcp-client-factory';
import { createMcpGateway } from './mcp-gateway-factory';
import { createNodeChannelHub } from './node-channel-hub';
import { createPromMetrics } from './prom-metrics';
import { connectRequestRedis, readyWithin, redisHealthCheck, watchRedisConnection } from './redis-connections';
import { RedisLoginGuard } from './redis-login-guard';
import { RedisRateLimit } from './redis-rate-limit';
import { swaggerUiAssets } from './swagger-ui-assets';
import { ThreadedPasswordHasher } from './threaded-password-hasher';
import { createWorkflowRuntime } from './workflow-runtime';

export interface NodeDeps {
  deps: AppDeps;
  database: OpenDatabase;
  redis?: Redis;
  close(): Promise<void>;
}

const REDIS_STARTUP_WAIT_MS = 5000;

/** Wires the real Node dependencies: database (+ migrations), Redis, auth services. */
export async function createNodeDeps(
  config: Config & { jwtSecret: string },
  logger: Logger,
  options: { clock?: Clock; dataDir?: string | 'memory' } = {},
): Promise<NodeDeps> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: options.dataDir ?? config.dataDir });
  await runMigrations({
    databaseUrl: config.databaseUrl,
    database,
    connectAttempts: config.databaseConnectAttempts,
    logger,
  });
  // Every use of this connection is on a request path (guard, limits, enqueue, Bull Board): deadlines, no offline queue.
  const redis = config.redisUrl ? connectRequestRedis(config.redisUrl, config.redisCommandTimeoutMs) : undefined;
  const hub = createNodeChannelHub(config.redisUrl ? { url: config.redisUrl } : undefined, logger);
  const base = createAppDeps({ config, db: database.db, redis, logger, clock: options.clock, hub });
  // The first requests should find Redis connected; a Redis that is down does not hold the start
  // up (the outage is logged, counters go to Postgres until it is back).
  if (redis) await readyWithin(redis, REDIS_STARTUP_WAIT_MS);
  const workflows = createWorkflowRuntime({
    config,
    db: database.db,
    // Runs executed here (single-process mode) also report to edge /ws clients when EDGE_EVENTS_URL is set.
    hub: withEdgeEvents(hub, config, logger),
    logger,
    clock: base.clock,
    redis,
    metrics: base.metrics,
    toolPolicy: base.toolPolicy,
  });
  const deps: AppDeps = {
    ...base,
    mcp: workflows.mcp,
    runQueue: workflows.runQueue,
    // The queue exists only now (BullMQ waits for Redis above): the service that hands runs to it too.
    runs: new RunService({ ...base, runQueue: workflows.runQueue }),
    healthChecks: [...base.healthChecks, ...workflows.healthChecks],
  };
  return {
    deps,
    database,
    redis,
    async close() {
      await deps.mcpGateway?.shutdown();
      await workflows.close();
      await hub.close();
      await redis?.quit().catch(() => redis.disconnect());
      await database.close();
    },
  };
}

/** The AppDeps for an open database (and Redis, when configured); tests call it with their own parts. */
export function createAppDeps(parts: {
  config: Config & { jwtSecret: string };
  db: Database;
  logger: Logger;
  redis?: Redis;
  clock?: Clock;
  hub?: ChannelHub;
  /** Default: the built-in MCP server, in process. */
  mcp?: McpToolClient;
  /** Default: rows only (nothing executes them until a runner or reconciler picks them up). */
  runQueue?: RunQueue;
  /** Default: Prometheus metrics in a registry of their own. */
  metrics?: Metrics;
  /** Default: a gateway to the configured upstream (MCP_URL, MCP_COMMAND or the built-in server). */
  mcpGateway?: McpGateway;
}): AppDeps {
  const { config, db, redis, logger } = parts;
  const clock = parts.clock ?? systemClock;
  const metrics = parts.metrics ?? createPromMetrics();
  const toolPolicy = toolPolicyOf(config);
  const mcpGateway = parts.mcpGateway ?? createMcpGateway(config, toolPolicy, logger);
  // Calls through /mcp end inside the gateway: its stats feed the same MCP latency histogram.
  mcpGateway.stats.onToolCall((call) =>
    metrics.observeMcpCall({ tool: call.tool, outcome: call.outcome, seconds: call.durationMs / 1000, via: 'gateway' }),
  );
  const hub = parts.hub ?? new InMemoryChannelHub();
  const runQueue = parts.runQueue ?? rowOnlyRunQueue;
  const healthChecks: HealthCheck[] = [];
  const postgresGuard = new PostgresLoginGuard(db, clock, config.loginGuard);
  const postgresRegistrations = new PostgresRateLimit(db, clock, 'register', config.registerRateLimit);
  let loginGuard: LoginGuard = postgresGuard;
  let registrationLimit: AddressRateLimit = postgresRegistrations;
  if (redis) {
    healthChecks.push(redisHealthCheck(redis, watchRedisConnection(redis, logger, 'api')));
    // Counters live in Redis; while it is away (or slow), in Postgres.
    const stores = new StoreFallback(logger, config.redisCommandTimeoutMs);
    loginGuard = stores.loginGuard(new RedisLoginGuard(redis, clock, config.loginGuard), postgresGuard);
    registrationLimit = stores.rateLimit(
      new RedisRateLimit(redis, clock, 'register', config.registerRateLimit),
      postgresRegistrations,
    );
  }
  return {
    config,
    db,
    clock,
    logger,
    passwords: new ThreadedPasswordHasher(config.bcryptCost),
    accessTokens: new AccessTokens({
      secret: config.jwtSecret,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      ttlSeconds: config.accessTtlSeconds,
      clock,
    }),
    refreshTokens: new RefreshTokenStore(db, clock, config.refreshTtlSeconds),
    loginGuard,
    registrationLimit,
    httpBudget: new UserHttpBudget(config.httpUserBytesPerSecond, () => clock().getTime()),
    socketAddress: (c) => getConnInfo(c).remote.address,
    healthChecks,
    hub,
    realtime: new RealtimeGateway({
      hub,
      ...realtimeOptionsFrom(config),
      mayRead: databaseResourceCheck(db),
      now: () => clock().getTime(),
      logger,
    }),
    mcp: parts.mcp ?? createBuiltinMcpClient(),
    runQueue,
    runs: new RunService({ db, clock, logger, config, hub, runQueue }),
    metrics,
    docsAssets: swaggerUiAssets(),
    ...mcpGatewayParts(mcpGateway, config.mcpGatewayMode),
    toolPolicy,
    userQueries: new UserQueries(db),
  };
}
