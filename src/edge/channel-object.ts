import type { DurableObjectState } from '@cloudflare/workers-types/index.ts';
import { DurableObject } from 'cloudflare:workers';
import { loadConfig } from '../config/config';
import type { Logger } from '../logging/logger';
import type { ChannelMessage } from '../realtime/channel-hub';
import type { ChannelObjectRpc, ChannelOp } from './channel-ops';
import { createConsoleLogger } from './console-logger';
import { type EdgeEnv, stringBindings } from './edge-env';
import { Outboxes } from './ordered-outbox';
import { RecentEvents } from './recent-events';
import { connectionShardById } from './realtime-objects';

const SHARD_KEY = 'shard:';

/**
 * One realtime channel on the edge (`idFromName('channel:' + name)`): which connection shards
 * have subscribers of it, kept in the object's storage so an eviction or a restart forgets
 * nothing, and the forwarding of its messages to those shards — each shard through its own
 * ordered outbox, so every shard sees this channel's messages in the order they arrived here
 * (for one publisher, the order it published them). The publishing shard is skipped: it has
 * delivered to its own subscribers already.
 */
export class ChannelObject extends DurableObject<EdgeEnv> implements ChannelObjectRpc {
  private readonly shards = new Set<string>();
  private readonly outboxes: Outboxes<ChannelMessage>;
  private readonly recentEvents = new RecentEvents();
  private readonly logger: Logger;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    const config = loadConfig(stringBindings(env));
    this.logger = createConsoleLogger(config.logLevel, { runtime: 'edge', component: 'channel-object' });
    this.outboxes = new Outboxes({
      send: (shard, messages) => connectionShardById(env, shard).deliver(messages),
      maxQueued: config.edgeWsForwardQueue,
      logger: this.logger,
      destinationKind: 'a connection shard',
      keep: (shard) => this.shards.has(shard),
    });
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.list({ prefix: SHARD_KEY });
      for (const key of stored.keys()) this.shards.add(key.slice(SHARD_KEY.length));
      if (this.shards.size > 0) this.logger.info({ shards: this.shards.size }, 'channel object loaded its shards');
    });
  }

  /** From shards (their outboxes) and from the Worker (server publishes, `eventId` for signed batches). */
  async apply(ops: ChannelOp[], eventId?: string): Promise<void> {
    if (eventId && this.recentEvents.seenBefore(eventId)) return;
    for (const op of ops) {
      if (op.op === 'subscribe') this.add(op.shard);
      else if (op.op === 'unsubscribe') this.remove(op.shard);
      else for (const shard of this.shards) if (shard !== op.from) this.outboxes.to(shard).push(op.message);
    }
  }

  // Not awaited: the output gate holds this call's answer (and every forward) until the write is durable.
  private add(shard: string): void {
    if (this.shards.has(shard)) return;
    this.shards.add(shard);
    void this.ctx.storage.put(SHARD_KEY + shard, true);
  }

  private remove(shard: string): void {
    if (!this.shards.delete(shard)) return;
    void this.ctx.storage.delete(SHARD_KEY + shard);
  }
}
