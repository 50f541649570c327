import type { Queue } from 'bullmq';
import { and, asc, eq, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { workflowQueue } from '../db/schema';
import type { Logger } from '../logging/logger';
import type { RunToEnqueue } from '../runs/run-queue';
import { runsToEnqueue, runsToEnqueueById } from '../runs/runs-to-enqueue';
import { type RunJobData, runJob } from './bullmq-run-queue';

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

const ago = (ms: number) => sql`now() - ${ms} * interval '1 millisecond'`;

/** A `running` row whose executor stopped renewing its lease (it died). */
const leaseRanOut = (): SQL =>
  and(eq(workflowQueue.status, 'running'), lt(workflowQueue.lockExpiresAt, sql`now()`)) as SQL;

/**
 * Keeps BullMQ in line with `workflow_queue`, the record:
 * - a `queued` row with no live job (written by the edge target, enqueue failed, jobs lost
 *   with Redis) gets its job added;
 * - a `running` row whose lease ran out (its executor died) and that has no live job (Redis
 *   flushed or restarted without persistence) gets a job again, and the next executor
 *   resumes it after its last checkpoint. An `active` job is left to BullMQ's stalled-job check.
 * A job kept as completed/failed would make `add()` a silent no-op, so it is removed first, after
 * checking that the row really still waits (finished jobs are otherwise kept as history).
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
      runsToEnqueue(db, and(eq(workflowQueue.status, 'queued'), lt(workflowQueue.updatedAt, ago(graceMs))))
        .orderBy(asc(workflowQueue.createdAt))
        .limit(limit),
      runsToEnqueue(db, leaseRanOut()).orderBy(asc(workflowQueue.createdAt)).limit(limit),
    ]);
    const requeued = await this.ensureJobs(queued);
    const recovered = await this.ensureJobs(orphaned);
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
    return this.ensureJobs(await runsToEnqueueById(this.options.db, runIds));
  }

  /** Adds a job for every run without a live one; returns how many were added. */
  private async ensureJobs(runs: RunToEnqueue[]): Promise<number> {
    const { queue } = this.options;
    let added = 0;
    for (let i = 0; i < runs.length; i += 50) {
      const chunk = runs.slice(i, i + 50);
      const results = await Promise.all(
        chunk.map(async (run) => {
          const state = await queue.getJobState(run.id);
          if (LIVE_STATES.has(state)) return false;
          if (state !== 'unknown') {
            // Kept as completed or failed: most likely the run ended after it was read here, and
            // its finished job is history to keep. Only a row still waiting for an executor gets
            // a new job, and only once the kept one is gone (add() would ignore the id).
            if (!(await this.stillWaiting(run.id))) return false;
            await queue.remove(run.id);
          }
          const { name, data, opts } = runJob(run);
          await queue.add(name, data, opts);
          return true;
        }),
      );
      added += results.filter(Boolean).length;
    }
    return added;
  }

  private async stillWaiting(runId: string): Promise<boolean> {
    const [row] = await this.options.db
      .select({ id: workflowQueue.id })
      .from(workflowQueue)
      .where(and(eq(workflowQueue.id, runId), or(eq(workflowQueue.status, 'queued'), leaseRanOut())))
      .limit(1);
    return row !== undefined;
  }
}
