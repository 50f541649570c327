import { AccessTokens } from '../auth/access-tokens';
import { PasswordHasher } from '../auth/passwords';
import { PostgresLoginGuard } from '../auth/postgres-login-guard';
import { PostgresRateLimit } from '../auth/postgres-rate-limit';
import { RefreshTokenStore } from '../auth/refresh-tokens';
import { systemClock } from '../clock';
import { type Config, ConfigError, loadConfig } from '../config/config';
import type { Database } from '../db/database';
import type { AppDeps } from '../deps';
import type { Logger } from '../logging/logger';
import { withCachedToolList } from '../mcp/tool-list-cache';
import { gatewayLimits } from '../mcp-gateway/gateway-limits';
import { McpGateway } from '../mcp-gateway/mcp-gateway';
import { restrictTools } from '../mcp-gateway/restricted-tool-client';
import { mcpGatewayParts, type StreamableHttpGateway } from '../mcp-gateway/streamable-http-gateway';
import { type ToolPolicy, toolPolicyOf } from '../mcp-gateway/tool-policy';
import { notifyRunQueue } from '../runs/notify-run-queue';
import type { ChannelHub } from '../realtime/channel-hub';
import type { RunQueue } from '../runs/run-queue';
import { RunService } from '../runs/run-service';
import { UserQueries } from '../users/user-queries';
import { createConsoleLogger } from './console-logger';
import { connectToShard, DurableObjectChannelHub, publishFromServer } from './durable-object-channel-hub';
import { type EdgeDatabase, openEdgeDatabase } from './edge-database';
import { databaseUrlOf, type EdgeEnv, type ExecutionContext, stringBindings } from './edge-env';
import { createPerCallMcpClient, edgeMcpConnector } from './edge-mcp-client';
import { UserHttpBudget } from '../http/user-http-budget';
import { RequestScoped } from './request-scope';
import { workersDocsAssets } from './workers-docs-assets';
import { workersWebSocketUpgrade } from './workers-websocket-upgrade';

type EdgeConfig = Config & { jwtSecret: string };

/**
 * What one request owns: its Postgres connection and what talks through it, and its MCP
 * gateway (whose upstream connections and idle sweeper belong to the request that opened
 * them). Each part is made on first use, so a request that needs none opens nothing.
 */
class EdgeRequest {
  private database?: EdgeDatabase;
  private refreshTokenStore?: RefreshTokenStore;
  private postgresLoginGuard?: PostgresLoginGuard;
  private registrations?: PostgresRateLimit;
  private notifyingRunQueue?: RunQueue;
  private runService?: RunService;
  private users?: UserQueries;
  private gateway?: ReturnType<typeof mcpGatewayParts>;

  constructor(
    private readonly config: EdgeConfig,
    private readonly databaseUrl: string,
    private readonly toolPolicy: ToolPolicy,
    private readonly logger: Logger,
    private readonly hub: ChannelHub,
  ) {}

  get db(): Database {
    this.database ??= openEdgeDatabase(this.databaseUrl);
    return this.database.db;
  }

  get refreshTokens(): RefreshTokenStore {
    this.refreshTokenStore ??= new RefreshTokenStore(this.db, systemClock, this.config.refreshTtlSeconds);
    return this.refreshTokenStore;
  }

  /** Postgres is the shared store: every isolate and the Node API count the same failures. */
  get loginGuard(): PostgresLoginGuard {
    this.postgresLoginGuard ??= new PostgresLoginGuard(this.db, systemClock, this.config.loginGuard);
    return this.postgresLoginGuard;
  }

  get registrationLimit(): PostgresRateLimit {
    this.registrations ??= new PostgresRateLimit(this.db, systemClock, 'register', this.config.registerRateLimit);
    return this.registrations;
  }

  /** No Redis and no background execution on the edge: the row plus a NOTIFY for the Node worker. */
  get runQueue(): RunQueue {
    this.notifyingRunQueue ??= notifyRunQueue(this.db, this.logger);
    return this.notifyingRunQueue;
  }

  /** Holds the request's connection (and statements prepared on it), so it is the request's too. */
  get runs(): RunService {
    const { config, logger, hub } = this;
    this.runService ??= new RunService({
      db: this.db,
      clock: systemClock,
      logger,
      config,
      hub,
      runQueue: this.runQueue,
    });
    return this.runService;
  }

  /** Its prepared statement belongs to this request's connection. */
  get userQueries(): UserQueries {
    this.users ??= new UserQueries(this.db);
    return this.users;
  }

  get mcpGateway(): McpGateway {
    return this.gatewayParts.mcpGateway;
  }

  get mcpHttp(): StreamableHttpGateway {
    return this.gatewayParts.mcpHttp;
  }

  private get gatewayParts(): ReturnType<typeof mcpGatewayParts> {
    const { config, logger } = this;
    this.gateway ??= mcpGatewayParts(
      new McpGateway({ connector: edgeMcpConnector(config), policy: this.toolPolicy, logger, ...gatewayLimits(config) }),
      config.mcpGatewayMode,
    );
    return this.gateway;
  }

  close(): Promise<void> {
    return this.database?.close() ?? Promise.resolve();
  }
}

export interface EdgeDeps {
  /** Built once per isolate; its connection-holding parts are the current request's. */
  deps: AppDeps;
  /** Serves one request in its own scope and hands the end of its connection to `ctx.waitUntil`. */
  inRequest<T>(ctx: ExecutionContext, serve: () => Promise<T>): Promise<T>;
}

function edgeConfig(env: EdgeEnv): { config: EdgeConfig; databaseUrl: string } {
  const config = loadConfig(stringBindings(env));
  const databaseUrl = databaseUrlOf(env);
  const problems: string[] = [];
  if (!config.jwtSecret) problems.push('JWT_SECRET is required on the edge (wrangler secret put JWT_SECRET)');
  if (!databaseUrl) problems.push('DATABASE_URL or a HYPERDRIVE binding is required on the edge');
  if (config.mcpCommand) problems.push('MCP_COMMAND cannot run on the edge: use MCP_URL');
  if (problems.length > 0 || !config.jwtSecret || !databaseUrl) throw new ConfigError(problems);
  return {
    // Gateway sessions cannot outlive a request here (nor be found again by the next one,
    // which may reach another isolate): every /mcp POST is served on its own.
    config: { ...config, jwtSecret: config.jwtSecret, mcpGatewayMode: 'stateless' },
    databaseUrl,
  };
}

/**
 * The one place the Worker's AppDeps are built, once per isolate. Workers forbid using one
 * request's I/O objects (the Postgres socket, an MCP connection) from another, so those live in
 * an `EdgeRequest` per request and the deps reach them through `RequestScoped`: the app, its
 * routes and everything without I/O are shared. Throws ConfigError for missing or bad bindings.
 */
export function createEdgeDeps(env: EdgeEnv): EdgeDeps {
  const { config, databaseUrl } = edgeConfig(env);
  const logger = createConsoleLogger(config.logLevel, { runtime: 'edge' });
  const toolPolicy = toolPolicyOf(config);
  // One session per call, holding no I/O between calls, so its /tools/list cache serves the isolate.
  const mcp = withCachedToolList(restrictTools(createPerCallMcpClient(edgeMcpConnector(config), logger), toolPolicy));
  const requests = new RequestScoped<EdgeRequest>();
  const hub = new DurableObjectChannelHub(env, config.edgeWsShards);
  const deps: AppDeps = {
    config,
    clock: systemClock,
    logger,
    passwords: new PasswordHasher(config.bcryptCost),
    // Pure Web Crypto; its cache of verified tokens pays off across the isolate's requests.
    accessTokens: new AccessTokens({
      secret: config.jwtSecret,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      ttlSeconds: config.accessTtlSeconds,
      clock: systemClock,
    }),
    get db() {
      return requests.current.db;
    },
    get refreshTokens() {
      return requests.current.refreshTokens;
    },
    get loginGuard() {
      return requests.current.loginGuard;
    },
    get registrationLimit() {
      return requests.current.registrationLimit;
    },
    get runQueue() {
      return requests.current.runQueue;
    },
    get runs() {
      return requests.current.runs;
    },
    get mcpGateway() {
      return requests.current.mcpGateway;
    },
    get mcpHttp() {
      return requests.current.mcpHttp;
    },
    get userQueries() {
      return requests.current.userQueries;
    },
    toolPolicy,
    // Per isolate: what one user's requests may cost the isolate that serves everyone else's too.
    httpBudget: new UserHttpBudget(config.httpUserBytesPerSecond, () => Date.now()),
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
    hub,
    mcp,
    docsAssets: env.ASSETS ? workersDocsAssets(env.ASSETS) : undefined,
    // The /mcp WebSocket relay lives as long as the client's socket, in the context of its request.
    webSockets: { upgrade: workersWebSocketUpgrade },
    // /ws sockets live in the user's connection shard, which accepts them with the hibernation API.
    realtimeHost: {
      connect: async (request, user) =>
        (await connectToShard(env, config.edgeWsShards, request, user)) as unknown as Response,
    },
    serverEvents: env.EDGE_EVENTS_SECRET
      ? {
          secret: env.EDGE_EVENTS_SECRET,
          publish: (messages, batchId) => publishFromServer(env, config.edgeWsShards, messages, batchId),
        }
      : undefined,
  };
  return {
    deps,
    async inRequest(ctx, serve) {
      const request = new EdgeRequest(config, databaseUrl, toolPolicy, logger, hub);
      try {
        return await requests.run(request, serve);
      } finally {
        ctx.waitUntil(request.close());
      }
    },
  };
}
