import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RunnerConfig } from '../config/config';
import type { Logger } from '../logging/logger';
import type { RunExecutor } from '../runs/run-executor';
import type { RunJobData } from './bullmq-run-queue';

/**
 * How a job ends when its run failed: failed in BullMQ too (Bull Board's Failed tab), at once,
 * without BullMQ's own retries (those are for infrastructure errors). BullMQ keeps the error's
 * stack with the job, and a retry from Bull Board keeps it: that is how the worker recognises
 * such a retry (see startRunWorker).
 */
export class RunFailedError extends UnrecoverableError {
  // Spelled out, not the class's own name, which a bundler may rename: jobs outlive builds.
  override name = 'RunFailedError';
}

/** True when this job once failed because its run failed: it reaches a worker again only through a retry. */
function failedByItsRun(job: Job<RunJobData>): boolean {
  return (job.stacktrace ?? []).some((stack) => stack.startsWith('RunFailedError:'));
}

export interface RunWorker {
  worker: Worker<RunJobData>;
  /**
   * Stops taking jobs and waits for the running ones up to `deadlineMs`; then aborts them:
   * each releases its run (checkpoints kept, row back to `queued`, job delayed for another
   * worker). Resolves when the worker is closed.
   */
  close(deadlineMs: number): Promise<void>;
}

/**
 * The BullMQ consumer: one job per run, executed by the shared RunExecutor. The row is the
 * record: a job whose run already ended (a duplicate, a retry of a completed job from Bull Board)
 * never runs it again. A retry from Bull Board of a job that failed because its run failed does
 * what `POST /api/workflows/runs/:runId/retry` does (`retry`): a new run continues the failed one.
 */
export function startRunWorker(parts: {
  connection: Redis;
  executor: RunExecutor;
  runner: RunnerConfig;
  logger: Logger;
  /** Retries a failed or cancelled run: the id of its retry (new or made before), or why there is none. */
  retry(runId: string): Promise<{ retryRunId: string } | { refused: string }>;
}): RunWorker {
  const { executor, runner, logger } = parts;
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
    if (result.outcome === 'failed') throw new RunFailedError(result.error);
    if (result.outcome === 'gone' && (result.status === 'failed' || result.status === 'cancelled')) {
      if (failedByItsRun(job)) {
        const retried = await parts.retry(runId);
        if ('refused' in retried) {
          logger.warn({ runId, reason: retried.refused }, 'failed job retried from the queue: no new run');
          return { outcome: 'retry refused', reason: retried.refused };
        }
        logger.info({ runId, ...retried }, 'failed job retried from the queue: a new run continues the run');
        return { outcome: 'retried', ...retried };
      }
    }
    logger.debug({ runId, outcome: result.outcome }, 'job done');
    return { outcome: result.outcome };
  };

  const worker = new Worker<RunJobData>(runner.queueName, process, {
    connection: parts.connection,
    prefix: runner.bullmqPrefix,
    concurrency: runner.concurrency,
    lockDuration: runner.workerLockDurationMs,
    stalledInterval: runner.workerStalledIntervalMs,
    // A job whose worker died is moved back to wait rather than failed: the run's lease,
    // not BullMQ's counter, decides who may run it.
    maxStalledCount: 10,
    // Bull Board's worker list and the API's count of live workers show it by this name.
    name: executor.executorId,
  });
  worker.on('error', (err) => {
    // While Redis is away BullMQ reports it once per reconnect attempt; the connection's own
    // outage log (watchRedisConnection) says it once.
    if (parts.connection.status !== 'ready') return;
    logger.warn({ err: { message: err.message } }, 'worker error');
  });
  worker.on('failed', (job, err) => {
    // A failed run was logged by the executor ("run finished"); anything else is the infrastructure's.
    if (err instanceof RunFailedError) return;
    logger.warn({ runId: job?.data.runId, err: { message: err.message } }, 'job failed (infrastructure error)');
  });

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
