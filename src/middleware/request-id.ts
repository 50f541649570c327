import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../deps';

const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts a caller's X-Request-Id when it is sane, otherwise makes one; always echoes it. */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const incoming = c.req.header('x-request-id');
  const id = incoming && ACCEPTED_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.set('requestId', id);
  await next();
  if (!isUpgrade(c.res)) c.res.headers.set('X-Request-Id', id);
});

/** A 101 response's headers are immutable on Workers: middleware must leave it alone. */
export function isUpgrade(res: Response): boolean {
  return res.status === 101 || (res as Response & { webSocket?: unknown }).webSocket != null;
}
