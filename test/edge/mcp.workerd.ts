import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningMcpServer, startMcpServer } from '../../src/node/mcp-server-process';
import { installWebSocketGlobal } from '../../src/node/websocket-global';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { freePort } from '../helpers/servers';
import { createTestDatabase, TEST_JWT_SECRET } from '../helpers/test-app';
import { type EdgeUser, type EdgeWorker, edgeClient, startEdgeWorker } from './edge-worker';

const UPSTREAM_TOKEN = 'upstream-credential-of-the-platform';

let upstream: RunningMcpServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
const workers: EdgeWorker[] = [];

beforeAll(async () => {
  installWebSocketGlobal();
  database = await createTestDatabase();
  upstream = await startMcpServer({ port: 0, authToken: UPSTREAM_TOKEN });
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await upstream?.close();
  await database?.close();
});

async function edgeWith(bindings: Record<string, string>) {
  const edge = await startEdgeWorker({ JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: database.url, ...bindings });
  workers.push(edge);
  const client = edgeClient(edge.url);
  return { edge, client, user: await client.register() };
}

async function toolNames(client: ReturnType<typeof edgeClient>, user: EdgeUser) {
  const res = await client.call('GET', '/tools/list', undefined, user.auth);
  expect(res.status).toBe(200);
  const body = await readJson(res, bodies.tools);
  return body.tools.map((t) => t.name);
}

async function echoThroughGateway(mcp: Client) {
  await mcp.connect;
  const { tools } = await mcp.listTools();
  expect(tools.map((t) => t.name)).toContain('echo');
  const result = await mcp.callTool({ name: 'echo', arguments: { text: 'through the edge' } });
  expect(JSON.stringify(result.content)).toContain('through the edge');
  await mcp.close();
}

describe('MCP on the edge', () => {
  it('lists tools and proxies /mcp (Streamable HTTP and WebSocket) to an HTTP upstream with its own credential', async () => {
    const { edge, client, user } = await edgeWith({ MCP_URL: upstream.url, MCP_AUTH_TOKEN: UPSTREAM_TOKEN });
    expect(await toolNames(client, user)).toEqual(expect.arrayContaining(['echo', 'calculate']));
    expect((await client.call('GET', '/tools/list')).status).toBe(401);

    const http = new Client({ name: 'edge-test', version: '1' });
    await http.connect(
      new StreamableHTTPClientTransport(new URL(`${edge.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${user.accessToken}` } },
      }),
    );
    await echoThroughGateway(http);

    const ws = new Client({ name: 'edge-test-ws', version: '1' });
    await ws.connect(
      new WebSocketClientTransport(new URL(`${edge.url.replace('http', 'ws')}/mcp?token=${user.accessToken}`)),
    );
    await echoThroughGateway(ws);

    const anonymous = await fetch(`${edge.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(anonymous.status).toBe(401);
  });

  it('reaches a WebSocket upstream', async () => {
    const { client, user } = await edgeWith({ MCP_URL: `${upstream.wsUrl}?token=${UPSTREAM_TOKEN}` });
    expect(await toolNames(client, user)).toEqual(expect.arrayContaining(['echo', 'get_time']));
  });

  it('answers 503 with a clear error when the upstream is down', async () => {
    const { client, user } = await edgeWith({ MCP_URL: `http://127.0.0.1:${await freePort()}/mcp` });
    const res = await client.call('GET', '/tools/list', undefined, user.auth);
    expect(res.status).toBe(503);
    expect((await readJson(res, bodies.error)).error.code).toBe('service_unavailable');
  });
});
