import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { McpRequestTimeoutError, McpUnavailableError } from '../../src/mcp/errors';
import { createReconnectingMcpClient, type McpToolClient } from '../../src/mcp/tool-client';
import { connectorForUrl } from '../../src/mcp/transports';
import { InMemoryNoteStore } from '../../src/mcp-server/in-memory-note-store';
import { type RunningMcpServer, startMcpServer } from '../../src/node/mcp-server-process';
import { installWebSocketGlobal } from '../../src/node/websocket-global';
import { freePort } from '../helpers/servers';

installWebSocketGlobal();

const clients: McpToolClient[] = [];
function clientFor(url: string, options: { headers?: Record<string, string>; transportErrors?: string[] } = {}) {
  const client = createReconnectingMcpClient(connectorForUrl(url, { headers: options.headers }), {
    requestTimeoutMs: 5000,
    connectTimeoutMs: 2000,
    onTransportError: (error) => options.transportErrors?.push(error.message),
  });
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

describe('standalone built-in MCP server', () => {
  let server: RunningMcpServer;
  beforeAll(async () => {
    server = await startMcpServer({ port: 0, notes: new InMemoryNoteStore() });
  });
  afterAll(async () => {
    await server.close();
  });

  for (const transport of ['Streamable HTTP', 'WebSocket'] as const) {
    describe(`over ${transport}`, () => {
      const url = () => (transport === 'WebSocket' ? server.wsUrl : server.url);

      it('lists tools and calls echo and calculate', async () => {
        const client = clientFor(url());
        const names = (await client.listTools()).map((tool) => tool.name);
        expect(names).toEqual(expect.arrayContaining(['echo', 'calculate', 'get_time', 'note_set', 'sleep', 'fail']));
        const echo = await client.callTool({ name: 'echo', arguments: { text: 'hi', n: 2 } });
        expect(echo.structuredContent).toEqual({ text: 'hi', n: 2 });
        const sum = await client.callTool({ name: 'calculate', arguments: { op: 'add', a: 2, b: 3 } });
        expect(sum.structuredContent).toEqual({ result: 5 });
      });

      it('scopes notes by _meta.userId', async () => {
        const client = clientFor(url());
        const key = `note-${transport}`;
        await client.callTool({ name: 'note_set', arguments: { key, value: 'mine' }, meta: { userId: 'user-a' } });
        const own = await client.callTool({ name: 'note_get', arguments: { key }, meta: { userId: 'user-a' } });
        expect(own.structuredContent).toMatchObject({ found: true, value: 'mine' });
        const other = await client.callTool({ name: 'note_get', arguments: { key }, meta: { userId: 'user-b' } });
        expect(other.structuredContent).toEqual({ key, found: false });
      });

      it('times out a slow call without breaking the session', async () => {
        const client = clientFor(url());
        await expect(
          client.callTool({ name: 'sleep', arguments: { ms: 3000 }, timeoutMs: 100 }),
        ).rejects.toBeInstanceOf(McpRequestTimeoutError);
        const after = await client.callTool({ name: 'calculate', arguments: { op: 'subtract', a: 1, b: 3 } });
        expect(after.structuredContent).toEqual({ result: -2 });
      });

      it('returns isError results from fail', async () => {
        const result = await clientFor(url()).callTool({ name: 'fail', arguments: { message: 'nope' } });
        expect(result.isError).toBe(true);
        expect(result.content).toEqual([{ type: 'text', text: 'nope' }]);
      });

      it('shares one connect between concurrent first calls', async () => {
        const client = clientFor(url());
        const results = await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            client.callTool({ name: 'calculate', arguments: { op: 'add', a: i, b: 1 } }),
          ),
        );
        expect(results.map((r) => r.structuredContent)).toEqual([1, 2, 3, 4, 5].map((result) => ({ result })));
      });
    });
  }

  it('answers a malformed WebSocket frame with a JSON-RPC error and keeps the connection', async () => {
    const socket = new WebSocket(server.wsUrl, 'mcp');
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    expect(socket.protocol).toBe('mcp');
    const replies: unknown[] = [];
    socket.on('message', (data) => replies.push(JSON.parse(String(data))));
    socket.send('not json');
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: 7, nonsense: true }));
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'ping' }));
    await expect.poll(() => replies.length).toBe(3);
    expect(replies).toEqual([
      { jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: -32700 }) },
      { jsonrpc: '2.0', id: 7, error: expect.objectContaining({ code: -32600 }) },
      { jsonrpc: '2.0', id: 8, result: {} },
    ]);
    socket.close();
  });

  it('answers unknown paths with 404 and reports health', async () => {
    const base = server.url.replace(/\/mcp$/, '');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
  });
});

describe('unreachable and restarted servers', () => {
  it('a closed port rejects with McpUnavailableError (HTTP and WebSocket)', async () => {
    const port = await freePort();
    for (const url of [`http://127.0.0.1:${port}/mcp`, `ws://127.0.0.1:${port}/ws`]) {
      const client = clientFor(url);
      const failure = await client
        .callTool({ name: 'echo', arguments: { text: 'x' } })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(McpUnavailableError);
      expect(String((failure as Error).message)).toContain(`127.0.0.1:${port}`);
      await expect(client.listTools()).rejects.toBeInstanceOf(McpUnavailableError);
    }
  });

  for (const transport of ['Streamable HTTP', 'WebSocket'] as const) {
    it(`reconnects over ${transport} after the server restarts`, async () => {
      const notes = new InMemoryNoteStore();
      let server = await startMcpServer({ port: 0, notes });
      const { port } = server;
      const url = transport === 'WebSocket' ? server.wsUrl : server.url;
      const client = clientFor(url);
      const first = await client.callTool({ name: 'echo', arguments: { text: 'before' } });
      expect(first.structuredContent).toEqual({ text: 'before' });

      await server.close();
      const whileDown = await client.callTool({ name: 'echo', arguments: { text: 'down' } }).catch((e: unknown) => e);
      expect(whileDown).toBeInstanceOf(McpUnavailableError);

      server = await startMcpServer({ port, notes });
      try {
        const after = await client.callTool({ name: 'echo', arguments: { text: 'after' } });
        expect(after.structuredContent).toEqual({ text: 'after' });
      } finally {
        await server.close();
      }
    });

    it(`a restart between two calls is invisible over ${transport}`, async () => {
      let server = await startMcpServer({ port: 0 });
      const { port } = server;
      const transportErrors: string[] = [];
      const client = clientFor(transport === 'WebSocket' ? server.wsUrl : server.url, { transportErrors });
      await client.callTool({ name: 'get_time' });
      await server.close();
      // A real restart takes longer than the client needs to notice its closed sockets; an
      // in-process one can happen before the client's next I/O poll, so give it one.
      await new Promise((resolve) => setTimeout(resolve, 50));
      server = await startMcpServer({ port });
      try {
        // HTTP: the new server does not know the old session (404), so the call is retried
        // on a new one; WebSocket: the socket closed, so the call connects anew.
        const result = await client.callTool({ name: 'calculate', arguments: { op: 'add', a: 1, b: 1 } });
        expect(result.structuredContent).toEqual({ result: 2 });
        if (transport === 'Streamable HTTP') expect(transportErrors.join('\n')).toContain('Session not found');
      } finally {
        await server.close();
      }
    });
  }
});

describe('bearer token protection', () => {
  let server: RunningMcpServer;
  const token = 'test-token-0123456789';
  beforeAll(async () => {
    server = await startMcpServer({ port: 0, authToken: token });
  });
  afterAll(async () => {
    await server.close();
  });

  it('rejects a client without the token as unavailable, with the status in the message', async () => {
    const failure = await clientFor(server.url)
      .listTools()
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(McpUnavailableError);
    expect(String((failure as Error).message)).toMatch(/401/);
    await expect(clientFor(server.wsUrl).listTools()).rejects.toBeInstanceOf(McpUnavailableError);
  });

  it('accepts the token as a header (HTTP) or query parameter (WebSocket)', async () => {
    const http = clientFor(server.url, { headers: { authorization: `Bearer ${token}` } });
    expect((await http.listTools()).length).toBeGreaterThan(0);
    const ws = clientFor(`${server.wsUrl}?token=${token}`);
    expect((await ws.listTools()).length).toBeGreaterThan(0);
  });

  it('refuses to send headers over WebSocket rather than dropping them', () => {
    expect(() => connectorForUrl(server.wsUrl, { headers: { authorization: 'Bearer x' } })).toThrow(/headers/);
  });
});
