import { and, count, eq, inArray } from 'drizzle-orm';
import type { Clock } from '../clock';
import type { Database } from '../db/database';
import { isForeignKeyViolation } from '../db/foreign-key-violation';
import { newestFirstPage } from '../db/newest-first-page';
import { type RunStatus, runStatus, type WorkflowRun, workflowQueue, workflows } from '../db/schema';
import type { AuthUser } from '../deps';
import { ConflictError } from '../errors/conflict-error';
import { NotFoundError } from '../errors/not-found-error';
import type { Page, Pagination } from '../http/pagination';
import type { Logger } from '../logging/logger';
import type { ChannelHub } from '../realtime/channel-hub';
import { runSummaryColumns, visibleRuns, visibleWorkflows } from '../workflows/workflow-queries';
import { ExecuteStatements } from './execute-statements';
import { type RetryOutcome, retryRun } from './retry-run';
import { type RunSummaryJson, toRunSummaryJson } from './run-json';
import type { RunQueue } from './run-queue';
import type { RunStepState } from './run-state';
import { publishRunStatus } from './run-status-event';
import { RunStorage, type RunStorageLimits } from './run-storage';
import { sameJson } from './same-json';

const RUN_NOT_FOUND = 'Run not found';
const WORKFLOW_NOT_FOUND = 'Workflow not found';
const CANCELLED_BY_USER = 'Cancelled by user';
const NO_WORKER = 'No worker is consuming the queue: the run starts when one does (npm run worker)';

/** A run as the API shows it: the row, and why it waits when it is queued and that is known. */
export interface RunView {
  run: WorkflowRun;
  statusDetail: string | null;
}

export interface RunServiceParts {
  db: Database;
  clock: Clock;
  logger: Logger;
  config: RunStorageLimits;
  /** Where the cancel's `workflow-status` event goes. */
  hub: ChannelHub;
  /** Where a new or retried run is handed after its row is written, and a cancelled one withdrawn. */
  runQueue: RunQueue;
}

/**
 * Every change of a run outside the lease-guarded writes of its executor (RunExecutor through
 * RunStore): execute with its idempotency key, cancel, retry; and the reads of runs. Built once
 * with its database, whose prepared statements (ExecuteStatements) and run storage total
 * (RunStorage) it keeps: once per process on Node, once per request on the edge, where the
 * database connection is the request's. Throws the typed HTTP errors the API answers with.
 */
export class RunService {
  private readonly statements: ExecuteStatements;
  private readonly storage: RunStorage;

  constructor(private readonly parts: RunServiceParts) {
    this.statements = new ExecuteStatements(parts.db);
    this.storage = new RunStorage(parts.db, parts.config);
  }

  /**
   * Writes a queued run of the workflow and hands it to the queue. With an idempotency key, a
   * repeat of the same request answers the run the first one wrote (`replayed`), and the key
   * used for another request is a 409.
   */
  async execute(
    user: AuthUser,
    request: { workflowId: string; input: Record<string, unknown>; idempotencyKey?: string },
  ): Promise<RunView & { replayed: boolean }> {
    const { db, config, clock } = this.parts;
    const { workflowId, input } = request;
    const key = request.idempotencyKey;
    await this.storage.refuseWhenFull(clock().getTime());
    let inserted: Awaited<ReturnType<ExecuteStatements['insertQueuedRun']>>;
    try {
      inserted = await this.statements.insertQueuedRun(
        user,
        { workflowId, input, idempotencyKey: key ?? null },
        { budget: config.runResultBudgetBytes, userQuota: config.runStoragePerUserBytes },
      );
    } catch (error) {
      // The workflow was deleted while the run was written.
      if (isForeignKeyViolation(error)) throw new NotFoundError(WORKFLOW_NOT_FOUND);
      throw error;
    }
    if (inserted) {
      await this.enqueue(inserted.run, inserted.workflowName);
      return { ...(await this.view(inserted.run)), replayed: false };
    }
    // Nothing written: the workflow is not the caller's to run, the key was used before, or
    // the caller's run storage is full.
    const workflow = await this.statements.findWorkflowToRun(user, workflowId);
    if (!workflow) throw new NotFoundError(WORKFLOW_NOT_FOUND);
    const [earlier] = key
      ? await db
          .select()
          .from(workflowQueue)
          .where(and(eq(workflowQueue.ownerId, user.id), eq(workflowQueue.idempotencyKey, key)))
          .limit(1)
      : [];
    if (!earlier) {
      await this.storage.refuseOverQuota(user.id);
      throw new ConflictError(
        key ? 'A request with this Idempotency-Key is in progress; retry' : 'The run could not be written; retry',
      );
    }
    // Postgres writes uuids in lower case; the path may not.
    if (earlier.workflowId !== workflowId.toLowerCase() || !sameJson(earlier.input, input)) {
      throw new ConflictError('This Idempotency-Key was already used for a different request');
    }
    // A replay of a still-queued run enqueues again: harmless (the job id is the run id) and it
    // repairs a first request that died between writing the row and enqueueing.
    await this.enqueue(earlier, workflow.name);
    return { ...(await this.view(earlier)), replayed: true };
  }

  /**
   * Cancels a queued or running run: the row first (a running executor sees it at its next
   * heartbeat, and stops), then the queue, then the run's `cancelled` event.
   */
  async cancel(user: AuthUser, runId: string): Promise<WorkflowRun> {
    const { db, clock, runQueue, hub, logger } = this.parts;
    const now = clock();
    const [run] = await db
      .update(workflowQueue)
      .set({ status: 'cancelled', error: CANCELLED_BY_USER, finishedAt: now, updatedAt: now })
      .where(and(visibleRuns(user, runId), inArray(workflowQueue.status, ['queued', 'running'])))
      .returning();
    if (!run) {
      const [existing] = await db
        .select({ status: workflowQueue.status })
        .from(workflowQueue)
        .where(visibleRuns(user, runId))
        .limit(1);
      if (!existing) throw new NotFoundError(RUN_NOT_FOUND);
      throw new ConflictError(`Run is already ${existing.status}`);
    }
    // The row is the truth: a running executor notices it at its next heartbeat even if this fails.
    await runQueue
      .cancel(run.id)
      .catch((err: unknown) => logger.warn({ runId, err: String(err) }, 'queue cancel failed'));
    await publishRunStatus(hub, logger, run, (run.steps as RunStepState[]).length, {
      status: 'cancelled',
      stepIndex: run.progress,
      error: CANCELLED_BY_USER,
    });
    return run;
  }

  /** Retries a failed or cancelled run the user may see (see retryRun): the new run, queued. */
  async retry(user: AuthUser, runId: string): Promise<RunView> {
    const [original] = await this.parts.db.select().from(workflowQueue).where(visibleRuns(user, runId)).limit(1);
    if (!original) throw new NotFoundError(RUN_NOT_FOUND);
    const outcome = await this.retryOriginal(original);
    if (outcome.kind === 'gone') throw new NotFoundError(RUN_NOT_FOUND);
    if (outcome.kind === 'not-retryable') {
      throw new ConflictError(`Run is ${outcome.status}: only failed or cancelled runs can be retried`);
    }
    if (outcome.kind === 'retried-before') {
      throw new ConflictError('Run was already retried; retry its retry instead', { retryRunId: outcome.retryRunId });
    }
    this.parts.logger.info({ runId: outcome.run.id, retryOf: runId, userId: user.id }, 'run retried');
    return this.view(outcome.run);
  }

  /**
   * retry for a run known by id only, on its owner's behalf (a retry from Bull Board names the
   * job, i.e. the run). Throws the run storage refusals as retry does.
   */
  async retryById(runId: string): Promise<RetryOutcome> {
    const [original] = await this.parts.db.select().from(workflowQueue).where(eq(workflowQueue.id, runId)).limit(1);
    return original ? this.retryOriginal(original) : { kind: 'gone' };
  }

  async get(user: AuthUser, runId: string): Promise<RunView> {
    const [run] = await this.parts.db.select().from(workflowQueue).where(visibleRuns(user, runId)).limit(1);
    if (!run) throw new NotFoundError(RUN_NOT_FOUND);
    return this.view(run);
  }

  /** The runs the user may see, newest first, optionally of one status, with counts per status. */
  async queue(
    user: AuthUser,
    query: Pagination & { status?: RunStatus },
  ): Promise<Page<RunSummaryJson> & { counts: Record<RunStatus, number> }> {
    const { db } = this.parts;
    const visible = visibleRuns(user);
    const where = and(visible, query.status ? eq(workflowQueue.status, query.status) : undefined);
    const [byStatus, page] = await Promise.all([
      db
        .select({ status: workflowQueue.status, value: count() })
        .from(workflowQueue)
        .where(visible)
        .groupBy(workflowQueue.status),
      newestFirstPage(db, workflowQueue, where, query, toRunSummaryJson, runSummaryColumns),
    ]);
    const counts = Object.fromEntries(runStatus.enumValues.map((s) => [s, 0])) as Record<RunStatus, number>;
    for (const row of byStatus) counts[row.status] = row.value;
    return { counts, ...page };
  }

  /** The runs of one workflow the user may see, newest first. */
  async listForWorkflow(user: AuthUser, workflowId: string, page: Pagination): Promise<Page<RunSummaryJson>> {
    const { db } = this.parts;
    const [workflow] = await db
      .select({ id: workflows.id })
      .from(workflows)
      .where(visibleWorkflows(user, workflowId))
      .limit(1);
    if (!workflow) throw new NotFoundError(WORKFLOW_NOT_FOUND);
    const where = and(eq(workflowQueue.workflowId, workflowId), visibleRuns(user));
    return newestFirstPage(db, workflowQueue, where, page, toRunSummaryJson, runSummaryColumns);
  }

  private async retryOriginal(original: WorkflowRun): Promise<RetryOutcome> {
    const outcome = await retryRun(this.parts.db, original, () =>
      this.storage.refuseWhenNoRoom(original.ownerId, this.parts.clock().getTime()),
    );
    if (outcome.kind === 'created') await this.enqueue(outcome.run, outcome.workflowName);
    return outcome;
  }

  /** Hands a queued run to the queue; an outage is logged, the row waits for the reconciler. */
  private async enqueue(run: WorkflowRun, workflowName: string): Promise<void> {
    if (run.status !== 'queued') return;
    const { id, workflowId, ownerId } = run;
    await this.parts.runQueue
      .enqueue({ id, workflowId, ownerId, workflowName })
      .catch((err: unknown) => this.parts.logger.warn({ runId: id, err: String(err) }, 'enqueue failed'));
  }

  /** What a queued run waits for, when the queue can tell: a run nobody will take says so. */
  private async view(run: WorkflowRun): Promise<RunView> {
    const { runQueue } = this.parts;
    if (run.status !== 'queued' || !runQueue.liveWorkers) return { run, statusDetail: null };
    const workers = await runQueue.liveWorkers();
    return { run, statusDetail: workers?.count === 0 ? NO_WORKER : null };
  }
}
