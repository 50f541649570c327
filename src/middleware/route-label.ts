import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';

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
