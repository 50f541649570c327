import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import type { Hono } from 'hono';
import type { AppEnv } from '../deps';
import { adminBrowserAuth } from '../middleware/admin-browser-auth';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * Bull Board on an app built by `createApp` (Node with Redis only: it reads BullMQ through
 * ioredis and serves its UI assets from node_modules). Everything under the path, the page,
 * its static assets and its JSON API, is admin only (see adminBrowserAuth). Call it before
 * the app serves its first request.
 */
export function mountQueueDashboard(app: Hono<AppEnv>, queues: Queue[], path = QUEUE_DASHBOARD_PATH): void {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(path);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Workflow queues' } },
  });
  const auth = adminBrowserAuth(path, 'queues_token');
  app.use(path, auth);
  app.use(`${path}/*`, auth);
  app.route(path, serverAdapter.registerPlugin());
}
