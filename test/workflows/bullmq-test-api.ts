import { silentLogger } from '../../src/logging/logger';
import { BullMqRunQueue, createRunBullQueue } from '../../src/node/bullmq-run-queue';
import { createQueueDashboard } from '../../src/node/queue-dashboard';
import { connectRedis } from '../../src/node/redis-connections';
import type { RunnerConfig } from '../../src/config/config';
import { startRedis } from '../helpers/servers';
import { createTestApp, createTestDatabase } from '../helpers/test-app';
import { startCountingMcpServer } from './counting-mcp-server';

/**
 * The API's side of BullMQ mode for tests that run real worker processes: a Redis and a counting
 * MCP server of the file's own, a database, and the test app enqueueing through BullMQ.
 */
export async function startBullMqTestApi(settings: RunnerConfig, options: { queueDashboard?: boolean } = {}) {
  const [redisServer, mcpServer, database] = await Promise.all([
    startRedis(),
    startCountingMcpServer(),
    createTestDatabase(),
  ]);
  const apiRedis = connectRedis(redisServer.url);
  apiRedis.on('error', () => {});
  const runQueue = new BullMqRunQueue(
    createRunBullQueue(apiRedis, settings),
    silentLogger,
    settings.enqueueTimeoutMs,
  );
  const t = await createTestApp({
    db: database.db,
    overrides: { runQueue, ...(options.queueDashboard && { queueDashboard: createQueueDashboard([runQueue.queue]) }) },
  });
  return { redisServer, mcpServer, database, t, apiRedis, runQueue };
}
