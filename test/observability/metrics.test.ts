import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock';
import { silentLogger } from '../../src/logging/logger';
import { createBuiltinMcpClient } from '../../src/node/mcp-client-factory';
import { withCallMetrics } from '../../src/observability/instrumented-mcp-client';
import type { Metrics } from '../../src/observability/metrics';
import { InProcessRunner } from '../../src/runs/in-process-runner';
import { RunExecutor } from '../../src/runs/run-executor';
import { RunStore } from '../../src/runs/run-store';
import { createTestApp } from '../helpers/test-app';
import { createWorkflow, execute, waitForRun } from '../workflows/workflow-helpers';
import { sample } from './prometheus-text';

const METRICS_TOKEN = 'scrape-token-0123456789abcdef';

describe('GET /metrics (in-process runs, built-in MCP server)', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let runner: InProcessRunner;
  let admin: Awaited<ReturnType<typeof t.registerUser>>;
  let user: Awaited<ReturnType<typeof t.registerUser>>;

  beforeAll(async () => {
    t = await createTestApp({ env: { METRICS_TOKEN } });
    // The Prometheus metrics createAppDeps wires (the /mcp gateway reports into them too).
    const metrics = t.deps.metrics as Metrics;
    const mcp = withCallMetrics(createBuiltinMcpClient(), metrics);
    const store = new RunStore(t.db, systemClock, 'metrics-test');
    const executor = new RunExecutor({
      store,
      mcp,
      hub: t.deps.hub,
      clock: systemClock,
      logger: silentLogger,
      heartbeatMs: 100,
      retryBaseMs: 10,
      metrics,
    });
    runner = new InProcessRunner({ executor, store, logger: silentLogger, pollMs: 100 });
    t.deps.mcp = mcp;
    t.useRunQueue(runner);
    runner.start();
    admin = await t.registerUser('admin');
    user = await t.registerUser('user');
  });

  afterAll(async () => {
    await runner.close(2000);
    await t.deps.mcp.close();
    await t.close();
  });

  const scrape = (headers: Record<string, string>) => t.app.request('/metrics', { headers });

  it('answers 401 without a token or with a wrong one, 403 to a plain user', async () => {
    const none = await scrape({});
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe('unauthorized');
    expect((await scrape({ authorization: 'Bearer not-the-metrics-token-at-all' })).status).toBe(401);
    const forbidden = await scrape(user.auth);
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json()).error.code).toBe('forbidden');
  });

  it('serves the Prometheus text format to the metrics token and to an admin', async () => {
    for (const headers of [{ authorization: `Bearer ${METRICS_TOKEN}` }, admin.auth]) {
      const res = await scrape(headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const body = await res.text();
      expect(body).toContain('# TYPE http_request_duration_seconds histogram');
      expect(body).toContain('# TYPE workflow_queue_depth gauge');
    }
  });

  it('exposes HTTP, run, queue and MCP series with real values after runs', async () => {
    const ok = await createWorkflow(t.json, user.auth, [{ id: 'say', tool: 'echo', arguments: { text: 'hi' } }]);
    const bad = await createWorkflow(t.json, user.auth, [{ id: 'boom', tool: 'fail', arguments: {} }]);
    const done = await waitForRun(t.json, user.auth, (await execute(t.json, user.auth, ok.id)).id);
    const failed = await waitForRun(t.json, user.auth, (await execute(t.json, user.auth, bad.id)).id);
    expect(done.status).toBe('completed');
    expect(failed.status).toBe('failed');
    await t.json('GET', '/no/such/route');
    await t.json('GET', `/projects/${crypto.randomUUID()}`, undefined, user.auth);

    const res = await scrape({ authorization: `Bearer ${METRICS_TOKEN}` });
    const body = await res.text();
    const http = (labels: Record<string, string>) =>
      sample(body, 'http_request_duration_seconds_count', { process: 'api', ...labels });

    // Routes are labelled by pattern, never by raw path; unknown paths share one label.
    expect(http({ method: 'POST', route: '/api/workflows/:id/execute', status: '202' })).toBe(2);
    expect(http({ method: 'POST', route: '/api/workflows', status: '201' })).toBe(2);
    expect(http({ method: 'GET', route: '/projects/:id', status: '404' })).toBe(1);
    expect(http({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(http({ method: 'GET', route: '/metrics', status: '401' })).toBeGreaterThanOrEqual(2);
    expect(body).not.toContain('/no/such/route');
    expect(sample(body, 'http_request_duration_seconds_sum', { route: '/api/workflows/:id/execute' })).toBeGreaterThan(
      0,
    );

    expect(sample(body, 'workflow_runs_total', { outcome: 'completed' })).toBe(1);
    expect(sample(body, 'workflow_runs_total', { outcome: 'failed' })).toBe(1);
    expect(sample(body, 'workflow_run_duration_seconds_count', { outcome: 'completed' })).toBe(1);
    expect(sample(body, 'workflow_run_duration_seconds_sum', { outcome: 'completed' })).toBeGreaterThan(0);

    expect(sample(body, 'workflow_queue_depth', { status: 'completed' })).toBe(1);
    expect(sample(body, 'workflow_queue_depth', { status: 'failed' })).toBe(1);
    expect(sample(body, 'workflow_queue_depth', { status: 'queued' })).toBe(0);

    expect(sample(body, 'mcp_call_duration_seconds_count', { tool: 'echo', outcome: 'ok' })).toBe(1);
    expect(
      sample(body, 'mcp_call_duration_seconds_count', { tool: 'fail', outcome: 'tool_error' }),
    ).toBeGreaterThanOrEqual(1);

    // No open sockets in this app, but the gauge is there for the scraper.
    expect(sample(body, 'ws_connections')).toBe(0);
  });

  it('counts queued work by status at scrape time', async () => {
    const wf = await createWorkflow(t.json, user.auth, [{ id: 'nap', tool: 'sleep', arguments: { ms: 1500 } }]);
    const run = await execute(t.json, user.auth, wf.id);
    await waitForRun(t.json, user.auth, run.id, (r) => r.status === 'running');
    const body = await (await scrape(admin.auth)).text();
    expect(sample(body, 'workflow_queue_depth', { status: 'running' })).toBe(1);
    await waitForRun(t.json, user.auth, run.id);
  });

  it('times tool calls through the /mcp gateway and counts its open sessions', async () => {
    // A standard MCP client over Streamable HTTP, its requests handed straight to the app.
    const client = new Client({ name: 'metrics-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL('http://api.test/mcp'), {
      requestInit: { headers: user.auth },
      fetch: async (url, init) => t.app.request(String(url), init as RequestInit),
    });
    await client.connect(transport);
    const result = await client.callTool({ name: 'calculate', arguments: { op: 'multiply', a: 6, b: 7 } });
    expect(result.isError).toBeFalsy();

    const open = await (await scrape(admin.auth)).text();
    expect(sample(open, 'mcp_call_duration_seconds_count', { tool: 'calculate', outcome: 'ok', via: 'gateway' })).toBe(
      1,
    );
    expect(sample(open, 'mcp_gateway_sessions', { transport: 'streamable-http' })).toBe(1);
    expect(
      sample(open, 'http_request_duration_seconds_count', { route: '/mcp', method: 'POST', status: '200' }),
    ).toBeGreaterThanOrEqual(2);

    await transport.terminateSession();
    await client.close();
    const closed = await (await scrape(admin.auth)).text();
    expect(sample(closed, 'mcp_gateway_sessions', { transport: 'streamable-http' })).toBe(0);
  });
});
