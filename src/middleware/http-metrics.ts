import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { matchedRoutes } from 'hono/route';
import type { AppEnv } from '../deps';

/**
 * The route pattern that answered (`/projects/:id`), never the raw path: label values stay
 * bounded. Middleware entries (`use`, method ALL, wildcard paths) do not name a route; a
 * request that only met those (404, 405) is "unmatched".
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    if (route && route.method !== 'ALL') return route.path;
  }
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    if (route && !route.path.includes('*')) return route.path;
  }
  return 'unmatched';
}

/** Times every request into `http_request_duration_seconds{method,route,status}`. */
export const httpMetrics = createMiddleware<AppEnv>(async (c, next) => {
  const metrics = c.get('deps').metrics;
  if (!metrics) return next();
  const started = performance.now();
  try {
    await next();
  } finally {
    metrics.observeHttp({
      method: c.req.method,
      route: routeLabel(c),
      status: c.res.status,
      seconds: (performance.now() - started) / 1000,
    });
  }
});
