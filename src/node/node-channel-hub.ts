import type { Logger } from '../logging/logger';
import type { ChannelHub } from '../realtime/channel-hub';
import { InMemoryChannelHub } from '../realtime/in-memory-channel-hub';
import { RedisChannelHub } from './redis-channel-hub';

/**
 * The hub every Node process uses (API and worker): Redis pub/sub when REDIS_URL is set, so a
 * publish anywhere reaches /ws subscribers on every API instance; in memory otherwise.
 */
export function createNodeChannelHub(redis?: { url: string; prefix?: string }, logger?: Logger): ChannelHub {
  return redis ? new RedisChannelHub({ ...redis, logger }) : new InMemoryChannelHub();
}
