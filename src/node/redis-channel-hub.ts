import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';
import type { OutageLog } from '../logging/outage-log';
import type { ChannelHub, ChannelListener, ChannelMessage } from '../realtime/channel-hub';
import { InMemoryChannelHub } from '../realtime/in-memory-channel-hub';
import { encodeMessage } from '../realtime/protocol';
import { watchRedisConnection } from './redis-connections';

export const DEFAULT_REALTIME_PREFIX = 'wfp:realtime:';

export interface RedisChannelHubOptions {
  url: string;
  /** Redis channel name prefix; processes that should hear each other use the same one. */
  prefix?: string;
  logger?: Logger;
  /** How long `ready` waits for Redis to confirm a SUBSCRIBE before giving up (local delivery works regardless). */
  subscribeTimeoutMs?: number;
}

/** On the wire: the message and the instance that published it, so it can skip its own echo. */
interface Envelope {
  i: string;
  m: ChannelMessage;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Cross-instance fan-out over Redis pub/sub. A publish is delivered to this process's listeners
 * at once and sent to Redis in an envelope carrying this instance's id; every instance delivers
 * what arrives from Redis except its own envelopes. So each listener gets each message exactly
 * once, and local delivery keeps working while Redis is away.
 *
 * One subscriber connection per process, opened on the first subscribe (a worker that only
 * publishes never opens it), subscribed upstream only to channels with local listeners.
 * Redis pub/sub is fire-and-forget: messages published while a subscriber is disconnected are
 * lost to it (clients re-read state over HTTP after reconnecting).
 */
export class RedisChannelHub implements ChannelHub {
  readonly instanceId = crypto.randomUUID();
  /** Every envelope this instance publishes starts so: its own echoes are skipped unparsed. */
  private readonly ownEnvelopePrefix = `{"i":${JSON.stringify(this.instanceId)},`;
  readonly stats = { published: 0, publishFailures: 0, received: 0, echoesSkipped: 0 };
  private readonly local = new InMemoryChannelHub();
  private readonly prefix: string;
  private readonly publisher: Redis;
  /** The publisher's outage log: failed publishes during an outage are counted there, not logged one by one. */
  private readonly publisherOutage?: OutageLog;
  private subscriber?: Redis;
  /** Channels subscribed upstream, each with the promise of Redis confirming it. */
  private readonly upstream = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly options: RedisChannelHubOptions) {
    this.prefix = options.prefix ?? DEFAULT_REALTIME_PREFIX;
    // A publish waits for at most two reconnect attempts: realtime messages go stale, and an
    // unbounded offline queue would grow without limit during an outage. Auto-pipelining sends
    // the publishes of one event-loop turn (a busy worker's runs) in one socket write.
    this.publisher = new Redis(options.url, {
      enableAutoPipelining: true,
      maxRetriesPerRequest: 2,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.publisherOutage = this.watch(this.publisher, 'realtime publisher');
  }

  async publish(message: ChannelMessage): Promise<void> {
    if (this.closed) return;
    this.local.deliver(message);
    const envelope = `${this.ownEnvelopePrefix}"m":${encodeMessage(message)}}`;
    try {
      await this.publisher.publish(this.prefix + message.channel, envelope);
      this.stats.published++;
    } catch (error) {
      this.stats.publishFailures++;
      if (this.publisherOutage) this.publisherOutage.failed(error);
      else this.warn('realtime publish to redis failed', error);
    }
  }

  subscribe(channel: string, listener: ChannelListener): () => void {
    const unsubscribeLocal = this.local.subscribe(channel, listener);
    if (!this.upstream.has(channel) && !this.closed) this.subscribeUpstream(channel);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      unsubscribeLocal();
      if (this.local.listenerCount(channel) === 0) this.unsubscribeUpstream(channel);
    };
  }

  ready(channel: string): Promise<void> {
    const confirmed = this.upstream.get(channel);
    if (!confirmed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.options.subscribeTimeoutMs ?? 2000);
      timer.unref?.();
      void confirmed.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  listenerCount(channel: string): number {
    return this.local.listenerCount(channel);
  }

  /** Channels this process is subscribed to upstream (for tests and metrics). */
  upstreamChannels(): string[] {
    return [...this.upstream.keys()];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.upstream.clear();
    await this.local.close();
    await Promise.all([this.publisher, this.subscriber].map((redis) => redis?.quit().catch(() => redis.disconnect())));
  }

  private subscriberConnection(): Redis {
    if (this.subscriber) return this.subscriber;
    const subscriber = new Redis(this.options.url, {
      maxRetriesPerRequest: null,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.watch(subscriber, 'realtime subscriber');
    subscriber.on('message', (redisChannel: string, text: string) => this.receive(redisChannel, text));
    // ioredis re-subscribes after a reconnect; subscribing again is idempotent and also covers
    // a SUBSCRIBE that failed while the connection was down.
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (connectedBefore && this.upstream.size > 0) {
        subscriber.subscribe(...[...this.upstream.keys()].map((c) => this.prefix + c)).catch(() => {});
      }
      connectedBefore = true;
    });
    this.subscriber = subscriber;
    return subscriber;
  }

  private subscribeUpstream(channel: string): void {
    const confirmed = this.subscriberConnection()
      .subscribe(this.prefix + channel)
      .then(
        () => undefined,
        (error) => this.warn('redis subscribe failed', error),
      );
    this.upstream.set(channel, confirmed);
  }

  private unsubscribeUpstream(channel: string): void {
    if (!this.upstream.delete(channel) || !this.subscriber) return;
    this.subscriber.unsubscribe(this.prefix + channel).catch((error) => this.warn('redis unsubscribe failed', error));
  }

  private receive(redisChannel: string, text: string): void {
    if (!redisChannel.startsWith(this.prefix)) return;
    if (text.startsWith(this.ownEnvelopePrefix)) {
      this.stats.echoesSkipped++;
      return;
    }
    const channel = redisChannel.slice(this.prefix.length);
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      return;
    }
    if (!isPlainObject(envelope) || !isPlainObject(envelope.m)) return;
    if (envelope.i === this.instanceId) {
      this.stats.echoesSkipped++;
      return;
    }
    const { event, payload } = envelope.m;
    if (typeof event !== 'string' || envelope.m.channel !== channel || !isPlainObject(payload)) return;
    this.stats.received++;
    this.local.deliver({ event, channel, payload });
  }

  /** Connection errors are logged once per outage; without a logger they are still handled (ioredis complains otherwise). */
  private watch(redis: Redis, name: string): OutageLog | undefined {
    if (this.options.logger) return watchRedisConnection(redis, this.options.logger, name);
    redis.on('error', () => {});
    return undefined;
  }

  private warn(message: string, error: unknown): void {
    this.options.logger?.warn({ err: { message: (error as Error)?.message ?? String(error) } }, message);
  }
}
