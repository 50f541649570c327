import type { Redis } from 'ioredis';
import { LOGIN_GUARD_POLICY, type LoginGuard, secondsUntil } from '../auth/login-guard';
import type { Clock } from '../clock';

// One atomic step per failure: open or extend the window, count, and block past the limit.
// Times come from the caller's clock (ARGV), so the policy is testable with an injected clock.
const RECORD_FAILURE = `
local now = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local maxFailures = tonumber(ARGV[3])
local blockMs = tonumber(ARGV[4])
local started = tonumber(redis.call('HGET', KEYS[1], 'windowStartedAt') or '0')
local failures
if started > now - windowMs then
  failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
else
  redis.call('HSET', KEYS[1], 'windowStartedAt', now, 'failures', 1)
  failures = 1
end
local blockedUntil = 0
if failures > maxFailures then
  blockedUntil = now + blockMs
  redis.call('HSET', KEYS[1], 'blockedUntil', blockedUntil)
end
redis.call('PEXPIRE', KEYS[1], blockMs + windowMs)
return blockedUntil
`;

export class RedisLoginGuard implements LoginGuard {
  constructor(
    private readonly redis: Redis,
    private readonly clock: Clock,
    private readonly policy = LOGIN_GUARD_POLICY,
    private readonly prefix = 'login-guard:',
  ) {}

  async retryAfterSeconds(ip: string): Promise<number | null> {
    const now = this.clock();
    const blockedUntil = Number((await this.redis.hget(this.prefix + ip, 'blockedUntil')) ?? 0);
    return blockedUntil > now.getTime() ? secondsUntil(new Date(blockedUntil), now) : null;
  }

  async recordFailure(ip: string): Promise<number | null> {
    const now = this.clock();
    const blockedUntil = Number(
      await this.redis.eval(
        RECORD_FAILURE,
        1,
        this.prefix + ip,
        now.getTime(),
        this.policy.windowMs,
        this.policy.maxFailures,
        this.policy.blockMs,
      ),
    );
    return blockedUntil > 0 ? secondsUntil(new Date(blockedUntil), now) : null;
  }
}
