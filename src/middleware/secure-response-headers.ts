import type { MiddlewareHandler } from 'hono';
import { isUpgrade } from './request-id';

/** hono's `secureHeaders()` defaults, precomputed once. */
const SECURE_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
];

/**
 * The headers of hono's `secureHeaders()` (defaults), set as prepared headers before the
 * handler runs, so a response built with `c.json`/`c.body` is created with them instead of
 * having eleven headers written into it afterwards. A handler that returns a raw `Response`
 * (MCP transport, docs assets, queue dashboard) does not get prepared headers: those are
 * caught after the fact by a one-header check. Upgrade requests are left alone, as before.
 */
export const secureResponseHeaders: MiddlewareHandler = async (c, next) => {
  if (c.req.header('upgrade')?.toLowerCase() === 'websocket') return next();
  for (const [name, value] of SECURE_HEADERS) c.header(name, value);
  await next();
  const res = c.res;
  if (isUpgrade(res) || res.headers.get('x-content-type-options') === 'nosniff') return;
  for (const [name, value] of SECURE_HEADERS) res.headers.set(name, value);
  res.headers.delete('X-Powered-By');
};
