import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logging/logger';
import { createMcpClient } from '../../src/node/mcp-client-factory';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { freePort } from '../helpers/servers';
import { createWorkflow, createWorkflowTestApp, execute, waitForRun } from './workflow-helpers';

/** Workflows against the official reference server, not only our own: over stdio and Streamable HTTP. */
const EVERYTHING = fileURLToPath(
  new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
);

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

async function startEverythingOverHttp(): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    stdio: 'ignore',
  });
  children.push(child);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return `http://127.0.0.1:${port}/mcp`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server-everything did not start');
}

const transports = {
  stdio: async () => createMcpClient({ mcpCommand: `"${process.execPath}" "${EVERYTHING}" stdio` }, silentLogger),
  'Streamable HTTP': async () => createMcpClient({ mcpUrl: await startEverythingOverHttp() }, silentLogger),
};

describe.each(Object.entries(transports))('@modelcontextprotocol/server-everything over %s', (_name, makeClient) => {
  it('runs a templated workflow, fails on a tool error, and serves /tools/list', async () => {
    const t = await createWorkflowTestApp({ mcp: await makeClient() });
    try {
      const user = await t.registerUser();
      const wf = await createWorkflow(t.json, user.auth, [
        { id: 'sum', tool: 'get-sum', arguments: { a: '{{input.a}}', b: 3 } },
        { id: 'say', tool: 'echo', arguments: { message: '{{steps.sum}}' } },
      ]);
      const run = await waitForRun(
        t.json,
        user.auth,
        (await execute(t.json, user.auth, wf.id, { input: { a: 2 } })).id,
        undefined,
        20_000,
      );
      expect(run.status, JSON.stringify(run)).toBe('completed');
      expect(run.steps[0]?.result).toBe('The sum of 2 and 3 is 5.');
      expect(run.steps[1]?.result).toBe('Echo: The sum of 2 and 3 is 5.');

      // Arguments the server rejects fail the step with the server's message.
      const bad = await createWorkflow(t.json, user.auth, [{ id: 'sum', tool: 'get-sum', arguments: { a: 'x' } }]);
      const failed = await waitForRun(t.json, user.auth, (await execute(t.json, user.auth, bad.id)).id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/^Step "sum" \(get-sum\) failed after 1 attempt: .+/);

      const res = await t.json('GET', '/tools/list', undefined, user.auth);
      expect(res.status).toBe(200);
      const { tools } = await readJson(res, bodies.tools);
      expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['echo', 'get-sum']));
    } finally {
      await t.close();
    }
  });
});
