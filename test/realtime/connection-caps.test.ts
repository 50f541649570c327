import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadConfig } from '../../src/config/config';
import { ConnectionCaps } from '../../src/realtime/connection-caps';
import { InMemoryChannelHub } from '../../src/realtime/in-memory-channel-hub';
import { RealtimeGateway } from '../../src/realtime/realtime-gateway';
import { type RealtimeServer, sleep, startRealtimeServer } from './realtime-server';

/** The refused upgrade's status and JSON body. */
function refusedUpgrade(url: string): Promise<{ status: number; body: any; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => reject(new Error('upgrade was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(text),
          retryAfter: res.headers['retry-after'] as string,
        }),
      );
    });
    ws.once('error', () => {});
  });
}

describe('/ws connection caps', () => {
  let server: RealtimeServer;

  beforeAll(async () => {
    server = await startRealtimeServer({ env: { WS_MAX_CONNECTIONS_PER_USER: '3', WS_MAX_CONNECTIONS: '5' } });
  });
  afterAll(() => server.close());

  it('defaults to 20 connections per user and 10000 per process', () => {
    const config = loadConfig({});
    expect(config.wsMaxConnectionsPerUser).toBe(20);
    expect(config.wsMaxConnections).toBe(10_000);
    expect(config.wsMaxBufferedBytes).toBe(4 * 1024 * 1024);
  });

  it('refuses a user past WS_MAX_CONNECTIONS_PER_USER with 429 before the upgrade; others still connect', async () => {
    const alice = await server.registerUser();
    const bob = await server.registerUser();
    const carol = await server.registerUser();
    const aliceSockets = await Promise.all([1, 2, 3].map(() => server.connect(alice.accessToken)));

    const refused = await refusedUpgrade(`${server.wsUrl}?token=${alice.accessToken}`);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(refused.body.error.message).toBe('At most 3 /ws connections per user; close one first');
    expect(refused.retryAfter).toBe('5');
    expect(server.gateway.stats.connections).toBe(3);

    // Bob is not held back by Alice; the process-wide cap (5) then refuses anyone with 503.
    await server.connect(bob.accessToken);
    await server.connect(bob.accessToken);
    const full = await refusedUpgrade(`${server.wsUrl}?token=${carol.accessToken}`);
    expect(full.status).toBe(503);

    // A closed socket gives its place back.
    aliceSockets[0]?.close();
    await aliceSockets[0]?.closed;
    while (server.gateway.stats.connections > 4) await sleep(10);
    const again = await server.connect(carol.accessToken);
    await again.subscribe('room');
  });
});

describe('ConnectionCaps', () => {
  it('a socket that opens after its upgrade lost the race to the cap is closed with 1008', () => {
    const gateway = new RealtimeGateway({ hub: new InMemoryChannelHub(), connections: { maxConnectionsPerUser: 1 } });
    const closes: Array<[number, string]> = [];
    const sink = { send: () => {}, close: (code: number, reason: string) => closes.push([code, reason]) };
    const user = { id: 'u1', role: 'user' as const };
    const first = gateway.connect(user, sink);
    expect(first).toBeDefined();
    expect(gateway.connect(user, sink)).toBeUndefined();
    expect(closes).toEqual([[1008, 'At most 1 /ws connections per user; close one first']]);
    first?.end();
    expect(gateway.connect(user, sink)).toBeDefined();
  });

  it('counts per user and in total, and never goes below zero', () => {
    const caps = new ConnectionCaps({ maxConnectionsPerUser: 2, maxConnections: 3 });
    expect(caps.take('a')).toBe(true);
    expect(caps.take('a')).toBe(true);
    expect(caps.take('a')).toBe(false);
    expect(caps.take('b')).toBe(true);
    expect(caps.refusal('c')?.status).toBe(503);
    caps.release('b');
    caps.release('b');
    expect(caps.take('c')).toBe(true);
    expect(caps.take('c')).toBe(false);
  });
});
