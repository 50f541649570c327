import type { Redis } from 'ioredis';
import {
  BUSY_RETRY_SECONDS,
  DEFAULT_LOGIN_GUARD_POLICY,
  type LoginGuard,
  type LoginGuardPolicy,
  secondsUntil,
} from '../auth/login-guard';
import type { Clock } from '../clock';

// The same policy as PostgresLoginGuard, one script per step so each is atomic. Times come
// from the caller's clock (ARGV), so the policy is testable with an injected clock. Unless the
// address is blocked, a window that is over, or a block that ran out, starts afresh.
const LOAD = `
local h = redis.call('HMGET', KEYS[1], 'windowStartedAt', 'failures', 'pending', 'blockedUntil')
local now, windowMs = tonumber(ARGV[1]), tonumber(ARGV[2])
local started, failures, pending, blocked = tonumber(h[1] or '0'), tonumber(h[2] or '0'), tonumber(h[3] or '0'), tonumber(h[4] or '0')
local fresh = blocked <= now and (started <= now - windowMs or blocked > 0)
if fresh then started, failures, pending, blocked = now, 0, 0, 0 end
`;

const ADMIT = `${LOAD}
if blocked > now then return blocked end
if failures + pending > tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], 'windowStartedAt', started, 'failures', failures, 'pending', pending + 1, 'blockedUntil', blocked)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 0
`;

const RECORD_FAILURE = `${LOAD}
failures = failures + 1
if pending > 0 then pending = pending - 1 end
if failures > tonumber(ARGV[3]) then blocked = now + tonumber(ARGV[5]) end
redis.call('HSET', KEYS[1], 'windowStartedAt', started, 'failures', failures, 'pending', pending, 'blockedUntil', blocked)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return blocked
`;

const RELEASE = `
if tonumber(redis.call('HGET', KEYS[1], 'pending') or '0') > 0 then redis.call('HINCRBY', KEYS[1], 'pending', -1) end
return 0
`;

export class RedisLoginGuard implements LoginGuard {
  constructor(
    private readonly redis: Redis,
    private readonly clock: Clock,
    private readonly policy: LoginGuardPolicy = DEFAULT_LOGIN_GUARD_POLICY,
    private readonly prefix = 'login-guard:',
  ) {}

  async admit(address: string): Promise<number | null> {
    const now = this.clock();
    const answer = Number(await this.run(ADMIT, address, now));
    if (answer === 0) return null;
    return answer > 0 ? secondsUntil(new Date(answer), now) : BUSY_RETRY_SECONDS;
  }

  async release(address: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.prefix + address);
  }

  async recordFailure(address: string): Promise<number | null> {
    const now = this.clock();
    const blockedUntil = Number(await this.run(RECORD_FAILURE, address, now));
    return blockedUntil > now.getTime() ? secondsUntil(new Date(blockedUntil), now) : null;
  }

  private run(script: string, address: string, now: Date) {
    const { windowMs, maxFailures, blockMs } = this.policy;
    return this.redis.eval(
      script,
      1,
      this.prefix + address,
      now.getTime(),
      windowMs,
      maxFailures,
      windowMs + blockMs,
      blockMs,
    );
  }
}
