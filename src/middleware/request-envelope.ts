import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppDeps, AppEnv } from '../deps';
import { BASELINE_RESPONSE_HEADERS, type HeaderList, withBaselineHeaders } from '../http/baseline-headers';
import { routeLabel } from './route-label';

type CorsOptions = NonNullable<Parameters<typeof cors>[0]>;

const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * What every request gets, as one layer rather than one per concern (each Hono layer is a
 * closure and a promise more, which showed on cheap GETs): `deps` in the context, a request id
 * (the caller's X-Request-Id when sane) echoed back, the baseline response headers, CORS for
 * requests that carry an Origin, one log line and the latency histogram.
 *
 * WebSocket upgrades get the id and the log line but no headers: a 101's headers are immutable
 * on Workers. CORS runs only where an Origin makes it mean something: hono's `cors` rewrites the
 * response afterwards.
 */
export function requestEnvelope(deps: AppDeps, corsOptions: CorsOptions): MiddlewareHandler<AppEnv> {
  const withCors = cors(corsOptions);
  // A preflight is answered by `cors` itself, with a Response it returns rather than sets.
  const corsThen = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const preflight = await withCors(c, next);
    if (preflight) c.res = preflight;
  };
  return async (c, next) => {
    const started = performance.now();
    c.set('deps', deps);
    const incoming = c.req.header('x-request-id');
    const id = incoming && ACCEPTED_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set('requestId', id);
    try {
      if (c.req.header('upgrade')?.toLowerCase() === 'websocket') {
        // Prepared only: a refused upgrade's JSON answer (401...) echoes the id, while a 101,
        // a Response the upgrade helper returns itself, is never touched.
        c.header('X-Request-Id', id);
        await next();
      } else {
        const headers: HeaderList = [...BASELINE_RESPONSE_HEADERS, ['X-Request-Id', id]];
        await withBaselineHeaders(c, headers, c.req.header('origin') === undefined ? next : () => corsThen(c, next));
      }
    } finally {
      record(c, deps, id, performance.now() - started);
    }
  };
}

/**
 * The latency histogram and the log line (skipped cheaply when its level is off): one line per
 * request, at debug where the route's own line already says what it did (one line per MCP call).
 */
function record(c: Context<AppEnv>, deps: AppDeps, requestId: string, durationMs: number): void {
  const status = c.res.status;
  deps.metrics?.observeHttp({ method: c.req.method, route: routeLabel(c), status, seconds: durationMs / 1000 });
  const { logger } = deps;
  const level = status >= 500 ? 'error' : status < 400 && c.get('loggedByRoute') ? 'debug' : 'info';
  if (logger.isLevelEnabled && !logger.isLevelEnabled(level)) return;
  const fields = {
    requestId,
    method: c.req.method,
    path: c.req.path,
    route: c.req.routePath,
    status,
    durationMs: Math.round(durationMs * 100) / 100,
    userId: c.get('user')?.id,
  };
  if (level === 'error') logger.error(fields, 'request failed');
  else logger[level](fields, 'request');
}
