import { AccessTokens } from '../auth/access-tokens';
import { PasswordHasher } from '../auth/passwords';
import { PostgresLoginGuard } from '../auth/postgres-login-guard';
import { RefreshTokenStore } from '../auth/refresh-tokens';
import { systemClock } from '../clock';
import { type Config, ConfigError, loadConfig } from '../config/config';
import type { AppDeps } from '../deps';
import type { Logger } from '../logging/logger';
import type { McpToolClient } from '../mcp/tool-client';
import { McpGateway } from '../mcp-gateway/mcp-gateway';
import { restrictTools } from '../mcp-gateway/restricted-tool-client';
import { toolPolicyOf } from '../mcp-gateway/tool-policy';
import { notifyRunQueue } from '../runs/notify-run-queue';
import { createConsoleLogger } from './console-logger';
import { DurableObjectChannelHub } from './durable-object-channel-hub';
import { openEdgeDatabase } from './edge-database';
import { databaseUrlOf, type EdgeEnv, stringBindings } from './edge-env';
import { createPerCallMcpClient, edgeMcpConnector } from './edge-mcp-client';

/** What may outlive a request: parsed configuration and objects that hold no I/O. */
interface IsolateParts {
  config: Config & { jwtSecret: string };
  databaseUrl: string;
  logger: Logger;
  mcp: McpToolClient;
  /** Pure Web Crypto; its cache of verified tokens pays off across the isolate's requests. */
  accessTokens: AccessTokens;
}

export interface EdgeRequestDeps {
  deps: AppDeps;
  /** Ends this request's database connection; pass to `ctx.waitUntil`. */
  close(): Promise<void>;
}

// Bindings are fixed for an isolate's life; the object identity is the cache key.
const isolates = new WeakMap<EdgeEnv, IsolateParts>();

function isolateParts(env: EdgeEnv): IsolateParts {
  let parts = isolates.get(env);
  if (parts) return parts;
  const config = loadConfig(stringBindings(env));
  const databaseUrl = databaseUrlOf(env);
  const problems: string[] = [];
  if (!config.jwtSecret) problems.push('JWT_SECRET is required on the edge (wrangler secret put JWT_SECRET)');
  if (!databaseUrl) problems.push('DATABASE_URL or a HYPERDRIVE binding is required on the edge');
  if (config.mcpCommand) problems.push('MCP_COMMAND cannot run on the edge: use MCP_URL');
  if (problems.length > 0 || !config.jwtSecret || !databaseUrl) throw new ConfigError(problems);
  const logger = createConsoleLogger(config.logLevel, { runtime: 'edge' });
  parts = {
    // Gateway sessions cannot outlive a request here (nor be found again by the next one,
    // which may reach another isolate): every /mcp POST is served on its own.
    config: { ...config, jwtSecret: config.jwtSecret, mcpGatewayMode: 'stateless' },
    databaseUrl,
    logger,
    mcp: restrictTools(createPerCallMcpClient(edgeMcpConnector(config), logger), toolPolicyOf(config)),
    accessTokens: new AccessTokens({
      secret: config.jwtSecret,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      ttlSeconds: config.accessTtlSeconds,
      clock: systemClock,
    }),
  };
  isolates.set(env, parts);
  return parts;
}

/**
 * The one place the Worker's AppDeps are built. Anything that does I/O (the Postgres
 * connection, the Durable Object stub) is made per request: Workers forbid using one request's
 * I/O objects from another. Throws ConfigError for missing or bad bindings.
 */
export function createEdgeDeps(env: EdgeEnv): EdgeRequestDeps {
  const { config, databaseUrl, logger, mcp, accessTokens } = isolateParts(env);
  const clock = systemClock;
  const database = openEdgeDatabase(databaseUrl);
  const { db } = database;
  const deps: AppDeps = {
    config,
    db,
    clock,
    logger,
    passwords: new PasswordHasher(config.bcryptCost),
    accessTokens,
    refreshTokens: new RefreshTokenStore(db, clock, config.refreshTtlSeconds),
    // Postgres is the shared store: every isolate and the Node API count the same failures.
    loginGuard: new PostgresLoginGuard(db, clock),
    socketAddress: (c) => c.req.header('cf-connecting-ip') ?? undefined,
    healthChecks: [
      {
        name: 'mcp',
        critical: false,
        check: async () => {
          await mcp.listTools();
        },
      },
    ],
    hub: new DurableObjectChannelHub(env.CHANNEL_HUB),
    mcp,
    // Per request: its upstream connections belong to this request.
    mcpGateway: new McpGateway({
      connector: edgeMcpConnector(config),
      policy: toolPolicyOf(config),
      logger,
      maxSessionsPerUser: config.mcpMaxSessionsPerUser,
      sessionIdleMs: config.mcpSessionIdleMs,
      requestTimeoutMs: config.mcpUpstreamTimeoutMs,
    }),
    // No Redis and no background execution on the edge: the row plus a NOTIFY for the Node worker.
    runQueue: notifyRunQueue(db, logger),
  };
  return { deps, close: database.close };
}
