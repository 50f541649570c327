import type { MiddlewareHandler } from 'hono';

/**
 * Runs `middleware` except on WebSocket upgrade requests: header-rewriting middleware
 * (CORS, secure headers) must not touch a 101 response, whose headers are immutable on Workers.
 */
export function skipUpgrades(middleware: MiddlewareHandler): MiddlewareHandler {
  return (c, next) => (c.req.header('upgrade')?.toLowerCase() === 'websocket' ? next() : middleware(c, next));
}
