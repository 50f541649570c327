import type { MiddlewareHandler } from 'hono';

/**
 * Runs `middleware` only for requests that can carry a body. GET and HEAD never get one
 * from the runtimes we serve on, and merely asking for `c.req.raw.body` (as bodyLimit does)
 * makes @hono/node-server build a full undici Request with an AbortSignal and a stream for
 * every request — a large share of the cost of a cheap GET.
 */
export function skipBodyless(middleware: MiddlewareHandler): MiddlewareHandler {
  return (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : middleware(c, next));
}
