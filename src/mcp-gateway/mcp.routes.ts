import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../deps';
import { BadRequestError } from '../errors/bad-request-error';
import { NotFoundError } from '../errors/not-found-error';
import { ServiceUnavailableError } from '../errors/service-unavailable-error';
import { TooManyRequestsError } from '../errors/too-many-requests-error';
import { McpUnavailableError } from '../mcp/errors';
import { McpSessionLimitError } from './mcp-gateway';
import { McpHttpRequestError } from './streamable-http-gateway';
import { bearerToken } from '../middleware/auth';
import { authenticateMcpClient } from '../middleware/mcp-auth';
import { mcpDocs } from './mcp.openapi';

/**
 * The gateway's errors as the API's typed HTTP errors. An unreachable upstream is named to no
 * one but the log: where the upstream lives is not the client's business.
 */
export function mcpGatewayHttpError(error: unknown): unknown {
  if (error instanceof McpSessionLimitError) return new TooManyRequestsError(error.retryAfterSeconds, error.message);
  if (error instanceof McpUnavailableError) {
    return new ServiceUnavailableError('The MCP server is unavailable; try again later');
  }
  if (error instanceof McpHttpRequestError) {
    return error.status === 404 ? new NotFoundError(error.message) : new BadRequestError(error.message);
  }
  return error;
}

/** Authenticates, then serves Streamable HTTP. */
const serveStreamableHttp = createMiddleware<AppEnv>(async (c, next) => {
  // A WebSocket upgrade of GET /mcp is the WebSocket route's (src/mcp-gateway/mcp-websocket.routes.ts).
  if (c.req.header('upgrade')?.toLowerCase() === 'websocket') return next();
  const user = await authenticateMcpClient(c, bearerToken(c.req.header('authorization')));
  c.set('user', user);
  // The gateway logs each tool call (user, tool, duration, outcome) and each session.
  c.set('loggedByRoute', true);
  const { mcpHttp } = c.get('deps');
  if (!mcpHttp) throw new ServiceUnavailableError('The MCP gateway is not available in this runtime');
  try {
    return await mcpHttp.handle(c.req.raw, user.id);
  } catch (error) {
    throw mcpGatewayHttpError(error);
  }
});

/**
 * `POST|GET|DELETE /mcp`: MCP Streamable HTTP for standard MCP clients, authenticated with
 * `Authorization: Bearer`. WebSocket upgrades of `GET /mcp` pass through untouched to the
 * WebSocket route the runtime registers (see mcp-websocket.routes.ts).
 */
export const mcpRoutes = new Hono<AppEnv>()
  .post('/', mcpDocs.post, serveStreamableHttp)
  .get('/', mcpDocs.get, serveStreamableHttp)
  .delete('/', mcpDocs.delete, serveStreamableHttp);
