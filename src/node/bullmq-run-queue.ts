import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';
import type { RunQueue } from '../runs/run-queue';
import type { RunnerSettings } from './runner-settings';

export const RUN_JOB_NAME = 'run';

export interface RunJobData {
  runId: string;
}

/**
 * A run's job: its id IS the run id, so adding it twice is a no-op. Finished jobs are
 * removed at once: BullMQ silently ignores `add()` for an id still kept in the completed
 * or failed set, which would make the reconciler's re-add a no-op. The history lives in
 * `workflow_queue`. BullMQ-level attempts only cover infrastructure errors (database down
 * mid-run); step failures are handled by the executor and end the job normally.
 */
export function runJobOptions(runId: string): JobsOptions {
  return {
    jobId: runId,
    removeOnComplete: true,
    removeOnFail: true,
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000 },
  };
}

export function createRunBullQueue(connection: Redis, settings: RunnerSettings): Queue<RunJobData> {
  return new Queue<RunJobData>(settings.WORKFLOW_QUEUE_NAME, { connection, prefix: settings.BULLMQ_PREFIX });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The API side of the queue: adds a job per run; never fails a request because Redis is down. */
export class BullMqRunQueue implements RunQueue {
  constructor(
    readonly queue: Queue<RunJobData>,
    private readonly logger: Logger,
    private readonly timeoutMs = 2000,
  ) {}

  async enqueue(runId: string): Promise<void> {
    try {
      // With maxRetriesPerRequest: null a command waits for Redis to come back; the request
      // must not. A late add() still lands (same job id), and the reconciler covers a lost one.
      await withTimeout(this.queue.add(RUN_JOB_NAME, { runId }, runJobOptions(runId)), this.timeoutMs, 'enqueue');
    } catch (error) {
      this.logger.warn({ runId, err: String(error) }, 'enqueue failed: the reconciler will add the job');
    }
  }

  async cancel(runId: string): Promise<void> {
    try {
      const job = await withTimeout(this.queue.getJob(runId), this.timeoutMs, 'getJob');
      const state = await job?.getState();
      // An active job is left alone: its executor sees the cancelled row and stops.
      if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) await job.remove();
    } catch (error) {
      // Removal races with a worker taking the job: that worker finds the row cancelled.
      this.logger.debug({ runId, err: String(error) }, 'could not remove the job of a cancelled run');
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
