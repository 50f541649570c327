import { and, count, eq, inArray } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import * as z from 'zod';
import { isForeignKeyViolation } from '../db/foreign-key-violation';
import { newestFirstPage } from '../db/newest-first-page';
import { type RunStatus, runStatus, type WorkflowRun, workflowQueue, workflows } from '../db/schema';
import type { AppEnv } from '../deps';
import { ConflictError } from '../errors/conflict-error';
import { NotFoundError } from '../errors/not-found-error';
import { ValidationError } from '../errors/validation-error';
import { idParam } from '../http/id-param';
import { paginationQuery } from '../http/pagination';
import { jsonObject, text } from '../http/storable-text';
import { validate } from '../http/validate';
import { requireAuth } from '../middleware/auth';
import { runDocs } from './runs.openapi';
import { WORKFLOW_CHANNEL, WORKFLOW_STATUS_EVENT } from '../realtime/channel-hub';
import { retryRun } from './retry-run';
import type { RunQueue } from './run-queue';
import type { RunStepState, WorkflowStatusPayload } from './run-state';
import { refuseOverQuota, refuseWhenNoRoom, refuseWhenStorageFull } from './run-storage';
import { sameJson } from './same-json';
import { findWorkflowToRun, insertQueuedRun } from '../workflows/execute-statements';
import { toRunJson, toRunSummaryJson } from './run-json';
import { runSummaryColumns, visibleRuns, visibleWorkflows } from '../workflows/workflow-queries';

const executeBody = z.object({ input: jsonObject().default({}) });
const idempotencyKey = text().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 visible ASCII characters');
const runIdParam = z.object({ runId: z.uuid({ message: 'must be a UUID' }) });
const queueQuery = paginationQuery.extend({ status: z.enum(runStatus.enumValues).optional() });

const RUN_NOT_FOUND = 'Run not found';
const NO_WORKER = 'No worker is consuming the queue: the run starts when one does (npm run worker)';

/** What a queued run waits for, when the queue can tell: a run nobody will take says so. */
async function queuedRunDetail(runQueue: RunQueue, run: WorkflowRun): Promise<string | null> {
  if (run.status !== 'queued' || !runQueue.liveWorkers) return null;
  return (await runQueue.liveWorkers())?.count === 0 ? NO_WORKER : null;
}

/**
 * `{input?}`; the body may be empty (no content at all), unlike other routes' bodies. A body
 * declared empty is not read: on @hono/node-server reading builds a whole undici Request.
 */
async function readExecuteBody(c: Context<AppEnv>): Promise<z.infer<typeof executeBody>> {
  const text = c.req.header('content-length') === '0' ? '' : await c.req.raw.text();
  let raw: unknown = {};
  if (text.trim()) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new ValidationError('Invalid body: malformed JSON');
    }
  }
  const parsed = executeBody.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), code: i.code, message: i.message }));
    throw new ValidationError(`Invalid body: ${issues[0]?.path}: ${issues[0]?.message}`, issues);
  }
  return parsed.data;
}

function emptyCounts(): Record<RunStatus, number> {
  return Object.fromEntries(runStatus.enumValues.map((s) => [s, 0])) as Record<RunStatus, number>;
}

/** Executions: execute, the caller's queue, runs with per-step detail, cancel, retry. Mounted before workflowRoutes. */
export const runRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .get('/queue', runDocs.queue, validate('query', queueQuery), async (c) => {
    const { db } = c.var.deps;
    const query = c.req.valid('query');
    const visible = visibleRuns(c.var.user);
    const where = and(visible, query.status ? eq(workflowQueue.status, query.status) : undefined);
    const [byStatus, page] = await Promise.all([
      db
        .select({ status: workflowQueue.status, value: count() })
        .from(workflowQueue)
        .where(visible)
        .groupBy(workflowQueue.status),
      newestFirstPage(db, workflowQueue, where, query, toRunSummaryJson, runSummaryColumns),
    ]);
    const counts = emptyCounts();
    for (const row of byStatus) counts[row.status] = row.value;
    return c.json({ counts, ...page });
  })
  .get('/runs/:runId', runDocs.get, validate('param', runIdParam), async (c) => {
    const [run] = await c.var.deps.db
      .select()
      .from(workflowQueue)
      .where(visibleRuns(c.var.user, c.req.valid('param').runId))
      .limit(1);
    if (!run) throw new NotFoundError(RUN_NOT_FOUND);
    return c.json({ run: toRunJson(run, await queuedRunDetail(c.var.deps.runQueue, run)) });
  })
  .post('/runs/:runId/retry', runDocs.retry, validate('param', runIdParam), async (c) => {
    const { db, runQueue, logger, config, clock } = c.var.deps;
    const { runId } = c.req.valid('param');
    const [original] = await db.select().from(workflowQueue).where(visibleRuns(c.var.user, runId)).limit(1);
    if (!original) throw new NotFoundError(RUN_NOT_FOUND);
    const outcome = await retryRun(db, original, () =>
      refuseWhenNoRoom(db, original.ownerId, config, clock().getTime()),
    );
    if (outcome.kind === 'gone') throw new NotFoundError(RUN_NOT_FOUND);
    if (outcome.kind === 'not-retryable') {
      throw new ConflictError(`Run is ${outcome.status}: only failed or cancelled runs can be retried`);
    }
    if (outcome.kind === 'retried-before') {
      throw new ConflictError('Run was already retried; retry its retry instead', { retryRunId: outcome.retryRunId });
    }
    await runQueue
      .enqueue(outcome.toEnqueue)
      .catch((err: unknown) => logger.warn({ runId: outcome.run.id, err: String(err) }, 'enqueue failed'));
    logger.info({ runId: outcome.run.id, retryOf: runId, userId: c.var.user.id }, 'run retried');
    return c.json({ run: toRunJson(outcome.run, await queuedRunDetail(runQueue, outcome.run)) }, 202);
  })
  .post('/runs/:runId/cancel', runDocs.cancel, validate('param', runIdParam), async (c) => {
    const { db, clock, runQueue, hub, logger } = c.var.deps;
    const { runId } = c.req.valid('param');
    const now = clock();
    const [run] = await db
      .update(workflowQueue)
      .set({ status: 'cancelled', error: 'Cancelled by user', finishedAt: now, updatedAt: now })
      .where(and(visibleRuns(c.var.user, runId), inArray(workflowQueue.status, ['queued', 'running'])))
      .returning();
    if (!run) {
      const [existing] = await db
        .select({ status: workflowQueue.status })
        .from(workflowQueue)
        .where(visibleRuns(c.var.user, runId))
        .limit(1);
      if (!existing) throw new NotFoundError(RUN_NOT_FOUND);
      throw new ConflictError(`Run is already ${existing.status}`);
    }
    // The row is the truth: a running executor notices it at its next heartbeat even if this fails.
    await runQueue
      .cancel(runId)
      .catch((err: unknown) => logger.warn({ runId, err: String(err) }, 'queue cancel failed'));
    const steps = run.steps as RunStepState[];
    const payload: WorkflowStatusPayload = {
      runId,
      workflowId: run.workflowId,
      ownerId: run.ownerId,
      status: 'cancelled',
      stepIndex: run.progress,
      totalSteps: steps.length,
      error: 'Cancelled by user',
    };
    await hub
      .publish({ event: WORKFLOW_STATUS_EVENT, channel: WORKFLOW_CHANNEL, payload })
      .catch((err: unknown) => logger.warn({ runId, err: String(err) }, 'publish failed'));
    return c.json({ run: toRunJson(run) });
  })
  .post('/:id/execute', runDocs.execute(executeBody), validate('param', idParam), async (c) => {
    const { db, runQueue, logger, config, clock } = c.var.deps;
    const { id } = c.req.valid('param');
    const rawKey = c.req.header('idempotency-key');
    const keyCheck = rawKey === undefined ? undefined : idempotencyKey.safeParse(rawKey);
    if (keyCheck && !keyCheck.success) {
      throw new ValidationError('Invalid Idempotency-Key header: must be 1-255 visible ASCII characters');
    }
    const key = keyCheck?.data;
    const { input } = await readExecuteBody(c);
    const budget = config.runResultBudgetBytes;
    await refuseWhenStorageFull(db, config, clock().getTime());
    let run: WorkflowRun | undefined;
    let workflowName = '';
    try {
      const inserted = await insertQueuedRun(
        db,
        c.var.user,
        { workflowId: id, input, idempotencyKey: key ?? null },
        { budget, userQuota: config.runStoragePerUserBytes },
      );
      run = inserted?.run;
      workflowName = inserted?.workflowName ?? '';
    } catch (error) {
      // The workflow was deleted while the run was written.
      if (isForeignKeyViolation(error)) throw new NotFoundError('Workflow not found');
      throw error;
    }
    let replayed = false;
    if (!run) {
      // Nothing written: the workflow is not the caller's to run, the key was used before, or
      // the caller's run storage is full.
      const workflow = await findWorkflowToRun(db, c.var.user, id);
      if (!workflow) throw new NotFoundError('Workflow not found');
      workflowName = workflow.name;
      if (key) {
        [run] = await db
          .select()
          .from(workflowQueue)
          .where(and(eq(workflowQueue.ownerId, c.var.user.id), eq(workflowQueue.idempotencyKey, key)))
          .limit(1);
      }
      if (!run) {
        await refuseOverQuota(db, c.var.user.id, config);
        throw new ConflictError(
          key ? 'A request with this Idempotency-Key is in progress; retry' : 'The run could not be written; retry',
        );
      }
      // Postgres writes uuids in lower case; the path may not.
      if (run.workflowId !== id.toLowerCase() || !sameJson(run.input, input)) {
        throw new ConflictError('This Idempotency-Key was already used for a different request');
      }
      replayed = true;
    }
    if (!run) throw new Error('insert returned no row');
    // A replay of a still-queued run enqueues again: harmless (the job id is the run id) and it
    // repairs a first request that died between writing the row and enqueueing.
    if (run.status === 'queued') {
      const { workflowId, ownerId } = run;
      await runQueue
        .enqueue({ id: run.id, workflowId, ownerId, workflowName })
        .catch((err: unknown) => logger.warn({ runId: run.id, err: String(err) }, 'enqueue failed'));
    }
    if (replayed) c.header('Idempotent-Replayed', 'true');
    return c.json({ run: toRunJson(run, await queuedRunDetail(runQueue, run)) }, 202);
  })
  .get(
    '/:id/runs',
    runDocs.listForWorkflow,
    validate('param', idParam),
    validate('query', paginationQuery),
    async (c) => {
      const { db } = c.var.deps;
      const { id } = c.req.valid('param');
      const page = c.req.valid('query');
      const [workflow] = await db
        .select({ id: workflows.id })
        .from(workflows)
        .where(visibleWorkflows(c.var.user, id))
        .limit(1);
      if (!workflow) throw new NotFoundError('Workflow not found');
      const where = and(eq(workflowQueue.workflowId, id), visibleRuns(c.var.user));
      return c.json(await newestFirstPage(db, workflowQueue, where, page, toRunSummaryJson, runSummaryColumns));
    },
  );
