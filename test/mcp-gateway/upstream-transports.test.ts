import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryNoteStore } from '../../src/mcp-server/in-memory-note-store';
import { type RunningMcpServer, startMcpServer } from '../../src/node/mcp-server-process';
import { freePort } from '../helpers/servers';
import {
  disconnect,
  eventually,
  type GatewayServer,
  type GatewayUser,
  postJson,
  startGatewayServer,
} from './gateway-server';
import { everythingStdioUpstream, isRunning, startEverythingHttp, startRecordingHttpUpstream } from './upstreams';

const transports = ['http', 'websocket'] as const;
const label = (t: (typeof transports)[number]) => (t === 'http' ? 'Streamable HTTP' : 'WebSocket');

describe('gateway → built-in server over Streamable HTTP (MCP_URL + MCP_AUTH_TOKEN)', () => {
  const GATEWAY_CREDENTIAL = 'gateway-own-upstream-credential';
  let upstream: Awaited<ReturnType<typeof startRecordingHttpUpstream>>;
  let gw: GatewayServer;
  let user: GatewayUser;

  beforeAll(async () => {
    upstream = await startRecordingHttpUpstream({ notes: new InMemoryNoteStore(), authToken: GATEWAY_CREDENTIAL });
    // The upstream exactly as the Node entry selects it: from the configuration.
    gw = await startGatewayServer({
      env: { MCP_URL: upstream.url, MCP_AUTH_TOKEN: GATEWAY_CREDENTIAL, MCP_ALLOWED_TOOLS: 'echo,calculate,fail' },
    });
    user = await gw.registerUser();
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  for (const transport of transports) {
    it(`relays a whole session from a ${label(transport)} client and ends the upstream session after it`, async () => {
      await eventually(() => upstream.handler.sessionCount === 0);
      const client = await gw.connect(transport, user.accessToken);
      expect(upstream.handler.sessionCount).toBe(1);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['calculate', 'echo', 'fail']);
      const product = await client.callTool({ name: 'calculate', arguments: { op: 'multiply', a: 3, b: 5 } });
      expect(product.structuredContent).toEqual({ result: 15 });
      const refused = await client.callTool({ name: 'note_set', arguments: { key: 'k', value: 'v' } }).catch((e) => e);
      expect(refused).toBeInstanceOf(McpError);
      expect((refused as McpError).message).toMatch(/not allowed/);
      await disconnect(client);
      // DELETE upstream: the session is gone at once, not at the upstream's idle timeout.
      await eventually(() => upstream.handler.sessionCount === 0);
    });
  }

  it("never passes the user's token upstream: every upstream request carries the gateway's own credential", async () => {
    const stateless = await fetch(gw.httpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${user.accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: 'x' } },
      }),
    });
    expect(stateless.status).toBe(200);
    expect(upstream.authorizations.length).toBeGreaterThan(5);
    expect(new Set(upstream.authorizations)).toEqual(new Set([`Bearer ${GATEWAY_CREDENTIAL}`]));
    expect(upstream.authorizations.some((value) => value?.includes(user.accessToken))).toBe(false);
  });

  it('sends credentials written into MCP_URL as Basic auth, never in the request line', async () => {
    const basic = await startRecordingHttpUpstream({ notes: new InMemoryNoteStore() });
    const withCredentials = new URL(basic.url);
    withCredentials.username = 'gateway';
    withCredentials.password = 's:cret';
    const viaBasic = await startGatewayServer({ env: { MCP_URL: withCredentials.href } });
    try {
      const client = await viaBasic.connect('http', (await viaBasic.registerUser()).accessToken);
      const echoed = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
      expect(echoed.structuredContent).toEqual({ text: 'hi' });
      await disconnect(client);
      const expected = `Basic ${Buffer.from('gateway:s:cret').toString('base64')}`;
      expect(basic.authorizations.length).toBeGreaterThan(2);
      expect(new Set(basic.authorizations)).toEqual(new Set([expected]));
    } finally {
      await viaBasic.close();
      await basic.close();
    }
  });

  it('answers calls with errors, not silence, once the upstream has gone away; new sessions get 503', async () => {
    const doomed = await startRecordingHttpUpstream({ notes: new InMemoryNoteStore() });
    const gateway = await startGatewayServer({ env: { MCP_URL: doomed.url } });
    try {
      const someone = await gateway.registerUser();
      const client = await gateway.connect('http', someone.accessToken);
      expect((await client.callTool({ name: 'echo', arguments: { text: 'up' } })).isError).toBeFalsy();
      await doomed.close();
      const failed = await client.callTool({ name: 'echo', arguments: { text: 'down' } }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(McpError);
      const refused = await gateway.connect('http', someone.accessToken).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(StreamableHTTPError);
      expect((refused as StreamableHTTPError).code).toBe(503);
      await disconnect(client);
    } finally {
      await gateway.close();
    }
  });

  it('answers 503 when the upstream refuses the gateway, and logs why', async () => {
    const wrong = await startGatewayServer({ env: { MCP_URL: upstream.url, MCP_AUTH_TOKEN: 'wrong-credential' } });
    try {
      const someone = await wrong.registerUser();
      const error = await wrong.connect('http', someone.accessToken).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamableHTTPError);
      expect((error as StreamableHTTPError).code).toBe(503);
      expect(wrong.logger.lines.some((line) => /401/.test(JSON.stringify(line.fields)))).toBe(true);
      await eventually(() => wrong.gateway.sessionCount === 0);
    } finally {
      await wrong.close();
    }
  });

  it('answers 503 to initialize, naming no upstream, when the upstream cannot be reached (sessions and sessionless)', async () => {
    const port = await freePort();
    const unreachable = await startGatewayServer({ env: { MCP_URL: `http://127.0.0.1:${port}/mcp` } });
    try {
      const someone = await unreachable.registerUser();
      const initialize = {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
      };
      const call = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } };
      for (const body of [initialize, call]) {
        const response = await postJson(unreachable.httpUrl, someone.accessToken, body);
        const text = await response.text();
        expect(response.status).toBe(503);
        expect(text).not.toContain(String(port));
      }
      await eventually(
        () => unreachable.gateway.sessionCount === 0 && unreachable.gateway.sessionsOf(someone.user.id) === 0,
      );
    } finally {
      await unreachable.close();
    }
  });
});

describe('gateway → built-in server over WebSocket (MCP_URL=ws://…?token=)', () => {
  let upstream: RunningMcpServer;
  let gw: GatewayServer;
  let user: GatewayUser;

  beforeAll(async () => {
    upstream = await startMcpServer({ port: 0, notes: new InMemoryNoteStore(), authToken: 'ws-upstream-token' });
    gw = await startGatewayServer({ env: { MCP_URL: `${upstream.wsUrl}?token=ws-upstream-token` } });
    user = await gw.registerUser();
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  for (const transport of transports) {
    it(`relays a ${label(transport)} client's calls`, async () => {
      const client = await gw.connect(transport, user.accessToken);
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('note_set');
      const echo = await client.callTool({ name: 'echo', arguments: { text: 'over ws', n: 1 } });
      expect(echo.structuredContent).toEqual({ text: 'over ws', n: 1 });
      const failed = await client.callTool({ name: 'fail', arguments: {} });
      expect(failed.isError).toBe(true);
      await disconnect(client);
      await eventually(() => gw.gateway.sessionCount === 0);
    });
  }
});

describe('gateway → @modelcontextprotocol/server-everything over stdio', () => {
  const everything = everythingStdioUpstream();
  let gw: GatewayServer;
  let user: GatewayUser;

  beforeAll(async () => {
    gw = await startGatewayServer({
      connector: everything.connector,
      env: { MCP_ALLOWED_TOOLS: 'echo,get-sum,trigger-long-running-operation' },
    });
    user = await gw.registerUser();
  });
  afterAll(async () => {
    await gw?.close();
    for (const transport of everything.transports) await transport.close().catch(() => {});
  });

  for (const transport of transports) {
    it(`serves a ${label(transport)} client: list, call, bad call, allow-list, progress; the process ends with the session`, async () => {
      const client = await gw.connect(transport, user.accessToken);
      expect(client.getServerVersion()?.name).toMatch(/everything/i);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['echo', 'get-sum', 'trigger-long-running-operation']);

      expect(await client.callTool({ name: 'echo', arguments: { message: 'hello' } })).toMatchObject({
        content: [{ type: 'text', text: 'Echo: hello' }],
      });
      const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
      expect(JSON.stringify(sum.content)).toContain('5');

      const bad = await client.callTool({ name: 'get-sum', arguments: { a: 'two' } }).catch((e: unknown) => e);
      if (bad instanceof McpError) expect(bad.code).toBe(-32602);
      else expect(bad).toMatchObject({ isError: true });

      const hidden = await client.callTool({ name: 'get-env', arguments: {} }).catch((e: unknown) => e);
      expect(hidden).toBeInstanceOf(McpError);
      expect((hidden as McpError).message).toMatch(/"get-env" is not allowed/);

      // Progress notifications find their way back to the request that asked for them.
      const progress: number[] = [];
      await client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
        undefined,
        { onprogress: (p) => progress.push(p.progress) },
      );
      // The SDK client handles notifications a microtask after responses, so the last progress
      // notification, arriving together with the result, can be dropped by the client itself.
      expect(progress.slice(0, 2)).toEqual([1, 2]);

      const child = everything.transports.at(-1);
      expect(isRunning(child?.pid)).toBe(true);
      await disconnect(client);
      await eventually(() => !isRunning(child?.pid), 5000);
    });
  }
});

describe('gateway → server-everything over HTTP (MCP_URL)', () => {
  for (const mode of ['streamableHttp', 'sse'] as const) {
    it(`${mode === 'sse' ? 'legacy HTTP+SSE (fallback after the 4xx to the first POST)' : 'Streamable HTTP with SSE answers'}: calls, errors and progress`, async () => {
      const everything = await startEverythingHttp(mode, await freePort());
      const gw = await startGatewayServer({ env: { MCP_URL: everything.url } });
      try {
        const user = await gw.registerUser();
        for (const transport of transports) {
          const client = await gw.connect(transport, user.accessToken);
          expect(client.getServerVersion()?.name).toMatch(/everything/i);
          expect(await client.callTool({ name: 'echo', arguments: { message: mode } })).toMatchObject({
            content: [{ type: 'text', text: `Echo: ${mode}` }],
          });
          const bad = await client.callTool({ name: 'nope', arguments: {} }).catch((e: unknown) => e);
          if (bad instanceof McpError) expect(bad.message).toMatch(/nope/);
          else expect(bad).toMatchObject({ isError: true });
          const progress: number[] = [];
          await client.callTool(
            { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
            undefined,
            { onprogress: (p) => progress.push(p.progress) },
          );
          expect(progress.slice(0, 2)).toEqual([1, 2]);
          await disconnect(client);
        }
        await eventually(() => gw.gateway.sessionCount === 0);
      } finally {
        await gw.close();
        await everything.close();
      }
    });
  }
});
