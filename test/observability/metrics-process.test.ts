import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { freePort } from '../helpers/servers';
import { PROCESS_HOOK_MS, type SpawnedNode, spawnEntry, waitForHttp } from '../helpers/spawn-node';
import { TEST_JWT_SECRET } from '../helpers/test-app';
import { sample } from './prometheus-text';
import { promtoolFindings } from './promtool';

const METRICS_TOKEN = 'process-scrape-token-0123456789';
const ADMIN = { username: 'metrics_admin', email: 'metrics_admin@example.com', password: 'admin-password-123' };

async function freshDatabase(): Promise<string> {
  const name = `met_${crypto.randomUUID().replaceAll('-', '')}`;
  const admin = postgres(inject('postgresUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  return inject('postgresUrl').replace(/\/postgres$/, `/${name}`);
}

const commonEnv = (databaseUrl: string) => ({
  DATABASE_URL: databaseUrl,
  JWT_SECRET: TEST_JWT_SECRET,
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  METRICS_TOKEN,
  LOG_LEVEL: 'info',
});

async function adminToken(base: string): Promise<string> {
  const res = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: ADMIN.username, password: ADMIN.password }),
  });
  expect(res.status).toBe(200);
  return (await readJson(res, bodies.session)).accessToken;
}

/** Creates a one-step echo workflow, executes it and waits for the run's end. */
async function runEchoWorkflow(base: string, token: string): Promise<string> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const created = await fetch(`${base}/api/workflows`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'metrics', steps: [{ id: 'say', tool: 'echo', arguments: { text: 'hello' } }] }),
  });
  expect(created.status).toBe(201);
  const { workflow } = await readJson(created, bodies.workflow);
  const executed = await fetch(`${base}/api/workflows/${workflow.id}/execute`, { method: 'POST', headers });
  expect(executed.status).toBe(202);
  const { run } = await readJson(executed, bodies.run);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(`${base}/api/workflows/runs/${run.id}`, { headers });
    const { run: current } = await readJson(res, bodies.run);
    if (['completed', 'failed', 'cancelled'].includes(current.status)) return current.status;
    if (Date.now() > deadline) throw new Error(`run still ${current.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const scrape = async (url: string) => {
  const res = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
};

function stop(node: SpawnedNode | undefined) {
  if (node && node.child.exitCode === null) node.child.kill('SIGKILL');
}

describe('metrics of the real Node processes', () => {
  describe('API alone (no Redis: it executes runs itself)', () => {
    let api: SpawnedNode;
    let base: string;

    beforeAll(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      api = spawnEntry('src/node/server.ts', {
        ...commonEnv(await freshDatabase()),
        BACKEND_PORT: String(port),
        ADMIN_USERNAME: ADMIN.username,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      });
      await waitForHttp(`${base}/health/live`);
    }, PROCESS_HOOK_MS);

    afterAll(() => stop(api));

    it('exposes runs, MCP calls, HTTP latency and WebSocket connections and messages', async () => {
      const token = await adminToken(base);
      expect(await runEchoWorkflow(base, token)).toBe('completed');

      const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${token}` } });
      const acked = new Promise<void>((resolve, reject) => {
        ws.on('message', (data) => {
          if (String(data).includes('"subscribed"')) resolve();
        });
        ws.on('error', reject);
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ event: 'subscribe', channel: 'workflow' }));
      await acked;

      const body = await scrape(`${base}/metrics`);
      expect(sample(body, 'workflow_runs_total', { process: 'api', outcome: 'completed' })).toBe(1);
      expect(sample(body, 'workflow_run_duration_seconds_count', { outcome: 'completed' })).toBe(1);
      expect(sample(body, 'workflow_run_queue_wait_seconds_count')).toBe(1);
      expect(sample(body, 'mcp_call_duration_seconds_count', { tool: 'echo', outcome: 'ok' })).toBe(1);
      expect(sample(body, 'workflow_queue_depth', { status: 'completed' })).toBe(1);
      expect(
        sample(body, 'http_request_duration_seconds_count', { route: '/auth/login', method: 'POST', status: '200' }),
      ).toBe(1);
      expect(sample(body, 'ws_connections')).toBe(1);
      expect(sample(body, 'ws_connections_total')).toBe(1);
      expect(sample(body, 'ws_messages_total', { direction: 'in' })).toBeGreaterThanOrEqual(1);
      expect(sample(body, 'ws_messages_total', { direction: 'out' })).toBeGreaterThanOrEqual(1);
      // prom-client's process metrics come along.
      expect(sample(body, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(promtoolFindings(body)).toBe('');

      ws.close();
      const deadline = Date.now() + 5000;
      while (sample(await scrape(`${base}/metrics`), 'ws_connections') !== 0) {
        if (Date.now() > deadline) throw new Error('ws_connections did not drop to 0');
        await new Promise((r) => setTimeout(r, 50));
      }
    });
  });

  describe('API + worker (Redis): the worker serves its own metrics port', () => {
    let api: SpawnedNode;
    let worker: SpawnedNode;
    let base: string;
    let workerBase: string;

    beforeAll(async () => {
      const databaseUrl = await freshDatabase();
      const queue = {
        WORKFLOW_QUEUE_NAME: `metrics-${crypto.randomUUID().slice(0, 8)}`,
        REDIS_URL: inject('redisUrl'),
      };
      const [port, metricsPort] = [await freePort(), await freePort()];
      base = `http://127.0.0.1:${port}`;
      workerBase = `http://127.0.0.1:${metricsPort}`;
      api = spawnEntry('src/node/server.ts', {
        ...commonEnv(databaseUrl),
        ...queue,
        BACKEND_PORT: String(port),
        ADMIN_USERNAME: ADMIN.username,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      });
      await waitForHttp(`${base}/health/live`);
      worker = spawnEntry('src/node/worker.ts', {
        ...commonEnv(databaseUrl),
        ...queue,
        WORKER_METRICS_PORT: String(metricsPort),
      });
      await waitForHttp(`${workerBase}/health`);
    }, PROCESS_HOOK_MS);

    afterAll(() => {
      stop(api);
      stop(worker);
    });

    it('counts the run and its MCP call in the worker, not in the API', async () => {
      const token = await adminToken(base);
      expect(await runEchoWorkflow(base, token)).toBe('completed');

      const fromWorker = await scrape(`${workerBase}/metrics`);
      expect(sample(fromWorker, 'workflow_runs_total', { process: 'worker', outcome: 'completed' })).toBe(1);
      expect(sample(fromWorker, 'workflow_run_queue_wait_seconds_count')).toBe(1);
      expect(sample(fromWorker, 'mcp_call_duration_seconds_count', { tool: 'echo', outcome: 'ok' })).toBe(1);
      expect(sample(fromWorker, 'workflow_queue_depth', { status: 'completed' })).toBe(1);

      const fromApi = await scrape(`${base}/metrics`);
      expect(sample(fromApi, 'workflow_runs_total', { outcome: 'completed' })).toBeUndefined();
      expect(sample(fromApi, 'workflow_queue_depth', { status: 'completed' })).toBe(1);

      // Both expositions pass promtool; the worker serves no HTTP or WebSocket series it never fills.
      expect(promtoolFindings(fromWorker)).toBe('');
      expect(promtoolFindings(fromApi)).toBe('');
      expect(fromWorker).not.toMatch(/^# TYPE (http_|ws_|mcp_gateway_)/m);
    });

    it('wants the metrics token on the worker port too, and reports health there', async () => {
      expect((await fetch(`${workerBase}/metrics`)).status).toBe(401);
      const health = await fetch(`${workerBase}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({
        status: 'ok',
        checks: { db: { status: 'up' }, redis: { status: 'up' } },
      });
    });
  });
});
