import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayUpstreamConnector } from '../../src/node/mcp-gateway-factory';
import { eventually, type GatewayServer, startGatewayServer } from './gateway-server';
import { RawMcpSession, SseReader } from './raw-mcp-client';
import { startScriptedUpstream } from './scripted-upstream';

type Upstream = Awaited<ReturnType<typeof startScriptedUpstream>>;

async function gatewayTo(upstream: Upstream): Promise<{ gw: GatewayServer; token: string }> {
  const gw = await startGatewayServer({
    env: { MCP_MAX_SESSIONS_PER_USER: '20' },
    connector: gatewayUpstreamConnector({ mcpUrl: upstream.url }),
  });
  const { accessToken } = await gw.registerUser();
  return { gw, token: accessToken };
}

describe('MCP gateway streams (Streamable HTTP)', () => {
  let sse: Upstream;
  let json: Upstream;
  let viaSse: { gw: GatewayServer; token: string };
  let viaJson: { gw: GatewayServer; token: string };

  beforeAll(async () => {
    sse = await startScriptedUpstream({ resumable: true });
    json = await startScriptedUpstream({ json: true });
    viaSse = await gatewayTo(sse);
    viaJson = await gatewayTo(json);
  });
  afterAll(async () => {
    await viaSse?.gw.close();
    await viaJson?.gw.close();
    await sse?.close();
    await json?.close();
  });

  describe('messages related to a request come before its answer, in the upstream order', () => {
    it('delivers every progress and log message of a call before its result (SDK client)', async () => {
      const client = await viaSse.gw.connect('http', viaSse.token);
      const seen: string[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
        seen.push(`log ${notification.params.data}`);
      });
      await client.setLoggingLevel('debug');
      const result = await client.callTool({ name: 'progress', arguments: { steps: 4 } }, undefined, {
        onprogress: (progress) => seen.push(`progress ${progress.progress}`),
      });
      seen.push('result');
      expect(result.content).toEqual([{ type: 'text', text: 'done after 4' }]);
      expect(seen).toEqual([
        'progress 1',
        'log step 1',
        'progress 2',
        'log step 2',
        'progress 3',
        'log step 3',
        'progress 4',
        'log step 4',
        'result',
      ]);
    });

    it('answers on an SSE stream where the upstream did, with JSON where it answered JSON', async () => {
      const streamed = new RawMcpSession(viaSse.gw.httpUrl, viaSse.token);
      await streamed.open();
      const overSse = await streamed.callTool(1, 'echo', { text: 'a' });
      expect(overSse.headers.get('content-type')).toBe('text/event-stream');
      // As on a JSON answer: the client learns when the gateway drops an idle connection, so it stops reusing it first.
      expect(overSse.headers.get('keep-alive')).toMatch(/^timeout=\d+/);
      expect(await RawMcpSession.messagesOf(overSse)).toEqual([
        expect.objectContaining({ id: 1, result: expect.objectContaining({ content: [{ type: 'text', text: 'a' }] }) }),
      ]);

      const plain = new RawMcpSession(viaJson.gw.httpUrl, viaJson.token);
      await plain.open();
      const overJson = await plain.callTool(1, 'echo', { text: 'b' });
      expect(overJson.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await overJson.json()).toMatchObject({ id: 1, result: { content: [{ type: 'text', text: 'b' }] } });
      // A request that asks for progress gets a stream of its own whatever the upstream does.
      const withToken = await plain.callTool(2, 'echo', { text: 'c' }, 'token-1');
      expect(withToken.headers.get('content-type')).toBe('text/event-stream');
      expect(await RawMcpSession.messagesOf(withToken)).toEqual([expect.objectContaining({ id: 2 })]);
    });

    it('puts the related messages of a call on its own stream, in order, ending with the answer', async () => {
      const session = new RawMcpSession(viaSse.gw.httpUrl, viaSse.token);
      await session.open();
      const messages = await RawMcpSession.messagesOf(await session.callTool(7, 'progress', { steps: 2 }, 'p'));
      expect(messages.map((message) => message.method ?? `answer ${message.id}`)).toEqual([
        'notifications/progress',
        'notifications/message',
        'notifications/progress',
        'notifications/message',
        'answer 7',
      ]);
    });
  });

  describe('resumability', () => {
    it('gives every event an id and replays what the client missed on its GET stream (Last-Event-ID)', async () => {
      const session = new RawMcpSession(viaSse.gw.httpUrl, viaSse.token);
      await session.open();
      const cut = new AbortController();
      const first = new SseReader(await session.get(undefined, cut.signal));
      await sse.announce('one');
      const one = await first.nextMessage();
      expect(one?.message).toMatchObject({ method: 'notifications/message', params: { data: 'one' } });
      expect(one?.id).toBeTruthy();
      cut.abort();
      await sse.announce('two');
      await sse.announce('three');
      const resumed = new SseReader(await session.get(one?.id));
      expect((await resumed.nextMessage())?.message).toMatchObject({ params: { data: 'two' } });
      expect((await resumed.nextMessage())?.message).toMatchObject({ params: { data: 'three' } });
      await resumed.cancel();
    });

    it("resumes the upstream's GET stream with Last-Event-ID: what it sent while its stream was cut still arrives", async () => {
      const session = new RawMcpSession(viaSse.gw.httpUrl, viaSse.token);
      await session.open();
      const stream = new SseReader(await session.get());
      await sse.announce('before');
      expect((await stream.nextMessage())?.message).toMatchObject({ params: { data: 'before' } });
      // The upstream ends its GET stream; what it sends before the gateway is back waits in its event store.
      sse.cutGetStreams();
      await sse.announce('while cut');
      await sse.announce('after');
      expect((await stream.nextMessage())?.message).toMatchObject({ params: { data: 'while cut' } });
      expect((await stream.nextMessage())?.message).toMatchObject({ params: { data: 'after' } });
      await stream.cancel();
    });

    it("resumes a request's stream the client lost, up to its answer, on a GET with Last-Event-ID", async () => {
      const session = new RawMcpSession(viaSse.gw.httpUrl, viaSse.token);
      await session.open({ elicitation: {} });
      const cut = new AbortController();
      const call = new SseReader(await session.callTool(9, 'ask', {}, undefined, cut.signal));
      const question = await call.nextMessage();
      expect(question?.message).toMatchObject({ method: 'elicitation/create' });
      expect(question?.id).toBeTruthy();
      cut.abort();
      const answered = await session.post({
        jsonrpc: '2.0',
        id: question?.message.id,
        result: { action: 'accept', content: { name: 'x' } },
      });
      expect(answered.status).toBe(202);
      const resumed = new SseReader(await session.get(question?.id));
      expect((await resumed.nextMessage())?.message).toMatchObject({
        id: 9,
        result: { content: [{ type: 'text', text: 'answer: accept' }] },
      });
      expect(await resumed.next()).toBeUndefined();
    });
  });

  it('refuses a second GET stream while one is open (409, as the SDK server does), keeping the first', async () => {
    const session = new RawMcpSession(viaSse.gw.httpUrl, viaSse.token);
    await session.open();
    const first = new SseReader(await session.get());
    const second = await session.get();
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
    await sse.announce('still here');
    expect((await first.nextMessage())?.message).toMatchObject({ params: { data: 'still here' } });
    await first.cancel();
  });

  it('keeps the SDK client on one GET stream after an error answer on a resumable request stream', async () => {
    const gw = await startGatewayServer({
      env: { MCP_ALLOWED_TOOLS: 'echo' },
      connector: gatewayUpstreamConnector({ mcpUrl: sse.url }),
    });
    try {
      const client = await gw.connect('http', (await gw.registerUser()).accessToken);
      const errors: string[] = [];
      client.onerror = (error) => errors.push(error.message);
      const logs: string[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
        logs.push(String(notification.params.data));
      });
      // Asking for progress gets the answer (here a refusal) on a stream with event ids; the SDK
      // client resumes such a stream when its answer is an error, and then asks for a GET stream.
      await expect(
        client.callTool({ name: 'ask', arguments: {} }, undefined, { onprogress: () => {} }),
      ).rejects.toThrow(/not allowed/);
      await eventually(() => errors.some((error) => error.includes('Maximum reconnection attempts')), 20_000);
      await sse.announce('one stream');
      await eventually(() => logs.includes('one stream'));
    } finally {
      await gw.close();
    }
  });

  it('keeps server messages for a client whose GET stream is not open yet, in order, and never drops them', async () => {
    const eager = await startScriptedUpstream({
      onInitialized: (server) => {
        // At once, on the upstream's GET stream, before the client could have opened its own.
        server.server.listRoots().catch(() => {});
      },
    });
    const via = await gatewayTo(eager);
    try {
      const session = new RawMcpSession(via.gw.httpUrl, via.token);
      await session.open({ roots: {} });
      expect(await RawMcpSession.messagesOf(await session.callTool(1, 'echo', { text: 'x' }))).toHaveLength(1);
      const stream = new SseReader(await session.get());
      await eager.announce('later');
      expect((await stream.nextMessage())?.message).toMatchObject({ method: 'roots/list' });
      expect((await stream.nextMessage())?.message).toMatchObject({ params: { data: 'later' } });
      await stream.cancel();
    } finally {
      await via.gw.close();
      await eager.close();
    }
  });

  it('closes a session whose client leaves more than MCP_SESSION_BACKLOG_BYTES of server messages unread', async () => {
    const chatty = await startScriptedUpstream();
    const gw = await startGatewayServer({
      env: { MCP_SESSION_BACKLOG_BYTES: String(64 * 1024) },
      connector: gatewayUpstreamConnector({ mcpUrl: chatty.url }),
    });
    try {
      const session = new RawMcpSession(gw.httpUrl, (await gw.registerUser()).accessToken);
      await session.open();
      const cut = new AbortController();
      const stream = new SseReader(await session.get(undefined, cut.signal));
      // Read as they come: nothing piles up.
      for (let i = 0; i < 8; i++) {
        await chatty.announce('x'.repeat(10_000));
        expect((await stream.nextMessage())?.message).toMatchObject({ method: 'notifications/message' });
      }
      cut.abort();
      // Nobody reading: past 64 KiB waiting (once the gateway has seen the stream go, or dropped
      // it for not reading) the session ends rather than growing or dropping messages.
      for (let i = 0; i < 60 && gw.gateway.sessionCount === 1; i++) {
        await chatty.announce('x'.repeat(10_000));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(gw.gateway.sessionCount).toBe(0);
      expect((await session.callTool(1, 'echo', { text: 'x' })).status).toBe(404);
    } finally {
      await gw.close();
      await chatty.close();
    }
  });

  it('takes SSE priming events (an id, no data) as normal: no warnings', async () => {
    const client = await viaSse.gw.connect('http', viaSse.token);
    await client.callTool({ name: 'echo', arguments: { text: 'primed' } });
    const warnings = viaSse.gw.logger.lines.filter((line) => line.level === 'warn');
    expect(warnings.map((line) => JSON.stringify(line.fields))).toEqual([]);
  });
});
