/**
 * `npm run worker`: executes workflow runs from BullMQ (REDIS_URL is required) and keeps
 * BullMQ in line with `workflow_queue` (reconciler). Scale by running more of them.
 */
import { systemClock } from '../clock';
import { ConfigError, loadConfig } from '../config/config';
import { redactUrl } from '../config/redact-url';
import { HttpError } from '../errors/http-error';
import { withCallMetrics } from '../observability/instrumented-mcp-client';
import type { RetryOutcome } from '../runs/retry-run';
import { RunService } from '../runs/run-service';
import { BullMqRunQueue, createRunBullQueue } from './bullmq-run-queue';
import { openDatabase, runMigrations } from './database';
import { withEdgeEvents } from './edge-event-forwarder';
import { createExecutor } from './executor-factory';
import { exitOnStartupFailure, onShutdownSignal } from './graceful-shutdown';
import { bufferedStdout, createNodeLogger } from './logger';
import { createMcpClient } from './mcp-client-factory';
import { createNodeChannelHub } from './node-channel-hub';
import { createPromMetrics } from './prom-metrics';
import { Reconciler } from './reconciler';
import { connectRedis, redisHealthCheck, watchRedisConnection } from './redis-connections';
import { listenForNewRuns } from './run-notifications';
import { startRunWorker } from './run-worker';
import { describeParts } from './startup-summary';
import { startWorkerMetricsServer, type WorkerMetricsServer } from './worker-metrics-server';

function loadOrExit() {
  try {
    const config = loadConfig(process.env);
    if (!config.redisUrl)
      throw new ConfigError(['REDIS_URL is required by the worker (without it the API runs workflows itself)']);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`config error: ${problem}`);
      process.exit(1);
    }
    throw error;
  }
}

async function main() {
  const config = loadOrExit();
  const { runner } = config;
  const logger = createNodeLogger(config.logLevel, config.nodeEnv === 'production' ? bufferedStdout() : undefined);
  if (!config.databaseUrl) logger.warn({}, 'DATABASE_URL is not set: the worker would use its own embedded database');
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await runMigrations({
    databaseUrl: config.databaseUrl,
    database,
    connectAttempts: config.databaseConnectAttempts,
    logger,
  });
  const redis = connectRedis(config.redisUrl as string);
  const redisHealth = redisHealthCheck(redis, watchRedisConnection(redis, logger, 'worker'));
  // The same hub the API builds: with Redis, progress crosses to every API instance's /ws.
  // With EDGE_EVENTS_URL, progress also reaches /ws clients of the edge Worker.
  const hub = withEdgeEvents(createNodeChannelHub({ url: config.redisUrl as string }, logger), config, logger);
  const metrics = createPromMetrics({ process: 'worker', servesHttp: false });
  const mcp = withCallMetrics(createMcpClient(config, logger), metrics);
  const { executor } = createExecutor(runner, {
    db: database.db,
    mcp,
    hub,
    logger,
    metrics,
    resultBudgetBytes: config.runResultBudgetBytes,
  });
  const queue = createRunBullQueue(redis, runner);
  const runQueue = new BullMqRunQueue(queue, logger, runner.enqueueTimeoutMs);
  const runs = new RunService({ db: database.db, clock: systemClock, logger, config, hub, runQueue });
  const runWorker = startRunWorker({
    connection: redis,
    executor,
    runner,
    logger,
    async retry(runId) {
      let outcome: RetryOutcome;
      try {
        outcome = await runs.retryById(runId);
      } catch (error) {
        // Run storage full: the same refusal the retry route would answer.
        if (error instanceof HttpError) return { refused: error.message };
        throw error;
      }
      if (outcome.kind === 'created') return { retryRunId: outcome.run.id };
      if (outcome.kind === 'retried-before') return { retryRunId: outcome.retryRunId };
      return { refused: outcome.kind === 'gone' ? 'the run was deleted' : `the run is ${outcome.status}` };
    },
  });
  const reconciler = new Reconciler({
    db: database.db,
    queue,
    logger,
    intervalMs: runner.reconcileIntervalMs,
    graceMs: runner.reconcileGraceMs,
  });
  reconciler.start();
  // Rows the edge Worker writes are announced with NOTIFY: picked up at once, not at the next sweep.
  const runNotifications = config.databaseUrl
    ? await listenForNewRuns(
        config.databaseUrl,
        (runId) =>
          void reconciler
            .adopt([runId])
            .catch((err: unknown) => logger.warn({ runId, err: String(err) }, 'adopt failed')),
        logger,
      )
    : undefined;
  let metricsServer: WorkerMetricsServer | undefined;
  if (config.workerMetricsPort > 0) {
    // A port taken (several workers on one host) costs this worker its metrics, not its work.
    metricsServer = await startWorkerMetricsServer({
      port: config.workerMetricsPort,
      host: config.host,
      metrics,
      db: database.db,
      logger,
      metricsToken: config.metricsToken,
      checks: { redis: redisHealth.check },
    }).catch((err: Error) => {
      logger.warn({ port: config.workerMetricsPort, err: { message: err.message } }, 'worker metrics port unavailable');
      return undefined;
    });
    if (metricsServer) logger.info({ port: metricsServer.port }, 'worker metrics listening');
  }
  const { database: databaseShown, mcp: mcpShown } = describeParts(config, runner.queueName);
  logger.info(
    {
      executorId: executor.executorId,
      queue: runner.queueName,
      concurrency: runner.concurrency,
      redis: redactUrl(config.redisUrl as string),
      database: databaseShown,
      mcp: mcpShown,
    },
    'worker started',
  );

  // Past the deadline even the release of running runs is abandoned: their leases run out and
  // the stalled-job check plus the reconciler hand them to another worker.
  onShutdownSignal(logger, runner.shutdownTimeoutMs + 10_000, async (signal) => {
    logger.info({ signal, deadlineMs: runner.shutdownTimeoutMs }, 'worker shutting down');
    await runNotifications?.close();
    await reconciler.stop();
    await runWorker.close(runner.shutdownTimeoutMs);
    await Promise.allSettled([queue.close(), mcp.close(), hub.close(), metricsServer?.close()]);
    await redis.quit().catch(() => redis.disconnect());
    await database.close();
    logger.info({}, 'worker stopped');
  });
}

main().catch(exitOnStartupFailure);
