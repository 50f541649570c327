import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import type { Hono } from 'hono';
import { QUEUE_DASHBOARD_PATH } from '../runs/queue-dashboard.routes';

/**
 * Bull Board over `queues` (Node with Redis only: it reads BullMQ through ioredis and serves
 * its UI assets from node_modules), for `AppDeps.queueDashboard`; createApp mounts it behind
 * admin auth at QUEUE_DASHBOARD_PATH.
 */
export function createQueueDashboard(queues: Queue[]): Hono {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Workflow queues' } },
  });
  return serverAdapter.registerPlugin();
}
