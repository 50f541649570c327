import { once } from 'node:events';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { InMemoryNoteStore } from '../../src/mcp-server/in-memory-note-store';
import { eventually, type GatewayServer, postJson, startGatewayServer } from './gateway-server';
import { countingBuiltinUpstream } from './upstreams';

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
};

/** A gateway clock the test moves by hand (session accounting reads it). */
class ManualClock {
  ms = Date.parse('2026-01-01T00:00:00Z');
  readonly now = () => this.ms;
}

describe('MCP gateway session accounting', () => {
  let gw: GatewayServer | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('lets a session abandoned without DELETE stop counting, and tells the true Retry-After', async () => {
    const clock = new ManualClock();
    const upstream = countingBuiltinUpstream(new InMemoryNoteStore());
    gw = await startGatewayServer({
      env: { MCP_MAX_SESSIONS_PER_USER: '3', MCP_SESSION_DETACHED_MS: '30000' },
      connector: upstream.connector,
      now: clock.now,
    });
    const { accessToken, user } = await gw.registerUser();
    const kept = await gw.connect('http', accessToken);
    const abandoned: Client[] = [await gw.connect('http', accessToken), await gw.connect('http', accessToken)];
    // The SDK client's close() sends no DELETE: it only drops its streams.
    for (const client of abandoned) await client.close();

    const refusal = async () => {
      const response = await postJson(gw?.httpUrl ?? '', accessToken, initialize);
      return { status: response.status, retryAfter: response.headers.get('retry-after') };
    };
    // Once the gateway has seen both GET streams go, the first slot frees 30 s later.
    await eventually(async () => (await refusal()).retryAfter === '30');
    expect(await refusal()).toEqual({ status: 429, retryAfter: '30' });
    clock.ms += 12_000;
    expect(await refusal()).toEqual({ status: 429, retryAfter: '18' });

    clock.ms += 18_000;
    const first = await gw.connect('http', accessToken);
    const second = await gw.connect('http', accessToken);
    expect(gw.gateway.sessionsOf(user.id)).toBe(3);
    expect(gw.gateway.stats.snapshot().sessionsRetired).toBe(2);
    await eventually(() => upstream.live === 3);
    // The session whose client is still there is never taken.
    expect((await kept.callTool({ name: 'echo', arguments: { text: 'still here' } })).structuredContent).toEqual({
      text: 'still here',
    });
    const full = await refusal();
    expect(full.status).toBe(429);
    for (const client of [kept, first, second]) await client.close();
  });

  it('keeps the global cap fair: a newcomer takes a session from whoever holds the most', async () => {
    const upstream = countingBuiltinUpstream(new InMemoryNoteStore());
    gw = await startGatewayServer({
      env: { MCP_MAX_SESSIONS: '4', MCP_MAX_SESSIONS_PER_USER: '10' },
      connector: upstream.connector,
    });
    const greedy = await gw.registerUser();
    const sockets: WebSocket[] = [];
    const closes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const socket = new WebSocket(gw.wsUrl(greedy.accessToken), 'mcp');
      socket.on('close', (code) => closes.push(code));
      await once(socket, 'open');
      sockets.push(socket);
    }
    await eventually(() => gw?.gateway.sessionsOf(greedy.user.id) === 4);
    const tooMany = await postJson(gw.httpUrl, greedy.accessToken, initialize);
    expect(tooMany.status).toBe(429);

    const newcomer = await gw.registerUser();
    const welcomed = await gw.connect('http', newcomer.accessToken);
    await eventually(() => closes.length === 1);
    expect(closes).toEqual([1013]);
    const another = await gw.registerUser();
    const alsoWelcomed = await gw.connect('websocket', another.accessToken);
    await eventually(() => closes.length === 2);
    expect(gw.gateway.sessionsOf(greedy.user.id)).toBe(2);

    // 2 / 1 / 1: a second session of the newcomer would take from someone holding no more than one more.
    const second = await postJson(gw.httpUrl, newcomer.accessToken, initialize);
    expect(second.status).toBe(429);
    expect(await second.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);
    await welcomed.close();
    await alsoWelcomed.close();
    for (const socket of sockets) socket.close();
  });
});
