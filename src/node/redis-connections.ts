import { Redis } from 'ioredis';
import type { HealthCheck } from '../deps';
import type { Logger } from '../logging/logger';
import { OutageLog } from '../logging/outage-log';

const reconnectDelay = (times: number) => Math.min(times * 200, 2000);

/** For long-lived consumers (the BullMQ worker), as BullMQ documents: commands wait for Redis, which is retried forever. */
export function connectRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy: reconnectDelay });
}

/**
 * For request paths (login guard, registration limit, enqueue, Bull Board): no offline queue,
 * so a command fails at once while Redis is away instead of waiting for it, and every command
 * has a deadline for a Redis that is connected but does not answer. Reconnects forever.
 */
export function connectRequestRedis(url: string, commandTimeoutMs: number): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    retryStrategy: reconnectDelay,
  });
}

/**
 * Logs a connection going away and coming back once per change (a reconnecting client emits
 * an error per attempt), and returns what /health needs to report it.
 */
export function watchRedisConnection(redis: Redis, logger: Logger, name: string): OutageLog {
  const outage = new OutageLog(logger, { redis: name }, 'redis');
  redis.on('error', (error: Error) => outage.failed(error));
  redis.on('ready', () => outage.recovered());
  return outage;
}

/** `/health`'s view of a connection: down at once while it is not connected (with the last error), else a PING. */
export function redisHealthCheck(redis: Redis, outage: OutageLog): HealthCheck {
  return {
    name: 'redis',
    critical: false,
    check: async () => {
      if (redis.status !== 'ready') throw new Error(`not connected (${outage.reason ?? redis.status})`);
      await redis.ping();
    },
  };
}

/** Resolves true once the connection is ready, false if it is not within `ms` (it keeps trying in the background). */
export function readyWithin(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, ms);
    redis.once('ready', onReady);
  });
}
