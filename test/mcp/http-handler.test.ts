import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { McpRequestTimeoutError } from '../../src/mcp/errors';
import { createReconnectingMcpClient, type McpToolClient } from '../../src/mcp/tool-client';
import { createBuiltinMcpHttpHandler, type McpHttpHandler } from '../../src/mcp-server/http-handler';

const endpoint = new URL('http://builtin.invalid/mcp');
const clients: McpToolClient[] = [];
const handlers: McpHttpHandler[] = [];

/** A client whose HTTP requests go straight into `handler`: the Web Request/Response path, no sockets. */
function clientThrough(handler: McpHttpHandler) {
  const fetchIntoHandler = (url: string | URL, init?: RequestInit) => handler.handle(new Request(url, init));
  const client = createReconnectingMcpClient(
    async () => new StreamableHTTPClientTransport(endpoint, { fetch: fetchIntoHandler }),
    { requestTimeoutMs: 5000 },
  );
  clients.push(client);
  return client;
}

function handlerWith(options: Parameters<typeof createBuiltinMcpHttpHandler>[0]) {
  const handler = createBuiltinMcpHttpHandler(options);
  handlers.push(handler);
  return handler;
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(handlers.splice(0).map((handler) => handler.close()));
});

describe('built-in MCP server over Streamable HTTP (Web Request → Response)', () => {
  for (const mode of ['sessions', 'stateless'] as const) {
    it(`serves tools in ${mode} mode`, async () => {
      const handler = handlerWith({ mode });
      const client = clientThrough(handler);
      expect((await client.listTools()).map((tool) => tool.name)).toContain('echo');
      const result = await client.callTool({ name: 'echo', arguments: { text: mode } });
      expect(result.structuredContent).toEqual({ text: mode });
      await client.callTool({ name: 'note_set', arguments: { key: 'k', value: mode }, meta: { userId: 'u' } });
      const note = await client.callTool({ name: 'note_get', arguments: { key: 'k' }, meta: { userId: 'u' } });
      // Notes outlive the per-session (or per-request) servers.
      expect(note.structuredContent).toMatchObject({ found: true, value: mode });
      expect(handler.sessionCount).toBe(mode === 'sessions' ? 1 : 0);
    });
  }

  it('ends a session on client close (DELETE) and answers an unknown session with 404', async () => {
    const handler = handlerWith({});
    const client = clientThrough(handler);
    await client.listTools();
    expect(handler.sessionCount).toBe(1);
    await client.close();
    expect(handler.sessionCount).toBe(0);

    const unknown = await handler.handle(
      new Request(endpoint, {
        method: 'POST',
        headers: { ...mcpHeaders, 'mcp-session-id': 'no-such-session' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      }),
    );
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: -32001 } });
  });

  it('rejects requests without a session that are not an initialize, and keeps no server for them', async () => {
    const handler = handlerWith({});
    const get = await handler.handle(
      new Request(endpoint, { method: 'GET', headers: { accept: 'text/event-stream' } }),
    );
    expect(get.status).toBe(400);
    const post = await handler.handle(
      new Request(endpoint, {
        method: 'POST',
        headers: mcpHeaders,
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      }),
    );
    expect(post.status).toBe(400);
    const garbage = await handler.handle(new Request(endpoint, { method: 'POST', headers: mcpHeaders, body: '{' }));
    expect(garbage.status).toBe(400);
    expect(handler.sessionCount).toBe(0);
  });

  it('closes idle sessions and caps the number of sessions', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const handler = handlerWith({ sessionIdleTimeoutMs: 60_000, maxSessions: 2, clock: () => new Date(now) });
    const open = () =>
      handler.handle(new Request(endpoint, { method: 'POST', headers: mcpHeaders, body: JSON.stringify(initialize) }));
    expect((await open()).status).toBe(200);
    expect((await open()).status).toBe(200);
    const third = await open();
    expect(third.status).toBe(503);
    expect(handler.sessionCount).toBe(2);
    now += 61_000;
    expect((await open()).status).toBe(200);
    expect(handler.sessionCount).toBe(1);
  });

  it('a client timeout reaches the session and the session stays usable', async () => {
    const client = clientThrough(handlerWith({}));
    await expect(client.callTool({ name: 'sleep', arguments: { ms: 2000 }, timeoutMs: 50 })).rejects.toBeInstanceOf(
      McpRequestTimeoutError,
    );
    const result = await client.callTool({ name: 'get_time' });
    expect(result.structuredContent).toHaveProperty('iso');
  });

  it('stateless mode answers GET with 405', async () => {
    const response = await handlerWith({ mode: 'stateless' }).handle(new Request(endpoint, { method: 'GET' }));
    expect(response.status).toBe(405);
  });
});
