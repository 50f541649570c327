import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../helpers/openapi-responses';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { createTestApp, createTestDatabase, TEST_JWT_SECRET } from '../helpers/test-app';
import { type EdgeWorker, edgeClient, startEdgeWorker } from './edge-worker';

let edge: EdgeWorker;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: postgres.Sql;
let call: ReturnType<typeof edgeClient>['call'];
let register: ReturnType<typeof edgeClient>['register'];

beforeAll(async () => {
  database = await createTestDatabase();
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
  // Info level: the isolate logs when it builds the app.
  edge = await startEdgeWorker({ JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: database.url, LOG_LEVEL: 'info' });
  ({ call, register } = edgeClient(edge.url));
});

afterAll(async () => {
  await edge?.close();
  await sql?.end();
  await database?.close();
});

describe('the API on the Workers runtime', () => {
  it('answers health checks from Postgres', async () => {
    const live = await call('GET', '/health/live');
    expect(live.status).toBe(200);
    const health = await call('GET', '/health');
    const body = await readJson(health, bodies.health);
    expect(health.status).toBe(200);
    expect(body.checks.db?.status).toBe('up');
    const openapi = await call('GET', '/openapi.json');
    expect(openapi.status).toBe(200);
    expect((await readJson(openapi, openApiDocument)).openapi).toMatch(/^3\./);
  });

  it('documents the API exactly as Node does (the bundle converts zod schemas with zod itself)', async () => {
    const node = await createTestApp();
    try {
      const nodeDoc = await readJson(await node.app.request('/openapi.json'), openApiDocument);
      const edgeDoc = await readJson(await call('GET', '/openapi.json'), openApiDocument);
      expect(edgeDoc.components).toEqual(nodeDoc.components);
      for (const [path, operations] of Object.entries(nodeDoc.paths))
        expect(edgeDoc.paths[path], path).toEqual(operations);
    } finally {
      await node.close();
    }
  });

  it('lists the built-in tools (their MCP server runs in the isolate, validating without Ajv)', async () => {
    const user = await register();
    const res = await call('GET', '/tools/list', undefined, user.auth);
    expect(res.status).toBe(200);
    const { tools } = await readJson(res, bodies.tools);
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['echo', 'calculate', 'get_time']));
  });

  it('registers, logs in, refreshes and reads the profile', async () => {
    const alice = await register();
    const login = await call('POST', '/auth/login', { username: alice.username, password: 'correct-horse-battery' });
    expect(login.status).toBe(200);
    const tokens = await readJson(login, bodies.session);
    const profile = await call('GET', '/profile', undefined, { authorization: `Bearer ${tokens.accessToken}` });
    expect(profile.status).toBe(200);
    expect((await readJson(profile, bodies.user)).user.username).toBe(alice.username);
    const refreshed = await call('POST', '/auth/refresh', { refreshToken: tokens.refreshToken });
    expect(refreshed.status).toBe(200);
    const [row] = await sql`select count(*)::int as n from users where username = ${alice.username}`;
    expect(row?.n).toBe(1);
  });

  it('refuses missing and forged tokens with 401', async () => {
    expect((await call('GET', '/profile')).status).toBe(401);
    const forged = await call('GET', '/profile', undefined, { authorization: 'Bearer not.a.jwt' });
    expect(forged.status).toBe(401);
    expect((await readJson(forged, bodies.error)).error.code).toBe('unauthorized');
    expect((await call('GET', '/projects')).status).toBe(401);
    expect((await call('GET', '/api/workflows')).status).toBe(401);
  });

  it('creates, lists, updates and deletes projects', async () => {
    const bob = await register();
    const created = await call('POST', '/projects', { name: 'Edge project' }, bob.auth);
    expect(created.status).toBe(201);
    const { project } = await readJson(created, bodies.project);
    const list = await readJson(await call('GET', '/projects?page=1&limit=10', undefined, bob.auth), bodies.projects);
    expect(list.total).toBe(1);
    const updated = await call('PUT', `/projects/${project.id}`, { name: 'Renamed' }, bob.auth);
    expect(updated.status).toBe(200);
    const other = await register();
    expect((await call('GET', `/projects/${project.id}`, undefined, other.auth)).status).toBe(404);
    expect((await call('DELETE', `/projects/${project.id}`, undefined, bob.auth)).status).toBe(204);
  });

  it('executes a workflow by writing its workflow_queue row and announcing it with NOTIFY', async () => {
    const carol = await register();
    const notified: string[] = [];
    const listener = await sql.listen('workflow_runs', (runId) => notified.push(runId));
    try {
      const created = await call(
        'POST',
        '/api/workflows',
        { name: 'Edge flow', steps: [{ id: 'one', tool: 'echo', arguments: { text: 'hi' } }] },
        carol.auth,
      );
      expect(created.status).toBe(201);
      const { workflow } = await readJson(created, bodies.workflow);
      const executed = await call('POST', `/api/workflows/${workflow.id}/execute`, { input: { n: 1 } }, carol.auth);
      expect(executed.status).toBe(202);
      const { run } = await readJson(executed, bodies.run);
      expect(run.status).toBe('queued');
      const [row] = await sql`select status, owner_id, input from workflow_queue where id = ${run.id}`;
      expect(row).toMatchObject({ status: 'queued', owner_id: carol.user.id, input: { n: 1 } });
      await expect.poll(() => notified).toContain(run.id);
      const queue = await readJson(await call('GET', '/api/workflows/queue', undefined, carol.auth), bodies.runQueue);
      expect(queue.counts.queued).toBe(1);
    } finally {
      await listener.unlisten();
    }
  });

  it('blocks an IP after more than 5 failed logins within a minute (Postgres store)', async () => {
    const dave = await register();
    const ip = { 'cf-connecting-ip': `203.0.113.${Math.floor(Math.random() * 200) + 1}` };
    for (let i = 0; i < 5; i++) {
      const res = await call('POST', '/auth/login', { username: dave.username, password: 'wrong-password!' }, ip);
      expect(res.status).toBe(401);
    }
    const sixth = await call('POST', '/auth/login', { username: dave.username, password: 'wrong-password!' }, ip);
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThan(0);
    const rightPassword = await call(
      'POST',
      '/auth/login',
      { username: dave.username, password: 'correct-horse-battery' },
      ip,
    );
    expect(rightPassword.status).toBe(429);
  });

  it('takes role changes and logout-everywhere (done on Node) from the user row at once, as Node does', async () => {
    const node = await createTestApp({ db: database.db });
    try {
      const root = await node.registerUser('admin');
      const erin = await register();
      const setRole = (role: 'user' | 'admin') =>
        node.json('PATCH', `/admin/users/${erin.user.id}`, { role }, root.auth);
      const adminList = (token: string) => call('GET', '/admin/users', undefined, { authorization: `Bearer ${token}` });
      expect((await adminList(erin.accessToken)).status).toBe(403);
      expect((await setRole('admin')).status).toBe(200);
      expect((await adminList(erin.accessToken)).status).toBe(200);

      const login = await call('POST', '/auth/login', { username: erin.username, password: 'correct-horse-battery' });
      const { accessToken } = await readJson(login, bodies.session);
      expect((await adminList(accessToken)).status).toBe(200);
      expect((await setRole('user')).status).toBe(200);
      expect((await adminList(accessToken)).status).toBe(403);

      expect((await setRole('admin')).status).toBe(200);
      expect((await adminList(accessToken)).status).toBe(200);
      const bearer = { authorization: `Bearer ${accessToken}` };
      expect((await node.json('POST', '/auth/logout-all', undefined, bearer)).status).toBe(204);
      expect((await adminList(accessToken)).status).toBe(401);
      expect((await call('GET', '/projects', undefined, bearer)).status).toBe(401);
    } finally {
      await node.close();
    }
  });

  it('builds the app once per isolate and gives each of many concurrent requests its own connection', async () => {
    const users = await Promise.all([register(), register(), register()]);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => call('GET', '/profile', undefined, users[i % users.length]?.auth)),
    );
    const names = await Promise.all(
      answers.map(async (res) => {
        expect(res.status).toBe(200);
        return (await readJson(res, bodies.user)).user.username;
      }),
    );
    expect(names).toEqual(Array.from({ length: 30 }, (_, i) => users[i % users.length]?.username));
    expect(edge.logs.filter((line) => line.includes('"msg":"edge app built"'))).toHaveLength(1);
  });

  it('prefers a Hyperdrive binding over DATABASE_URL', async () => {
    const viaHyperdrive = await startEdgeWorker(
      { JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/unreachable' },
      // Miniflare wants a password in a Hyperdrive URL; the test server trusts any.
      { HYPERDRIVE: database.url.replace('//postgres@', '//postgres:unused@') },
    );
    try {
      const { register: registerThere, call: callThere } = edgeClient(viaHyperdrive.url);
      const user = await registerThere();
      const [row] = await sql`select count(*)::int as n from users where id = ${user.user.id}`;
      expect(row?.n).toBe(1);
      const health = await readJson(await callThere('GET', '/health'), bodies.health);
      expect(health.checks.db?.status).toBe('up');
    } finally {
      await viaHyperdrive.close();
    }
  });

  it('answers 503 and names nothing to the client when JWT_SECRET or the database is missing', async () => {
    const bare = await startEdgeWorker({ DATABASE_URL: database.url });
    try {
      const res = await fetch(`${bare.url}/health/live`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        error: { code: 'service_unavailable', message: 'The service is not configured' },
      });
      await expect.poll(() => bare.logs.join('\n')).toMatch(/JWT_SECRET is required/);
    } finally {
      await bare.close();
    }
  });
});
