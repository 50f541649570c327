import { Worker } from 'bullmq';
import { eq, type SQL, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RunStatus, workflowQueue, workflows } from '../../src/db/schema';
import { silentLogger } from '../../src/logging/logger';
import { createRunBullQueue, runJob } from '../../src/node/bullmq-run-queue';
import { Reconciler } from '../../src/node/reconciler';
import { connectRedis } from '../../src/node/redis-connections';
import { loadConfig } from '../../src/config/config';
import { createTestApp } from '../helpers/test-app';
import { initialStepStates } from './workflow-helpers';

let t: Awaited<ReturnType<typeof createTestApp>>;
let redis: Redis;
let queue: ReturnType<typeof createRunBullQueue>;
let reconciler: Reconciler;
let ownerId: string;
let workflowId: string;

const settings = loadConfig({ BULLMQ_PREFIX: `rec${crypto.randomUUID().slice(0, 8)}` }).runner;

beforeAll(async () => {
  t = await createTestApp();
  redis = connectRedis(inject('redisUrl'));
  queue = createRunBullQueue(redis, settings);
  reconciler = new Reconciler({ db: t.db, queue, logger: silentLogger, intervalMs: 60_000, graceMs: 1000 });
  ownerId = (await t.registerUser()).user.id;
  const [wf] = await t.db
    .insert(workflows)
    .values({ ownerId, name: 'w', steps: [{ id: 'a', tool: 'echo' }] })
    .returning();
  workflowId = wf?.id as string;
});

afterAll(async () => {
  await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close();
  redis?.disconnect();
  await t?.close();
});

async function insertRun(values: { status: RunStatus; lockedBy?: string; lockExpiresAt?: SQL; ageMs?: number }) {
  const { ageMs = 5000, ...rest } = values;
  const [row] = await t.db
    .insert(workflowQueue)
    .values({
      workflowId,
      ownerId,
      steps: initialStepStates([{ id: 'a', tool: 'echo' }]),
      createdAt: sql`now() - ${ageMs} * interval '1 millisecond'`,
      updatedAt: sql`now() - ${ageMs} * interval '1 millisecond'`,
      ...rest,
    })
    .returning();
  return row?.id as string;
}

describe('reconciler', () => {
  it('re-adds a queued run whose job id is still kept as completed (add() alone would be ignored)', async () => {
    const runId = await insertRun({ status: 'queued' });
    // A job with the run's id that completed and was kept, as a worker without removeOnComplete leaves it.
    const job = runJob({ id: runId, workflowId, ownerId, workflowName: 'w' });
    await queue.add(job.name, job.data, { ...job.opts, removeOnComplete: false });
    const worker = new Worker(settings.queueName, async () => 'done', {
      connection: redis,
      prefix: settings.bullmqPrefix,
    });
    const deadline = Date.now() + 5000;
    while ((await queue.getJobState(runId)) !== 'completed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await worker.close();
    expect(await queue.getJobState(runId)).toBe('completed');
    // This is the trap: adding the same id again is a silent no-op.
    await queue.add(job.name, job.data, job.opts);
    expect(await queue.getJobState(runId)).toBe('completed');

    const result = await reconciler.reconcileOnce();
    expect(result.requeued).toBeGreaterThanOrEqual(1);
    expect(await queue.getJobState(runId)).toBe('waiting');
  });

  it('keeps the finished job of a finished run as history, even when the run is announced again', async () => {
    const runId = await insertRun({ status: 'completed' });
    const job = runJob({ id: runId, workflowId, ownerId, workflowName: 'w' });
    await queue.add(job.name, job.data, job.opts);
    const worker = new Worker(settings.queueName, async () => 'done', {
      connection: redis,
      prefix: settings.bullmqPrefix,
    });
    while ((await queue.getJobState(runId)) !== 'completed') await new Promise((r) => setTimeout(r, 20));
    await worker.close();
    expect(await reconciler.adopt([runId])).toBe(0);
    expect(await queue.getJobState(runId)).toBe('completed');
    expect((await queue.getJob(runId))?.returnvalue).toBe('done');
  });

  it('recovers a running run whose lease ran out and whose job is gone', async () => {
    const runId = await insertRun({
      status: 'running',
      lockedBy: 'dead-worker',
      lockExpiresAt: sql`now() - interval '1 second'`,
    });
    expect(await queue.getJobState(runId)).toBe('unknown');
    const result = await reconciler.reconcileOnce();
    expect(result.recovered).toBeGreaterThanOrEqual(1);
    expect(await queue.getJobState(runId)).toBe('waiting');
  });

  it('leaves alone a running run with a live lease, a fresh queued row, and finished runs', async () => {
    const leased = await insertRun({
      status: 'running',
      lockedBy: 'live-worker',
      lockExpiresAt: sql`now() + interval '1 minute'`,
    });
    const fresh = await insertRun({ status: 'queued', ageMs: 0 });
    const done = await insertRun({ status: 'completed' });
    await reconciler.reconcileOnce();
    for (const id of [leased, fresh, done]) expect(await queue.getJobState(id)).toBe('unknown');
    const [row] = await t.db.select().from(workflowQueue).where(eq(workflowQueue.id, leased));
    expect(row?.status).toBe('running');
  });
});
