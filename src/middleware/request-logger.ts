import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../deps';

/**
 * One structured line per request; carries ids and timings, never bodies or headers.
 * `c.get` rather than `c.var`: hono builds a fresh object on every `c.var` read.
 */
export const requestLogger = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  await next();
  const status = c.res.status;
  const logger = c.get('deps').logger;
  const level = status >= 500 ? 'error' : 'info';
  if (logger.isLevelEnabled && !logger.isLevelEnabled(level)) return;
  const fields = {
    requestId: c.get('requestId'),
    method: c.req.method,
    path: c.req.path,
    route: c.req.routePath,
    status,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    userId: c.get('user')?.id,
  };
  if (level === 'error') logger.error(fields, 'request failed');
  else logger.info(fields, 'request');
});
