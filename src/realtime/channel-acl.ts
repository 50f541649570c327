import type { ChannelMessage } from './channel-hub';
import { WORKFLOW_CHANNEL } from './channel-hub';

/** Who is on the other end of a socket: the access token's claims. */
export interface RealtimeUser {
  id: string;
  role: 'user' | 'admin';
  /** When the access token the socket was opened with expires (ms since epoch); the socket closes then. */
  expiresAt?: number;
}

const NOTIFICATIONS_PREFIX = 'notifications:';

/** `notifications:<userId>` belongs to that user alone (admins included: it is a private inbox). */
function isSomeoneElsesInbox(user: RealtimeUser, channel: string): boolean {
  return channel.startsWith(NOTIFICATIONS_PREFIX) && channel !== `${NOTIFICATIONS_PREFIX}${user.id}`;
}

/** Why `user` may not subscribe to `channel`, or undefined when it may. */
export function subscribeDenial(user: RealtimeUser, channel: string): string | undefined {
  if (isSomeoneElsesInbox(user, channel)) return 'notifications channels are private to their user';
  return undefined;
}

/** Why `user` may not publish to `channel`, or undefined when it may. */
export function publishDenial(user: RealtimeUser, channel: string): string | undefined {
  if (channel === WORKFLOW_CHANNEL) return 'the workflow channel is written by the server only';
  if (isSomeoneElsesInbox(user, channel)) return 'notifications channels are private to their user';
  return undefined;
}

/**
 * Per-recipient filter on delivery. On the `workflow` channel each client sees only messages
 * about its own runs (`payload.ownerId`); admins see every run.
 */
export function mayReceive(user: RealtimeUser, message: ChannelMessage): boolean {
  if (message.channel !== WORKFLOW_CHANNEL || user.role === 'admin') return true;
  return message.payload.ownerId === user.id;
}
