import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../deps';
import { ForbiddenError } from '../errors/forbidden-error';
import { sameSecret } from '../http/same-secret';
import { authenticate, bearerToken } from '../middleware/auth';
import { noopMetrics } from './metrics';
import { metricsDocs } from './metrics.openapi';
import { countRunsByStatus } from './queue-depth';

/**
 * A scraper presents `Authorization: Bearer <METRICS_TOKEN>`; a person may use an admin
 * access token instead. Anything else: 401 (no or bad token) or 403 (not an admin).
 */
const metricsAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header('authorization'));
  const metricsToken = c.var.deps.config.metricsToken;
  if (token && metricsToken && (await sameSecret(token, metricsToken))) return next();
  const user = await authenticate(c, token, 'row');
  c.set('user', user);
  if (user.role !== 'admin') throw new ForbiddenError('Requires the admin role or the metrics token');
  await next();
});

/** `GET /metrics`: Prometheus text exposition; queue depth and realtime counters are read at scrape time. */
export const metricsRoutes = new Hono<AppEnv>().get('/', metricsDocs.scrape, metricsAuth, async (c) => {
  const { db, realtime, mcpGateway, logger, runQueue } = c.var.deps;
  const metrics = c.var.deps.metrics ?? noopMetrics;
  try {
    metrics.setQueueDepth(await countRunsByStatus(db));
  } catch (error) {
    // The rest of the exposition is still worth having while the database is down.
    logger.warn({ err: { message: (error as Error)?.message } }, 'metrics: counting workflow_queue failed');
  }
  if (realtime) metrics.setRealtime(realtime.stats);
  const workers = await runQueue.liveWorkers?.();
  if (workers) metrics.setLiveWorkers(workers.queue, workers.count);
  if (mcpGateway) metrics.setMcpSessions(mcpGateway.stats.snapshot().activeSessions);
  const { contentType, body } = await metrics.render();
  return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
});
