import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryChannelHub } from '../../src/realtime/in-memory-channel-hub';
import { TestClock } from '../helpers/test-app';
import { until } from '../helpers/until';
import { type RealtimeServer, sleep, startRealtimeServer } from './realtime-server';

describe('/ws rate limit (injected clock)', () => {
  const clock = new TestClock();
  let server: RealtimeServer;

  beforeAll(async () => {
    server = await startRealtimeServer({ clock: clock.fn, env: { WS_MESSAGES_PER_SECOND: '5' } });
  });
  afterAll(() => server.close());

  it('allows a burst, then answers one rate_limited error per refused run and keeps the connection', async () => {
    const user = await server.registerUser();
    const client = await server.connect(user.accessToken);
    const burst = server.gateway.limits.burst;
    expect(burst).toBe(200);
    for (let i = 0; i < burst + 50; i++) client.send({ event: 'ping', channel: `n${i}`, payload: {} });
    for (let i = 0; i < burst; i++) expect(await client.next()).toMatchObject({ event: 'pong', channel: `n${i}` });
    const limited = await client.next();
    expect(limited).toMatchObject({ event: 'error', payload: { code: 'rate_limited' } });
    expect(limited.payload.retryAfterMs).toBeGreaterThan(0);
    // Every frame of the burst read and refused before the clock moves (reading pauses after each
    // refusal, so the last frames arrive later, in real time): left unread, they would take the
    // next second's messages.
    await until(() => (server.gateway.stats.rateLimited === 50 ? true : undefined));
    expect(client.pending()).toEqual([]);
    expect(client.isOpen).toBe(true);

    // One second later five more messages are allowed (5/s), the sixth is refused again.
    clock.advance(1000);
    for (let i = 0; i < 6; i++) client.send({ event: 'ping', channel: `m${i}`, payload: {} });
    for (let i = 0; i < 5; i++) expect(await client.next()).toMatchObject({ event: 'pong', channel: `m${i}` });
    expect((await client.next()).payload.code).toBe('rate_limited');
    expect(server.gateway.stats.rateLimited).toBe(51);
  });

  it('limits each connection on its own', async () => {
    const user = await server.registerUser();
    const fresh = await server.connect(user.accessToken);
    expect((await fresh.request({ event: 'ping', channel: '', payload: {} })).event).toBe('pong');
  });
});

describe('/ws heartbeat (shortened ping interval)', () => {
  let server: RealtimeServer;

  beforeAll(async () => {
    server = await startRealtimeServer({ env: { WS_PING_INTERVAL_MS: '150' } });
  });
  afterAll(() => server.close());

  it('pings with WebSocket ping frames and keeps a client that answers', async () => {
    const user = await server.registerUser();
    const client = await server.connect(user.accessToken);
    let pings = 0;
    client.ws.on('ping', () => pings++);
    // Three heartbeats answered (the ws client pongs by itself), and the connection stays.
    await expect.poll(() => pings, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(client.isOpen).toBe(true);
    await client.subscribe('still-here');
    client.close();
    await client.closed;
  });

  it('drops a client that does not answer by the next ping', async () => {
    const user = await server.registerUser();
    const timeoutsBefore = server.gateway.stats.pingTimeouts;
    const silent = await server.connect(user.accessToken, { autoPong: false });
    let pings = 0;
    silent.ws.on('ping', () => pings++);
    await silent.subscribe('room');
    const { code } = await silent.closed;
    // Dropped without a close handshake at the heartbeat after one it left unanswered (a second
    // ping is sent when the first heartbeat came before its subscribe, which counts as life).
    expect(code).toBe(1006);
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(pings).toBeLessThanOrEqual(2);
    expect(server.gateway.stats.pingTimeouts).toBe(timeoutsBefore + 1);
  });

  it('counts any message as a sign of life', async () => {
    const user = await server.registerUser();
    const chatty = await server.connect(user.accessToken, { autoPong: false });
    // It never pongs, but answers each heartbeat with an app message: five heartbeats later it is still there.
    let pings = 0;
    chatty.ws.on('ping', () => {
      pings++;
      chatty.send({ event: 'ping', channel: '', payload: {} });
    });
    await expect.poll(() => pings, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    expect(chatty.isOpen).toBe(true);
    chatty.close();
    await chatty.closed;
  });

  it('counts open connections and messages for the metrics exporter', async () => {
    const user = await server.registerUser();
    const before = { ...server.gateway.stats };
    const client = await server.connect(user.accessToken);
    expect(server.gateway.stats.connections).toBe(before.connections + 1);
    await client.subscribe('counted');
    expect(server.gateway.stats.messagesIn).toBe(before.messagesIn + 1);
    expect(server.gateway.stats.messagesOut).toBe(before.messagesOut + 1);
    client.close();
    await client.closed;
    await sleep(50);
    expect(server.gateway.stats.connections).toBe(before.connections);
  });
});

describe('/ws slow consumers', () => {
  let server: RealtimeServer;

  beforeAll(async () => {
    const hub = new InMemoryChannelHub();
    server = await startRealtimeServer({ hub, env: { WS_MAX_BUFFERED_BYTES: String(256 * 1024) } });
  });
  afterAll(() => server.close());

  it('closes a socket that stops reading with 1013 instead of buffering without bound', async () => {
    const user = await server.registerUser();
    const fast = await server.connect(user.accessToken);
    const stalled = await server.connect(user.accessToken);
    await fast.subscribe('firehose');
    await stalled.subscribe('firehose');
    (stalled.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const blob = 'z'.repeat(60_000);
    for (let i = 0; i < 400; i++) {
      await server.deps.hub.publish({ event: 'log', channel: 'firehose', payload: { i, blob } });
      // Give the sockets a turn, as a real producer would: the reader that keeps up never falls behind.
      await new Promise((resolve) => setImmediate(resolve));
    }
    (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await stalled.closed;
    expect(closed.code).toBe(1013);
    expect(closed.reason).toMatch(/slow consumer/);
    expect(server.gateway.stats.slowConsumersDropped).toBe(1);
    // The reader that kept up got everything.
    for (let i = 0; i < 400; i++) expect((await fast.next()).payload.i).toBe(i);
  });
});

describe('/ws shutdown', () => {
  let server: RealtimeServer;

  beforeAll(async () => {
    server = await startRealtimeServer();
  });
  afterAll(() => server.close());

  it('closes every socket with 1001 and a reason, then refuses new upgrades with 503', async () => {
    const user = await server.registerUser();
    const clients = await Promise.all([1, 2, 3].map(() => server.connect(user.accessToken)));
    await clients[0]?.subscribe('room');
    await server.gateway.shutdown();
    for (const client of clients) expect(await client.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(server.gateway.stats.connections).toBe(0);
    await expect(server.connect(user.accessToken)).rejects.toThrow(/503/);
  });
});

describe('/ws and access-token expiry', () => {
  const clock = new TestClock();
  let server: RealtimeServer;

  beforeAll(async () => {
    server = await startRealtimeServer({ clock: clock.fn, env: { WS_PING_INTERVAL_MS: '100', JWT_ACCESS_TTL: '15m' } });
  });
  afterAll(() => server.close());

  it('closes a socket with 4401 once the token it was opened with expires', async () => {
    const user = await server.registerUser();
    const client = await server.connect(user.accessToken);
    await client.subscribe('room');
    await sleep(250);
    expect(client.isOpen).toBe(true);
    clock.advance(15 * 60_000);
    expect(await client.closed).toEqual({ code: 4401, reason: 'access token expired' });
  });
});
