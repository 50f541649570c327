import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayUpstreamConnector } from '../../src/node/mcp-gateway-factory';
import { eventually, type GatewayServer, type GatewayUser, postJson, startGatewayServer } from './gateway-server';
import { RawMcpSession } from './raw-mcp-client';
import { startScriptedUpstream } from './scripted-upstream';

type Upstream = Awaited<ReturnType<typeof startScriptedUpstream>>;

/** Requests without an MCP session: a POST without Mcp-Session-Id, and every POST in stateless mode. */
describe('MCP gateway: requests without a session', () => {
  let upstream: Upstream;
  let stateless: GatewayServer;
  let sessions: GatewayServer;
  let user: GatewayUser;

  beforeAll(async () => {
    upstream = await startScriptedUpstream();
    const connector = gatewayUpstreamConnector({ mcpUrl: upstream.url });
    // A short upstream timeout: a question nobody can answer must not be what ends a call.
    const env = { MCP_UPSTREAM_TIMEOUT_MS: '4000', MCP_MAX_SESSIONS_PER_USER: '20' };
    stateless = await startGatewayServer({ env: { ...env, MCP_GATEWAY_MODE: 'stateless' }, connector });
    sessions = await startGatewayServer({ env, db: stateless.db, connector });
    user = await stateless.registerUser();
  });
  afterAll(async () => {
    await sessions?.close();
    await stateless?.close();
    await upstream?.close();
  });

  it('answers a body that is no JSON-RPC message with 400 and a JSON-RPC error', async () => {
    for (const body of [{ a: 1 }, [], 's', [{ a: 1 }], [{ jsonrpc: '2.0', method: 'x' }, 5]]) {
      for (const gw of [sessions, stateless]) {
        const response = await postJson(gw.httpUrl, user.accessToken, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 }, id: null });
      }
    }
  });

  it("refuses the upstream's questions to the client at once (there is no session to answer on)", async () => {
    const client = await stateless.connect('http', user.accessToken);
    const result = await client.callTool({ name: 'ask', arguments: {} });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/nowhere to take an answer/);
    const sessionless = await postJson(sessions.httpUrl, user.accessToken, {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'ask', arguments: {} },
    });
    expect(JSON.stringify(await RawMcpSession.messagesOf(sessionless))).toMatch(/nowhere to take an answer/);
  });

  it('passes a cancellation to the request it names, which ends upstream and is answered', async () => {
    for (const gw of [stateless, sessions]) {
      const label = `cancel-${gw === stateless ? 'stateless' : 'sessionless'}`;
      const call = postJson(gw.httpUrl, user.accessToken, {
        jsonrpc: '2.0',
        id: 'long',
        method: 'tools/call',
        params: { name: 'wait_for_cancel', arguments: { label } },
      });
      await eventually(() => upstream.received.some((m) => JSON.stringify(m).includes(label)));
      const cancel = await postJson(gw.httpUrl, user.accessToken, {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: 'long', reason: 'changed my mind' },
      });
      expect(cancel.status).toBe(202);
      expect(await RawMcpSession.messagesOf(await call)).toEqual([
        expect.objectContaining({ id: 'long', error: expect.objectContaining({ code: -32800 }) }),
      ]);
      await eventually(() => upstream.cancelled.includes(label));
    }
  });

  it("does not let another user's cancellation reach a request", async () => {
    const other = await stateless.registerUser();
    const call = postJson(stateless.httpUrl, user.accessToken, {
      jsonrpc: '2.0',
      id: 'mine',
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'kept' } },
    });
    await postJson(stateless.httpUrl, other.accessToken, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 'mine' },
    });
    expect(await RawMcpSession.messagesOf(await call)).toEqual([
      expect.objectContaining({
        id: 'mine',
        result: expect.objectContaining({ content: [{ type: 'text', text: 'kept' }] }),
      }),
    ]);
  });

  it('forwards only MCP notifications, with the user written in: a tools/call without an id goes nowhere', async () => {
    const marker = `sneaky-${crypto.randomUUID()}`;
    const sneaky = { jsonrpc: '2.0', method: 'tools/call', params: { name: 'echo', arguments: { text: marker } } };
    const roots = {
      jsonrpc: '2.0',
      method: 'notifications/roots/list_changed',
      params: { _meta: { userId: 'forged' } },
    };
    const batch = await postJson(stateless.httpUrl, user.accessToken, [
      { jsonrpc: '2.0', id: 1, method: 'ping' },
      sneaky,
      roots,
    ]);
    expect(batch.status).toBe(200);
    const session = new RawMcpSession(sessions.httpUrl, user.accessToken);
    await session.open();
    expect((await session.post(sneaky)).status).toBe(202);
    expect((await session.post(roots)).status).toBe(202);
    await eventually(
      () =>
        upstream.received.filter(
          (m: JSONRPCMessage) => 'method' in m && m.method === 'notifications/roots/list_changed',
        ).length === 2,
    );
    expect(upstream.received.some((m) => JSON.stringify(m).includes(marker))).toBe(false);
    const forwarded = upstream.received.filter((m) => 'method' in m && m.method === 'notifications/roots/list_changed');
    for (const notification of forwarded) {
      expect(notification).toMatchObject({ params: { _meta: { userId: user.user.id } } });
    }
  });
});
