import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/test-app';
import { disconnect, type GatewayServer, postJson, sessionHeaders, startGatewayServer } from './gateway-server';

/**
 * Two API instances on one database, as behind a load balancer. A session lives in the
 * instance that opened it: clients whose requests keep reaching that instance (session
 * affinity, or one WebSocket) keep working; its session id means nothing to the other
 * instance (404, and MCP clients initialize again); sessionless requests work anywhere.
 */
describe('several API instances', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: GatewayServer;
  let b: GatewayServer;
  let token: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await startGatewayServer({ db: database.db });
    b = await startGatewayServer({ db: database.db });
    token = (await a.registerUser()).accessToken;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.close();
  });

  it('keeps each client working while its requests reach the same instance', async () => {
    const onA = await a.connect('http', token);
    const onB = await b.connect('http', token);
    const wsOnB = await b.connect('websocket', token);
    for (let i = 0; i < 10; i++) {
      const [x, y, z] = await Promise.all([
        onA.callTool({ name: 'calculate', arguments: { op: 'add', a: i, b: 1 } }),
        onB.callTool({ name: 'calculate', arguments: { op: 'add', a: i, b: 2 } }),
        wsOnB.callTool({ name: 'calculate', arguments: { op: 'add', a: i, b: 3 } }),
      ]);
      expect([x.structuredContent, y.structuredContent, z.structuredContent]).toEqual([
        { result: i + 1 },
        { result: i + 2 },
        { result: i + 3 },
      ]);
    }
    expect(a.gateway.sessionCount).toBe(1);
    expect(b.gateway.sessionCount).toBe(2);
    await Promise.all([disconnect(onA), disconnect(onB), disconnect(wsOnB)]);
  });

  it('answers 404 for a session held by the other instance; the client can initialize again there', async () => {
    const onA = await a.connect('http', token);
    const sessionId = (onA.transport as { sessionId?: string }).sessionId as string;
    const misrouted = await fetch(b.httpUrl, {
      method: 'POST',
      headers: sessionHeaders(token, sessionId),
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(misrouted.status).toBe(404);
    const again = await b.connect('http', token);
    expect((await again.listTools()).tools.length).toBeGreaterThan(0);
    await Promise.all([disconnect(onA), disconnect(again)]);
  });

  it('serves sessionless requests on whichever instance they reach', async () => {
    for (let i = 0; i < 6; i++) {
      const instance = i % 2 === 0 ? a : b;
      const response = await postJson(instance.httpUrl, token, {
        jsonrpc: '2.0',
        id: i,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: `request ${i}` } },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ id: i, result: { structuredContent: { text: `request ${i}` } } });
    }
  });
});
