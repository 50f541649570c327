import { eq, sql } from 'drizzle-orm';
import type { Clock } from '../clock';
import type { Database } from '../db/database';
import { loginGuards } from '../db/schema';
import { LOGIN_GUARD_POLICY, type LoginGuard, secondsUntil } from './login-guard';

/** Login guard counters in Postgres: one row per IP, updated with a single atomic upsert. */
export class PostgresLoginGuard implements LoginGuard {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly policy = LOGIN_GUARD_POLICY,
  ) {}

  async retryAfterSeconds(ip: string): Promise<number | null> {
    const now = this.clock();
    const [row] = await this.db
      .select({ blockedUntil: loginGuards.blockedUntil })
      .from(loginGuards)
      .where(eq(loginGuards.ip, ip))
      .limit(1);
    return row?.blockedUntil && row.blockedUntil > now ? secondsUntil(row.blockedUntil, now) : null;
  }

  async recordFailure(ip: string): Promise<number | null> {
    const now = this.clock();
    const nowSql = sql`${now.toISOString()}::timestamptz`;
    const windowOpen = sql`${loginGuards.windowStartedAt} > ${new Date(now.getTime() - this.policy.windowMs).toISOString()}::timestamptz`;
    const [row] = await this.db
      .insert(loginGuards)
      .values({ ip, windowStartedAt: now, failures: 1 })
      .onConflictDoUpdate({
        target: loginGuards.ip,
        set: {
          failures: sql`case when ${windowOpen} then ${loginGuards.failures} + 1 else 1 end`,
          windowStartedAt: sql`case when ${windowOpen} then ${loginGuards.windowStartedAt} else ${nowSql} end`,
        },
      })
      .returning({ failures: loginGuards.failures });
    if (!row || row.failures <= this.policy.maxFailures) return null;

    const blockedUntil = new Date(now.getTime() + this.policy.blockMs);
    await this.db.update(loginGuards).set({ blockedUntil }).where(eq(loginGuards.ip, ip));
    return secondsUntil(blockedUntil, now);
  }
}
