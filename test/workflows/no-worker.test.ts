import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonClient } from '../helpers/json-client';
import { freePort, type RunningServer, startRedis } from '../helpers/servers';
import { PROCESS_HOOK_MS, type SpawnedNode, spawnEntry, waitForHttp } from '../helpers/spawn-node';
import { createEmptyDatabaseUrl, TEST_JWT_SECRET } from '../helpers/test-app';
import { until } from '../helpers/until';
import { sample } from '../observability/prometheus-text';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

/**
 * `REDIS_URL` set and no worker running: the API (a real process) says so at start, in its log
 * while runs wait, in /health, in /metrics and in the waiting run itself; a worker that then
 * starts is seen and takes the run.
 */
const METRICS_TOKEN = 'no-worker-metrics-token-0123456789';
const NO_WORKER = 'No worker is consuming the queue: the run starts when one does (npm run worker)';

let redis: RunningServer;
let api: SpawnedNode;
let worker: WorkerProcess | undefined;
let base: string;
let call: ReturnType<typeof jsonClient>;
let databaseUrl: string;
const queueEnv = { BULLMQ_PREFIX: 'lonely', WORKFLOW_QUEUE_NAME: 'lonely-runs' };

beforeAll(async () => {
  redis = await startRedis();
  databaseUrl = await createEmptyDatabaseUrl('noworker');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  call = jsonClient(base);
  api = spawnEntry('src/node/server.ts', {
    BACKEND_PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    JWT_SECRET: TEST_JWT_SECRET,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    METRICS_TOKEN,
    WORKER_CHECK_INTERVAL_MS: '200',
    ...queueEnv,
  });
  await waitForHttp(`${base}/health/live`);
}, PROCESS_HOOK_MS);

afterAll(async () => {
  await worker?.kill('SIGKILL');
  if (api && api.child.exitCode === null) api.child.kill('SIGKILL');
  await redis?.stop();
});

function warnings(): Array<Record<string, unknown>> {
  return api
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l.msg === 'string' && /worker/.test(l.msg as string));
}

describe('REDIS_URL set and no worker running', () => {
  it('is said at start, in /health, in /metrics, in the waiting run and in the log; a worker that starts takes over', async () => {
    // At start, before any run.
    const atStart = await until(() => warnings().find((l) => l.level === 40));
    expect(atStart).toMatchObject({ queue: 'lonely-runs', queued: 0 });

    const health = await call('/health');
    expect(health.status).toBe(200);
    expect(health.body.checks.workers).toMatchObject({
      status: 'down',
      count: 0,
      error: expect.stringMatching(/no worker/),
    });

    const { body: session } = await call('/auth/register', undefined, {
      username: 'lonely',
      email: 'lonely@example.com',
      password: 'correct-horse-battery',
    });
    const token = session.accessToken as string;
    const { body: created } = await call('/api/workflows', token, {
      name: 'w',
      steps: [{ id: 'e', tool: 'echo', arguments: { text: 'x' } }],
    });
    const executed = await call(`/api/workflows/${created.workflow.id}/execute`, token, {});
    expect(executed.status).toBe(202);
    expect(executed.body.run.statusDetail).toBe(NO_WORKER);
    const runId = executed.body.run.id as string;
    expect((await call(`/api/workflows/runs/${runId}`, token)).body.run).toMatchObject({
      status: 'queued',
      statusDetail: NO_WORKER,
    });

    // Periodically while runs wait.
    const periodic = await until(() => warnings().find((l) => l.level === 40 && l.queued === 1));
    expect(periodic.msg).toBe(atStart.msg);

    const scrape = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(sample(await scrape.text(), 'workflow_workers', { queue: 'lonely-runs' })).toBe(0);

    // A worker starts: seen everywhere, and it takes the waiting run.
    worker = await startWorkerProcess({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      WORKER_METRICS_PORT: '0',
      ...queueEnv,
    });
    const run = await until(async () => {
      const current = (await call(`/api/workflows/runs/${runId}`, token)).body.run;
      return current.status === 'completed' ? current : undefined;
    });
    expect(run.statusDetail).toBeNull();
    const back = await until(() => warnings().find((l) => l.msg === 'workers are consuming the queue again'));
    expect(back).toMatchObject({ level: 30, workers: 1 });
    const healthy = await until(async () => {
      const r = await call('/health');
      return r.body.checks.workers.status === 'up' ? r.body.checks.workers : undefined;
    });
    expect(healthy.count).toBe(1);
    const withWorker = await (
      await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    expect(sample(withWorker, 'workflow_workers', { queue: 'lonely-runs' })).toBe(1);
  }, PROCESS_HOOK_MS);
});
