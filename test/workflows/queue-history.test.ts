import { eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowQueue } from '../../src/db/schema';
import type { BullMqRunQueue } from '../../src/node/bullmq-run-queue';
import { loadConfig } from '../../src/config/config';
import type { RunningServer } from '../helpers/servers';
import type { createTestApp, createTestDatabase } from '../helpers/test-app';
import { until } from '../helpers/until';
import { startBullMqTestApi } from './bullmq-test-api';
import type { CountingMcpServer } from './counting-mcp-server';
import { PROCESS_HOOK_MS } from '../helpers/spawn-node';
import { startWorkerProcess, type WorkerProcess } from './worker-process';
import { createWorkflow, execute, getRun, type RunJson, waitForRun } from './workflow-helpers';

/**
 * BullMQ keeps the history an operator looks at in Bull Board: failed runs as failed jobs, named
 * after their workflow, a bounded number of completed ones; and a retry from Bull Board does what
 * the retry route does, never running a finished row again. A real worker process, its own Redis.
 */
let redisServer: RunningServer;
let mcpServer: CountingMcpServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let t: Awaited<ReturnType<typeof createTestApp>>;
let apiRedis: Redis;
let runQueue: BullMqRunQueue;
let worker: WorkerProcess;
let user: Awaited<ReturnType<typeof t.registerUser>>;
let admin: Awaited<ReturnType<typeof t.registerUser>>;

const KEEP_COMPLETED = 2;
const settings = loadConfig({ BULLMQ_PREFIX: 'history', BULLMQ_KEEP_COMPLETED: String(KEEP_COMPLETED) }).runner;
const queueName = settings.queueName;

beforeAll(async () => {
  ({ redisServer, mcpServer, database, t, apiRedis, runQueue } = await startBullMqTestApi(settings, {
    queueDashboard: true,
  }));
  user = await t.registerUser();
  admin = await t.registerUser('admin');
  worker = await startWorkerProcess({
    DATABASE_URL: database.url,
    REDIS_URL: redisServer.url,
    MCP_URL: mcpServer.url,
    BULLMQ_PREFIX: settings.bullmqPrefix,
    WORKER_METRICS_PORT: '0',
  });
}, PROCESS_HOOK_MS);

afterAll(async () => {
  await worker?.kill('SIGKILL');
  await runQueue?.close().catch(() => {});
  apiRedis?.disconnect();
  await mcpServer?.close();
  await redisServer?.stop();
  await database?.close();
});

/** Bull Board's own JSON API, as its page calls it (admin only). */
async function boardJobs(status: 'failed' | 'completed') {
  const res = await t.json(
    'GET',
    `/admin/queues/api/queues?activeQueue=${queueName}&status=${status}`,
    undefined,
    admin.auth,
  );
  expect(res.status).toBe(200);
  const body = (await res.json()) as {
    queues: Array<{ name: string; jobs: Array<{ id: string; name: string; data: unknown; failedReason?: string }> }>;
  };
  return body.queues.find((q) => q.name === queueName)?.jobs ?? [];
}

async function boardRetry(jobId: string): Promise<number> {
  const res = await t.app.request(`/admin/queues/api/queues/${queueName}/${jobId}/retry`, {
    method: 'PUT',
    headers: admin.auth,
  });
  return res.status;
}

async function retriesOf(runId: string) {
  return t.db.select().from(workflowQueue).where(eq(workflowQueue.retryOf, runId));
}

/** Resolves once the run's job has finished again (a retry from Bull Board was processed). */
function finishedAgain(runId: string, previousFinishedOn: number | undefined) {
  return until(async () => {
    const job = await runQueue.queue.getJob(runId);
    return job && (await job.getState()) === 'completed' && job.finishedOn !== previousFinishedOn ? job : undefined;
  });
}

describe('the queue keeps what operators look at', () => {
  it("a failed run's job stays failed, named after its workflow, with workflow and owner ids; Bull Board lists it", async () => {
    const wf = await createWorkflow(
      t.json,
      user.auth,
      [{ id: 'boom', tool: 'fail', arguments: { message: 'disk on fire' } }],
      {
        name: 'nightly import',
      },
    );
    const run = await waitForRun(t.json, user.auth, (await execute(t.json, user.auth, wf.id)).id, undefined, 20_000);
    expect(run.status).toBe('failed');
    // The state first, then the job: a job read before its move to failed has no failedReason yet.
    const job = await until(async () =>
      (await runQueue.queue.getJobState(run.id)) === 'failed' ? runQueue.queue.getJob(run.id) : undefined,
    );
    expect(job.name).toBe('nightly import');
    expect(job.data).toEqual({ runId: run.id, workflowId: wf.id, ownerId: user.user.id });
    expect(job.failedReason).toBe(run.error);
    // Failed once, for good: BullMQ's own retries are for infrastructure errors.
    expect(job.attemptsMade).toBe(1);

    const listed = (await boardJobs('failed')).find((j) => j.id === run.id);
    expect(listed).toMatchObject({ name: 'nightly import', data: job.data, failedReason: run.error });
  });

  it('completed jobs are kept too, the newest BULLMQ_KEEP_COMPLETED of them', async () => {
    const wf = await createWorkflow(t.json, user.auth, [{ id: 'c', tool: 'count' }], { name: 'tick' });
    const runs: RunJson[] = [];
    for (let i = 0; i < KEEP_COMPLETED + 1; i++) {
      runs.push(await waitForRun(t.json, user.auth, (await execute(t.json, user.auth, wf.id)).id, undefined, 20_000));
    }
    const completed = await until(async () => {
      const jobs = await runQueue.queue.getJobs(['completed']);
      return jobs.some((j) => j.id === runs.at(-1)?.id) ? jobs : undefined;
    });
    expect(completed.map((j) => j.id).sort()).toEqual(
      runs
        .slice(-KEEP_COMPLETED)
        .map((r) => r.id)
        .sort(),
    );
    expect((await boardJobs('completed')).map((j) => j.name)).toEqual(['tick', 'tick']);
  });

  it('a retry from Bull Board makes the retry a new run would, once; the failed row never runs again', async () => {
    const key = crypto.randomUUID();
    const wf = await createWorkflow(t.json, user.auth, [
      { id: 'first', tool: 'count' },
      { id: 'shaky', tool: 'flaky', arguments: { failTimes: 1, key } },
    ]);
    const failed = await waitForRun(t.json, user.auth, (await execute(t.json, user.auth, wf.id)).id, undefined, 20_000);
    expect(failed.status).toBe('failed');
    await until(async () => ((await runQueue.queue.getJobState(failed.id)) === 'failed' ? true : undefined));

    expect(await boardRetry(failed.id)).toBe(204);
    const [retryRow] = await until(async () => {
      const rows = await retriesOf(failed.id);
      return rows.length > 0 ? rows : undefined;
    });
    const retried = await waitForRun(t.json, user.auth, retryRow?.id as string, undefined, 20_000);
    expect(retried).toMatchObject({ status: 'completed', retryOf: failed.id, ownerId: user.user.id });
    expect(mcpServer.callsOf(failed.id, 'first')).toBe(1);
    expect(mcpServer.callsOf(failed.id, 'shaky')).toBe(1);
    expect(mcpServer.callsOf(retried.id, 'first')).toBe(0);
    expect((await getRun(t.json, user.auth, failed.id)).status).toBe('failed');
    // The failed run's job says where its run went.
    const job = await until(async () => {
      const found = await runQueue.queue.getJob(failed.id);
      return found && (await found.getState()) === 'completed' ? found : undefined;
    });
    expect(job.returnvalue).toEqual({ outcome: 'retried', retryRunId: retried.id });

    // Retried again (now from Completed): still the one retry, and nothing of the failed row runs.
    expect(await boardRetry(failed.id)).toBe(204);
    await finishedAgain(failed.id, job.finishedOn);
    expect(await retriesOf(failed.id)).toHaveLength(1);
    expect(mcpServer.callsOf(failed.id, 'first')).toBe(1);
    // And the API's retry finds the same one.
    const viaApi = await t.json('POST', `/api/workflows/runs/${failed.id}/retry`, undefined, user.auth);
    expect(viaApi.status).toBe(409);
    expect(((await viaApi.json()) as { error: { details: unknown } }).error.details).toEqual({
      retryRunId: retried.id,
    });
  });

  it("a retry from Bull Board of a completed run's job runs nothing again", async () => {
    const wf = await createWorkflow(t.json, user.auth, [{ id: 'once', tool: 'count' }]);
    const done = await waitForRun(t.json, user.auth, (await execute(t.json, user.auth, wf.id)).id, undefined, 20_000);
    expect(done.status).toBe('completed');
    const job = await until(async () => {
      const found = await runQueue.queue.getJob(done.id);
      return found && (await found.getState()) === 'completed' ? found : undefined;
    });
    expect(await boardRetry(done.id)).toBe(204);
    await finishedAgain(done.id, job.finishedOn);
    expect(mcpServer.callsOf(done.id, 'once')).toBe(1);
    expect(await getRun(t.json, user.auth, done.id)).toMatchObject({ status: 'completed', attempts: 1 });
    expect(await retriesOf(done.id)).toHaveLength(0);
  });
});
