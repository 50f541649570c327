import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryNoteStore } from '../../src/mcp-server/in-memory-note-store';
import { disconnect, type GatewayServer, sessionHeaders, startGatewayServer } from './gateway-server';
import { countingBuiltinUpstream } from './upstreams';

/**
 * The POSTs of an open Streamable HTTP session, sent by hand: ordinary ones take the
 * session transport's short way, anything else is answered by the SDK's transport.
 */
describe('MCP gateway: POSTs within a Streamable HTTP session', () => {
  const upstream = countingBuiltinUpstream(new InMemoryNoteStore());
  let gw: GatewayServer;
  let token: string;
  let sessionId: string;
  let end: () => Promise<void>;

  beforeAll(async () => {
    gw = await startGatewayServer({ connector: upstream.connector });
    token = (await gw.registerUser()).accessToken;
    const client = await gw.connect('http', token);
    sessionId = (client.transport as { sessionId?: string }).sessionId as string;
    end = () => disconnect(client);
  });
  afterAll(async () => {
    await end?.();
    await gw?.close();
  });

  function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(gw.httpUrl, {
      method: 'POST',
      headers: { ...sessionHeaders(token, sessionId), ...headers },
      body,
    });
  }
  const call = (id: number | string, text: string) =>
    JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text } } });

  it('answers a call with JSON carrying the session id', async () => {
    const response = await post(call(1, 'short'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('mcp-session-id')).toBe(sessionId);
    expect(await response.json()).toMatchObject({
      jsonrpc: '2.0',
      id: 1,
      result: { structuredContent: { text: 'short' } },
    });
  });

  it('accepts a notification with 202', async () => {
    const response = await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }));
    expect(response.status).toBe(202);
  });

  it('serves other spellings of JSON, batches and a missing protocol version the SDK way', async () => {
    const charset = await post(call(2, 'charset'), { 'content-type': 'application/json; charset=utf-8' });
    expect(await charset.json()).toMatchObject({ id: 2, result: { structuredContent: { text: 'charset' } } });
    const batch = await post(`[${call(3, 'a')},${call(4, 'b')}]`);
    expect(await batch.json()).toEqual([
      expect.objectContaining({ id: 3, result: expect.objectContaining({ structuredContent: { text: 'a' } }) }),
      expect.objectContaining({ id: 4, result: expect.objectContaining({ structuredContent: { text: 'b' } }) }),
    ]);
    const { 'mcp-protocol-version': _, ...withoutVersion } = sessionHeaders(token, sessionId);
    const noVersion = await fetch(gw.httpUrl, { method: 'POST', headers: withoutVersion, body: call(5, 'no version') });
    expect(await noVersion.json()).toMatchObject({ id: 5, result: { structuredContent: { text: 'no version' } } });
  });

  it('refuses what the SDK refuses: bad JSON, an invalid message, a bad Accept, an unknown protocol version, a second initialize', async () => {
    const badJson = await post('{"jsonrpc":');
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { code: -32700 }, id: null });
    const invalid = await post(JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/call', extra: true }));
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: { code: -32700 } });
    const accept = await post(call(7, 'x'), { accept: 'application/json' });
    expect(accept.status).toBe(406);
    const version = await post(call(8, 'x'), { 'mcp-protocol-version': '1999-01-01' });
    expect(version.status).toBe(400);
    const initialize = await post(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'again', version: '1' } },
      }),
    );
    expect(initialize.status).toBe(400);
    expect(await initialize.json()).toMatchObject({
      error: { code: -32600, message: expect.stringMatching(/initialized/) },
    });
    // The session still works.
    expect(await (await post(call(10, 'still'))).json()).toMatchObject({ id: 10, result: {} });
  });

  it('refuses a second request with the id of one in flight, and still answers the first', async () => {
    const slow = JSON.stringify({
      jsonrpc: '2.0',
      id: 'dup',
      method: 'tools/call',
      params: { name: 'sleep', arguments: { ms: 200 } },
    });
    const first = post(slow);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await post(call('dup', 'again'));
    expect(await second.json()).toMatchObject({
      id: 'dup',
      error: { code: -32600, message: expect.stringMatching(/in use/) },
    });
    expect(await (await first).json()).toMatchObject({ id: 'dup', result: { content: expect.any(Array) } });
  });
});
