import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
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

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
};

describe('per-user session cap (MCP_MAX_SESSIONS_PER_USER=2)', () => {
  let gw: GatewayServer;
  let alice: GatewayUser;
  let bob: GatewayUser;
  beforeAll(async () => {
    gw = await startGatewayServer({ env: { MCP_MAX_SESSIONS_PER_USER: '2' } });
    alice = await gw.registerUser();
    bob = await gw.registerUser();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('refuses a third session with 429 on both transports, counts HTTP and WebSocket sessions together', async () => {
    const first = await gw.connect('http', alice.accessToken);
    const second = await gw.connect('websocket', alice.accessToken);

    const refused = await gw.connect('http', alice.accessToken).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StreamableHTTPError);
    expect((refused as StreamableHTTPError).code).toBe(429);
    const raw = await postJson(gw.httpUrl, alice.accessToken, INITIALIZE);
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBeTruthy();
    expect(await raw.json()).toMatchObject({ error: { code: 'rate_limited' } });
    // Before any upgrade: no socket is opened for a session that could not exist.
    expect(await upgradeStatus(gw.wsUrl(alice.accessToken))).toBe(429);
    // Stateless requests hold a session while they run, so they are capped too.
    const stateless = await postJson(gw.httpUrl, alice.accessToken, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(stateless.status).toBe(429);

    // Other users are not affected.
    const bobs = await gw.connect('websocket', bob.accessToken);
    await bobs.ping();

    // A session that ends frees its slot.
    await disconnect(second);
    await eventually(() => gw.gateway.sessionsOf(alice.user.id) === 1);
    const third = await gw.connect('websocket', alice.accessToken);
    await third.ping();
    await first.ping();
    expect(gw.gateway.stats.snapshot().sessionsRejected).toBeGreaterThanOrEqual(4);
    await Promise.all([disconnect(first), disconnect(third), disconnect(bobs)]);
  });
});

describe('idle expiry (MCP_SESSION_IDLE_MS=400)', () => {
  const upstream = countingBuiltinUpstream(new InMemoryNoteStore());
  let gw: GatewayServer;
  let user: GatewayUser;
  beforeAll(async () => {
    gw = await startGatewayServer({ connector: upstream.connector, env: { MCP_SESSION_IDLE_MS: '400' } });
    user = await gw.registerUser();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('closes idle sessions on both transports and their upstream sessions', async () => {
    const http = await gw.connect('http', user.accessToken);
    const ws = await gw.connect('websocket', user.accessToken);
    let wsClosed = false;
    ws.onclose = () => {
      wsClosed = true;
    };
    // Each opened its upstream session. Not "both live now": on a loaded machine the first may
    // already have been idle for 400 ms by the time the second is up.
    expect(upstream.opened).toBe(2);
    await eventually(() => upstream.live === 0 && wsClosed, 20_000);
    expect(gw.gateway.sessionCount).toBe(0);
    // The HTTP client's session is gone: 404, the MCP signal to initialize again.
    const error = await http.listTools().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(404);
    expect(gw.logger.lines.filter((l) => l.message === 'mcp session closed').map((l) => l.fields.reason)).toEqual([
      'idle',
      'idle',
    ]);
    await http.close();
  });

  it('keeps a session that is busy or active', async () => {
    const client: Client = await gw.connect('websocket', user.accessToken);
    // A call longer than the idle limit is not idleness.
    const slept = await client.callTool({ name: 'sleep', arguments: { ms: 900 } });
    expect(slept.isError).toBeFalsy();
    // Neither is a steady trickle of requests.
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await client.ping();
    }
    expect(gw.gateway.sessionCount).toBe(1);
    await disconnect(client);
  });
});

describe('MCP_GATEWAY_MODE=stateless', () => {
  const upstream = countingBuiltinUpstream(new InMemoryNoteStore());
  let gw: GatewayServer;
  let user: GatewayUser;
  beforeAll(async () => {
    gw = await startGatewayServer({ connector: upstream.connector, env: { MCP_GATEWAY_MODE: 'stateless' } });
    user = await gw.registerUser();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('serves the SDK client without a session: every request opens and closes its own upstream session', async () => {
    const client = await gw.connect('http', user.accessToken);
    expect((client.transport as { sessionId?: string }).sessionId).toBeUndefined();
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
    const sum = await client.callTool({ name: 'calculate', arguments: { op: 'add', a: 1, b: 2 } });
    expect(sum.structuredContent).toEqual({ result: 3 });
    await eventually(() => upstream.live === 0 && gw.gateway.sessionCount === 0);
    expect(upstream.opened).toBeGreaterThanOrEqual(3); // initialize, tools/list, tools/call
    const get = await fetch(gw.httpUrl, {
      headers: { authorization: `Bearer ${user.accessToken}`, accept: 'text/event-stream' },
    });
    expect(get.status).toBe(405);
    await client.close();
  });
});

describe('WebSocket sessions and token expiry (JWT_ACCESS_TTL=2)', () => {
  let gw: GatewayServer;
  beforeAll(async () => {
    gw = await startGatewayServer({ env: { JWT_ACCESS_TTL: '2' } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('closes a WebSocket session with 4401 when the token it was opened with expires', async () => {
    const { accessToken } = await gw.registerUser();
    const ws = new WebSocket(gw.wsUrl(accessToken), 'mcp');
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    expect(await closed).toEqual({ code: 4401, reason: 'access token expired' });
    await eventually(() => gw.gateway.sessionCount === 0);
  });
});
