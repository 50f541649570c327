import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logging/logger';
import { createMcpClient } from '../../src/node/mcp-client-factory';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { freePort } from '../helpers/servers';
import { type CountingMcpServer, startCountingMcpServer } from './counting-mcp-server';
import { createWorkflow, createWorkflowTestApp } from './workflow-helpers';

let mcpServer: CountingMcpServer;
let t: Awaited<ReturnType<typeof createWorkflowTestApp>>;
let alice: Awaited<ReturnType<typeof t.registerUser>>;
let bob: Awaited<ReturnType<typeof t.registerUser>>;
let admin: Awaited<ReturnType<typeof t.registerUser>>;

const echo = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  tool: 'echo',
  arguments: { text: id },
  ...extra,
});

beforeAll(async () => {
  mcpServer = await startCountingMcpServer();
  t = await createWorkflowTestApp({ mcpUrl: mcpServer.url });
  alice = await t.registerUser();
  bob = await t.registerUser();
  admin = await t.registerUser('admin');
});

afterAll(async () => {
  await t?.close();
  await mcpServer?.close();
});

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string; details?: Array<{ path: string }> } }).error;
}

describe('/api/workflows CRUD', () => {
  it('creates, reads, lists (paginated), replaces and deletes a workflow', async () => {
    const created = await createWorkflow(t.json, alice.auth, [echo('a')], { description: 'first' });
    const got = await t.json('GET', `/api/workflows/${created.id}`, undefined, alice.auth);
    expect(got.status).toBe(200);
    const { workflow } = await readJson(got, bodies.workflow);
    expect(workflow).toMatchObject({
      id: created.id,
      ownerId: alice.user.id,
      projectId: null,
      name: 'wf',
      description: 'first',
      steps: [echo('a')],
      lastRun: null,
    });

    await createWorkflow(t.json, alice.auth, [echo('b')]);
    const page = await t.json('GET', '/api/workflows?page=2&limit=1', undefined, alice.auth);
    const body = await readJson(page, bodies.workflows);
    expect(body).toMatchObject({ total: 2, page: 2, limit: 1 });
    expect(body.items[0]?.id).toBe(created.id);

    const put = await t.json(
      'PUT',
      `/api/workflows/${created.id}`,
      { name: 'renamed', steps: [echo('x'), echo('y', { arguments: { text: '{{steps.x.text}}' } })] },
      alice.auth,
    );
    expect(put.status).toBe(200);
    expect((await readJson(put, bodies.workflow)).workflow).toMatchObject({
      name: 'renamed',
      description: null,
    });

    expect((await t.json('DELETE', `/api/workflows/${created.id}`, undefined, alice.auth)).status).toBe(204);
    expect((await t.json('GET', `/api/workflows/${created.id}`, undefined, alice.auth)).status).toBe(404);
    expect((await t.json('DELETE', `/api/workflows/${created.id}`, undefined, alice.auth)).status).toBe(404);
  });

  it('ignores fields a client may not set', async () => {
    const res = await t.json(
      'POST',
      '/api/workflows',
      { name: 'n', steps: [echo('a')], id: crypto.randomUUID(), ownerId: bob.user.id, lastRun: '2020-01-01T00:00:00Z' },
      alice.auth,
    );
    expect(res.status).toBe(201);
    const { workflow } = await readJson(res, bodies.workflow);
    expect(workflow.ownerId).toBe(alice.user.id);
    expect(workflow.lastRun).toBeNull();
  });

  it.each([
    ['no steps', { name: 'n', steps: [] }, 'steps'],
    ['101 steps', { name: 'n', steps: Array.from({ length: 101 }, (_, i) => echo(`s${i}`)) }, 'steps'],
    ['duplicate step ids', { name: 'n', steps: [echo('a'), echo('a')] }, 'steps.1.id'],
    ['a step id with a dot', { name: 'n', steps: [echo('a.b')] }, 'steps.0.id'],
    ['a missing tool', { name: 'n', steps: [{ id: 'a' }] }, 'steps.0.tool'],
    ['a negative timeout', { name: 'n', steps: [echo('a', { timeoutMs: -1 })] }, 'steps.0.timeoutMs'],
    ['too many retries', { name: 'n', steps: [echo('a', { retries: 11 })] }, 'steps.0.retries'],
    ['arguments that are not an object', { name: 'n', steps: [echo('a', { arguments: [1] })] }, 'steps.0.arguments'],
    [
      'a template reading a later step',
      { name: 'n', steps: [echo('a', { arguments: { text: '{{steps.b.text}}' } }), echo('b')] },
      'steps.0.arguments.text',
    ],
    [
      'a template reading an unknown step',
      { name: 'n', steps: [echo('a', { arguments: { deep: ['{{steps.zzz}}'] } })] },
      'steps.0.arguments.deep.0',
    ],
    ['a missing name', { steps: [echo('a')] }, 'name'],
    ['a malformed projectId', { name: 'n', steps: [echo('a')], projectId: 'nope' }, 'projectId'],
  ])('rejects %s with 400 and the issue path', async (_label, body, path) => {
    const res = await t.json('POST', '/api/workflows', body, alice.auth);
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('validation_error');
    expect(error.details?.map((d) => d.path)).toContain(path);
  });

  it("accepts the owner's project and rejects someone else's with 400 on projectId", async () => {
    const mine = await t.json('POST', '/projects', { name: 'p' }, alice.auth);
    const projectId = (await readJson(mine, bodies.project)).project.id;
    const ok = await createWorkflow(t.json, alice.auth, [echo('a')], { projectId });
    expect(ok.projectId).toBe(projectId);

    const res = await t.json('POST', '/api/workflows', { name: 'n', steps: [echo('a')], projectId }, bob.auth);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).details?.map((d) => d.path)).toEqual(['projectId']);
    const missing = await t.json(
      'POST',
      '/api/workflows',
      { name: 'n', steps: [echo('a')], projectId: crypto.randomUUID() },
      alice.auth,
    );
    expect(missing.status).toBe(400);
  });

  it('never answers 500 on odd ids and bodies', async () => {
    const cases: Array<[string, string, unknown?]> = [
      ['GET', '/api/workflows/not-a-uuid'],
      ['GET', `/api/workflows/${crypto.randomUUID()}`],
      ['POST', `/api/workflows/${crypto.randomUUID()}/execute`, {}],
      ['POST', '/api/workflows/not-a-uuid/execute', {}],
      ['GET', '/api/workflows/runs/not-a-uuid'],
      ['GET', `/api/workflows/runs/${crypto.randomUUID()}`],
      ['POST', `/api/workflows/runs/${crypto.randomUUID()}/cancel`],
      ['GET', '/api/workflows/queue?status=bogus'],
      ['GET', '/api/workflows?limit=1000'],
      ['PUT', `/api/workflows/${crypto.randomUUID()}`, { name: 'x', steps: [echo('a')] }],
    ];
    for (const [method, path, body] of cases) {
      const res = await t.json(method, path, body, alice.auth);
      expect([400, 404], `${method} ${path}`).toContain(res.status);
    }
    const wf = await createWorkflow(t.json, alice.auth, [echo('a')]);
    for (const body of ['[1]', '{"input": 5}', '{"input": [1]}', '{bad json']) {
      const res = await t.app.request(`/api/workflows/${wf.id}/execute`, {
        method: 'POST',
        headers: { ...alice.auth, 'content-type': 'application/json' },
        body,
      });
      expect(res.status, body).toBe(400);
    }
    const badKey = await t.json(
      'POST',
      `/api/workflows/${wf.id}/execute`,
      {},
      { ...alice.auth, 'idempotency-key': '' },
    );
    expect(badKey.status).toBe(400);
    expect((await t.json('GET', '/api/workflows', undefined, {})).status).toBe(401);
  });

  it('executes only workflows the caller may run; a used Idempotency-Key does not turn a 404 into a replay', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [echo('a'), echo('b', { retries: 2 })]);
    const bobs = await createWorkflow(t.json, bob.auth, [echo('x')]);
    const key = { 'idempotency-key': `key-${crypto.randomUUID()}` };
    expect((await t.json('POST', `/api/workflows/${bobs.id}/execute`, {}, { ...bob.auth, ...key })).status).toBe(202);
    for (const headers of [bob.auth, { ...bob.auth, ...key }]) {
      const res = await t.json('POST', `/api/workflows/${wf.id}/execute`, {}, headers);
      expect(res.status).toBe(404);
      expect((await errorOf(res)).message).toBe('Workflow not found');
    }

    // An admin may run anyone's workflow; the run is the admin's. The run starts from the workflow's steps.
    const res = await t.json('POST', `/api/workflows/${wf.id}/execute`, { input: { n: 1 } }, { ...admin.auth, ...key });
    expect(res.status).toBe(202);
    const { run } = await readJson(res, bodies.run);
    expect(run).toMatchObject({ workflowId: wf.id, ownerId: admin.user.id, status: 'queued', input: { n: 1 } });
    expect(run.steps).toEqual([
      expect.objectContaining({ id: 'a', tool: 'echo', status: 'pending', attempts: 0 }),
      expect.objectContaining({ id: 'b', tool: 'echo', status: 'pending', attempts: 0 }),
    ]);
    expect(new Date(run.createdAt as string).getTime()).not.toBeNaN();
    // A body declared empty is no body: input {}.
    const empty = await t.app.request(`/api/workflows/${wf.id}/execute`, {
      method: 'POST',
      headers: { ...alice.auth, 'content-length': '0' },
    });
    expect(empty.status).toBe(202);
    expect((await readJson(empty, bodies.run)).run.input).toEqual({});
    // Replayed with the same key, the workflow id spelled in upper case.
    const again = await t.json(
      'POST',
      `/api/workflows/${wf.id.toUpperCase()}/execute`,
      { input: { n: 1 } },
      { ...admin.auth, ...key },
    );
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await readJson(again, bodies.run)).run.id).toBe(run.id);
  });

  it('lets an admin see and edit any workflow', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [echo('a')]);
    expect((await t.json('GET', `/api/workflows/${wf.id}`, undefined, admin.auth)).status).toBe(200);
    const list = await t.json('GET', '/api/workflows?limit=100', undefined, admin.auth);
    expect((await readJson(list, bodies.workflows)).items.some((i) => i.id === wf.id)).toBe(true);
  });
});

describe('GET /tools/list', () => {
  it('lists the upstream tools with name, description and inputSchema', async () => {
    const res = await t.json('GET', '/tools/list', undefined, alice.auth);
    expect(res.status).toBe(200);
    const { tools } = await readJson(res, bodies.tools);
    const echoTool = tools.find((tool) => tool.name === 'echo');
    expect(echoTool?.description).toMatch(/text/);
    expect(echoTool?.inputSchema.type).toBe('object');
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['calculate', 'note_set', 'sleep', 'count']));
  });

  it('answers 503 with a clear error when the MCP server is down', async () => {
    const down = createMcpClient({ mcpUrl: `http://127.0.0.1:${await freePort()}/mcp` }, silentLogger);
    const previous = t.deps.mcp;
    t.deps.mcp = down;
    try {
      const res = await t.json('GET', '/tools/list', undefined, alice.auth);
      expect(res.status).toBe(503);
      const error = await errorOf(res);
      expect(error.code).toBe('service_unavailable');
      expect(error.message).toBe('The MCP server is unavailable; try again later');
    } finally {
      t.deps.mcp = previous;
      await down.close();
    }
  });
});
