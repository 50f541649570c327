import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../deps';

/** One structured line per request; carries ids and timings, never bodies or headers. */
export const requestLogger = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  await next();
  const status = c.res.status;
  const fields = {
    requestId: c.var.requestId,
    method: c.req.method,
    path: c.req.path,
    route: c.req.routePath,
    status,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    userId: c.var.user?.id,
  };
  const logger = c.var.deps.logger;
  if (status >= 500) logger.error(fields, 'request failed');
  else logger.info(fields, 'request');
});
