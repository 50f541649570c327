import { Hono } from 'hono';
import type { AppEnv } from '../deps';
import { adminBrowserAuth } from '../middleware/admin-browser-auth';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * `/admin/queues`: the runtime's queue dashboard (Bull Board on Node with Redis), admin only:
 * the page, its static assets and its JSON API (see adminBrowserAuth).
 */
export function queueDashboardRoutes(dashboard: Hono) {
  const auth = adminBrowserAuth(QUEUE_DASHBOARD_PATH, 'queues_token');
  return new Hono<AppEnv>().use('/', auth).use('/*', auth).route('/', dashboard);
}
