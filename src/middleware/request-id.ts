import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../deps';

const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Accepts a caller's X-Request-Id when it is sane, otherwise makes one; always echoes it.
 * Set as a prepared header first (responses built with `c.json`/`c.body` are created with it);
 * a raw `Response` from a handler lacks it and gets it afterwards.
 */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const incoming = c.req.header('x-request-id');
  const id = incoming && ACCEPTED_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.set('requestId', id);
  c.header('X-Request-Id', id);
  await next();
  const res = c.res;
  if (!isUpgrade(res) && res.headers.get('x-request-id') !== id) res.headers.set('X-Request-Id', id);
});

/** A 101 response's headers are immutable on Workers: middleware must leave it alone. */
export function isUpgrade(res: Response): boolean {
  return res.status === 101 || (res as Response & { webSocket?: unknown }).webSocket != null;
}
