import { type ChannelMessage, WORKFLOW_CHANNEL } from '../realtime/channel-hub';
import { shardIndexOf } from './shard-of';

export interface ServerPublishRoutes {
  /** Messages for each channel's object, which forwards them to the shards with subscribers. */
  channels: Map<string, ChannelMessage[]>;
  /** Workflow-status messages for the shard of each run's owner (by shard index). */
  ownerShards: Map<number, ChannelMessage[]>;
}

function append<K>(map: Map<K, ChannelMessage[]>, key: K, message: ChannelMessage): void {
  const list = map.get(key);
  if (list) list.push(message);
  else map.set(key, [message]);
}

/**
 * Where messages the server publishes (/internal/events, a cancellation on the edge) go. A
 * message on the `workflow` channel is for its run's owner and the admins only (see
 * `mayReceive`): the owner's sockets all live on one shard, so it goes straight there, and the
 * `workflow` channel object, where only admins' subscriptions are registered, takes it to the
 * admins. Everything else goes to its channel's object. Order per destination is the input's.
 */
export function routeServerMessages(messages: ChannelMessage[], shardCount: number): ServerPublishRoutes {
  const routes: ServerPublishRoutes = { channels: new Map(), ownerShards: new Map() };
  for (const message of messages) {
    const ownerId = message.payload.ownerId;
    if (message.channel === WORKFLOW_CHANNEL && typeof ownerId === 'string') {
      append(routes.ownerShards, shardIndexOf(ownerId, shardCount), message);
    }
    append(routes.channels, message.channel, message);
  }
  return routes;
}
