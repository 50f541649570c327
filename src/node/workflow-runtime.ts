import type { Redis } from 'ioredis';
import type { Clock } from '../clock';
import type { Config } from '../config/config';
import type { Database } from '../db/database';
import type { HealthCheck } from '../deps';
import type { Logger } from '../logging/logger';
import type { McpToolClient } from '../mcp/tool-client';
import { withCachedToolList } from '../mcp/tool-list-cache';
import type { ToolPolicy } from '../mcp-gateway/tool-policy';
import { withCallMetrics } from '../observability/instrumented-mcp-client';
import type { Metrics } from '../observability/metrics';
import type { ChannelHub } from '../realtime/channel-hub';
import { HealthCheckDown } from '../health/health.routes';
import { InProcessRunner } from '../runs/in-process-runner';
import type { RunQueue } from '../runs/run-queue';
import { BullMqRunQueue, createRunBullQueue } from './bullmq-run-queue';
import { createExecutor } from './executor-factory';
import { createMcpClient } from './mcp-client-factory';
import { watchWorkers } from './worker-watch';

export interface WorkflowRuntime {
  mcp: McpToolClient;
  runQueue: RunQueue;
  healthChecks: HealthCheck[];
  close(): Promise<void>;
}

/**
 * `workers` in /health: how many workers consume the queue. None is not fatal for the API (it
 * still answers and queues), but every run waits: the check is down, with the count.
 */
function workersHealthCheck(runQueue: BullMqRunQueue): HealthCheck {
  return {
    name: 'workers',
    critical: false,
    async check() {
      const workers = await runQueue.liveWorkers();
      if (!workers) throw new Error('the queue’s workers cannot be listed (Redis unreachable or CLIENT LIST refused)');
      if (workers.count === 0) {
        throw new HealthCheckDown('no worker is consuming the queue: runs wait until one starts', { count: 0 });
      }
      return { count: workers.count };
    },
  };
}

/**
 * The API process's side of workflows. With Redis it only enqueues (BullMQ) and
 * `npm run worker` executes; without Redis it executes runs itself (InProcessRunner),
 * taking rows from `workflow_queue`, with the same executor the worker uses.
 */
export function createWorkflowRuntime(parts: {
  config: Config;
  db: Database;
  hub: ChannelHub;
  logger: Logger;
  clock?: Clock;
  redis?: Redis;
  mcp?: McpToolClient;
  /** The process's MCP_ALLOWED_TOOLS policy; default: built from `config`. */
  toolPolicy?: ToolPolicy;
  metrics?: Metrics;
}): WorkflowRuntime {
  const { config, db, hub, logger, redis } = parts;
  const settings = config.runner;
  // /health is polled and /tools/list is public to every user: a fresh tools/list costs ~6 ms of
  // CPU (the SDK compiles each tool's output schema), so both go through one short cache for the
  // process. Failures are not cached.
  const mcp = withCachedToolList(
    withCallMetrics(parts.mcp ?? createMcpClient(config, logger, { policy: parts.toolPolicy }), parts.metrics),
  );
  const healthChecks: HealthCheck[] = [
    {
      name: 'mcp',
      critical: false,
      check: async () => {
        await mcp.listTools();
      },
    },
  ];
  if (redis) {
    const runQueue = new BullMqRunQueue(createRunBullQueue(redis, settings), logger, settings.enqueueTimeoutMs);
    const watch = watchWorkers({ runQueue, db, logger, intervalMs: settings.workerCheckIntervalMs });
    return {
      mcp,
      runQueue,
      healthChecks: [...healthChecks, workersHealthCheck(runQueue)],
      async close() {
        watch.stop();
        await Promise.allSettled([runQueue.close(), mcp.close()]);
      },
    };
  }
  const { executor, store } = createExecutor(settings, {
    db,
    mcp,
    hub,
    logger,
    clock: parts.clock,
    metrics: parts.metrics,
    resultBudgetBytes: config.runResultBudgetBytes,
  });
  const runner = new InProcessRunner({
    executor,
    store,
    logger,
    concurrency: settings.concurrency,
    pollMs: settings.pollMs,
  });
  runner.start();
  return {
    mcp,
    runQueue: runner,
    healthChecks,
    async close() {
      // The API's own shutdown deadline is short (server.ts): runs still going after 5 s are
      // released with their checkpoints and resumed by the next start.
      await runner.close(Math.min(settings.shutdownTimeoutMs, 5000));
      await mcp.close();
    },
  };
}
