import { mayReceive, publishDenial, type RealtimeUser, subscribeDenial } from './channel-acl';
import type { ChannelHub, ChannelMessage } from './channel-hub';
import { encodeMessage, frameLength, isValidChannel, ProtocolError, parseMessage, RESERVED_EVENTS } from './protocol';
import { TokenBucket } from './rate-limiter';
import type { RealtimeStats } from './realtime-stats';
import { type ResourceReadCheck, resourceDenial, resourceOfChannel } from './resource-channels';
import type { UserTrafficBudgets } from './user-traffic-budgets';

/**
 * What a session needs from its socket. Node's `ws`, a Workers WebSocket and a Durable Object's
 * hibernatable socket all fit; the session never sees the runtime.
 */
export interface SocketSink {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** A native WebSocket ping frame. Without it the session sends `{"event":"ping"}`. */
  ping?(): void;
  /** Drops the connection without a close handshake, for a peer that stopped answering. */
  terminate?(): void;
  /** Bytes accepted by `send` but not yet written, so a consumer that cannot keep up is dropped. */
  bufferedAmount?(): number;
  /**
   * Stop reading the peer's frames, and read again. A client over its rate then waits in its own
   * send buffer (TCP backpressure) instead of costing this process the reading of every frame it
   * sends. Runtimes that cannot (a Durable Object) read everything and refuse what is over.
   */
  pause?(): void;
  resume?(): void;
}

export interface RealtimeLimits {
  maxChannels: number;
  /** Sustained incoming messages per second per connection, and the burst allowed above it. */
  messagesPerSecond: number;
  burst: number;
  /** Outgoing bytes a socket may have queued before it is closed as a slow consumer. */
  maxBufferedBytes: number;
  /**
   * Bytes per second one user's traffic may cost across all of their connections: the frames
   * they send plus, for each publish, the message times the sockets it reaches here.
   */
  userBytesPerSecond: number;
}

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** Application close code (4000-4999) for a peer that did not answer a ping; mirrors HTTP 408. */
export const CLOSE_PING_TIMEOUT = 4408;
/** The access token the socket was opened with has expired: reconnect with a fresh one (mirrors 401). */
export const CLOSE_TOKEN_EXPIRED = 4401;

const EMPTY = Object.freeze({}) as Record<string, unknown>;
/** Messages held for a channel whose upstream subscription is still being confirmed. */
const MAX_PENDING_PER_CHANNEL = 1000;
/** Resource-channel decisions a session remembers (oldest forgotten first). */
const MAX_REMEMBERED_RESOURCES = 256;
/** Longest a connection over its rate goes unread at a time: its pongs must still reach the heartbeat. */
const MAX_PAUSE_MS = 1000;

interface Subscription {
  unsubscribe(): void;
  /** Set until the `subscribed` ack is sent: deliveries wait so the ack comes first. */
  pending?: ChannelMessage[];
}

export interface SessionContext {
  hub: ChannelHub;
  limits: RealtimeLimits;
  stats: RealtimeStats;
  /** The per-user byte budgets (`limits.userBytesPerSecond`) this session's user spends from. */
  budgets?: UserTrafficBudgets;
  now(): number;
  /**
   * Whether the user may read a resource a channel is named after (`project:<id>`, ...). Absent:
   * every resource channel is refused.
   */
  mayRead?: ResourceReadCheck;
  onError(error: unknown): void;
  /** Called once, when the session ends for any reason. */
  onEnd(session: RealtimeSession): void;
}

/**
 * One /ws connection's protocol state machine: subscriptions, ACL, limits, liveness. The
 * transport feeds it raw frames (`receive`) and pongs (`pong`) and tells it when the socket is
 * gone (`end`); it answers through the `SocketSink`. Frames are handled strictly in order: when
 * a subscribe has to wait for a cross-instance hub, later frames queue behind it.
 */
export class RealtimeSession {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly bucket: TokenBucket;
  private readonly backlog: string[] = [];
  private draining = false;
  private drained: Promise<void> = Promise.resolve();
  private alive = true;
  /** open → closing (close frame sent, nothing more goes out) → ended (socket gone). */
  private state: 'open' | 'closing' | 'ended' = 'open';
  private rateLimitReported = false;
  /** Set while the socket is not read (over its rate): when to read again. */
  private resumeTimer?: ReturnType<typeof setTimeout>;
  /**
   * Access decisions on resource channels, by `<kind>:<id>`. Owners never change and a socket
   * lives no longer than its token, so a decision holds for the session.
   */
  private readonly resourceAccess = new Map<string, boolean>();

  constructor(
    readonly user: RealtimeUser,
    private readonly sink: SocketSink,
    private readonly context: SessionContext,
    /** Channels this user was already let into (a session rebuilt after hibernation). */
    granted: readonly string[] = [],
  ) {
    this.bucket = new TokenBucket(context.limits.messagesPerSecond, context.limits.burst, context.now);
    for (const channel of granted) {
      const resource = resourceOfChannel(channel);
      if (resource) this.remember(`${resource.kind}:${resource.id}`, true);
    }
  }

  get channels(): string[] {
    return [...this.subscriptions.keys()];
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** One incoming frame: text is a protocol message; binary frames are refused. */
  receive(data: unknown): void {
    if (this.state !== 'open') return;
    if (this.tokenExpired()) return;
    this.alive = true;
    this.context.stats.messagesIn++;
    if (!this.bucket.take()) {
      this.refuseOverRate(this.bucket.retryAfterMs());
      return;
    }
    const budget = this.context.budgets?.of(this.user.id);
    if (budget && !budget.spend(frameLength(data))) {
      this.refuseOverRate(budget.retryAfterMs());
      return;
    }
    this.rateLimitReported = false;
    if (typeof data !== 'string') {
      this.sendError(new ProtocolError('binary_not_supported', 'Send JSON text frames, not binary'));
      return;
    }
    if (this.draining) {
      this.backlog.push(data);
      return;
    }
    const waiting = this.handle(data);
    if (waiting) this.drained = this.drain(waiting);
  }

  /**
   * Resolves once every frame received so far has been handled (a resource check or a
   * cross-instance subscribe can take a moment); never rejects.
   */
  settled(): Promise<void> {
    return this.draining ? this.drained : Promise.resolve();
  }

  /** The peer answered a native ping. */
  pong(): void {
    this.alive = true;
  }

  /**
   * Called every ping interval. A peer silent since the previous call is dropped, and so is one
   * that left a close frame unanswered for a whole interval; otherwise the peer is pinged.
   */
  heartbeat(): void {
    if (this.state === 'ended') return;
    if (this.state === 'closing') {
      this.terminate();
      return;
    }
    if (this.tokenExpired()) return;
    if (!this.alive) {
      this.context.stats.pingTimeouts++;
      if (this.sink.terminate) this.terminate();
      else {
        this.close(CLOSE_PING_TIMEOUT, 'ping timeout');
        this.end();
      }
      return;
    }
    this.alive = false;
    try {
      if (this.sink.ping) this.sink.ping();
      else this.send({ event: 'ping', channel: '', payload: EMPTY });
    } catch (error) {
      this.context.onError(error);
    }
  }

  /**
   * Tokens are stateless: a socket lives no longer than the token it was opened with, so a logout
   * or a role change reaches realtime when it reaches the HTTP API. Checked at every heartbeat and
   * every incoming frame; closes the socket with 4401 when the token has expired.
   */
  private tokenExpired(): boolean {
    if (this.user.expiresAt === undefined || this.context.now() < this.user.expiresAt) return false;
    this.close(CLOSE_TOKEN_EXPIRED, 'access token expired');
    return true;
  }

  /**
   * Server-initiated close with a reason the client can read (shutdown, slow consumer). The
   * session stops sending at once and ends when the transport reports the socket closed.
   */
  close(code: number, reason: string): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.release();
    try {
      this.sink.close(code, reason);
    } catch (error) {
      this.context.onError(error);
    }
  }

  /** Drops the socket without a close handshake (after a close frame went unanswered). */
  terminate(): void {
    try {
      this.sink.terminate?.();
    } catch (error) {
      this.context.onError(error);
    }
    this.end();
  }

  /** The socket is gone. Idempotent; the transport calls it from its close event. */
  end(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.release();
    this.context.onEnd(this);
  }

  private release(): void {
    if (this.resumeTimer) {
      // Read again, so the peer's answer to a close frame gets through.
      clearTimeout(this.resumeTimer);
      this.resumeTimer = undefined;
      this.resumeReading();
    }
    this.backlog.length = 0;
    for (const subscription of this.subscriptions.values()) subscription.unsubscribe();
    this.subscriptions.clear();
  }

  private async drain(waiting: Promise<void>): Promise<void> {
    this.draining = true;
    try {
      let current: Promise<void> | undefined = waiting;
      while (current) {
        await current;
        current = undefined;
        while (!current && this.backlog.length > 0 && this.state === 'open') {
          current = this.handle(this.backlog.shift() as string);
        }
      }
    } catch (error) {
      this.context.onError(error);
    } finally {
      this.draining = false;
    }
  }

  /** Handles one text frame; returns a promise only when it must wait (a cross-instance subscribe). */
  private handle(text: string): Promise<void> | undefined {
    const message = parseMessage(text);
    if (message instanceof ProtocolError) {
      this.sendError(message);
      return undefined;
    }
    const { event, channel } = message;
    if (event === 'ping') {
      this.send({ event: 'pong', channel, payload: EMPTY });
      return undefined;
    }
    if (event === 'pong') return undefined;
    if (!isValidChannel(channel)) {
      this.sendError(new ProtocolError('invalid_channel', 'channel must be 1-128 characters of [A-Za-z0-9:_.-]'));
      return undefined;
    }
    switch (event) {
      case 'subscribe':
        return this.withAccess(channel, () => this.subscribe(channel));
      case 'unsubscribe':
        this.unsubscribe(channel);
        return undefined;
      default:
        return this.withAccess(channel, () => this.publish(message));
    }
  }

  /**
   * Runs `then` if the user may use `channel`: at once for a free channel or a remembered
   * decision, after the injected check (a database read) for a resource channel seen first.
   * Refused: a `forbidden` error that says nothing of whether the resource exists.
   */
  private withAccess(channel: string, then: () => Promise<void> | undefined): Promise<void> | undefined {
    const resource = resourceOfChannel(channel);
    if (resource === undefined) return then();
    const deny = () => {
      this.sendError(new ProtocolError('forbidden', resourceDenial(channel), channel));
      return undefined;
    };
    if (resource === null) return deny();
    const key = `${resource.kind}:${resource.id}`;
    const known = this.resourceAccess.get(key);
    if (known !== undefined) return known ? then() : deny();
    const check = this.context.mayRead ? this.context.mayRead(this.user, resource) : Promise.resolve(false);
    return check
      .catch((error: unknown) => {
        // Not remembered: the next attempt asks again.
        this.context.onError(error);
        return undefined;
      })
      .then((allowed) => {
        if (allowed !== undefined) this.remember(key, allowed);
        if (this.state !== 'open') return undefined;
        return allowed ? then() : deny();
      });
  }

  private remember(key: string, allowed: boolean): void {
    if (this.resourceAccess.size >= MAX_REMEMBERED_RESOURCES) {
      this.resourceAccess.delete(this.resourceAccess.keys().next().value as string);
    }
    this.resourceAccess.set(key, allowed);
  }

  private subscribe(channel: string): Promise<void> | undefined {
    const denial = subscribeDenial(this.user, channel);
    if (denial) {
      this.sendError(new ProtocolError('forbidden', denial, channel));
      return undefined;
    }
    if (this.subscriptions.has(channel)) {
      this.send({ event: 'subscribed', channel, payload: EMPTY });
      return undefined;
    }
    if (this.subscriptions.size >= this.context.limits.maxChannels) {
      this.sendError(
        new ProtocolError(
          'too_many_channels',
          `At most ${this.context.limits.maxChannels} channels per connection`,
          channel,
          {
            limit: this.context.limits.maxChannels,
          },
        ),
      );
      return undefined;
    }
    const hub = this.context.hub;
    const subscription: Subscription = { unsubscribe: () => {}, pending: hub.ready ? [] : undefined };
    subscription.unsubscribe = hub.subscribe(channel, (message) => {
      if (!mayReceive(this.user, message)) return;
      if (!subscription.pending) this.send(message);
      else if (subscription.pending.length < MAX_PENDING_PER_CHANNEL) subscription.pending.push(message);
    });
    this.subscriptions.set(channel, subscription);
    if (!hub.ready) {
      this.send({ event: 'subscribed', channel, payload: EMPTY });
      return undefined;
    }
    return hub.ready(channel).then(() => {
      const held = subscription.pending ?? [];
      subscription.pending = undefined;
      if (this.state !== 'open' || this.subscriptions.get(channel) !== subscription) return;
      this.send({ event: 'subscribed', channel, payload: EMPTY });
      for (const message of held) this.send(message);
    });
  }

  private unsubscribe(channel: string): void {
    const subscription = this.subscriptions.get(channel);
    if (subscription) {
      subscription.unsubscribe();
      this.subscriptions.delete(channel);
    }
    this.send({ event: 'unsubscribed', channel, payload: EMPTY });
  }

  private publish(message: ChannelMessage): undefined {
    const { event, channel } = message;
    if (RESERVED_EVENTS.has(event)) {
      this.sendError(new ProtocolError('reserved_event', `"${event}" is sent by the server only`, channel));
      return;
    }
    const denial = publishDenial(this.user, channel);
    if (denial) {
      this.sendError(new ProtocolError('forbidden', denial, channel));
      return;
    }
    // Attributed by the server: whatever the client put in `senderId` is replaced.
    const attributed = { event, channel, payload: { ...message.payload, senderId: this.user.id } };
    if (!this.mayAfford(attributed)) return;
    this.context.hub.publish(attributed).catch((error) => this.context.onError(error));
    return undefined;
  }

  /**
   * Charges a publish to the user's budget: its length times the sockets it reaches in this
   * process. One that costs more than a whole second of the budget is refused outright (it would
   * hold the process alone for that long); otherwise it goes through while any budget is left.
   */
  private mayAfford(message: ChannelMessage): boolean {
    const budgets = this.context.budgets;
    if (!budgets) return true;
    const reach = Math.max(1, this.context.hub.listenerCount?.(message.channel) ?? 1);
    const cost = encodeMessage(message).length * reach;
    if (cost > budgets.bytesPerSecond) {
      const limit = Math.floor(budgets.bytesPerSecond / reach);
      this.sendError(
        new ProtocolError(
          'message_too_large',
          `This message would reach ${reach} connections: at most ${limit} bytes per message on this channel now`,
          message.channel,
          { limit, recipients: reach },
        ),
      );
      return false;
    }
    const budget = budgets.of(this.user.id);
    if (budget.spend(cost)) return true;
    this.refuseOverRate(budget.retryAfterMs(), message.channel);
    return false;
  }

  /**
   * A frame over the connection's message rate or the user's byte budget: refused, and the
   * socket is not read until the budget is back. One error per run of refused frames: answering
   * every one would let a flood double itself.
   */
  private refuseOverRate(retryAfterMs: number, channel = ''): void {
    this.context.stats.rateLimited++;
    this.pauseReading(retryAfterMs);
    if (this.rateLimitReported) return;
    this.rateLimitReported = true;
    this.sendError(new ProtocolError('rate_limited', 'Too many messages; slow down', channel, { retryAfterMs }));
  }

  private pauseReading(ms: number): void {
    if (!this.sink.pause || this.resumeTimer || this.state !== 'open') return;
    try {
      this.sink.pause();
    } catch (error) {
      this.context.onError(error);
      return;
    }
    this.resumeTimer = setTimeout(
      () => {
        this.resumeTimer = undefined;
        this.resumeReading();
      },
      Math.min(Math.max(ms, 1), MAX_PAUSE_MS),
    );
  }

  private resumeReading(): void {
    try {
      this.sink.resume?.();
    } catch (error) {
      this.context.onError(error);
    }
  }

  private sendError(error: ProtocolError): void {
    this.context.stats.errorsSent++;
    this.send(error.toMessage());
  }

  private send(message: ChannelMessage): void {
    if (this.state !== 'open') return;
    const buffered = this.sink.bufferedAmount?.() ?? 0;
    if (buffered > this.context.limits.maxBufferedBytes) {
      this.context.stats.slowConsumersDropped++;
      this.close(CLOSE_TRY_AGAIN_LATER, 'slow consumer: too many undelivered messages');
      return;
    }
    try {
      this.sink.send(encodeMessage(message));
      this.context.stats.messagesOut++;
    } catch (error) {
      this.context.onError(error);
    }
  }
}
