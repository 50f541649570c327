import type { Logger } from '../logging/logger';
import { settleWithin } from '../mcp/settle-within';
import type { RealtimeUser } from '../realtime/channel-acl';
import { type ChannelHub, type ChannelListener, type ChannelMessage, WORKFLOW_CHANNEL } from '../realtime/channel-hub';
import { InMemoryChannelHub } from '../realtime/in-memory-channel-hub';
import type { ChannelObjectRpc, ChannelOp } from './channel-ops';
import { Outboxes } from './ordered-outbox';

export interface ShardChannelHubOptions {
  /** This shard's Durable Object id, which channel objects address it by. */
  shardId: string;
  /** The Durable Object of a channel (a fresh stub per call: a broken stub stays broken). */
  channelObject(channel: string): ChannelObjectRpc;
  logger: Logger;
  /** Messages held per channel object while a batch to it is in flight. */
  forwardQueue: number;
  /** How long a subscribe waits for its channel object to confirm before it is acknowledged anyway. */
  subscribeTimeoutMs: number;
}

/**
 * The fan-out of one connection shard. Its sessions subscribe here; the first local listener of
 * a channel registers the shard with that channel's object (the `subscribed` ack waits for it),
 * the last one unregisters it. A publish is delivered to this shard's own listeners at once and
 * sent to the channel object, which forwards it to every other shard registered there. A
 * channel object that still forwards to a shard with no listener left (a registration outlived
 * its listeners: the shard was evicted, an unsubscribe was lost) is told to drop it.
 *
 * One exception: a non-admin's subscription to the `workflow` channel stays local. Such a user
 * receives only the status of their own runs, and the server sends those straight to the shard
 * of the run's owner (`deliverToOwners`); only admins, who see every run, register at the
 * `workflow` channel object. So a status event visits the owner's shard and the admins' shards,
 * never every shard, and nobody gets it twice.
 *
 */
export class ShardChannelHub {
  private readonly subscribers = new InMemoryChannelHub();
  private readonly owners = new InMemoryChannelHub();
  /** Channels this shard is registered for, each with the promise of its channel object confirming. */
  private readonly registrations = new Map<string, Promise<void>>();
  /** Everything for one channel object goes through one outbox, so it arrives in the order it happened. */
  private readonly outboxes: Outboxes<ChannelOp>;
  private readonly dropping = new Set<string>();
  private restoring = false;

  constructor(private readonly options: ShardChannelHubOptions) {
    this.outboxes = new Outboxes({
      send: (channel, ops) => options.channelObject(channel).apply(ops),
      maxQueued: options.forwardQueue,
      logger: options.logger,
      destinationKind: 'a channel object',
      keep: (channel) => this.registrations.has(channel),
    });
  }

  /** The hub one session sees: the `workflow` channel is local for a non-admin. */
  forUser(user: RealtimeUser): ChannelHub {
    const ownRunsOnly = (channel: string) => channel === WORKFLOW_CHANNEL && user.role !== 'admin';
    const ready = (channel: string) => (ownRunsOnly(channel) ? Promise.resolve() : this.ready(channel));
    const shard = this;
    return {
      publish: (message) => this.publish(message),
      // What a publish here costs this shard (the publisher's budget); other shards deliver their own.
      listenerCount: (channel) => this.subscribers.listenerCount(channel),
      subscribe: (channel, listener) =>
        ownRunsOnly(channel) ? this.owners.subscribe(channel, listener) : this.subscribe(channel, listener),
      // While restoring there is nothing to wait for, so the session acknowledges at once — inside
      // the replay, where the shard mutes the acks the client had long ago.
      get ready() {
        return shard.restoring ? undefined : ready;
      },
      close: async () => {},
    };
  }

  /**
   * Runs `replay` (the sessions rebuilt after the object was evicted resubscribing) without
   * registering again: the channel objects kept this shard's registrations in their storage.
   */
  restore<T>(replay: () => T): T {
    this.restoring = true;
    try {
      return replay();
    } finally {
      this.restoring = false;
    }
  }

  /** Messages a channel object forwarded. */
  deliver(messages: ChannelMessage[]): void {
    for (const message of messages) {
      if (this.subscribers.listenerCount(message.channel) > 0) this.subscribers.deliver(message);
      else this.dropRegistration(message.channel);
    }
  }

  /** Workflow-status messages the server sent to the shard of their run's owner. */
  deliverToOwners(messages: ChannelMessage[]): void {
    for (const message of messages) this.owners.deliver(message);
  }

  /** Channels this shard is registered for (tests, logs). */
  registeredChannels(): string[] {
    return [...this.registrations.keys()];
  }

  private async publish(message: ChannelMessage): Promise<void> {
    // As Node's Redis hub does: this shard's own subscribers at once, the others through the channel object.
    this.subscribers.deliver(message);
    this.outboxes.to(message.channel).push({ op: 'publish', message, from: this.options.shardId });
  }

  private subscribe(channel: string, listener: ChannelListener): () => void {
    const unsubscribeLocal = this.subscribers.subscribe(channel, listener);
    if (!this.registrations.has(channel)) this.register(channel);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      unsubscribeLocal();
      if (this.subscribers.listenerCount(channel) === 0) this.unregister(channel);
    };
  }

  private ready(channel: string): Promise<void> {
    const confirmed = this.registrations.get(channel);
    return confirmed ? settleWithin(confirmed, this.options.subscribeTimeoutMs) : Promise.resolve();
  }

  private register(channel: string): void {
    this.dropping.delete(channel);
    if (this.restoring) {
      this.registrations.set(channel, Promise.resolve());
      return;
    }
    const confirmed: Promise<void> = this.outboxes
      .to(channel)
      .pushAndWait({ op: 'subscribe', shard: this.options.shardId })
      .then((taken) => {
        if (taken) return;
        this.options.logger.warn({ channel }, 'realtime subscription not registered at its channel object');
        // The next local subscriber of this channel tries again.
        if (this.registrations.get(channel) === confirmed) this.registrations.delete(channel);
      });
    this.registrations.set(channel, confirmed);
  }

  private unregister(channel: string): void {
    this.registrations.delete(channel);
    this.outboxes.to(channel).push({ op: 'unsubscribe', shard: this.options.shardId });
  }

  private dropRegistration(channel: string): void {
    if (this.registrations.has(channel) || this.dropping.has(channel)) return;
    this.dropping.add(channel);
    void this.outboxes
      .to(channel)
      .pushAndWait({ op: 'unsubscribe', shard: this.options.shardId })
      .then(() => this.dropping.delete(channel));
  }
}
