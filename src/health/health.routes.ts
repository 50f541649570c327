import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { redactUrlCredentials } from '../config/redact-url';
import type { AppEnv, HealthCheck } from '../deps';
import { withTimeout } from '../with-timeout';
import { healthDocs } from './health.openapi';

const CHECK_TIMEOUT_MS = 2000;

/** A check's way to say "down" with fields to show next to the status (e.g. a count). */
export class HealthCheckDown extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

async function probe(
  check: HealthCheck['check'],
): Promise<{ status: 'up' | 'down'; latencyMs: number; error?: string }> {
  const started = performance.now();
  try {
    const details = await withTimeout(check(), CHECK_TIMEOUT_MS, `no answer within ${CHECK_TIMEOUT_MS} ms`);
    return { status: 'up', latencyMs: Math.round(performance.now() - started), ...details };
  } catch (error) {
    // Only the message, without any URL's credentials: /health is unauthenticated.
    return {
      status: 'down',
      latencyMs: Math.round(performance.now() - started),
      error: redactUrlCredentials(String((error as Error)?.message ?? error)).slice(0, 200),
      ...(error instanceof HealthCheckDown ? error.details : {}),
    };
  }
}

export const healthRoutes = new Hono<AppEnv>()
  .get('/live', healthDocs.live, (c) => c.json({ status: 'ok' }))
  .get('/', healthDocs.ready, async (c) => {
    const { db, healthChecks } = c.var.deps;
    const checks: HealthCheck[] = [
      {
        name: 'db',
        critical: true,
        check: async () => {
          await db.execute(sql`select 1`);
        },
      },
      ...healthChecks,
    ];
    const results = await Promise.all(checks.map(async (chk) => [chk, await probe(chk.check)] as const));
    // Any dependency down makes the service degraded, and says why; only a critical one (the
    // database) makes it unable to serve: 503.
    const down = results.filter(([, r]) => r.status === 'down');
    const serving = down.every(([chk]) => !chk.critical);
    return c.json(
      {
        status: down.length === 0 ? 'ok' : 'degraded',
        ...(down.length > 0 && { reasons: down.map(([chk, r]) => `${chk.name}: ${r.error ?? 'down'}`) }),
        checks: Object.fromEntries(results.map(([chk, r]) => [chk.name, r])),
      },
      serving ? 200 : 503,
    );
  });
