import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logging/logger';
import { ToolNotAllowedError } from '../../src/mcp-gateway/tool-policy';
import { createMcpClient } from '../../src/node/mcp-client-factory';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { createTestApp } from '../helpers/test-app';
import { createWorkflow, createWorkflowTestApp, execute, waitForRun } from '../workflows/workflow-helpers';

/** MCP_ALLOWED_TOOLS outside the /mcp gateway (whose filtering the gateway tests cover): workflows, runs, /tools/list. */
describe('MCP_ALLOWED_TOOLS', () => {
  describe('workflow validation', () => {
    let t: Awaited<ReturnType<typeof createTestApp>>;
    let auth: Record<string, string>;
    beforeAll(async () => {
      t = await createTestApp({ env: { MCP_ALLOWED_TOOLS: 'echo, note_get' } });
      auth = (await t.registerUser()).auth;
    });
    afterAll(async () => {
      await t?.close();
    });

    it('refuses to create a workflow whose step uses a tool that is not allowed (400)', async () => {
      const res = await t.json(
        'POST',
        '/api/workflows',
        {
          name: 'w',
          steps: [
            { id: 'a', tool: 'echo', arguments: { text: 'hi' } },
            { id: 'b', tool: 'calculate', arguments: { op: 'add', a: 1, b: 2 } },
            { id: 'c', tool: 'sleep' },
          ],
        },
        auth,
      );
      expect(res.status).toBe(400);
      const body = await readJson(res, bodies.error);
      expect(body.error.code).toBe('validation_error');
      expect(body.error.message).toContain('steps.1.tool');
      expect(body.error.details).toEqual([
        { path: 'steps.1.tool', code: 'tool_not_allowed', message: 'tool "calculate" is not allowed' },
        { path: 'steps.2.tool', code: 'tool_not_allowed', message: 'tool "sleep" is not allowed' },
      ]);
    });

    it('accepts allowed tools, and refuses an update that adds another tool (400)', async () => {
      const created = await createWorkflow(t.json, auth, [{ id: 'a', tool: 'echo', arguments: { text: 'x' } }]);
      const res = await t.json(
        'PUT',
        `/api/workflows/${created.id}`,
        { name: 'w', steps: [{ id: 'a', tool: 'note_set', arguments: { key: 'k', value: 'v' } }] },
        auth,
      );
      expect(res.status).toBe(400);
      const ok = await t.json(
        'PUT',
        `/api/workflows/${created.id}`,
        { name: 'w2', steps: [{ id: 'a', tool: 'note_get' }] },
        auth,
      );
      expect(ok.status).toBe(200);
    });
  });

  it("limits the platform's own MCP client: tools/list hides, tools/call refuses", async () => {
    const client = createMcpClient({ mcpAllowedTools: ['echo'] }, silentLogger);
    try {
      expect((await client.listTools()).map((tool) => tool.name)).toEqual(['echo']);
      await expect(client.callTool({ name: 'calculate', arguments: { op: 'add', a: 1, b: 1 } })).rejects.toBeInstanceOf(
        ToolNotAllowedError,
      );
      expect((await client.callTool({ name: 'echo', arguments: { text: 'ok' } })).isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });

  it('makes the executor fail a step whose tool is no longer allowed (workflow saved before the list changed)', async () => {
    const app = await createWorkflowTestApp({ mcp: createMcpClient({ mcpAllowedTools: ['echo'] }, silentLogger) });
    try {
      const { auth } = await app.registerUser();
      const workflow = await createWorkflow(app.json, auth, [
        { id: 'one', tool: 'echo', arguments: { text: 'fine' } },
        { id: 'two', tool: 'calculate', arguments: { op: 'add', a: 1, b: 2 } },
      ]);
      const run = await execute(app.json, auth, workflow.id);
      const done = await waitForRun(app.json, auth, run.id);
      expect(done.status).toBe('failed');
      expect(done.steps[0]?.status).toBe('completed');
      expect(done.steps[1]).toMatchObject({ status: 'failed', error: expect.stringContaining('not allowed') });
    } finally {
      await app.close();
    }
  });

  it('GET /tools/list shows only allowed tools', async () => {
    const t = await createTestApp({ env: { MCP_ALLOWED_TOOLS: 'echo,calculate' } });
    try {
      t.deps.mcp = createMcpClient(t.deps.config, silentLogger);
      const { auth } = await t.registerUser();
      const res = await t.json('GET', '/tools/list', undefined, auth);
      expect(res.status).toBe(200);
      const { tools } = await readJson(res, bodies.tools);
      expect(tools.map((tool) => tool.name).sort()).toEqual(['calculate', 'echo']);
      await t.deps.mcp.close();
    } finally {
      await t.close();
    }
  });
});
