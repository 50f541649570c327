import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { InMemoryNoteStore } from '../../src/mcp-server/in-memory-note-store';
import {
  disconnect,
  eventually,
  type GatewayServer,
  type GatewayUser,
  postJson,
  startGatewayServer,
  upgradeStatus,
} from './gateway-server';
import { countingBuiltinUpstream } from './upstreams';

/** The gateway in front of the built-in server (in process), driven by the official SDK client over both transports. */
describe('MCP gateway → built-in server', () => {
  const notes = new InMemoryNoteStore();
  const upstream = countingBuiltinUpstream(notes);
  let gw: GatewayServer;
  let alice: GatewayUser;
  let bob: GatewayUser;

  beforeAll(async () => {
    gw = await startGatewayServer({ connector: upstream.connector, env: { MCP_UPSTREAM_TIMEOUT_MS: '500' } });
    alice = await gw.registerUser();
    bob = await gw.registerUser();
  });
  afterAll(async () => {
    await gw?.close();
  });
  /** Sessions of earlier tests end asynchronously (a WebSocket close takes a round trip). */
  const noSessionsLeft = () => eventually(() => gw.gateway.sessionCount === 0);

  for (const transport of ['http', 'websocket'] as const) {
    describe(`over ${transport === 'http' ? 'Streamable HTTP' : 'WebSocket'}`, () => {
      it('initializes, lists tools and calls a tool', async () => {
        const client = await gw.connect(transport, alice.accessToken);
        expect(client.getServerVersion()?.name).toBe('workflow-platform-builtin');
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'calculate', 'note_set', 'sleep']));
        const sum = await client.callTool({ name: 'calculate', arguments: { op: 'add', a: 2, b: 40 } });
        expect(sum.structuredContent).toEqual({ result: 42 });
        await disconnect(client);
      });

      it('answers a bad call with an error and keeps the session', async () => {
        const client = await gw.connect(transport, alice.accessToken);
        const unknown = await client.callTool({ name: 'no_such_tool', arguments: {} }).catch((error: unknown) => error);
        // The SDK server reports an unknown tool as an isError result or a JSON-RPC error, by version.
        if (unknown instanceof McpError) expect(unknown.message).toMatch(/no_such_tool/);
        else expect(unknown).toMatchObject({ isError: true });
        const invalid = await client.callTool({ name: 'calculate', arguments: { op: 'add', a: 'x' } }).catch((e) => e);
        if (invalid instanceof McpError) expect(invalid.code).toBe(-32602);
        else expect(invalid).toMatchObject({ isError: true });
        const failed = await client.callTool({ name: 'fail', arguments: { message: 'boom' } });
        expect(failed).toMatchObject({ isError: true, content: [{ type: 'text', text: 'boom' }] });
        const echo = await client.callTool({ name: 'echo', arguments: { text: 'still here' } });
        expect(echo.structuredContent).toMatchObject({ text: 'still here' });
        await disconnect(client);
      });

      it('closes the upstream session when the client leaves', async () => {
        await noSessionsLeft();
        const before = upstream.live;
        const client = await gw.connect(transport, alice.accessToken);
        await client.ping();
        expect(upstream.live).toBe(before + 1);
        expect(gw.gateway.sessionsOf(alice.user.id)).toBe(1);
        await disconnect(client);
        await eventually(() => upstream.live === before && gw.gateway.sessionsOf(alice.user.id) === 0);
      });

      it('overwrites a spoofed _meta.userId with the authenticated user', async () => {
        const client = await gw.connect(transport, alice.accessToken);
        const key = `spoof-${transport}`;
        await client.callTool({
          name: 'note_set',
          arguments: { key, value: 'from alice' },
          _meta: { userId: bob.user.id },
        });
        expect(await notes.get(bob.user.id, key)).toBeUndefined();
        expect((await notes.get(alice.user.id, key))?.value).toBe('from alice');
        const read = await client.callTool({ name: 'note_get', arguments: { key }, _meta: { userId: bob.user.id } });
        expect(read.structuredContent).toMatchObject({ found: true, value: 'from alice' });
        await disconnect(client);
      });

      it('answers with a timeout error when the upstream is too slow, and logs it', async () => {
        const client = await gw.connect(transport, alice.accessToken);
        // The sleep outlasts the test, and the SDK client's own deadline (60 s) is beyond it too:
        // only the gateway's MCP_UPSTREAM_TIMEOUT_MS can answer, which its log line confirms.
        const error = await client
          .callTool({ name: 'sleep', arguments: { ms: 60_000 } }, undefined, { timeout: 120_000 })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(McpError);
        expect((error as McpError).code).toBe(-32001);
        expect(gw.logger.toolCalls()).toContainEqual(
          expect.objectContaining({ userId: alice.user.id, tool: 'sleep', outcome: 'timeout' }),
        );
        // The session survives the timeout.
        expect((await client.callTool({ name: 'echo', arguments: { text: 'ok' } })).isError).toBeFalsy();
        await disconnect(client);
      });
    });
  }

  it('logs and counts every tool call with user, tool, duration and outcome', async () => {
    const client = await gw.connect('http', bob.accessToken);
    await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    await client.callTool({ name: 'fail', arguments: { message: 'no' } });
    await disconnect(client);
    const bobs = gw.logger.toolCalls().filter((call) => call.userId === bob.user.id);
    expect(bobs).toEqual([
      expect.objectContaining({
        tool: 'echo',
        outcome: 'ok',
        transport: 'streamable-http',
        durationMs: expect.any(Number),
      }),
      expect.objectContaining({ tool: 'fail', outcome: 'tool_error' }),
    ]);
    const counts = gw.gateway.stats.snapshot().toolCalls;
    expect(counts).toContainEqual(expect.objectContaining({ tool: 'echo', outcome: 'ok', count: expect.any(Number) }));
    expect(counts).toContainEqual(
      expect.objectContaining({ tool: 'fail', outcome: 'tool_error', count: expect.any(Number) }),
    );
  });

  it('logs one info line per tool call over Streamable HTTP (the request lines of /mcp are at debug unless refused)', async () => {
    const carol = await gw.registerUser();
    const client = await gw.connect('http', carol.accessToken);
    await client.callTool({ name: 'echo', arguments: { text: 'one line' } });
    await client.callTool({ name: 'echo', arguments: { text: 'two lines' } });
    const carols = (level: string, message: string) =>
      gw.logger.lines.filter((l) => l.level === level && l.message === message && l.fields.userId === carol.user.id);
    expect(carols('info', 'mcp tool call')).toHaveLength(2);
    expect(carols('info', 'request')).toEqual([]);
    // Still there for whoever turns debug on: initialize, initialized and the two calls at least.
    expect(carols('debug', 'request').filter((l) => l.fields.path === '/mcp').length).toBeGreaterThanOrEqual(4);
    await disconnect(client);

    const refused = await postJson(gw.httpUrl, 'not-a-token', { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(refused.status).toBe(401);
    const requestId = refused.headers.get('x-request-id');
    expect(gw.logger.fieldsOf('request')).toContainEqual(expect.objectContaining({ requestId, status: 401 }));
    expect(gw.logger.lines.find((l) => l.fields.requestId === requestId)?.level).toBe('info');
  });

  describe('authentication', () => {
    it('refuses Streamable HTTP without a token (401)', async () => {
      const response = await fetch(gw.httpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } });
    });

    it('refuses the SDK client with a bad token (401) on both transports', async () => {
      const http = await gw.connect('http', 'not-a-token').catch((e: unknown) => e);
      expect(http).toBeInstanceOf(StreamableHTTPError);
      expect((http as StreamableHTTPError).code).toBe(401);
      await expect(gw.connect('websocket', 'not-a-token')).rejects.toBeTruthy();
    });

    it('refuses a WebSocket upgrade without a token before upgrading (401)', async () => {
      const status = await upgradeStatus(`ws://127.0.0.1:${gw.port}/mcp`);
      expect(status).toBe(401);
    });

    it('accepts the token in Authorization on the WebSocket too, and speaks the mcp subprotocol', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/mcp`, 'mcp', {
        headers: { authorization: `Bearer ${alice.accessToken}` },
      });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      expect(ws.protocol).toBe('mcp');
      ws.close();
    });

    it("does not let a user reach another user's HTTP session (404)", async () => {
      const client = await gw.connect('http', alice.accessToken);
      const sessionId = (client.transport as { sessionId?: string }).sessionId as string;
      const response = await fetch(gw.httpUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${bob.accessToken}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(response.status).toBe(404);
      await disconnect(client);
    });
  });

  it('answers a request still in flight when the client ends its HTTP session', async () => {
    const client = await gw.connect('http', alice.accessToken);
    // A sleep no test outlives: the answer can only come from the session's end.
    const sleeping = client.callTool({ name: 'sleep', arguments: { ms: 60_000 } }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await (client.transport as { terminateSession?: () => Promise<void> } | undefined)?.terminateSession?.();
    const outcome = await sleeping;
    expect(outcome).toBeInstanceOf(McpError);
    expect((outcome as McpError).message).toMatch(/ended the session/);
    await client.close();
  });

  it('ends the HTTP request of a call the client cancels', async () => {
    const client = await gw.connect('http', alice.accessToken);
    const sessionId = (client.transport as { sessionId?: string }).sessionId as string;
    const headers = {
      authorization: `Bearer ${alice.accessToken}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-06-18',
    };
    const call = fetch(gw.httpUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'slow',
        method: 'tools/call',
        params: { name: 'sleep', arguments: { ms: 60_000 } },
      }),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const cancel = await fetch(gw.httpUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow' } }),
    });
    expect(cancel.status).toBe(202);
    const answer = await call;
    // The sleep outlasts the test: this answer is the cancellation's.
    expect(await answer.json()).toMatchObject({ id: 'slow', error: { code: -32800 } });
    expect(gw.logger.toolCalls()).toContainEqual(expect.objectContaining({ tool: 'sleep', outcome: 'cancelled' }));
    await disconnect(client);
  });

  describe('stateless requests (no Mcp-Session-Id)', () => {
    it('serves a lone tools/call with a JSON answer and leaves no session behind', async () => {
      const before = upstream.live;
      const response = await postJson(gw.httpUrl, alice.accessToken, {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'calculate', arguments: { op: 'multiply', a: 6, b: 7 } },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('mcp-session-id')).toBeNull();
      expect(await response.json()).toMatchObject({ id: 7, result: { structuredContent: { result: 42 } } });
      await eventually(() => upstream.live === before);
    });
  });

  describe('WebSocket frames', () => {
    it('answers malformed frames with JSON-RPC errors and keeps the connection', async () => {
      const ws = new WebSocket(gw.wsUrl(alice.accessToken), 'mcp');
      const replies: any[] = [];
      ws.on('message', (data) => replies.push(JSON.parse(data.toString())));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send('this is not json');
      ws.send(JSON.stringify({ id: 3, hello: 'world' }));
      ws.send(JSON.stringify([{ jsonrpc: '2.0', id: 4, method: 'ping' }]));
      ws.send(Buffer.from('binary'), { binary: true });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'ping' }));
      await eventually(() => replies.length >= 5);
      expect(replies[0]).toMatchObject({ id: null, error: { code: -32700 } });
      expect(replies[1]).toMatchObject({ id: 3, error: { code: -32600 } });
      expect(replies[2]).toMatchObject({ id: null, error: { code: -32600 } });
      expect(replies[3]).toMatchObject({ id: null, error: { code: -32700 } });
      // The upstream answers a ping even before initialize.
      expect(replies[4]).toMatchObject({ id: 5, result: {} });
      expect(ws.readyState).toBe(WebSocket.OPEN);
      ws.close();
    });

    it('closes the connection on a frame over 1 MiB (1009)', async () => {
      await noSessionsLeft();
      const ws = new WebSocket(gw.wsUrl(alice.accessToken), 'mcp');
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      ws.on('error', () => {});
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(1024 * 1024) } }));
      expect(await closed).toBe(1009);
      await eventually(() => gw.gateway.sessionsOf(alice.user.id) === 0);
    });
  });

  it('refuses an HTTP body over 1 MiB (413)', async () => {
    const response = await postJson(gw.httpUrl, alice.accessToken, {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'x'.repeat(1024 * 1024 + 10) } },
    });
    expect(response.status).toBe(413);
  });
});
