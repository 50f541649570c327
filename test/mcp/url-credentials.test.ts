import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryNoteStore } from '../../src/mcp-server/in-memory-note-store';
import { freePort } from '../helpers/servers';
import { type SpawnedNode, spawnEntry, waitForHttp } from '../helpers/spawn-node';
import { createEmptyDatabaseUrl } from '../helpers/test-app';
import { startRecordingHttpUpstream } from '../mcp-gateway/upstreams';

const PASSWORD = `pw-${crypto.randomUUID()}`;
const USER = 'platform';

/** The real Node API (single-process mode: it runs workflows itself) with MCP_URL as given; `started` gets it at once (to be killed even if it never answers). */
async function startApi(mcpUrl: string, started: SpawnedNode[]) {
  const port = await freePort();
  const server = spawnEntry('src/node/server.ts', {
    BACKEND_PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: await createEmptyDatabaseUrl('creds'),
    JWT_SECRET: `jwt-${crypto.randomUUID()}-${crypto.randomUUID()}`,
    MCP_URL: mcpUrl,
    LOG_LEVEL: 'debug',
    MCP_UNAVAILABLE_RETRIES: '1',
    STEP_RETRY_BASE_MS: '10',
    STEP_RETRY_MAX_MS: '50',
  });
  started.push(server);
  const base = `http://127.0.0.1:${port}`;
  // Generous: tsx compiles the server at start, slow on a busy machine.
  await waitForHttp(`${base}/health/live`, 120_000);
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  const username = `creds_${crypto.randomUUID().slice(0, 8)}`;
  const registered = await call('POST', '/auth/register', undefined, {
    username,
    email: `${username}@example.com`,
    password: 'correct-horse-battery',
  });
  const token = (JSON.parse(registered.text) as { accessToken: string }).accessToken;
  /** Executes a one-step workflow and waits for the run to end. */
  const runToEnd = async () => {
    const created = await call('POST', '/api/workflows', token, {
      name: 'creds',
      steps: [{ id: 'e', tool: 'echo', arguments: { text: 'through basic auth' } }],
    });
    const workflowId = (JSON.parse(created.text) as { workflow: { id: string } }).workflow.id;
    const executed = await call('POST', `/api/workflows/${workflowId}/execute`, token);
    const runId = (JSON.parse(executed.text) as { run: { id: string } }).run.id;
    for (;;) {
      const res = await call('GET', `/api/workflows/runs/${runId}`, token);
      const { run } = JSON.parse(res.text) as { run: { status: string } };
      if (run.status !== 'queued' && run.status !== 'running') return res;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { server, call, token, runToEnd };
}

describe('credentials in MCP_URL', () => {
  let upstream: Awaited<ReturnType<typeof startRecordingHttpUpstream>>;
  let reachable: Awaited<ReturnType<typeof startApi>>;
  let unreachable: Awaited<ReturnType<typeof startApi>>;
  const servers: SpawnedNode[] = [];

  beforeAll(async () => {
    const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    upstream = await startRecordingHttpUpstream({ notes: new InMemoryNoteStore(), authorization: basic });
    const withCredentials = new URL(upstream.url);
    withCredentials.username = USER;
    withCredentials.password = PASSWORD;
    const nowhere = new URL(`http://127.0.0.1:${await freePort()}/mcp`);
    nowhere.username = USER;
    nowhere.password = PASSWORD;
    [reachable, unreachable] = await Promise.all([
      startApi(withCredentials.href, servers),
      startApi(nowhere.href, servers),
    ]);
  }, 240_000);

  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGKILL');
    await upstream?.close();
  });

  it('are sent as Basic auth: /tools/list, /health and runs work', async () => {
    const tools = await reachable.call('GET', '/tools/list', reachable.token);
    expect(tools.status, tools.text).toBe(200);
    expect(tools.text).toContain('"echo"');
    const health = await reachable.call('GET', '/health');
    expect(JSON.parse(health.text).checks.mcp.status).toBe('up');
    const run = await reachable.runToEnd();
    expect(JSON.parse(run.text).run).toMatchObject({ status: 'completed', error: null });
    expect(upstream.authorizations.length).toBeGreaterThan(2);
    expect(new Set(upstream.authorizations)).toEqual(
      new Set([`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`]),
    );
  });

  it('are never shown: not in /health, /tools/list errors, stored run errors or logs', async () => {
    const tools = await unreachable.call('GET', '/tools/list', unreachable.token);
    expect(tools.status).toBe(503);
    const health = await unreachable.call('GET', '/health');
    expect(JSON.parse(health.text).checks.mcp.status).toBe('down');
    const run = await unreachable.runToEnd();
    expect(JSON.parse(run.text).run.status).toBe('failed');

    for (const shown of [tools.text, health.text, run.text]) {
      expect(shown).toContain('127.0.0.1');
      expect(shown).not.toContain(PASSWORD);
      expect(shown).not.toContain(`${USER}:`);
    }
    for (const server of servers) {
      expect(server.output()).toContain('"level"');
      expect(server.output()).not.toContain(PASSWORD);
    }
  });
});
