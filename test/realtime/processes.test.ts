import { type ChildProcess, spawn } from 'node:child_process';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocket } from 'ws';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { freePort, type RunningServer, startRedis } from '../helpers/servers';
import { PROCESS_HOOK_MS, waitForHttp } from '../helpers/spawn-node';
import { TEST_JWT_SECRET } from '../helpers/test-app';
import { startWorkerProcess, type WorkerProcess } from '../workflows/worker-process';
import { sleep, TestClient } from './realtime-server';

/**
 * The real deployment shape: two `npm start` API processes and one `npm run worker`, sharing
 * Postgres and a Redis of this file's own. Workflow progress goes worker → Redis → every API
 * instance → the run owner's sockets (and admins'), nobody else's.
 */
describe('realtime across real API and worker processes', () => {
  let redis: RunningServer;
  let databaseUrl: string;
  const apis: Array<{ child: ChildProcess; http: string; ws: string }> = [];
  let worker: WorkerProcess;
  const clients: TestClient[] = [];

  const session = async (api: number, body: unknown, path = '/auth/register') => {
    const res = await fetch(`${apis[api]?.http}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return readJson(res, bodies.session);
  };
  const register = (api: number, name: string) =>
    session(api, {
      username: `${name}_${crypto.randomUUID().slice(0, 6)}`,
      email: `${crypto.randomUUID()}@example.com`,
      password: 'correct-horse-battery',
    });
  const connect = async (api: number, token: string) => {
    const client = new TestClient(new WebSocket(`${apis[api]?.ws}?token=${token}`));
    clients.push(client);
    await client.opened();
    return client;
  };
  const call = async (api: number, token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${apis[api]?.http}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return res.json() as Promise<any>;
  };

  beforeAll(async () => {
    const name = `rt_${crypto.randomUUID().replaceAll('-', '')}`;
    const admin = postgres(inject('postgresUrl'), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    databaseUrl = inject('postgresUrl').replace(/\/postgres$/, `/${name}`);
    redis = await startRedis();
    const env = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, JWT_SECRET: TEST_JWT_SECRET, NODE_ENV: 'test' };
    const startApi = async (extra: Record<string, string> = {}) => {
      const port = await freePort();
      // node --import tsx rather than the tsx binary: signals reach the server itself, and no
      // SIGKILLed wrapper leaves an orphaned server behind.
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/node/server.ts'], {
        env: {
          PATH: process.env.PATH,
          ...env,
          BACKEND_PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          ...extra,
        },
        stdio: 'ignore',
      });
      apis.push({ child, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/ws` });
      await waitForHttp(`http://127.0.0.1:${port}/health/live`);
    };
    // The first API migrates the empty database; the second and the worker start once it is up.
    await startApi({
      ADMIN_USERNAME: 'rt_admin',
      ADMIN_EMAIL: 'rt_admin@example.com',
      ADMIN_PASSWORD: 'admin-password-123',
    });
    [, worker] = await Promise.all([startApi(), startWorkerProcess({ ...env, LOG_LEVEL: 'info' })]);
  }, PROCESS_HOOK_MS);

  afterAll(async () => {
    for (const client of clients) client.ws.terminate();
    for (const api of apis) if (api.child.exitCode === null) api.child.kill('SIGKILL');
    await worker?.kill('SIGKILL');
    await redis?.stop();
  });

  it('streams a run’s progress from the worker to its owner on another instance, and to admins only besides', async () => {
    const alice = await register(0, 'alice');
    const bob = await register(0, 'bob');
    const root = await session(0, { username: 'rt_admin', password: 'admin-password-123' }, '/auth/login');

    const aliceOnB = await connect(1, alice.accessToken);
    const bobOnA = await connect(0, bob.accessToken);
    const rootOnA = await connect(0, root.accessToken);
    for (const client of [aliceOnB, bobOnA, rootOnA]) await client.subscribe('workflow');

    const { workflow } = await call(0, alice.accessToken, 'POST', '/api/workflows', {
      name: 'greet',
      steps: [
        { id: 'hello', tool: 'echo', arguments: { text: 'hi' } },
        { id: 'again', tool: 'echo', arguments: { text: '{{steps.hello.text}}' } },
      ],
    });
    const { run } = await call(0, alice.accessToken, 'POST', `/api/workflows/${workflow.id}/execute`, {});

    const isDone = (m: { payload: Record<string, any> }) =>
      m.payload.runId === run.id && m.payload.status === 'completed';
    const done = await aliceOnB.next(isDone, 15_000);
    expect(done).toMatchObject({
      event: 'workflow-status',
      channel: 'workflow',
      payload: { runId: run.id, workflowId: workflow.id, ownerId: alice.user.id, status: 'completed', totalSteps: 2 },
    });
    const seen = aliceOnB.received.filter((m) => m.payload.runId === run.id);
    expect(seen.some((m) => m.payload.status === 'running')).toBe(true);
    expect(seen.some((m) => m.payload.stepId === 'hello' && m.payload.stepStatus === 'completed')).toBe(true);

    // The admin on the other instance saw the very same sequence: each instance delivered every
    // event once (a duplicate or a gap on either side would make them differ).
    await rootOnA.next(isDone, 5000);
    expect(rootOnA.received.filter((m) => m.payload.runId === run.id)).toEqual(seen);
    await sleep(200);
    expect(bobOnA.received.filter((m) => m.event === 'workflow-status')).toEqual([]);

    // And the other way round: bob's run reaches bob, not alice.
    const bobs = await call(0, bob.accessToken, 'POST', '/api/workflows', {
      name: 'mine',
      steps: [{ id: 'one', tool: 'echo', arguments: { text: 'b' } }],
    });
    const bobRun = (await call(1, bob.accessToken, 'POST', `/api/workflows/${bobs.workflow.id}/execute`, {})).run;
    await bobOnA.next((m) => m.payload.runId === bobRun.id && m.payload.status === 'completed', 15_000);
    await sleep(200);
    expect(aliceOnB.received.filter((m) => m.payload.runId === bobRun.id)).toEqual([]);
  });

  it('delivers a chat message published on one API process to subscribers on both, once each', async () => {
    const alice = await register(1, 'carol');
    const bob = await register(0, 'dave');
    const onA = await connect(0, bob.accessToken);
    const onB = await connect(1, alice.accessToken);
    const alsoOnB = await connect(1, bob.accessToken);
    for (const client of [onA, onB, alsoOnB]) await client.subscribe('lobby');
    for (let i = 0; i < 20; i++) onB.send({ event: 'publish', channel: 'lobby', payload: { i } });
    for (const client of [onA, onB, alsoOnB]) {
      for (let i = 0; i < 20; i++)
        expect(await client.next()).toEqual({
          event: 'publish',
          channel: 'lobby',
          payload: { i, senderId: alice.user.id },
        });
    }
    await sleep(200);
    for (const client of [onA, onB, alsoOnB]) expect(client.pending()).toEqual([]);
  });

  it('on SIGTERM closes every socket with 1001 "server shutting down" and exits 0', async () => {
    const user = await register(1, 'erin');
    const sockets = [await connect(1, user.accessToken), await connect(1, user.accessToken)];
    await sockets[0]?.subscribe('room');
    const api = apis[1] as (typeof apis)[number];
    const exited = new Promise<number | null>((resolve) => api.child.once('exit', (code) => resolve(code)));
    api.child.kill('SIGTERM');
    for (const socket of sockets) expect(await socket.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await exited).toBe(0);
  });
});
