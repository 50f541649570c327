import type { DurableObjectStub } from '@cloudflare/workers-types/index.ts';
import type { ChannelObjectRpc, ConnectionShardRpc } from './channel-ops';
import type { EdgeEnv } from './edge-env';
import { channelObjectName, shardIndexOf, shardName } from './shard-of';

// A fresh stub per use: a stub that saw an error stays broken, and ordering never relies on one.

/** The Durable Object of a channel. */
export function channelObjectOf(env: EdgeEnv, channel: string): ChannelObjectRpc {
  const namespace = env.REALTIME_CHANNELS;
  return namespace.get(namespace.idFromName(channelObjectName(channel))) as unknown as ChannelObjectRpc;
}

/** The connection shard with index `index`: its RPC methods, and `fetch` for WebSocket upgrades. */
export function connectionShardAt(env: EdgeEnv, index: number): DurableObjectStub & ConnectionShardRpc {
  const namespace = env.REALTIME_SHARDS;
  return namespace.get(namespace.idFromName(shardName(index))) as DurableObjectStub & ConnectionShardRpc;
}

/** The connection shard that holds `userId`'s sockets. */
export function connectionShardOf(env: EdgeEnv, userId: string, shardCount: number) {
  return connectionShardAt(env, shardIndexOf(userId, shardCount));
}

/** A connection shard by the object id channel objects keep. */
export function connectionShardById(env: EdgeEnv, id: string): ConnectionShardRpc {
  const namespace = env.REALTIME_SHARDS;
  return namespace.get(namespace.idFromString(id)) as unknown as ConnectionShardRpc;
}
