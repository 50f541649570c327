import postgres from 'postgres';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { createTestDatabase, TEST_JWT_SECRET } from '../helpers/test-app';
import { startWorkerProcess, type WorkerProcess } from '../workflows/worker-process';
import { type EdgeWorker, edgeClient, startEdgeWorker } from './edge-worker';
import { WsClient } from './ws-client';

const EVENTS_SECRET = 'edge-events-secret-that-is-32-bytes-or-more';

let edge: EdgeWorker;
let worker: WorkerProcess;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: postgres.Sql;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = postgres(database.url, { max: 1, onnotice: () => {} });
  edge = await startEdgeWorker({
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: database.url,
    EDGE_EVENTS_SECRET: EVENTS_SECRET,
  });
  const id = crypto.randomUUID().slice(0, 8);
  worker = await startWorkerProcess({
    DATABASE_URL: database.url,
    REDIS_URL: inject('redisUrl'),
    WORKFLOW_QUEUE_NAME: `edge-${id}`,
    BULLMQ_PREFIX: `edge-${id}`,
    EDGE_EVENTS_URL: `${edge.url}/internal/events`,
    EDGE_EVENTS_SECRET: EVENTS_SECRET,
    WORKER_METRICS_PORT: '0',
    // The reconciler's sweep is pushed out of the test's reach: only NOTIFY can make the pickup prompt.
    RECONCILE_INTERVAL_MS: '600000',
    RECONCILE_GRACE_MS: '600000',
  });
});

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await edge?.close();
  await sql?.end();
  await database?.close();
});

it('runs a workflow executed on the edge in the Node worker and streams its progress back to edge /ws clients', async () => {
  const client = edgeClient(edge.url);
  const owner = await client.register();
  const socket = await WsClient.connect(edge.url, owner.accessToken);
  try {
    await socket.subscribe('workflow');
    const created = await client.call(
      'POST',
      '/api/workflows',
      {
        name: 'edge to node',
        steps: [
          { id: 'greet', tool: 'echo', arguments: { text: '{{input.name}}' } },
          { id: 'sum', tool: 'calculate', arguments: { op: 'add', a: 2, b: 3 } },
        ],
      },
      owner.auth,
    );
    expect(created.status).toBe(201);
    const { workflow } = await readJson(created, bodies.workflow);
    const executed = await client.call(
      'POST',
      `/api/workflows/${workflow.id}/execute`,
      { input: { name: 'edge' } },
      owner.auth,
    );
    expect(executed.status).toBe(202);
    const { run } = await readJson(executed, bodies.run);

    const done = await socket.next(
      (f) => f.event === 'workflow-status' && f.payload.runId === run.id && f.payload.status === 'completed',
      15_000,
    );
    expect(done.payload.ownerId).toBe(owner.user.id);
    const statuses = socket.frames.filter((f) => f.payload.runId === run.id).map((f) => f.payload.status);
    expect(statuses).toContain('running');

    // With the reconciler's sweep ten minutes out, only NOTIFY can have handed the run to the worker.
    const [row] = await sql`select status from workflow_queue where id = ${run.id}`;
    expect(row?.status).toBe('completed');

    const fetched = await client.call('GET', `/api/workflows/runs/${run.id}`, undefined, owner.auth);
    const body = await readJson(fetched, bodies.run);
    expect(body.run.status).toBe('completed');
    expect(body.run.steps.map((s) => s.status)).toEqual(['completed', 'completed']);
  } finally {
    socket.close();
  }
});
