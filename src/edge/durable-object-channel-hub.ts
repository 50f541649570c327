import type { DurableObjectNamespace } from '@cloudflare/workers-types/index.ts';
import type { RealtimeUser } from '../realtime/channel-acl';
import type { ChannelHub, ChannelMessage } from '../realtime/channel-hub';

/**
 * How the Worker talks to the ChannelHub Durable Object (plain `fetch` on its stub): the
 * authenticated user of an upgrade travels in a header only the Worker can set (the object is
 * reachable through its binding only, never from the internet).
 */
export const HUB_ORIGIN = 'https://channel-hub.internal';
export const CONNECT_PATH = '/connect';
export const PUBLISH_PATH = '/publish';
export const USER_HEADER = 'x-realtime-user';
/** Set by /internal/events: the same signed batch delivered twice within the replay window is dropped. */
export const EVENT_ID_HEADER = 'x-event-id';

/** Every edge connection shares one object, so a publish reaches every subscriber (see README: limits). */
export const HUB_OBJECT_NAME = 'channels';

export function hubStub(namespace: DurableObjectNamespace) {
  return namespace.get(namespace.idFromName(HUB_OBJECT_NAME));
}

/** Hands a WebSocket upgrade, already authenticated as `user`, to the Durable Object. */
export function connectToHub(namespace: DurableObjectNamespace, request: Request, user: RealtimeUser) {
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
  return hubStub(namespace).fetch(`${HUB_ORIGIN}${CONNECT_PATH}`, { method: 'GET', headers });
}

/**
 * The Worker's `AppDeps.hub`: publishing goes to the Durable Object, which delivers to its
 * sockets with the same ACL as Node. Subscribing happens only inside the object (through /ws),
 * so `subscribe` here is a programming error.
 */
export class DurableObjectChannelHub implements ChannelHub {
  constructor(private readonly namespace: DurableObjectNamespace) {}

  async publish(message: ChannelMessage): Promise<void> {
    await publishToHub(this.namespace, [message]);
  }

  subscribe(): () => void {
    throw new Error('On the edge, subscriptions live in the ChannelHub Durable Object (/ws)');
  }

  async close(): Promise<void> {}
}

export async function publishToHub(
  namespace: DurableObjectNamespace,
  messages: ChannelMessage[],
  eventId?: string,
): Promise<void> {
  const response = await hubStub(namespace).fetch(`${HUB_ORIGIN}${PUBLISH_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(eventId && { [EVENT_ID_HEADER]: eventId }) },
    body: JSON.stringify({ messages }),
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`ChannelHub object answered ${response.status} to a publish`);
}
