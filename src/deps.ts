import type { Context, Hono } from 'hono';
import type { AccessTokens } from './auth/access-tokens';
import type { AddressRateLimit } from './auth/address-rate-limit';
import type { LoginGuard } from './auth/login-guard';
import type { PasswordHasher } from './auth/passwords';
import type { RefreshTokenStore } from './auth/refresh-tokens';
import type { Clock } from './clock';
import type { Config } from './config/config';
import type { Database } from './db/database';
import type { UserHttpBudget } from './http/user-http-budget';
import type { Logger } from './logging/logger';
import type { McpToolClient } from './mcp/tool-client';
import type { McpGateway } from './mcp-gateway/mcp-gateway';
import type { McpWebSocketTransport } from './mcp-gateway/mcp-websocket.routes';
import type { StreamableHttpGateway } from './mcp-gateway/streamable-http-gateway';
import type { ToolPolicy } from './mcp-gateway/tool-policy';
import type { Metrics } from './observability/metrics';
import type { DocsAssets } from './docs/docs-assets';
import type { ChannelHub } from './realtime/channel-hub';
import type { RealtimeGateway } from './realtime/realtime-gateway';
import type { RealtimeHost } from './realtime/realtime.routes';
import type { ServerEvents } from './realtime/server-events.routes';
import type { RunQueue } from './runs/run-queue';
import type { RunService } from './runs/run-service';
import type { UserQueries } from './users/user-queries';

/**
 * A dependency /health reports on; `check` rejects when it is down. Fields it resolves with, or
 * that its error carries as `details`, are shown next to the status (e.g. a count).
 */
export interface HealthCheck {
  name: string;
  /** When true, this dependency being down makes /health answer 503. */
  critical: boolean;
  // biome-ignore lint/suspicious/noConfusingVoidType: most checks resolve with nothing to show
  check(): Promise<void | Record<string, unknown>>;
}

/**
 * Everything the portable app needs from its runtime. Entry points (src/node, src/edge)
 * build it; tests build it with real services or fakes.
 */
export interface AppDeps {
  config: Config;
  db: Database;
  clock: Clock;
  logger: Logger;
  passwords: PasswordHasher;
  accessTokens: AccessTokens;
  refreshTokens: RefreshTokenStore;
  loginGuard: LoginGuard;
  /** POST /auth/register per client address. */
  registrationLimit: AddressRateLimit;
  /** Bytes per second each user's authenticated REST requests may move in this process (isolate, on the edge). */
  httpBudget: UserHttpBudget;
  /** The peer address of the connection, as the runtime sees it (socket, CF-Connecting-IP). */
  socketAddress(c: Context): string | undefined;
  healthChecks: HealthCheck[];
  /** Realtime fan-out (/ws, workflow progress). */
  hub: ChannelHub;
  /** /ws sessions of this process (limits, heartbeat, counters); absent where a Durable Object holds them. */
  realtime?: RealtimeGateway;
  /** This process's session with the MCP server (MCP_URL, MCP_COMMAND or the built-in one): /tools/list, runs. */
  mcp: McpToolClient;
  /** Where a new run is handed after its row is written (RunService's); /metrics asks it for live workers. */
  runQueue: RunQueue;
  /** Every change of a run outside its executor (execute, cancel, retry) and the reads of runs. */
  runs: RunService;
  /** HTTP, run, queue, realtime and MCP metrics for `GET /metrics`; absent: nothing is recorded. */
  metrics?: Metrics;
  /** Swagger UI's files for /docs; absent: the page loads them from a CDN. */
  docsAssets?: DocsAssets;
  /** `/mcp`: per-client sessions relayed to the upstream MCP server; absent: /mcp answers 503. */
  mcpGateway?: McpGateway;
  /**
   * `mcpGateway`'s Streamable HTTP front (HTTP sessions or stateless requests, per
   * MCP_GATEWAY_MODE), built with it by `mcpGatewayParts`.
   */
  mcpHttp?: StreamableHttpGateway;
  /** MCP_ALLOWED_TOOLS, built once: workflow validation, and the same policy the gateway and `mcp` enforce. */
  toolPolicy: ToolPolicy;
  /** User lookups (auth, /profile) over `db`, with its prepared statements. */
  userQueries: UserQueries;
  /**
   * The runtime's WebSocket upgrade (Hono's `upgradeWebSocket` of @hono/node-ws, or a
   * WebSocketPair in a Worker) with its native socket controls: /ws and the /mcp WebSocket.
   * Absent: neither is mounted.
   */
  webSockets?: McpWebSocketTransport;
  /** Where /ws sockets live when not in this process (the edge's Durable Objects). */
  realtimeHost?: RealtimeHost;
  /** `POST /internal/events` (edge with EDGE_EVENTS_SECRET): signed events from Node workers; absent: 404. */
  serverEvents?: ServerEvents;
  /** Bull Board's app for `/admin/queues` (Node with Redis), mounted behind admin auth; absent: 404. */
  queueDashboard?: Hono;
}

export interface AuthUser {
  id: string;
  username: string;
  role: 'user' | 'admin';
}

export interface AppEnv {
  Variables: {
    deps: AppDeps;
    requestId: string;
    user: AuthUser;
    /**
     * Set by a route whose own log lines describe what its requests did (the MCP gateway logs
     * each tool call and session): the request line of its successful requests drops to debug.
     */
    loggedByRoute: boolean;
  };
}
