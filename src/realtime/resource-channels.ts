import type { RealtimeUser } from './channel-acl';

/**
 * Channels named after a resource: `project:<id>`, `workflow:<id>`, `run:<id>`, and any channel
 * under them (`project:<id>:builds`). Each is readable and writable only by whoever may read
 * that resource (its owner, or an admin); every other channel name is free.
 */
export type ResourceKind = 'project' | 'workflow' | 'run';

export interface ResourceRef {
  kind: ResourceKind;
  id: string;
}

/** Whether `user` may read the resource; the runtime injects it (it needs the database). */
export type ResourceReadCheck = (user: RealtimeUser, resource: ResourceRef) => Promise<boolean>;

const RESOURCE_CHANNEL = /^(project|workflow|run):([^:]*)/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The resource a channel is named after; `null` for a name in a resource namespace whose id
 * cannot name any resource (it is refused like someone else's); undefined for a free channel.
 */
export function resourceOfChannel(channel: string): ResourceRef | null | undefined {
  const match = RESOURCE_CHANNEL.exec(channel);
  if (!match) return undefined;
  const id = match[2] as string;
  return UUID.test(id) ? { kind: match[1] as ResourceKind, id: id.toLowerCase() } : null;
}

export function resourceDenial(channel: string): string {
  const kind = channel.slice(0, channel.indexOf(':'));
  return `${kind} channels are readable and writable only by who may read that ${kind}`;
}
