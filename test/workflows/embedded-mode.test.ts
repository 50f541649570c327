import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { silentLogger } from '../../src/logging/logger';
import { createNodeDeps, type NodeDeps } from '../../src/node/node-deps';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { testConfig } from '../helpers/test-app';
import { createWorkflow, execute, waitForRun } from './workflow-helpers';

/**
 * `npm start` without DATABASE_URL, REDIS_URL or MCP_URL: embedded PGlite, runs executed in the
 * API process, built-in MCP server in process. Built by the same createNodeDeps the entry uses.
 */
let node: NodeDeps;
let json: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Response>;

beforeAll(async () => {
  node = await createNodeDeps(testConfig({ DATABASE_URL: undefined, REDIS_URL: undefined }), silentLogger, {
    dataDir: 'memory',
  });
  const app = createApp({ ...node.deps, socketAddress: () => '127.0.0.1' });
  json = (method, path, body, headers = {}) =>
    Promise.resolve(
      app.request(path, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
});

afterAll(async () => {
  await node?.close();
});

describe('single-process mode (PGlite, in-process runner, built-in MCP server)', () => {
  it('executes runs end to end, notes are per user, and /tools/list answers', async () => {
    const reg = await json('POST', '/auth/register', {
      username: 'embedded',
      email: 'embedded@example.com',
      password: 'correct-horse-battery',
    });
    expect(reg.status).toBe(201);
    const auth = { authorization: `Bearer ${(await readJson(reg, bodies.session)).accessToken}` };
    const wf = await createWorkflow(json, auth, [
      { id: 'save', tool: 'note_set', arguments: { key: 'greeting', value: '{{input.text}}' } },
      { id: 'load', tool: 'note_get', arguments: { key: 'greeting' } },
      { id: 'sum', tool: 'calculate', arguments: { op: 'add', a: 1, b: 2 } },
    ]);
    const run = await waitForRun(json, auth, (await execute(json, auth, wf.id, { input: { text: 'hello' } })).id);
    expect(run.status, JSON.stringify(run)).toBe('completed');
    expect(run.steps[1]?.result).toMatchObject({ found: true, value: 'hello' });
    expect(run.steps[2]?.result).toEqual({ result: 3 });

    const tools = await json('GET', '/tools/list', undefined, auth);
    expect(tools.status).toBe(200);
    const names = (await readJson(tools, bodies.tools)).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'calculate', 'get_time', 'note_set', 'sleep']));
  });
});
