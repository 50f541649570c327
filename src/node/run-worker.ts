import { DelayedError, type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';
import type { RunExecutor } from '../runs/run-executor';
import type { RunJobData } from './bullmq-run-queue';
import type { RunnerSettings } from './runner-settings';

export interface RunWorker {
  worker: Worker<RunJobData>;
  /**
   * Stops taking jobs and waits for the running ones up to `deadlineMs`; then aborts them:
   * each releases its run (checkpoints kept, row back to `queued`, job delayed for another
   * worker). Resolves when the worker is closed.
   */
  close(deadlineMs: number): Promise<void>;
}

/** The BullMQ consumer: one job per run, executed by the shared RunExecutor. */
export function startRunWorker(parts: {
  connection: Redis;
  executor: RunExecutor;
  settings: RunnerSettings;
  logger: Logger;
}): RunWorker {
  const { executor, settings, logger } = parts;
  const shutdown = new AbortController();

  const process = async (job: Job<RunJobData>, token?: string) => {
    const runId = job.data.runId;
    const result = await executor.execute(runId, shutdown.signal);
    if (result.outcome === 'leased' || result.outcome === 'released') {
      // Leased: another executor holds a live lease (a duplicate job after a Redis loss, or
      // our predecessor's lease not run out yet): look again when it would have expired.
      const delayMs = result.outcome === 'leased' ? result.retryAfterMs : 0;
      await job.moveToDelayed(Date.now() + delayMs, token);
      throw new DelayedError();
    }
    logger.debug({ runId, outcome: result.outcome }, 'job done');
    return result.outcome;
  };

  const worker = new Worker<RunJobData>(settings.WORKFLOW_QUEUE_NAME, process, {
    connection: parts.connection,
    prefix: settings.BULLMQ_PREFIX,
    concurrency: settings.WORKER_CONCURRENCY,
    lockDuration: settings.WORKER_LOCK_DURATION_MS,
    stalledInterval: settings.WORKER_STALLED_INTERVAL_MS,
    // A job whose worker died is moved back to wait rather than failed: the run's lease,
    // not BullMQ's counter, decides who may run it.
    maxStalledCount: 10,
  });
  worker.on('error', (err) => logger.warn({ err: { message: err.message } }, 'worker error'));
  worker.on('failed', (job, err) =>
    logger.warn({ runId: job?.data.runId, err: { message: err.message } }, 'job failed (infrastructure error)'),
  );

  return {
    worker,
    async close(deadlineMs) {
      const closing = worker.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), deadlineMs);
      });
      const first = await Promise.race([closing.then(() => 'closed' as const), deadline]);
      clearTimeout(timer);
      if (first === 'deadline') {
        logger.warn({ deadlineMs }, 'shutdown deadline reached: releasing running runs');
        shutdown.abort();
        await closing;
      }
    },
  };
}
