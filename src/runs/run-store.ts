import { and, asc, eq, inArray, isNull, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Clock } from '../clock';
import type { Database } from '../db/database';
import { type RunStatus, type WorkflowRun, workflowQueue, workflows } from '../db/schema';
import { completedCount, type RunStepState } from './run-state';

export type ClaimResult =
  | { kind: 'claimed'; run: WorkflowRun }
  /** Another executor holds a live lease; it may be retried after `retryAfterMs`. */
  | { kind: 'leased'; retryAfterMs: number }
  /** Deleted, or already finished: nothing to do. */
  | { kind: 'done'; status?: RunStatus };

const leaseUntil = (leaseMs: number) => sql`now() + ${leaseMs} * interval '1 millisecond'`;

/** A row an executor may take: queued, or running under a lease that ran out (its executor died). */
const claimable = (): SQL =>
  or(
    eq(workflowQueue.status, 'queued'),
    and(
      eq(workflowQueue.status, 'running'),
      or(isNull(workflowQueue.lockExpiresAt), lt(workflowQueue.lockExpiresAt, sql`now()`)),
    ),
  ) as SQL;

/**
 * The `workflow_queue` writes of an executor. Every write after the claim is fenced by the
 * lease (`locked_by` = this executor, status still `running`), so an executor that lost its
 * run (cancelled, taken over after its lease ran out, deleted) can never overwrite it.
 */
export class RunStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly executorId: string,
    private readonly leaseMs: number,
  ) {}

  private claimSet() {
    const now = this.clock();
    return {
      status: 'running' as const,
      lockedBy: this.executorId,
      lockExpiresAt: leaseUntil(this.leaseMs),
      attempts: sql`${workflowQueue.attempts} + 1`,
      startedAt: sql`coalesce(${workflowQueue.startedAt}, ${now.toISOString()}::timestamptz)`,
      updatedAt: now,
    };
  }

  private fenced(runId: string): SQL {
    return and(
      eq(workflowQueue.id, runId),
      eq(workflowQueue.lockedBy, this.executorId),
      eq(workflowQueue.status, 'running'),
    ) as SQL;
  }

  /** Takes one run by id (a BullMQ job names it); `orOwnLease` also takes it back from this executor's own lease. */
  async claim(runId: string, orOwnLease = false): Promise<ClaimResult> {
    const own = and(eq(workflowQueue.status, 'running'), eq(workflowQueue.lockedBy, this.executorId));
    const [run] = await this.db
      .update(workflowQueue)
      .set(this.claimSet())
      .where(and(eq(workflowQueue.id, runId), orOwnLease ? or(claimable(), own) : claimable()))
      .returning();
    if (run) return { kind: 'claimed', run };
    const [current] = await this.db
      .select({
        status: workflowQueue.status,
        leftMs: sql<number>`greatest(0, extract(epoch from (${workflowQueue.lockExpiresAt} - now())) * 1000)`,
      })
      .from(workflowQueue)
      .where(eq(workflowQueue.id, runId));
    if (current?.status !== 'running') return { kind: 'done', status: current?.status };
    return { kind: 'leased', retryAfterMs: Math.ceil(Number(current.leftMs)) + 250 };
  }

  /** Takes up to `limit` of the oldest claimable runs; concurrent executors skip each other's rows. */
  async claimNext(limit: number): Promise<WorkflowRun[]> {
    if (limit <= 0) return [];
    const candidates = this.db
      .select({ id: workflowQueue.id })
      .from(workflowQueue)
      .where(claimable())
      .orderBy(asc(workflowQueue.createdAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    return this.db
      .update(workflowQueue)
      .set(this.claimSet())
      .where(and(inArray(workflowQueue.id, candidates), claimable()))
      .returning();
  }

  /** Extends the lease; false when the run is no longer ours to run (cancelled, taken over, deleted). */
  async renewLease(runId: string): Promise<boolean> {
    const rows = await this.db
      .update(workflowQueue)
      .set({ lockExpiresAt: leaseUntil(this.leaseMs) })
      .where(this.fenced(runId))
      .returning({ id: workflowQueue.id });
    return rows.length > 0;
  }

  /** Checkpoints the step states (and renews the lease); false when the run is no longer ours. */
  async saveSteps(runId: string, steps: RunStepState[]): Promise<boolean> {
    const rows = await this.db
      .update(workflowQueue)
      .set({
        steps,
        progress: completedCount(steps),
        lockExpiresAt: leaseUntil(this.leaseMs),
        updatedAt: this.clock(),
      })
      .where(this.fenced(runId))
      .returning({ id: workflowQueue.id });
    return rows.length > 0;
  }

  /**
   * Ends the run; on success also moves the workflow's `last_run` forward. One statement (two
   * data-modifying CTEs), so both happen or neither, in a single round trip. False when the run
   * is no longer ours.
   */
  async finish(
    run: Pick<WorkflowRun, 'id' | 'workflowId'>,
    outcome: { status: 'completed' | 'failed'; steps: RunStepState[]; error?: string },
  ): Promise<boolean> {
    const now = this.clock().toISOString();
    const q = workflowQueue;
    const result = await this.db.execute<{ id: string }>(sql`
      with done as (
        update ${q} set
          ${sql.identifier(q.status.name)} = ${outcome.status},
          ${sql.identifier(q.steps.name)} = ${JSON.stringify(outcome.steps)}::jsonb,
          ${sql.identifier(q.progress.name)} = ${completedCount(outcome.steps)},
          ${sql.identifier(q.error.name)} = ${outcome.error ?? null},
          ${sql.identifier(q.finishedAt.name)} = ${now}::timestamptz,
          ${sql.identifier(q.updatedAt.name)} = ${now}::timestamptz,
          ${sql.identifier(q.lockedBy.name)} = null,
          ${sql.identifier(q.lockExpiresAt.name)} = null
        where ${this.fenced(run.id)}
        returning ${q.id}
      ), last_run as (
        update ${workflows} set ${sql.identifier(workflows.lastRun.name)} =
          greatest(${workflows.lastRun}, ${now}::timestamptz)
        where ${workflows.id} = ${run.workflowId} and ${outcome.status === 'completed'} and exists (select 1 from done)
      )
      select id from done`);
    // postgres.js returns the rows, PGlite a result object holding them.
    const rows = Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? []);
    return rows.length > 0;
  }

  /** Gives the run back (shutdown): queued again, lease dropped, checkpoints kept. */
  async release(runId: string, steps: RunStepState[]): Promise<boolean> {
    const rows = await this.db
      .update(workflowQueue)
      .set({
        status: 'queued',
        steps,
        progress: completedCount(steps),
        lockedBy: null,
        lockExpiresAt: null,
        updatedAt: this.clock(),
      })
      .where(this.fenced(runId))
      .returning({ id: workflowQueue.id });
    return rows.length > 0;
  }

  /** After a cancel: records which step was interrupted and drops our lease. */
  async recordCancelled(runId: string, steps: RunStepState[]): Promise<void> {
    await this.db
      .update(workflowQueue)
      .set({ steps, progress: completedCount(steps), lockedBy: null, lockExpiresAt: null, updatedAt: this.clock() })
      .where(
        and(
          eq(workflowQueue.id, runId),
          eq(workflowQueue.lockedBy, this.executorId),
          eq(workflowQueue.status, 'cancelled'),
        ),
      );
  }

  async status(runId: string): Promise<RunStatus | undefined> {
    const [row] = await this.db
      .select({ status: workflowQueue.status })
      .from(workflowQueue)
      .where(eq(workflowQueue.id, runId));
    return row?.status;
  }
}
