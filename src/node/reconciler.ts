import type { Queue } from 'bullmq';
import { and, asc, eq, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { workflowQueue } from '../db/schema';
import type { Logger } from '../logging/logger';
import { RUN_JOB_NAME, type RunJobData, runJobOptions } from './bullmq-run-queue';

export interface ReconcilerOptions {
  db: Database;
  queue: Queue<RunJobData>;
  logger: Logger;
  intervalMs: number;
  /** Queued rows younger than this are left to the API, which adds their job right after writing them. */
  graceMs: number;
  batchSize?: number;
}

const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Keeps BullMQ in line with `workflow_queue`, the record:
 * - a `queued` row with no live job (written by the edge target, enqueue failed, jobs lost
 *   with Redis) gets its job added;
 * - a `running` row whose lease ran out (its executor died) and that has no live job (Redis
 *   flushed or restarted without persistence) gets a job again, and the next executor
 *   resumes it after its last checkpoint. An `active` job is left to BullMQ's stalled-job check.
 * A job kept as completed/failed would make `add()` a silent no-op, so it is removed first.
 */
export class Reconciler {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly options: ReconcilerOptions) {}

  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      this.running = this.reconcileOnce().catch((err: unknown) =>
        this.options.logger.warn({ err: String(err) }, 'reconcile failed'),
      );
      await this.running;
      if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs);
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  async reconcileOnce(): Promise<{ requeued: number; recovered: number }> {
    const { db, graceMs } = this.options;
    const limit = this.options.batchSize ?? 500;
    const [queued, orphaned] = await Promise.all([
      db
        .select({ id: workflowQueue.id })
        .from(workflowQueue)
        .where(
          and(
            eq(workflowQueue.status, 'queued'),
            lt(workflowQueue.updatedAt, sql`now() - ${graceMs} * interval '1 millisecond'`),
          ),
        )
        .orderBy(asc(workflowQueue.createdAt))
        .limit(limit),
      db
        .select({ id: workflowQueue.id })
        .from(workflowQueue)
        .where(and(eq(workflowQueue.status, 'running'), lt(workflowQueue.lockExpiresAt, sql`now()`)))
        .orderBy(asc(workflowQueue.createdAt))
        .limit(limit),
    ]);
    const requeued = await this.ensureJobs(queued.map((r) => r.id));
    const recovered = await this.ensureJobs(orphaned.map((r) => r.id));
    if (requeued + recovered > 0) {
      this.options.logger.info({ requeued, recovered }, 'reconciler added jobs for runs that had none');
    }
    return { requeued, recovered };
  }

  /**
   * Runs announced by NOTIFY (rows the edge Worker wrote): their jobs are added now instead of
   * at the next sweep, which would also wait out `graceMs`.
   */
  async adopt(runIds: string[]): Promise<number> {
    return this.ensureJobs(runIds);
  }

  /** Adds a job for every run without a live one; returns how many were added. */
  private async ensureJobs(runIds: string[]): Promise<number> {
    const { queue } = this.options;
    let added = 0;
    for (let i = 0; i < runIds.length; i += 50) {
      const chunk = runIds.slice(i, i + 50);
      const results = await Promise.all(
        chunk.map(async (runId) => {
          const state = await queue.getJobState(runId);
          if (LIVE_STATES.has(state)) return false;
          if (state !== 'unknown') await queue.remove(runId);
          await queue.add(RUN_JOB_NAME, { runId }, runJobOptions(runId));
          return true;
        }),
      );
      added += results.filter(Boolean).length;
    }
    return added;
  }
}
