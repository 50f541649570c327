import { serve } from '@hono/node-server';
import { createApp } from '../app';
import { ConfigError, loadConfig } from '../config/config';
import { ensureAdmin, logAdminBootstrap } from '../users/ensure-admin';
import { createRunBullQueue } from './bullmq-run-queue';
import { exitOnStartupFailure, onShutdownSignal } from './graceful-shutdown';
import { loadOrCreateJwtSecret } from './jwt-secret';
import { bufferedStdout, createNodeLogger } from './logger';
import { createNodeDeps } from './node-deps';
import { createNodeWebSockets } from './node-websockets';
import { assertPortFree, portError } from './port-check';
import { createQueueDashboard } from './queue-dashboard';
import { describeStartup, startupLine } from './startup-summary';

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`config error: ${problem}`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createNodeLogger(config.logLevel, config.nodeEnv === 'production' ? bufferedStdout() : undefined);
  // Before the database: opening the embedded one takes many seconds, a taken port is known at once.
  await assertPortFree(config.port, config.host);
  if (!config.databaseUrl) {
    logger.warn({ dataDir: config.dataDir }, 'DATABASE_URL is not set: using embedded PGlite (single process only)');
  }
  const jwtSecret = config.jwtSecret ?? loadOrCreateJwtSecret(config.dataDir);
  const node = await createNodeDeps({ ...config, jwtSecret }, logger);
  if (config.admin) {
    const outcome = await ensureAdmin(node.deps.db, node.deps.passwords, config.admin);
    logAdminBootstrap(logger, config.admin, outcome);
  }

  const webSockets = createNodeWebSockets(logger);
  // Bull Board (/admin/queues) reads BullMQ, so it exists only with REDIS_URL.
  const dashboardQueue = node.redis ? createRunBullQueue(node.redis, config.runner) : undefined;
  const queueDashboard = dashboardQueue ? createQueueDashboard([dashboardQueue]) : undefined;
  const app = createApp({ ...node.deps, webSockets, queueDashboard });
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    const summary = describeStartup(config, info.port, config.runner.queueName);
    logger.info({ ...summary, port: info.port, host: config.host }, 'api ready');
    if (process.stdout.isTTY) console.log(startupLine(summary));
  });
  server.once('error', (error) => exitOnStartupFailure(portError(error, config.port)));
  webSockets.attach(server, app);

  onShutdownSignal(logger, 10_000, async (signal) => {
    logger.info({ signal }, 'shutting down');
    // WebSocket clients get a close frame with a reason, not a dropped connection.
    await node.deps.realtime?.shutdown(1001, 'server shutting down');
    // Ends /mcp WebSockets (1001) and SSE streams, which would otherwise hold server.close() open.
    await node.deps.mcpGateway?.shutdown();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await dashboardQueue?.close();
    await node.close();
  });
}

main().catch(exitOnStartupFailure);
