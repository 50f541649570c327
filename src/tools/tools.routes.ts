import { Hono } from 'hono';
import { redactUrlCredentials } from '../config/redact-url';
import type { AppEnv } from '../deps';
import { ServiceUnavailableError } from '../errors/service-unavailable-error';
import type { McpToolClient } from '../mcp/tool-client';
import { requireAuth } from '../middleware/auth';
import { toolDocs } from './tools.openapi';

/**
 * `GET /tools/list`: the upstream MCP server's tools (the runtime's client caches them briefly:
 * `withCachedToolList`); 503 when it cannot be reached.
 */
export const toolRoutes = new Hono<AppEnv>().use(requireAuth).get('/list', toolDocs.list, async (c) => {
  const { mcp, logger } = c.var.deps;
  let tools: Awaited<ReturnType<McpToolClient['listTools']>>;
  try {
    tools = await mcp.listTools();
  } catch (error) {
    const message = redactUrlCredentials(error instanceof Error ? error.message : String(error));
    logger.warn({ err: { message } }, 'tools/list failed');
    throw new ServiceUnavailableError('The MCP server is unavailable; try again later', { reason: message });
  }
  return c.json({
    tools: tools.map((t) => ({ name: t.name, description: t.description ?? '', inputSchema: t.inputSchema })),
  });
});
