import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BullMqRunQueue } from '../../src/node/bullmq-run-queue';
import { loadConfig } from '../../src/config/config';
import { type RunningServer, startRedis } from '../helpers/servers';
import { PROCESS_HOOK_MS } from '../helpers/spawn-node';
import type { createTestApp, createTestDatabase } from '../helpers/test-app';
import { startBullMqTestApi } from './bullmq-test-api';
import { type CountingMcpServer, startCountingMcpServer } from './counting-mcp-server';
import { logLines, startWorkerProcess, type WorkerProcess } from './worker-process';
import { createWorkflow, execute, getRun, waitForRun } from './workflow-helpers';

/**
 * BullMQ mode end to end: the API enqueues, `npm run worker` (a real child process) executes
 * against a real MCP server over Streamable HTTP; Postgres and a Redis of this file's own.
 */
let redisServer: RunningServer;
let mcpServer: CountingMcpServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let t: Awaited<ReturnType<typeof createTestApp>>;
let apiRedis: Redis;
let runQueue: BullMqRunQueue;
let user: Awaited<ReturnType<typeof t.registerUser>>;
const workers: WorkerProcess[] = [];

const settings = loadConfig({ BULLMQ_PREFIX: 'faults', ENQUEUE_TIMEOUT_MS: '500' }).runner;

function workerEnv(extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: database.url,
    REDIS_URL: redisServer.url,
    MCP_URL: mcpServer.url,
    BULLMQ_PREFIX: settings.bullmqPrefix,
    MCP_UNAVAILABLE_RETRIES: '2',
    ...extra,
  };
}

async function startWorker(extra: Record<string, string> = {}) {
  const worker = await startWorkerProcess(workerEnv(extra));
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  ({ redisServer, mcpServer, database, t, apiRedis, runQueue } = await startBullMqTestApi(settings));
  user = await t.registerUser();
});

let shared: WorkerProcess | undefined;

/** The worker's one info line for a run's end ("run finished"), once it is written. */
async function runEndLine(worker: WorkerProcess, runId: string): Promise<Record<string, unknown>> {
  for (;;) {
    const line = logLines(worker).find((l) => l.msg === 'run finished' && l.runId === runId);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One worker for the tests that do not kill theirs (each start costs a second or two). */
async function sharedWorker() {
  shared ??= await startWorker();
  return shared;
}

async function stopSharedWorker() {
  await shared?.kill('SIGKILL');
  shared = undefined;
}

afterEach(async () => {
  // Fault tests start and kill their own workers; the shared one stays up between tests.
  const own = workers.filter((w) => w !== shared);
  await Promise.all(own.map((w) => w.kill('SIGKILL')));
  workers.splice(0, workers.length, ...(shared ? [shared] : []));
});

afterAll(async () => {
  await Promise.all(workers.splice(0).map((w) => w.kill('SIGKILL')));
  await runQueue?.close().catch(() => {});
  apiRedis?.disconnect();
  await mcpServer?.close();
  await redisServer?.stop();
  await database?.close();
});

// The tests start worker processes themselves, each within PROCESS_START_MS.
describe('BullMQ worker process', { timeout: PROCESS_HOOK_MS }, () => {
  it("executes a run enqueued by the API (job id = run id), sets lastRun and logs the run's end", async () => {
    const worker = await sharedWorker();
    const wf = await createWorkflow(t.json, user.auth, [
      { id: 'a', tool: 'echo', arguments: { text: 'hello' } },
      { id: 'b', tool: 'echo', arguments: { text: '{{steps.a.text}}' } },
    ]);
    const run = await waitForRun(t.json, user.auth, (await execute(t.json, user.auth, wf.id)).id);
    expect(run.status).toBe('completed');
    expect(run.steps[1]?.result).toEqual({ text: 'hello' });
    const res = await t.json('GET', `/api/workflows/${wf.id}`, undefined, user.auth);
    expect(((await res.json()) as { workflow: { lastRun: unknown } }).workflow.lastRun).not.toBeNull();
    // Finished jobs are kept (bounded) as Bull Board's history; the reconciler removes one before any re-add.
    expect(await runQueue.queue.getJobState(run.id)).toBe('completed');
    expect(await runEndLine(worker, run.id)).toMatchObject({
      level: 30,
      runId: run.id,
      workflowId: wf.id,
      status: 'completed',
      durationMs: expect.any(Number),
    });
  });

  it('Redis restarted under a running worker: it keeps taking jobs', async () => {
    await sharedWorker();
    const wf = await createWorkflow(t.json, user.auth, [{ id: 'c', tool: 'count' }]);
    const before = await waitForRun(t.json, user.auth, (await execute(t.json, user.auth, wf.id)).id);
    expect(before.status).toBe('completed');

    const port = redisServer.port;
    await redisServer.stop();
    redisServer = await startRedis({ port });
    // Let both sides notice and reconnect, then enqueue through the new server.
    await apiRedis.ping();
    const runs = await Promise.all([1, 2].map(() => execute(t.json, user.auth, wf.id)));
    for (const { id } of runs) {
      const run = await waitForRun(t.json, user.auth, id, undefined, 15_000);
      expect(run.status).toBe('completed');
    }
  });

  it('MCP server down: the step is retried with backoff, then the run fails with a clear error', async () => {
    const worker = await sharedWorker();
    const wf = await createWorkflow(t.json, user.auth, [{ id: 'e', tool: 'echo', arguments: { text: 'x' } }]);
    const port = mcpServer.port;
    await mcpServer.close();
    try {
      const run = await waitForRun(t.json, user.auth, (await execute(t.json, user.auth, wf.id)).id, undefined, 15_000);
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(
        /^Step "e" \(echo\) failed after 3 attempts: MCP server unavailable: Cannot connect to MCP server http:\/\/127\.0\.0\.1:\d+\/mcp/,
      );
      expect(run.steps[0]?.attempts).toBe(3);
      expect(await runEndLine(worker, run.id)).toMatchObject({
        level: 30,
        status: 'failed',
        failedStep: 'e',
        error: run.error,
      });
      // The waits the worker scheduled between the three attempts: STEP_RETRY_BASE_MS (100) doubling, ±20 %.
      const delays = logLines(worker)
        .filter((line) => line.msg === 'step failed, retrying' && line.runId === run.id)
        .map((line) => Number(line.delayMs));
      expect(delays).toHaveLength(2);
      expect(delays[0]).toBeGreaterThanOrEqual(80);
      expect(delays[0]).toBeLessThanOrEqual(120);
      expect(delays[1]).toBeGreaterThanOrEqual(160);
      expect(delays[1]).toBeLessThanOrEqual(240);
    } finally {
      mcpServer = await startCountingMcpServer({ port });
    }
  });

  it('SIGKILL mid-run: a new worker finishes the run once, without repeating finished steps', async () => {
    await stopSharedWorker();
    const first = await startWorker();
    const wf = await createWorkflow(t.json, user.auth, [
      { id: 'before', tool: 'count' },
      { id: 'nap', tool: 'sleep', arguments: { ms: 1500 } },
      { id: 'after', tool: 'count' },
    ]);
    const { id } = await execute(t.json, user.auth, wf.id);
    await waitForRun(t.json, user.auth, id, (r) => r.steps[1]?.status === 'running');
    expect(await first.kill('SIGKILL')).toBeNull();

    await startWorker();
    const run = await waitForRun(t.json, user.auth, id, undefined, 20_000);
    expect(run.status).toBe('completed');
    expect(run.attempts).toBe(2);
    expect(run.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
      ['before', 'completed', 1],
      ['nap', 'completed', 2],
      ['after', 'completed', 1],
    ]);
    expect(mcpServer.callsOf(id, 'before')).toBe(1);
    expect(mcpServer.callsOf(id, 'after')).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    expect((await getRun(t.json, user.auth, id)).status).toBe('completed');
  });

  it('SIGTERM: past the deadline the run is released, and resumed by the next worker', async () => {
    const first = await startWorker({ WORKER_SHUTDOWN_TIMEOUT_MS: '300' });
    const wf = await createWorkflow(t.json, user.auth, [
      { id: 'before', tool: 'count' },
      { id: 'nap', tool: 'sleep', arguments: { ms: 2000 } },
    ]);
    const { id } = await execute(t.json, user.auth, wf.id);
    await waitForRun(t.json, user.auth, id, (r) => r.steps[1]?.status === 'running');
    // Exit 0 with the step still pending: the worker let go at its deadline instead of waiting out the nap.
    expect(await first.kill('SIGTERM')).toBe(0);
    const released = await getRun(t.json, user.auth, id);
    expect(released.status).toBe('queued');
    expect(released.steps.map((s) => s.status)).toEqual(['completed', 'pending']);

    await startWorker();
    const run = await waitForRun(t.json, user.auth, id, undefined, 20_000);
    expect(run.status).toBe('completed');
    expect(mcpServer.callsOf(id, 'before')).toBe(1);
  });

  it('Redis flushed with runs queued: the reconciler re-adds their jobs and they complete', async () => {
    const wf = await createWorkflow(t.json, user.auth, [{ id: 'c', tool: 'count' }]);
    const runs = await Promise.all([1, 2, 3].map(() => execute(t.json, user.auth, wf.id)));
    expect(await runQueue.queue.getJobState(runs[0]?.id as string)).toBe('waiting');
    await apiRedis.flushall();
    expect(await runQueue.queue.getJobState(runs[0]?.id as string)).toBe('unknown');

    await startWorker();
    for (const { id } of runs) {
      const run = await waitForRun(t.json, user.auth, id, undefined, 15_000);
      expect(run.status).toBe('completed');
      expect(mcpServer.callsOf(id, 'c')).toBe(1);
    }
  });
});
