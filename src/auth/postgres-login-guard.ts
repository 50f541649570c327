import { eq, type SQL, sql } from 'drizzle-orm';
import type { Clock } from '../clock';
import type { Database } from '../db/database';
import { loginGuards } from '../db/schema';
import {
  BUSY_RETRY_SECONDS,
  DEFAULT_LOGIN_GUARD_POLICY,
  type LoginGuard,
  type LoginGuardPolicy,
  secondsUntil,
} from './login-guard';

const at = (date: Date) => sql`${date.toISOString()}::timestamptz`;

/**
 * Login guard counters in Postgres: one row per address. Each step is one statement on that
 * row, so concurrent attempts, on any instance, are serialised by its row lock.
 */
export class PostgresLoginGuard implements LoginGuard {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly policy: LoginGuardPolicy = DEFAULT_LOGIN_GUARD_POLICY,
  ) {}

  async admit(address: string): Promise<number | null> {
    const now = this.clock();
    const fresh = this.fresh(now);
    // A slot is taken only while the address is not blocked and at most maxFailures attempts
    // of the window have failed or are in flight.
    const admitted = await this.db
      .insert(loginGuards)
      .values({ ip: address, windowStartedAt: now, failures: 0, pending: 1 })
      .onConflictDoUpdate({
        target: loginGuards.ip,
        set: {
          windowStartedAt: sql`case when ${fresh} then ${at(now)} else ${loginGuards.windowStartedAt} end`,
          failures: sql`case when ${fresh} then 0 else ${loginGuards.failures} end`,
          pending: sql`case when ${fresh} then 1 else ${loginGuards.pending} + 1 end`,
          blockedUntil: sql`case when ${fresh} then null else ${loginGuards.blockedUntil} end`,
        },
        setWhere: sql`(${loginGuards.blockedUntil} is null or ${loginGuards.blockedUntil} <= ${at(now)})
          and (${fresh} or ${loginGuards.failures} + ${loginGuards.pending} <= ${this.policy.maxFailures})`,
      })
      .returning({ ip: loginGuards.ip });
    if (admitted.length > 0) return null;
    const [row] = await this.db
      .select({ blockedUntil: loginGuards.blockedUntil })
      .from(loginGuards)
      .where(eq(loginGuards.ip, address))
      .limit(1);
    return row?.blockedUntil && row.blockedUntil > now ? secondsUntil(row.blockedUntil, now) : BUSY_RETRY_SECONDS;
  }

  async release(address: string): Promise<void> {
    await this.db
      .update(loginGuards)
      .set({ pending: sql`greatest(${loginGuards.pending} - 1, 0)` })
      .where(eq(loginGuards.ip, address));
  }

  async recordFailure(address: string): Promise<number | null> {
    const now = this.clock();
    const blockedUntil = new Date(now.getTime() + this.policy.blockMs);
    const fresh = this.fresh(now);
    const failures = sql`case when ${fresh} then 1 else ${loginGuards.failures} + 1 end`;
    // Also without a slot here (taken in Redis just before it went away): a failure always counts.
    const [row] = await this.db
      .insert(loginGuards)
      .values({ ip: address, windowStartedAt: now, failures: 1, pending: 0 })
      .onConflictDoUpdate({
        target: loginGuards.ip,
        set: {
          windowStartedAt: sql`case when ${fresh} then ${at(now)} else ${loginGuards.windowStartedAt} end`,
          failures,
          pending: sql`case when ${fresh} then 0 else greatest(${loginGuards.pending} - 1, 0) end`,
          blockedUntil: sql`case when ${failures} > ${this.policy.maxFailures} then ${at(blockedUntil)}
            when ${fresh} then null else ${loginGuards.blockedUntil} end`,
        },
      })
      .returning({ failures: loginGuards.failures });
    return row && row.failures > this.policy.maxFailures ? secondsUntil(blockedUntil, now) : null;
  }

  /** Unless the address is blocked, a window that is over, or a block that ran out, starts afresh. */
  private fresh(now: Date): SQL {
    const windowStart = at(new Date(now.getTime() - this.policy.windowMs));
    const blockedUntil = loginGuards.blockedUntil;
    return sql`((${blockedUntil} is null or ${blockedUntil} <= ${at(now)})
      and (${loginGuards.windowStartedAt} <= ${windowStart} or ${blockedUntil} is not null))`;
  }
}
