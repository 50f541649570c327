/**
 * Which connection shard holds a user's sockets: FNV-1a of the user id, modulo the shard count.
 * Every socket of one user lands on the same shard, so an event for that user (a run's status,
 * its owner) is one hop to one object, and per-user limits are counted in one place.
 */
export function shardIndexOf(userId: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shardCount;
}

export function shardName(index: number): string {
  return `shard:${index}`;
}

export function channelObjectName(channel: string): string {
  return `channel:${channel}`;
}
