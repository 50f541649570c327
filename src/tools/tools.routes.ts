import { Hono } from 'hono';
import { redactUrlCredentials } from '../config/redact-url';
import type { AppEnv } from '../deps';
import { ServiceUnavailableError } from '../errors/service-unavailable-error';
import type { McpToolClient } from '../mcp/tool-client';
import { createToolListCache, type ToolListCache } from '../mcp/tool-list-cache';
import { requireAuth } from '../middleware/auth';
import { toolDocs } from './tools.openapi';

const TOOL_LIST_TTL_MS = 5000;

// One cache per MCP client (per app, in practice), created on first use.
const caches = new WeakMap<McpToolClient, ToolListCache>();

function cacheFor(mcp: McpToolClient): ToolListCache {
  let cache = caches.get(mcp);
  if (!cache) {
    cache = createToolListCache(() => mcp.listTools(), { ttlMs: TOOL_LIST_TTL_MS });
    caches.set(mcp, cache);
  }
  return cache;
}

/** `GET /tools/list`: the upstream MCP server's tools, cached briefly; 503 when it cannot be reached. */
export const toolRoutes = new Hono<AppEnv>().use(requireAuth).get('/list', toolDocs.list, async (c) => {
  const { mcp, logger } = c.var.deps;
  let tools: Awaited<ReturnType<McpToolClient['listTools']>>;
  try {
    tools = await cacheFor(mcp).get();
  } catch (error) {
    const message = redactUrlCredentials(error instanceof Error ? error.message : String(error));
    logger.warn({ err: { message } }, 'tools/list failed');
    throw new ServiceUnavailableError('The MCP server is unavailable; try again later', { reason: message });
  }
  return c.json({
    tools: tools.map((t) => ({ name: t.name, description: t.description ?? '', inputSchema: t.inputSchema })),
  });
});
