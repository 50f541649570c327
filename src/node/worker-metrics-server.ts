import type { ServerType } from '@hono/node-server';
import { serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { Database } from '../db/database';
import { sameSecret } from '../http/same-secret';
import type { Logger } from '../logging/logger';
import { bearerToken } from '../middleware/auth';
import type { Metrics } from '../observability/metrics';
import { countRunsByStatus } from '../observability/queue-depth';
import { withTimeout } from '../with-timeout';

export interface WorkerMetricsServer {
  port: number;
  close(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2000;

const within = <T>(promise: Promise<T>) =>
  withTimeout(promise, CHECK_TIMEOUT_MS, `no answer within ${CHECK_TIMEOUT_MS} ms`);

/**
 * The worker's own port (WORKER_METRICS_PORT): `GET /metrics` (its runs and MCP calls, which
 * the API never sees) and `GET /health` (database and Redis, 503 when either is down) for the
 * container health check. With METRICS_TOKEN set, /metrics wants it as a bearer token.
 */
export async function startWorkerMetricsServer(parts: {
  port: number;
  host: string;
  metrics: Metrics;
  db: Database;
  logger: Logger;
  metricsToken?: string;
  /** Extra readiness probes, e.g. Redis. */
  checks?: Record<string, () => Promise<unknown>>;
}): Promise<WorkerMetricsServer> {
  const { metrics, db, logger } = parts;
  const app = new Hono()
    .get('/metrics', async (c) => {
      if (parts.metricsToken) {
        const token = bearerToken(c.req.header('authorization'));
        if (!token || !(await sameSecret(token, parts.metricsToken))) {
          return c.json({ error: { code: 'unauthorized', message: 'Missing or wrong metrics token' } }, 401);
        }
      }
      try {
        metrics.setQueueDepth(await within(countRunsByStatus(db)));
      } catch (error) {
        logger.warn({ err: { message: (error as Error)?.message } }, 'metrics: counting workflow_queue failed');
      }
      const { contentType, body } = await metrics.render();
      return c.body(body, 200, { 'content-type': contentType });
    })
    .get('/health', async (c) => {
      const probes: Record<string, () => Promise<unknown>> = { db: () => db.execute(sql`select 1`), ...parts.checks };
      const results = await Promise.all(
        Object.entries(probes).map(async ([name, probe]) => {
          try {
            await within(probe());
            return [name, { status: 'up' }] as const;
          } catch (error) {
            return [name, { status: 'down', error: String((error as Error)?.message ?? error).slice(0, 200) }] as const;
          }
        }),
      );
      const healthy = results.every(([, r]) => r.status === 'up');
      return c.json({ status: healthy ? 'ok' : 'degraded', checks: Object.fromEntries(results) }, healthy ? 200 : 503);
    })
    .notFound((c) => c.json({ error: { code: 'not_found', message: 'Route not found' } }, 404));

  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    server = serve({ fetch: app.fetch, port: parts.port, hostname: parts.host }, (info) => resolve(info.port));
    server.once('error', reject);
  });
  return {
    port,
    close: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
}
