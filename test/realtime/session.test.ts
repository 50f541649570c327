import { describe, expect, it } from 'vitest';
import type { ChannelHub, ChannelListener, ChannelMessage } from '../../src/realtime/channel-hub';
import { InMemoryChannelHub } from '../../src/realtime/in-memory-channel-hub';
import { fitsInMessageBytes, MAX_MESSAGE_BYTES, parseMessage, ProtocolError } from '../../src/realtime/protocol';
import { TokenBucket } from '../../src/realtime/rate-limiter';
import { RealtimeGateway } from '../../src/realtime/realtime-gateway';
import { CLOSE_PING_TIMEOUT, type RealtimeSession, type SocketSink } from '../../src/realtime/session';

/**
 * The portable pieces on their own, as the edge Durable Object uses them: a session over a plain
 * `send`/`close` sink with no native ping, so the app-level ping path is the one exercised.
 */
function recordingSink(): SocketSink & { sent: any[]; closed?: [number, string] } {
  const sink = {
    sent: [] as any[],
    closed: undefined as [number, string] | undefined,
    send(text: string) {
      sink.sent.push(JSON.parse(text));
    },
    close(code: number, reason: string) {
      sink.closed = [code, reason];
    },
  };
  return sink;
}

const user = { id: '00000000-0000-4000-8000-000000000001', role: 'user' as const };

describe('RealtimeSession without native pings', () => {
  it('pings with an event, keeps a peer that answers, and closes one that does not with 4408', () => {
    const gateway = new RealtimeGateway({ hub: new InMemoryChannelHub(), pingIntervalMs: 60_000 });
    const answering = recordingSink();
    const silent = recordingSink();
    const a = gateway.connect(user, answering) as RealtimeSession;
    gateway.connect(user, silent);

    gateway.sweep();
    expect(answering.sent).toEqual([{ event: 'ping', channel: '', payload: {} }]);
    expect(silent.sent).toEqual([{ event: 'ping', channel: '', payload: {} }]);
    a.receive('{"event":"pong","channel":""}');

    gateway.sweep();
    expect(answering.closed).toBeUndefined();
    expect(silent.closed).toEqual([CLOSE_PING_TIMEOUT, 'ping timeout']);
    expect(gateway.stats).toMatchObject({ connections: 1, pingTimeouts: 1 });
    void gateway.shutdown(1001, 'test over', 0);
  });
});

describe('RealtimeSession ordering with a hub that confirms subscriptions later', () => {
  /** A hub whose upstream confirmation the test releases by hand (as Redis would, later). */
  class SlowHub implements ChannelHub {
    readonly local = new InMemoryChannelHub();
    release: () => void = () => {};
    private readonly confirmed = new Promise<void>((resolve) => {
      this.release = resolve;
    });
    publish(message: ChannelMessage) {
      return this.local.publish(message);
    }
    subscribe(channel: string, listener: ChannelListener) {
      return this.local.subscribe(channel, listener);
    }
    ready() {
      return this.confirmed;
    }
    close() {
      return this.local.close();
    }
  }

  it('acks first, then delivers what arrived meanwhile, then handles the frames queued behind it', async () => {
    const hub = new SlowHub();
    const gateway = new RealtimeGateway({ hub });
    const sink = recordingSink();
    const session = gateway.connect(user, sink) as RealtimeSession;
    session.receive('{"event":"subscribe","channel":"room"}');
    session.receive('{"event":"ping","channel":"after"}');
    await hub.publish({ event: 'chat', channel: 'room', payload: { early: true } });
    expect(sink.sent).toEqual([]);

    hub.release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sink.sent).toEqual([
      { event: 'subscribed', channel: 'room', payload: {} },
      { event: 'chat', channel: 'room', payload: { early: true } },
      { event: 'pong', channel: 'after', payload: {} },
    ]);
    await gateway.shutdown(1001, 'test over', 0);
  });
});

describe('protocol and rate limiter', () => {
  it('measures frames in UTF-8 bytes, surrogate pairs included', () => {
    const max = MAX_MESSAGE_BYTES;
    expect(fitsInMessageBytes('a'.repeat(max))).toBe(true);
    expect(fitsInMessageBytes('a'.repeat(max + 1))).toBe(false);
    expect(fitsInMessageBytes('é'.repeat(max / 2))).toBe(true);
    expect(fitsInMessageBytes(`${'é'.repeat(max / 2)}a`)).toBe(false);
    expect(fitsInMessageBytes('😀'.repeat(max / 4))).toBe(true);
    expect(fitsInMessageBytes(`${'😀'.repeat(max / 4 - 1)}abcd`)).toBe(true);
    expect(fitsInMessageBytes(`${'😀'.repeat(max / 4 - 1)}abcde`)).toBe(false);
    expect(fitsInMessageBytes('€'.repeat(Math.floor(max / 3)))).toBe(true);
    expect(fitsInMessageBytes('€'.repeat(Math.floor(max / 3) + 1))).toBe(false);
  });

  it('parses valid messages and never throws on garbage', () => {
    expect(parseMessage('{"event":"publish","channel":"a","payload":{"x":1},"extra":2}')).toEqual({
      event: 'publish',
      channel: 'a',
      payload: { x: 1 },
    });
    for (const garbage of ['', '{', 'undefined', '{"event":{},"channel":"a"}', '{"__proto__":{"x":1}}']) {
      expect(parseMessage(garbage)).toBeInstanceOf(ProtocolError);
    }
  });

  it('refills tokens with the injected clock', () => {
    let now = 0;
    const bucket = new TokenBucket(2, 4, () => now);
    for (let i = 0; i < 4; i++) expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    expect(bucket.retryAfterMs()).toBe(500);
    now += 500;
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    now += 10_000;
    for (let i = 0; i < 4; i++) expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });
});
