import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { AccessTokens } from '../../src/auth/access-tokens';
import { TEST_JWT_SECRET } from '../helpers/test-app';
import { type RealtimeServer, sleep, startRealtimeServer, TestClient } from './realtime-server';

/** What a refused upgrade answers: status, headers and the JSON body. */
function refusedUpgrade(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: any; headers: IncomingMessage['headers'] }>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => reject(new Error('upgrade unexpectedly accepted')));
    ws.on('error', () => {});
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined, headers: res.headers }),
      );
    });
  });
}

/** The headers of the 101 response of an accepted upgrade. */
function upgradeHeaders(url: string, headers: Record<string, string> = {}) {
  return new Promise<IncomingMessage['headers']>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('upgrade', (res) => {
      resolve(res.headers);
      ws.close();
    });
    ws.on('error', reject);
  });
}

describe('/ws handshake', () => {
  let server: RealtimeServer;
  let user: Awaited<ReturnType<RealtimeServer['registerUser']>>;

  beforeAll(async () => {
    server = await startRealtimeServer({
      env: { CORS_ORIGINS: 'https://app.example.com' },
      // Holds an upgrade open long enough for the client to reset it mid-handshake.
      wrapWebSockets: (websockets) => ({
        ...websockets,
        upgrade: (createEvents) => {
          const upgrade = websockets.upgrade(createEvents);
          return async (c, next) => {
            if (c.req.header('x-test-delay')) await sleep(150);
            return upgrade(c, next);
          };
        },
      }),
      // Handlers that throw, where users of upgradeWebSocket hit crashes.
      afterRealtime: (app, websockets) => {
        app.get(
          '/ws-throws-on-upgrade',
          websockets.upgrade(() => {
            throw new Error('boom in createEvents');
          }),
        );
        app.get(
          '/ws-throws-in-handlers',
          websockets.upgrade(() => ({
            onOpen: (_event, ws) => {
              ws.send('{"event":"opened","channel":"","payload":{}}');
              throw new Error('boom in onOpen');
            },
            onMessage: (event, ws) => {
              if (event.data === 'throw') throw new Error('boom in onMessage');
              ws.send(`{"event":"echo","channel":"","payload":{"data":${JSON.stringify(event.data)}}}`);
            },
          })),
        );
      },
    });
    user = await server.registerUser();
  });
  afterAll(() => server.close());

  it('accepts a token in ?token=', async () => {
    const client = await server.connect(user.accessToken);
    expect(client.isOpen).toBe(true);
    await client.subscribe('room');
  });

  it('accepts Authorization: Bearer', async () => {
    const client = new TestClient(
      new WebSocket(server.wsUrl, { headers: { authorization: `Bearer ${user.accessToken}` } }),
    );
    await client.opened();
    await client.subscribe('room');
    client.close();
  });

  it('refuses a missing token with a JSON 401 before upgrading', async () => {
    const res = await refusedUpgrade(server.wsUrl);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toContain('application/json');
    expect(res.body.error.code).toBe('unauthorized');
    expect(res.headers.upgrade).toBeUndefined();
  });

  it('a refused upgrade still echoes the request id, so the client can find its log line', async () => {
    const res = await refusedUpgrade(server.wsUrl, { 'x-request-id': 'refused-upgrade-1' });
    expect(res.status).toBe(401);
    expect(res.headers['x-request-id']).toBe('refused-upgrade-1');
    expect((await refusedUpgrade(server.wsUrl)).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses an empty ?token=', async () => {
    expect((await refusedUpgrade(`${server.wsUrl}?token=`)).status).toBe(401);
  });

  it('refuses a token signed with another secret', async () => {
    const forger = new AccessTokens({
      secret: 'another-secret-that-is-also-32-bytes-long',
      issuer: 'workflow-platform',
      audience: 'workflow-platform-api',
      ttlSeconds: 900,
      clock: () => new Date(),
    });
    const forged = await forger.sign({ userId: user.user.id, username: user.username, role: 'admin' });
    const res = await refusedUpgrade(`${server.wsUrl}?token=${forged}`);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
    expect((await refusedUpgrade(server.wsUrl, { authorization: `Bearer ${forged}` })).status).toBe(401);
  });

  it('refuses a tampered and an expired token', async () => {
    const [head, body, signature] = user.accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const promoted = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    expect((await refusedUpgrade(`${server.wsUrl}?token=${head}.${promoted}.${signature}`)).status).toBe(401);

    const past = new AccessTokens({
      secret: TEST_JWT_SECRET,
      issuer: 'workflow-platform',
      audience: 'workflow-platform-api',
      ttlSeconds: 60,
      clock: () => new Date(Date.now() - 3600_000),
    });
    const expired = await past.sign({ userId: user.user.id, username: user.username, role: 'user' });
    const res = await refusedUpgrade(`${server.wsUrl}?token=${expired}`);
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/expired|invalid/i);
  });

  it('answers a plain GET with 426 and an unknown upgrade path with 404', async () => {
    const plain = await fetch(`${server.httpUrl}/ws?token=${user.accessToken}`);
    expect(plain.status).toBe(426);
    expect((await plain.json()).error.code).toBe('upgrade_required');
    const unknown = await refusedUpgrade(`ws://127.0.0.1:${server.port}/nope?token=${user.accessToken}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
  });

  it('refuses a malformed handshake with 400 and no crash', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.httpUrl}/ws?token=${user.accessToken}`, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'short',
        },
      });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
    const client = await server.connect(user.accessToken);
    await client.subscribe('still-works');
  });

  it('survives a client that resets the socket in the middle of the handshake', async () => {
    for (let i = 0; i < 20; i++) {
      const socket = connect(server.port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(
        `GET /ws?token=${user.accessToken} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'X-Test-Delay: 1\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      await sleep(i % 2 === 0 ? 30 : 1);
      socket.resetAndDestroy();
    }
    await sleep(300);
    const client = await server.connect(user.accessToken);
    await client.subscribe('after-resets');
  });

  it('turns a throw while creating the handlers into a JSON 500 and keeps serving', async () => {
    const res = await refusedUpgrade(`ws://127.0.0.1:${server.port}/ws-throws-on-upgrade`);
    expect(res.status).toBe(500);
    expect(res.body.error).toEqual({ code: 'internal_error', message: 'Internal server error' });
    const client = await server.connect(user.accessToken);
    await client.subscribe('after-500');
  });

  it('survives handlers that throw: the socket stays open and the process up', async () => {
    const client = new TestClient(new WebSocket(`ws://127.0.0.1:${server.port}/ws-throws-in-handlers`));
    await client.opened();
    expect((await client.next()).event).toBe('opened');
    client.send('throw');
    client.send('after');
    expect(await client.next()).toEqual({ event: 'echo', channel: '', payload: { data: 'after' } });
    expect(client.isOpen).toBe(true);
    client.close();
  });

  it('leaves the 101 response alone: no CORS, secure-header or request-id rewriting', async () => {
    const headers = await upgradeHeaders(`${server.wsUrl}?token=${user.accessToken}`, {
      origin: 'https://app.example.com',
      'x-request-id': 'req-123',
    });
    expect(headers.upgrade?.toLowerCase()).toBe('websocket');
    expect(headers['sec-websocket-accept']).toBeTruthy();
    expect(headers['access-control-allow-origin']).toBeUndefined();
    expect(headers['x-frame-options']).toBeUndefined();
    expect(headers['x-content-type-options']).toBeUndefined();
    expect(headers['x-request-id']).toBeUndefined();
    // The same middleware still runs on ordinary responses of the same app.
    const health = await fetch(`${server.httpUrl}/health/live`, { headers: { origin: 'https://app.example.com' } });
    expect(health.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(health.headers.get('x-request-id')).toBeTruthy();
  });
});
