import type { RealtimeUser } from '../realtime/channel-acl';
import type { ChannelHub, ChannelMessage } from '../realtime/channel-hub';
import type { ChannelOp } from './channel-ops';
import type { EdgeEnv } from './edge-env';
import { channelObjectOf, connectionShardAt, connectionShardOf } from './realtime-objects';
import { routeServerMessages } from './server-publish-routes';

/**
 * How the Worker talks to the realtime Durable Objects: the upgrade of an authenticated user
 * goes to that user's connection shard (plain `fetch`, the user in a header only the Worker
 * can set: the objects are reachable through their bindings only, never from the internet);
 * messages the server publishes go by RPC to channel objects and owners' shards.
 */
export const SHARD_ORIGIN = 'https://connection-shard.internal';
export const CONNECT_PATH = '/connect';
export const USER_HEADER = 'x-realtime-user';

/** Hands a WebSocket upgrade, already authenticated as `user`, to the user's connection shard. */
export function connectToShard(env: EdgeEnv, shardCount: number, request: Request, user: RealtimeUser) {
  const headers = new Headers({
    upgrade: 'websocket',
    [USER_HEADER]: JSON.stringify({ id: user.id, role: user.role, expiresAt: user.expiresAt }),
  });
  for (const name of [
    'sec-websocket-key',
    'sec-websocket-version',
    'sec-websocket-protocol',
    'sec-websocket-extensions',
  ]) {
    const value = request.headers.get(name);
    if (value) headers.set(name, value);
  }
  return connectionShardOf(env, user.id, shardCount).fetch(`${SHARD_ORIGIN}${CONNECT_PATH}`, {
    method: 'GET',
    headers,
  });
}

/**
 * Messages the server publishes (a cancellation made on the edge, signed events from Node):
 * each channel's to its object, a run's status also straight to its owner's shard (see
 * `routeServerMessages`), all destinations at once, each in the order given. `eventId` names a
 * signed batch, so every destination drops a replay of it.
 */
export async function publishFromServer(
  env: EdgeEnv,
  shardCount: number,
  messages: ChannelMessage[],
  eventId?: string,
): Promise<void> {
  const routes = routeServerMessages(messages, shardCount);
  const toChannels = [...routes.channels].map(([channel, list]) =>
    channelObjectOf(env, channel).apply(
      list.map((message): ChannelOp => ({ op: 'publish', message })),
      eventId,
    ),
  );
  const toOwners = [...routes.ownerShards].map(([index, list]) =>
    connectionShardAt(env, index).deliverToOwners(list, eventId),
  );
  await Promise.all([...toChannels, ...toOwners]);
}

/**
 * The Worker's `AppDeps.hub`: publishing goes to the realtime Durable Objects. Subscribing
 * happens only inside a connection shard (through /ws), so `subscribe` here is a programming error.
 */
export class DurableObjectChannelHub implements ChannelHub {
  constructor(
    private readonly env: EdgeEnv,
    private readonly shardCount: number,
  ) {}

  async publish(message: ChannelMessage): Promise<void> {
    await publishFromServer(this.env, this.shardCount, [message]);
  }

  subscribe(): () => void {
    throw new Error('On the edge, subscriptions live in the connection shards (/ws)');
  }

  async close(): Promise<void> {}
}
