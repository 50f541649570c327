import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projects, users, workflowQueue, workflows } from '../src/db/schema';
import { createBuiltinMcpClient } from '../src/node/mcp-client-factory';
import { readJson } from './helpers/read-json';
import { bodies } from './helpers/response-bodies';
import { createTestApp } from './helpers/test-app';
import { createWorkflow, createWorkflowTestApp, execute, waitForRun } from './workflows/workflow-helpers';

// Sent as raw JSON text: `\u0000` and a lone `\udaef` are what a client's JSON carries.
const NUL = '\\u0000';
const LONE = '\\udaef';

let t: Awaited<ReturnType<typeof createTestApp>>;
/** The same app without local Swagger UI files, as on the edge. */
let edgeLike: Awaited<ReturnType<typeof createTestApp>>;
let alice: Awaited<ReturnType<typeof t.registerUser>>;

beforeAll(async () => {
  t = await createTestApp();
  edgeLike = await createTestApp({ db: t.db, overrides: { docsAssets: undefined } });
  alice = await t.registerUser();
});
afterAll(() => t.close());

function send(method: string, path: string, rawJson: string, headers: Record<string, string> = {}) {
  return t.app.request(path, {
    method,
    headers: { 'content-type': 'application/json', ...alice.auth, ...headers },
    body: rawJson,
  });
}

async function expectRefused(res: Response, path: string) {
  const text = await res.text();
  expect(res.status, text).toBe(400);
  const body = JSON.parse(text) as { error: { code: string; details: { path: string; message: string }[] } };
  expect(body.error.code).toBe('validation_error');
  const onPath = body.error.details.filter((d) => d.path === path);
  expect(onPath.map((d) => d.message).join('; '), text).toMatch(/NUL \(U\+0000\) or unpaired surrogate/);
}

describe('NUL characters and lone surrogates are refused at validation (400), never stored or 500', () => {
  it.each([
    ['NUL', NUL],
    ['a lone surrogate', LONE],
  ])('in projects, workflows, steps and run input (%s)', async (_name, bad) => {
    const before = await Promise.all(
      [projects, workflows, workflowQueue].map((table) => t.db.select({ n: count() }).from(table)),
    );

    await expectRefused(await send('POST', '/projects', `{"name":"a${bad}b"}`), 'name');
    await expectRefused(await send('POST', '/projects', `{"name":"ok","description":"x${bad}"}`), 'description');

    const step = (args: string) => `{"name":"wf","steps":[{"id":"s","tool":"echo","arguments":${args}}]}`;
    await expectRefused(
      await send('POST', '/api/workflows', `{"name":"w${bad}","steps":[{"id":"s","tool":"echo"}]}`),
      'name',
    );
    await expectRefused(await send('POST', '/api/workflows', step(`{"text":"${bad}"}`)), 'steps.0.arguments.text');
    await expectRefused(
      await send('POST', '/api/workflows', step(`{"deep":[{"x":["ok","${bad}"]}]}`)),
      'steps.0.arguments.deep.0.x.1',
    );
    await expectRefused(
      await send('POST', '/api/workflows', step(`{"k${bad}":1}`)),
      `steps.0.arguments.k${JSON.parse(`"${bad}"`)}`,
    );
    await expectRefused(
      await send('POST', '/api/workflows', `{"name":"wf","steps":[{"id":"s","tool":"echo${bad}"}]}`),
      'steps.0.tool',
    );

    const wf = await createWorkflow(t.json, alice.auth, [{ id: 's', tool: 'echo', arguments: { text: 'hi' } }]);
    await expectRefused(
      await send(
        'PUT',
        `/api/workflows/${wf.id}`,
        `{"name":"wf","description":"${bad}","steps":[{"id":"s","tool":"echo"}]}`,
      ),
      'description',
    );
    await expectRefused(
      await send('POST', `/api/workflows/${wf.id}/execute`, `{"input":{"a":{"b":"${bad}"}}}`),
      'input.a.b',
    );

    const project = await t.json('POST', '/projects', { name: 'kept' }, alice.auth);
    const { project: p } = await readJson(project, bodies.project);
    await expectRefused(await send('PUT', `/projects/${p.id}`, `{"name":"${bad}"}`), 'name');

    // Nothing was written by any refused request: one project and one workflow more, no run.
    const after = await Promise.all(
      [projects, workflows, workflowQueue].map((table) => t.db.select({ n: count() }).from(table)),
    );
    expect(after.map(([r]) => r?.n)).toEqual([
      (before[0]?.[0]?.n ?? 0) + 1,
      (before[1]?.[0]?.n ?? 0) + 1,
      before[2]?.[0]?.n ?? 0,
    ]);
    const kept = await t.json('GET', `/projects/${p.id}`, undefined, alice.auth);
    expect((await readJson(kept, bodies.project)).project.name).toBe('kept');
  });

  it.each([
    ['NUL', NUL],
    ['a lone surrogate', LONE],
  ])('in registration (%s)', async (_name, bad) => {
    const [before] = await t.db.select({ n: count() }).from(users);
    const register = (body: string) => send('POST', '/auth/register', body);
    await expectRefused(
      await register(`{"username":"u${bad}x","email":"u@example.com","password":"long-password"}`),
      'username',
    );
    await expectRefused(
      await register(`{"username":"nulmail","email":"u${bad}@example.com","password":"long-password"}`),
      'email',
    );
    await expectRefused(
      await register(`{"username":"nulpass","email":"p@example.com","password":"long-pass${bad}"}`),
      'password',
    );
    const [after] = await t.db.select({ n: count() }).from(users);
    expect(after?.n).toBe(before?.n);
  });

  it('in a login, before the brute-force guard counts it', async () => {
    const peer = { 'x-test-peer': '198.51.100.77' };
    for (let i = 0; i < 8; i++) {
      await expectRefused(
        await send('POST', '/auth/login', `{"username":"${alice.username}${NUL}","password":"x"}`, peer),
        'username',
      );
      await expectRefused(
        await send('POST', '/auth/login', `{"email":"a${LONE}@example.com","password":"x"}`, peer),
        'email',
      );
    }
    // Sixteen refused bodies counted nothing: the right password still gets in from that address.
    const ok = await t.json('POST', '/auth/login', { username: alice.username, password: alice.password }, peer);
    expect(ok.status).toBe(200);
  });

  it('deeply nested run input and step arguments are a 400 too (no stack overflow, no quadratic walk)', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const wfRes = await send(
      'POST',
      '/api/workflows',
      `{"name":"w","steps":[{"id":"s","tool":"echo","arguments":{"x":${deep}}}]}`,
    );
    expect(wfRes.status).toBe(400);
    expect((await wfRes.json()).error.details[0].message).toBe('must not nest deeper than 64 levels');
    const wf = await createWorkflow(t.json, alice.auth, [{ id: 's', tool: 'echo', arguments: { text: 'hi' } }]);
    const runRes = await send('POST', `/api/workflows/${wf.id}/execute`, `{"input":{"x":${deep}}}`);
    expect(runRes.status).toBe(400);
    // 64 levels are fine.
    const ok = await send(
      'POST',
      `/api/workflows/${wf.id}/execute`,
      `{"input":{"x":${'['.repeat(63)}1${']'.repeat(63)}}}`,
    );
    expect(ok.status).toBe(202);
  });

  it('accepts well-formed text: paired surrogates (emoji) and other control characters', async () => {
    const res = await send('POST', '/projects', '{"name":"\\ud83d\\ude80 launch\\t1","description":"line\\nbreak"}');
    expect(res.status).toBe(201);
    expect((await readJson(res, bodies.project)).project.name).toBe('🚀 launch\t1');
  });
});

describe('user-supplied names are never looked up on a plain object', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'GET /docs/assets/%s is a 404, with local assets and without (the edge)',
    async (name) => {
      const res = await t.app.request(`/docs/assets/${name}`);
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe('not_found');

      const redirected = await edgeLike.app.request(`/docs/assets/${name}`);
      expect(redirected.status).toBe(404);
      expect((await edgeLike.app.request('/docs/assets/swagger-ui.css')).status).toBe(302);
    },
  );

  it('a step whose id is __proto__ is a step like any other (its result feeds later templates)', async () => {
    const w = await createWorkflowTestApp({ mcp: createBuiltinMcpClient() });
    try {
      const bob = await w.registerUser();
      const wf = await createWorkflow(w.json, bob.auth, [
        { id: '__proto__', tool: 'echo', arguments: { text: 'first', n: 41 } },
        { id: 'constructor', tool: 'calculate', arguments: { op: 'add', a: '{{steps.__proto__.n}}', b: 1 } },
        { id: 'next', tool: 'echo', arguments: { text: 'done', total: '{{steps.constructor.result}}' } },
      ]);
      const run = await waitForRun(w.json, bob.auth, (await execute(w.json, bob.auth, wf.id)).id);
      expect(run.error).toBeNull();
      expect(run.status).toBe('completed');
      expect(run.steps[2]?.result).toEqual({ text: 'done', total: 42 });
    } finally {
      await w.close();
    }
  });
});
