import { once } from 'node:events';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { InMemoryNoteStore } from '../../src/mcp-server/in-memory-note-store';
import { gatewayUpstreamConnector } from '../../src/node/mcp-gateway-factory';
import { eventually, type GatewayServer, postJson, startGatewayServer } from './gateway-server';
import { startScriptedUpstream } from './scripted-upstream';
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

  it('gives the place of a session left without DELETE to its user at once: the SDK client run again and again never locks out', async () => {
    const upstream = await startScriptedUpstream();
    try {
      gw = await startGatewayServer({
        env: { MCP_MAX_SESSIONS_PER_USER: '5' },
        connector: gatewayUpstreamConnector({ mcpUrl: upstream.url }),
      });
      const { accessToken, user } = await gw.registerUser();
      // Every run lists tools and calls one with progress, then leaves the way the SDK's close() does: no DELETE.
      for (let run = 1; run <= 7; run++) {
        const client = await gw.connect('http', accessToken);
        expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('progress');
        const progress: number[] = [];
        const result = await client.callTool({ name: 'progress', arguments: { steps: 3 } }, undefined, {
          onprogress: ({ progress: step }) => progress.push(step),
        });
        expect({ run, progress, content: result.content }).toEqual({
          run,
          progress: [1, 2, 3],
          content: [{ type: 'text', text: 'done after 3' }],
        });
        await client.close();
      }
      expect(gw.gateway.sessionsOf(user.id)).toBe(5);
      expect(gw.gateway.stats.snapshot().sessionsRetired).toBe(2);
    } finally {
      await gw?.close();
      gw = undefined;
      await upstream.close();
    }
  });

  it('never takes a session whose client is still there: over the cap with every one in use, 429', async () => {
    const upstream = countingBuiltinUpstream(new InMemoryNoteStore());
    gw = await startGatewayServer({ env: { MCP_MAX_SESSIONS_PER_USER: '2' }, connector: upstream.connector });
    const { accessToken } = await gw.registerUser();
    const kept = await gw.connect('http', accessToken);
    const left = await gw.connect('http', accessToken);
    await left.close();
    // As soon as the gateway has seen the left client's GET stream go, its place is free.
    let taking: Client | undefined;
    await eventually(async () => {
      taking = await gw?.connect('http', accessToken).catch(() => undefined);
      return taking !== undefined;
    });
    const refused = await postJson(gw.httpUrl, accessToken, initialize);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    await eventually(() => upstream.live === 2);
    for (const client of [kept, taking as Client]) {
      expect((await client.callTool({ name: 'echo', arguments: { text: 'here' } })).structuredContent).toEqual({
        text: 'here',
      });
      await client.close();
    }
  });

  it("takes another user's session at the global cap only once abandoned for MCP_SESSION_DETACHED_MS, and tells the true Retry-After", async () => {
    const clock = new ManualClock();
    const upstream = countingBuiltinUpstream(new InMemoryNoteStore());
    gw = await startGatewayServer({
      env: { MCP_MAX_SESSIONS: '2', MCP_MAX_SESSIONS_PER_USER: '10', MCP_SESSION_DETACHED_MS: '30000' },
      connector: upstream.connector,
      now: clock.now,
    });
    const walker = await gw.registerUser();
    const stayer = await gw.registerUser();
    const kept = await gw.connect('http', stayer.accessToken);
    await (await gw.connect('http', walker.accessToken)).close();

    const refusal = async () => {
      const response = await postJson(gw?.httpUrl ?? '', stayer.accessToken, initialize);
      return { status: response.status, retryAfter: response.headers.get('retry-after') };
    };
    // Once the gateway has seen the walker's GET stream go, its slot frees 30 s later.
    await eventually(async () => (await refusal()).retryAfter === '30');
    expect(await refusal()).toEqual({ status: 429, retryAfter: '30' });
    clock.ms += 12_000;
    expect(await refusal()).toEqual({ status: 429, retryAfter: '18' });

    clock.ms += 18_000;
    const second = await gw.connect('http', stayer.accessToken);
    expect(gw.gateway.sessionsOf(walker.user.id)).toBe(0);
    expect(gw.gateway.sessionsOf(stayer.user.id)).toBe(2);
    expect(gw.gateway.stats.snapshot().sessionsRetired).toBe(1);
    await eventually(() => upstream.live === 2);
    for (const client of [kept, second]) await client.close();
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
