import type { Redis } from 'ioredis';
import type { AddressRateLimit, RateLimitPolicy } from '../auth/address-rate-limit';
import { secondsUntil } from '../auth/login-guard';
import type { Clock } from '../clock';

// Times from the caller's clock (ARGV), like the login guard: the window is testable.
const HIT = `
local now, windowMs = tonumber(ARGV[1]), tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'windowStartedAt', 'hits')
local started, hits = tonumber(h[1] or '0'), tonumber(h[2] or '0')
if started <= now - windowMs then started, hits = now, 0 end
hits = hits + 1
redis.call('HSET', KEYS[1], 'windowStartedAt', started, 'hits', hits)
redis.call('PEXPIRE', KEYS[1], windowMs)
if hits > tonumber(ARGV[3]) then return started end
return 0
`;

/** Fixed windows in Redis: one hash per scope and address. */
export class RedisRateLimit implements AddressRateLimit {
  constructor(
    private readonly redis: Redis,
    private readonly clock: Clock,
    private readonly scope: string,
    private readonly policy: RateLimitPolicy,
  ) {}

  async hit(address: string): Promise<number | null> {
    const now = this.clock();
    const key = `rate-limit:${this.scope}:${address}`;
    const started = Number(await this.redis.eval(HIT, 1, key, now.getTime(), this.policy.windowMs, this.policy.limit));
    return started > 0 ? secondsUntil(new Date(started + this.policy.windowMs), now) : null;
  }
}
