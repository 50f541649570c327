import { type Context, Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { WSContext, WSEvents } from 'hono/ws';
import { tokenExpiry } from '../auth/token-expiry';
import type { AppEnv } from '../deps';
import { ServiceUnavailableError } from '../errors/service-unavailable-error';
import { UpgradeRequiredError } from '../errors/upgrade-required-error';
import { McpSessionLimitError } from './mcp-gateway';
import type { RelayCloseReason } from './mcp-relay';
import { type WebSocketFlowControl, WebSocketSessionTransport } from './websocket-session-transport';
import { upgradeToken } from '../middleware/auth';
import { authenticateMcpClient } from '../middleware/mcp-auth';
import { CLOSE_TOKEN_EXPIRED } from '../realtime/session';
import { mcpGatewayHttpError } from './mcp.routes';
import type { RealtimeTransport } from '../realtime/realtime.routes';

/** Close codes: 1008 policy (session cap), 1011 upstream closed, 1013 try again later (upstream unreachable), 1001 going away, 4401 token expired. */
const CLOSE_FOR_REASON: Record<RelayCloseReason, [number, string]> = {
  client_closed: [1000, 'MCP session closed'],
  done: [1000, 'MCP session closed'],
  idle: [1000, 'MCP session idle for too long'],
  retired: [1013, 'MCP session closed to make room for another one'],
  // As on /ws: reconnect with a fresh token.
  token_expired: [CLOSE_TOKEN_EXPIRED, 'access token expired'],
  upstream_closed: [1011, 'The MCP server closed the session'],
  shutdown: [1001, 'Server shutting down'],
};

/**
 * Authenticates before anything is upgraded (`Authorization: Bearer` or `?token=`: the SDK's
 * `WebSocketClientTransport` cannot set headers) and refuses a user at the session cap with
 * 429, so no socket is opened for nothing.
 */
const authorizeMcpUpgrade = createMiddleware<AppEnv>(async (c, next) => {
  const gateway = c.var.deps.mcpGateway;
  if (!gateway) throw new ServiceUnavailableError('The MCP gateway is not available in this runtime');
  const token = upgradeToken(c);
  const user = await authenticateMcpClient(c, token);
  c.set('user', user);
  const limit = gateway.limitFor(user.id);
  if (limit) {
    gateway.stats.sessionRejected();
    throw mcpGatewayHttpError(limit);
  }
  await next();
});

/** The runtime's WebSocket plumbing, with control over a socket's reading where the runtime has it (Node). */
export interface McpWebSocketTransport extends RealtimeTransport {
  flowControl?(ws: WSContext): WebSocketFlowControl;
}

/** Built synchronously (see src/realtime/realtime.routes.ts): frames that arrive early wait in the transport. */
function mcpSocketEvents(c: Context<AppEnv>, transport: McpWebSocketTransport): WSEvents {
  const gateway = c.var.deps.mcpGateway;
  const { clock, config } = c.var.deps;
  const userId = c.var.user.id;
  const expiresAtMs = tokenExpiry(upgradeToken(c));
  let session: WebSocketSessionTransport | undefined;
  let expiry: ReturnType<typeof setTimeout> | undefined;
  return {
    onOpen(_event, ws) {
      if (!gateway) return;
      const socket = new WebSocketSessionTransport(
        {
          send: (text) => ws.send(text),
          close: (code, reason) => ws.close(code, reason),
          flow: transport.flowControl?.(ws),
        },
        { maxBufferedBytes: config.mcpWsMaxBufferedBytes, maxInFlight: config.mcpWsMaxInFlight },
      );
      session = socket;
      gateway
        .open({
          userId,
          client: socket,
          kind: 'websocket',
          closeClient: async (reason) => socket.closeWith(...CLOSE_FOR_REASON[reason]),
          onClose: () => clearTimeout(expiry),
        })
        .then((session) => {
          // The token was checked once, at the upgrade: the session ends when it expires.
          if (expiresAtMs === undefined || session.relay.closed) return;
          expiry = setTimeout(() => void session.close('token_expired'), Math.max(0, expiresAtMs - clock().getTime()));
        })
        .catch((error: unknown) => {
          // Another connection of the same user won the last slot between the upgrade and now.
          if (error instanceof McpSessionLimitError) socket.closeWith(1008, error.message);
          else socket.closeWith(1013, 'The MCP server is unavailable; try again later');
        });
    },
    onMessage(event) {
      session?.receive(event.data);
    },
    onClose() {
      session?.socketClosed();
    },
    onError() {
      session?.socketClosed();
    },
  };
}

/**
 * The WebSocket side of `/mcp` (one JSON-RPC message per frame, subprotocol `mcp`), through the
 * runtime's upgrade (on Node the same one that serves /ws). Mounted after the Streamable HTTP
 * routes, which let upgrades of `GET /mcp` through to this one.
 */
export function mcpWebSocketRoutes(transport: McpWebSocketTransport) {
  return new Hono<AppEnv>().get(
    '/',
    authorizeMcpUpgrade,
    transport.upgrade((c) => mcpSocketEvents(c, transport)),
    () => {
      throw new UpgradeRequiredError();
    },
  );
}
