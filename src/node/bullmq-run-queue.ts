import { type DefaultJobOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RunnerConfig } from '../config/config';
import type { Logger } from '../logging/logger';
import type { RunQueue, RunToEnqueue } from '../runs/run-queue';
import { withTimeout } from '../with-timeout';

/** What a run's job carries: Bull Board shows it on the job's card. */
export interface RunJobData {
  runId: string;
  workflowId: string;
  ownerId: string;
}

const MAX_JOB_NAME_LENGTH = 100;

/**
 * A run's job: named after its workflow, its id IS the run id, so adding it twice is a no-op.
 * BullMQ ignores `add()` for an id it still keeps as completed or failed too: the reconciler,
 * the one place that adds a job for a run that may have had one, removes a finished job first.
 */
export function runJob(run: RunToEnqueue): { name: string; data: RunJobData; opts: { jobId: string } } {
  return {
    name: run.workflowName.slice(0, MAX_JOB_NAME_LENGTH) || 'run',
    data: { runId: run.id, workflowId: run.workflowId, ownerId: run.ownerId },
    opts: { jobId: run.id },
  };
}

/**
 * Every run job's options. Finished jobs are kept, bounded (the newest BULLMQ_KEEP_COMPLETED and
 * BULLMQ_KEEP_FAILED), so Bull Board shows recent history; the record stays `workflow_queue`. A job
 * fails when its run fails (RunFailedError) and is retried by BullMQ only for infrastructure errors
 * (database down mid-run); step failures are the executor's business.
 */
export function runJobDefaults(runner: RunnerConfig): DefaultJobOptions {
  return {
    removeOnComplete: { count: runner.keepCompletedJobs },
    removeOnFail: { count: runner.keepFailedJobs },
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000 },
    stackTraceLimit: 10,
  };
}

export function createRunBullQueue(connection: Redis, runner: RunnerConfig): Queue<RunJobData> {
  const queue = new Queue<RunJobData>(runner.queueName, {
    connection,
    prefix: runner.bullmqPrefix,
    defaultJobOptions: runJobDefaults(runner),
  });
  // The queue repeats its connection's errors, one per reconnect attempt, onto stderr when nobody
  // listens; the connection's own outage log (watchRedisConnection) reports the outage once.
  queue.on('error', () => {});
  return queue;
}

/** How long a count of live workers is reused: it is read per run request and per health probe. */
const WORKER_COUNT_TTL_MS = 2000;

/** The API side of the queue: adds a job per run; never fails a request because Redis is down. */
export class BullMqRunQueue implements RunQueue {
  private workerCount:
    | { value: Promise<{ queue: string; count: number } | undefined>; expiresAtMs: number }
    | undefined;

  constructor(
    readonly queue: Queue<RunJobData>,
    private readonly logger: Logger,
    private readonly timeoutMs = 2000,
  ) {}

  async enqueue(run: RunToEnqueue): Promise<void> {
    const { name, data, opts } = runJob(run);
    try {
      // The API's connection fails at once while Redis is away; this also bounds a slow one. A
      // late add() still lands (same job id), and the reconciler covers a lost one.
      await withTimeout(this.queue.add(name, data, opts), this.timeoutMs, `enqueue took longer than ${this.timeoutMs} ms`);
    } catch (error) {
      this.logger.warn({ runId: run.id, err: String(error) }, 'enqueue failed: the reconciler will add the job');
    }
  }

  async cancel(runId: string): Promise<void> {
    try {
      const job = await withTimeout(this.queue.getJob(runId), this.timeoutMs, `getJob took longer than ${this.timeoutMs} ms`);
      const state = await job?.getState();
      // An active job is left alone: its executor sees the cancelled row and stops.
      if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) await job.remove();
    } catch (error) {
      // Removal races with a worker taking the job: that worker finds the row cancelled.
      this.logger.debug({ runId, err: String(error) }, 'could not remove the job of a cancelled run');
    }
  }

  /**
   * Workers consuming the queue now (BullMQ names their connections; Redis lists them with CLIENT
   * LIST), or undefined when Redis does not answer in time or refuses CLIENT LIST.
   */
  liveWorkers(): Promise<{ queue: string; count: number } | undefined> {
    const now = Date.now();
    if (!this.workerCount || now >= this.workerCount.expiresAtMs) {
      const value = withTimeout(this.queue.getWorkersCount(), this.timeoutMs, `listing workers took longer than ${this.timeoutMs} ms`).then(
        (count) => ({ queue: this.queue.name, count }),
        (error: unknown) => {
          this.logger.debug({ err: String(error) }, 'could not list the queue workers');
          return undefined;
        },
      );
      this.workerCount = { value, expiresAtMs: now + WORKER_COUNT_TTL_MS };
    }
    return this.workerCount.value;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
