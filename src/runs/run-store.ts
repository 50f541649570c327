import { and, asc, eq, exists, inArray, isNull, lt, or, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
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

/** Values given to a prepared statement at each execution. */
const runIdValue = sql.placeholder('runId');
const nowValue = sql`${sql.placeholder('now')}::timestamptz`;
const progressValue = sql`${sql.placeholder('progress')}::integer`;
const resultBytesValue = sql`${sql.placeholder('resultBytes')}::integer`;
/**
 * `steps` with the one step at `index` replaced: a checkpoint sends that step alone, never the
 * results of every earlier step again.
 */
const stepsWithOneReplaced = sql`jsonb_set(${workflowQueue.steps}, array[${sql.placeholder('index')}::text], ${sql.placeholder('step')}::jsonb)`;

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
 * The claim also starts the run's first step that is not completed, as the executor would
 * before calling its tool (status `running`, one attempt more, `startedAt` if unset, last
 * error dropped): that checkpoint then needs no statement of its own. Until the tool is called
 * the executor holds the step as it was (see fromClaim), so a run that stops before the call
 * writes no attempt. `steps` stays as it is when every step is completed.
 */
const startFirstOpenStep = (): SQL => {
  const steps = workflowQueue.steps;
  return sql`coalesce((
    select jsonb_set(${steps}, array[(open.i - 1)::text], (open.step - 'error') || jsonb_build_object(
      'status', 'running',
      'attempts', coalesce((open.step ->> 'attempts')::integer, 0) + 1,
      'startedAt', coalesce(open.step -> 'startedAt', to_jsonb(${sql.placeholder('now')}::text))))
    from jsonb_array_elements(${steps}) with ordinality as open(step, i)
    where open.step ->> 'status' is distinct from 'completed'
    order by open.i
    limit 1
  ), ${steps})`;
};

/** The start of a step the claim wrote (see startFirstOpenStep): the step's index and state once started. */
export interface ClaimStart {
  index: number;
  step: RunStepState;
}

/**
 * A claimed run's steps as its executor starts from: the step the claim started is as it was
 * before (pending, the attempt not counted), and `claimStart` is that start, which the executor
 * takes on when it calls the step's tool instead of writing a start of its own. Whatever the
 * executor writes before that (a failure before the call, a release, a cancel) thus keeps no
 * attempt the claim counted for a call never made.
 */
export function fromClaim(run: WorkflowRun): { steps: RunStepState[]; claimStart: ClaimStart | undefined } {
  const steps = structuredClone(run.steps as RunStepState[]);
  const index = steps.findIndex((s) => s.status !== 'completed');
  const started = steps[index];
  if (!started) return { steps, claimStart: undefined };
  const before: RunStepState = { ...started, status: 'pending', attempts: started.attempts - 1 };
  if (before.attempts === 0) delete before.startedAt;
  steps[index] = before;
  return { steps, claimStart: { index, step: started } };
}

/** How a run ended in its executor: the step at `index` is the only one changed since the last checkpoint. */
export interface RunEnd {
  status: 'completed' | 'failed';
  steps: RunStepState[];
  index: number;
  /** Bytes of step results the row now stores. */
  resultBytes: number;
  error?: string;
}

/** The writes RunExecutor makes; RunStore is the one on Postgres, tests may wrap it or fake it. */
export type ExecutorRunStore = Pick<
  RunStore,
  'executorId' | 'claim' | 'renewLease' | 'saveStep' | 'finish' | 'release' | 'recordCancelled' | 'status'
>;

/**
 * The `workflow_queue` writes of an executor. Every write after the claim is fenced by the
 * lease (`locked_by` = this executor, status still `running`), so an executor that lost its
 * run (cancelled, taken over after its lease ran out, deleted) can never overwrite it.
 */
export class RunStore {
  /**
   * The statements every run executes, prepared once per store: drizzle does not rebuild their
   * SQL, and postgres.js sends each as one Bind/Execute round trip instead of drizzle's default
   * unnamed statement, which costs a Parse/Describe round trip first (bench/queue.mjs).
   */
  private readonly statements;

  /** How long a claim holds without renewal; a dead executor's runs are taken over after it. */
  private readonly leaseMs: number;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    /** Unique per process: the lease holder's name in `workflow_queue.locked_by`. */
    readonly executorId: string,
    options: { leaseMs?: number } = {},
  ) {
    const leaseMs = options.leaseMs ?? 30_000;
    this.leaseMs = leaseMs;
    const claimById = (orOwnLease: boolean, name: string) =>
      db
        .update(workflowQueue)
        .set(this.claimSet())
        .where(and(eq(workflowQueue.id, runIdValue), orOwnLease ? or(claimable(), this.ownLease()) : claimable()))
        .returning()
        .prepare(name);
    const fencedUpdate = (name: string, set: PgUpdateSetSource<typeof workflowQueue>) =>
      db
        .update(workflowQueue)
        .set(set)
        .where(this.fenced(runIdValue))
        .returning({ id: workflowQueue.id })
        .prepare(name);
    this.statements = {
      claim: claimById(false, 'run_claim'),
      claimOwn: claimById(true, 'run_claim_own'),
      claimNext: db
        .update(workflowQueue)
        .set(this.claimSet())
        .where(
          and(
            inArray(
              workflowQueue.id,
              db
                .select({ id: workflowQueue.id })
                .from(workflowQueue)
                .where(claimable())
                .orderBy(asc(workflowQueue.createdAt))
                .limit(sql.placeholder('limit'))
                .for('update', { skipLocked: true }),
            ),
            claimable(),
          ),
        )
        .returning()
        .prepare('run_claim_next'),
      renewLease: fencedUpdate('run_renew_lease', { lockExpiresAt: leaseUntil(leaseMs) }),
      saveStep: fencedUpdate('run_save_step', {
        steps: stepsWithOneReplaced,
        progress: progressValue,
        lockExpiresAt: leaseUntil(leaseMs),
        updatedAt: nowValue,
      }),
      finish: this.prepareFinish(),
      status: db
        .select({ status: workflowQueue.status })
        .from(workflowQueue)
        .where(eq(workflowQueue.id, runIdValue))
        .prepare('run_status'),
    };
  }

  private claimSet() {
    return {
      status: 'running' as const,
      lockedBy: this.executorId,
      lockExpiresAt: leaseUntil(this.leaseMs),
      attempts: sql`${workflowQueue.attempts} + 1`,
      startedAt: sql`coalesce(${workflowQueue.startedAt}, ${nowValue})`,
      updatedAt: nowValue,
      steps: startFirstOpenStep(),
    };
  }

  private ownLease(): SQL {
    return and(eq(workflowQueue.status, 'running'), eq(workflowQueue.lockedBy, this.executorId)) as SQL;
  }

  private fenced(runId: string | Placeholder): SQL {
    return and(
      eq(workflowQueue.id, runId),
      eq(workflowQueue.lockedBy, this.executorId),
      eq(workflowQueue.status, 'running'),
    ) as SQL;
  }

  /**
   * Ends the run; on success also moves the workflow's `last_run` forward. One statement (two
   * data-modifying CTEs), so both happen or neither, in a single round trip.
   */
  private prepareFinish() {
    const { db } = this;
    const q = workflowQueue;
    const now = nowValue;
    // Data-modifying CTEs, which drizzle's `$with` takes as SQL: here the SQL of update builders.
    const done = db.$with('done', { id: q.id }).as(
      db
        .update(q)
        .set({
          status: sql`${sql.placeholder('status')}::run_status`,
          steps: stepsWithOneReplaced,
          progress: progressValue,
          resultBytes: resultBytesValue,
          error: sql`${sql.placeholder('error')}::text`,
          finishedAt: now,
          updatedAt: now,
          lockedBy: null,
          lockExpiresAt: null,
        })
        .where(this.fenced(runIdValue))
        .returning({ id: q.id })
        .getSQL(),
    );
    const lastRun = db.$with('last_run', { id: workflows.id }).as(
      db
        .update(workflows)
        .set({ lastRun: sql`greatest(${workflows.lastRun}, ${now})` })
        .where(
          and(
            eq(workflows.id, sql`${sql.placeholder('workflowId')}::uuid`),
            sql`${sql.placeholder('completed')}::boolean`,
            exists(db.select({ one: sql`1` }).from(done)),
          ),
        )
        .returning({ id: workflows.id })
        .getSQL(),
    );
    return db.with(done, lastRun).select({ id: done.id }).from(done).prepare('run_finish');
  }

  private now(): string {
    return this.clock().toISOString();
  }

  /** Takes one run by id (a BullMQ job names it); `orOwnLease` also takes it back from this executor's own lease. */
  async claim(runId: string, orOwnLease = false): Promise<ClaimResult> {
    const statement = orOwnLease ? this.statements.claimOwn : this.statements.claim;
    const [run] = await statement.execute({ runId, now: this.now() });
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
    return this.statements.claimNext.execute({ limit, now: this.now() });
  }

  /** Extends the lease; false when the run is no longer ours to run (cancelled, taken over, deleted). */
  async renewLease(runId: string): Promise<boolean> {
    const rows = await this.statements.renewLease.execute({ runId });
    return rows.length > 0;
  }

  /**
   * Checkpoints the step at `index`, the only one changed since the last write (and renews the
   * lease); false when the run is no longer ours.
   */
  async saveStep(runId: string, steps: RunStepState[], index: number): Promise<boolean> {
    const rows = await this.statements.saveStep.execute({
      runId,
      index,
      step: JSON.stringify(steps[index]),
      progress: completedCount(steps),
      now: this.now(),
    });
    return rows.length > 0;
  }

  /**
   * Ends the run (see prepareFinish) with the step at `index`, the only one changed since the
   * last checkpoint, and the bytes of results the row now stores; false when the run is no
   * longer ours.
   */
  async finish(run: Pick<WorkflowRun, 'id' | 'workflowId'>, outcome: RunEnd): Promise<boolean> {
    const rows = await this.statements.finish.execute({
      runId: run.id,
      workflowId: run.workflowId,
      status: outcome.status,
      completed: outcome.status === 'completed',
      index: outcome.index,
      step: JSON.stringify(outcome.steps[outcome.index]),
      progress: completedCount(outcome.steps),
      resultBytes: outcome.resultBytes,
      error: outcome.error ?? null,
      now: this.now(),
    });
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
  async recordCancelled(runId: string, steps: RunStepState[], resultBytes: number): Promise<void> {
    await this.db
      .update(workflowQueue)
      .set({
        steps,
        progress: completedCount(steps),
        resultBytes,
        lockedBy: null,
        lockExpiresAt: null,
        updatedAt: this.clock(),
      })
      .where(
        and(
          eq(workflowQueue.id, runId),
          eq(workflowQueue.lockedBy, this.executorId),
          eq(workflowQueue.status, 'cancelled'),
        ),
      );
  }

  async status(runId: string): Promise<RunStatus | undefined> {
    const [row] = await this.statements.status.execute({ runId });
    return row?.status;
  }
}
