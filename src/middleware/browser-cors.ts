import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

type CorsOptions = NonNullable<Parameters<typeof cors>[0]>;

/**
 * hono's `cors`, applied only to requests that carry an `Origin` header — the only ones CORS
 * headers mean anything to. Others get just `Vary: Origin`, as `cors` would give them, so
 * caches keep the two kinds apart. Why skip: `cors` writes headers through `c.res` before and
 * after the handler, which on @hono/node-server turns every response into a full undici
 * Response with a stream body; on a small GET that was about half the request's cost.
 */
export function browserCors(options: CorsOptions): MiddlewareHandler {
  const withCors = cors(options);
  return async (c, next) => {
    if (c.req.header('origin') !== undefined) return withCors(c, next);
    await next();
    c.res.headers.append('Vary', 'Origin');
  };
}
