import { sql } from 'drizzle-orm';
import type { Clock } from '../clock';
import type { Database } from '../db/database';
import { rateLimitWindows } from '../db/schema';
import type { AddressRateLimit, RateLimitPolicy } from './address-rate-limit';
import { secondsUntil } from './login-guard';

const at = (date: Date) => sql`${date.toISOString()}::timestamptz`;

/** Fixed windows in Postgres: one row per scope and address, counted with one atomic upsert. */
export class PostgresRateLimit implements AddressRateLimit {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly scope: string,
    private readonly policy: RateLimitPolicy,
  ) {}

  async hit(address: string): Promise<number | null> {
    const now = this.clock();
    const windowOver = sql`${rateLimitWindows.windowStartedAt} <= ${at(new Date(now.getTime() - this.policy.windowMs))}`;
    const [row] = await this.db
      .insert(rateLimitWindows)
      .values({ scope: this.scope, address, windowStartedAt: now, hits: 1 })
      .onConflictDoUpdate({
        target: [rateLimitWindows.scope, rateLimitWindows.address],
        set: {
          windowStartedAt: sql`case when ${windowOver} then ${at(now)} else ${rateLimitWindows.windowStartedAt} end`,
          hits: sql`case when ${windowOver} then 1 else ${rateLimitWindows.hits} + 1 end`,
        },
      })
      .returning({ hits: rateLimitWindows.hits, windowStartedAt: rateLimitWindows.windowStartedAt });
    if (!row || row.hits <= this.policy.limit) return null;
    return secondsUntil(new Date(row.windowStartedAt.getTime() + this.policy.windowMs), now);
  }
}
