import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { InMemoryChannelHub } from '../../src/realtime/in-memory-channel-hub';
import { RealtimeGateway } from '../../src/realtime/realtime-gateway';
import type { RealtimeSession, SocketSink } from '../../src/realtime/session';
import { TestClock } from '../helpers/test-app';
import { type RealtimeServer, sleep, startRealtimeServer } from './realtime-server';

/** A sink that counts what reaches the client, as bytes and messages. */
function countingSink(): SocketSink & { bytes: number; messages: any[] } {
  const sink = {
    bytes: 0,
    messages: [] as any[],
    send(text: string) {
      sink.bytes += text.length;
      sink.messages.push(JSON.parse(text));
    },
    close() {},
  };
  return sink;
}

const BUDGET = 256 * 1024;
const blob = 'b'.repeat(10_000);

function frame(event: string, channel: string, payload: Record<string, unknown> = {}): string {
  return JSON.stringify({ event, channel, payload });
}

describe('per-user /ws byte budget (WS_USER_BYTES_PER_SECOND)', () => {
  function setup() {
    let nowMs = 0;
    const gateway = new RealtimeGateway({
      hub: new InMemoryChannelHub(),
      limits: { userBytesPerSecond: BUDGET },
      connections: { maxConnectionsPerUser: 20 },
      now: () => nowMs,
    });
    const open = (id: string) => {
      const sink = countingSink();
      const session = gateway.connect({ id, role: 'user' }, sink) as RealtimeSession;
      return { sink, session };
    };
    return { gateway, open, advance: (ms: number) => (nowMs += ms) };
  }

  it('defaults to 8 MiB per second', () => {
    expect(loadConfig({}).wsUserBytesPerSecond).toBe(8 * 1024 * 1024);
    expect(loadConfig({ WS_USER_BYTES_PER_SECOND: '1048576' }).wsUserBytesPerSecond).toBe(1024 * 1024);
    expect(() => loadConfig({ WS_USER_BYTES_PER_SECOND: '10' })).toThrow();
  });

  it("bounds the bytes one user's publishes deliver per second, however many connections publish", () => {
    const { gateway, open, advance } = setup();
    // Ten listeners of another user on the channel; the attacker publishes from all 20 of its sockets.
    const listeners = Array.from({ length: 10 }, () => open('listener'));
    for (const { session } of listeners) session.receive(frame('subscribe', 'room'));
    const attacker = Array.from({ length: 20 }, () => open('attacker'));
    const delivered = () => listeners.reduce((sum, { sink }) => sum + sink.bytes, 0);
    const before = delivered();

    for (let round = 0; round < 10; round++) {
      for (const { session } of attacker) session.receive(frame('chat', 'room', { blob }));
    }
    // 200 publishes of ~10 KB to 10 listeners would be ~20 MB; the budget lets one second's worth
    // through, plus the one publish that found budget left and went into debt.
    const oneSecond = delivered() - before;
    const onePublish = 10 * (blob.length + 200);
    expect(oneSecond).toBeLessThanOrEqual(BUDGET + onePublish);
    expect(oneSecond).toBeGreaterThan(BUDGET / 2);

    // Every publishing socket that was refused was told so, with when to come back.
    const refusals = attacker.flatMap(({ sink }) => sink.messages.filter((m) => m.payload.code === 'rate_limited'));
    expect(refusals.length).toBeGreaterThan(0);
    for (const refusal of refusals) expect(refusal.payload.retryAfterMs).toBeGreaterThan(0);
    expect(refusals.length).toBeLessThanOrEqual(attacker.length);

    // The debt is paid back at the configured rate: nothing passes until then, then it does again.
    advance(10);
    const stillLimited = delivered();
    attacker[0]?.session.receive(frame('chat', 'room', { blob }));
    expect(delivered()).toBe(stillLimited);
    advance(1000);
    attacker[0]?.session.receive(frame('chat', 'room', { blob }));
    expect(delivered()).toBeGreaterThan(stillLimited);

    // Another user's budget is their own: the listeners may still publish at once.
    const other = listeners[0] as (typeof listeners)[number];
    const otherBefore = listeners[1]?.sink.bytes ?? 0;
    other.session.receive(frame('chat', 'room', { hello: 1 }));
    expect(listeners[1]?.sink.bytes).toBeGreaterThan(otherBefore);
    void gateway.shutdown(1001, 'test over', 0);
  });

  it("counts every frame a user sends against the same budget, so a user's sockets cannot take turns", () => {
    const { gateway, open } = setup();
    const sockets = Array.from({ length: 4 }, () => open('pinger'));
    let answered = 0;
    // Frames of ~10 KB that cost nothing to fan out (pings): the reading alone is budgeted.
    const ping = frame('ping', 'p', { blob });
    for (let round = 0; round < 30; round++) for (const { session } of sockets) session.receive(ping);
    for (const { sink } of sockets) answered += sink.messages.filter((m) => m.event === 'pong').length;
    expect(answered * ping.length).toBeLessThanOrEqual(BUDGET + ping.length);
    expect(answered).toBeLessThan(120);
    void gateway.shutdown(1001, 'test over', 0);
  });

  it('refuses a publish whose fan-out alone exceeds a second of the budget, with the size that would pass', () => {
    const { gateway, open } = setup();
    const listeners = Array.from({ length: 40 }, (_, i) => open(`listener${i % 4}`));
    for (const { session } of listeners) session.receive(frame('subscribe', 'big'));
    const publisher = open('publisher');
    // 10 KB to 40 sockets is more than 256 KiB: refused whatever is left of the budget.
    publisher.session.receive(frame('chat', 'big', { blob }));
    const refusal = publisher.sink.messages.at(-1);
    expect(refusal).toMatchObject({
      event: 'error',
      channel: 'big',
      payload: { code: 'message_too_large', recipients: 40, limit: Math.floor(BUDGET / 40) },
    });
    expect(listeners.every(({ sink }) => sink.messages.every((m) => m.event !== 'chat'))).toBe(true);
    // A smaller message on the same channel goes through.
    publisher.session.receive(frame('chat', 'big', { small: 'x'.repeat(1000) }));
    expect(listeners.every(({ sink }) => sink.messages.some((m) => m.event === 'chat'))).toBe(true);
    void gateway.shutdown(1001, 'test over', 0);
  });
});

describe('/ws over its rate on a real socket', () => {
  const clock = new TestClock();
  let server: RealtimeServer;

  beforeAll(async () => {
    // The clock stands still: once the budget is spent it never comes back during the test.
    server = await startRealtimeServer({ env: { WS_USER_BYTES_PER_SECOND: String(BUDGET) }, clock: clock.fn });
  });
  afterAll(() => server.close());

  it('stops reading a socket whose user is over budget: the flood waits in the client, not in the server', async () => {
    const user = await server.registerUser();
    const client = await server.connect(user.accessToken);
    const before = server.gateway.stats.messagesIn;
    // 400 frames of 60 KB (24 MB) at once, far more than loopback socket buffers hold.
    const big = JSON.stringify({ event: 'ping', channel: 'flood', payload: { blob: 'f'.repeat(60_000) } });
    for (let i = 0; i < 400; i++) client.send(big);
    const limited = await client.next((m) => m.event === 'error');
    expect(limited.payload.code).toBe('rate_limited');
    await sleep(1500);

    // The server read about a budget's worth and a few TCP reads more, not the 400 frames.
    const read = server.gateway.stats.messagesIn - before;
    expect(read).toBeLessThan(100);
    expect(client.ws.bufferedAmount).toBeGreaterThan(1024 * 1024);
    // Still connected: the socket is read again now and then (pongs must get through), and
    // refused frames are answered with one error per run, not one each.
    expect(client.isOpen).toBe(true);
    expect(client.pending().filter((m) => m.event === 'error').length).toBe(0);
    client.ws.terminate();
  });
});
