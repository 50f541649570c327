import type { ChannelMessage } from '../realtime/channel-hub';

/**
 * What a channel's Durable Object is told, in order: a connection shard (by its object id) now
 * has subscribers of the channel or no longer has any, or a message to forward. `from` is the
 * shard that published it, which delivered it to its own subscribers already.
 */
export type ChannelOp =
  | { op: 'subscribe'; shard: string }
  | { op: 'unsubscribe'; shard: string }
  | { op: 'publish'; message: ChannelMessage; from?: string };

/** The channel object's RPC surface (src/edge/channel-object.ts). */
export interface ChannelObjectRpc {
  apply(ops: ChannelOp[], eventId?: string): Promise<void>;
}

/** The connection shard's RPC surface (src/edge/connection-shard.ts). */
export interface ConnectionShardRpc {
  /** Messages a channel object forwards to the shard's subscribers of their channel. */
  deliver(messages: ChannelMessage[]): Promise<void>;
  /** Workflow-status messages for the non-admin owners on this shard (straight from the server). */
  deliverToOwners(messages: ChannelMessage[], eventId?: string): Promise<void>;
}
