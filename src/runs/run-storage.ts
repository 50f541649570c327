import { sql } from 'drizzle-orm';
import type { Config } from '../config/config';
import type { Database } from '../db/database';
import { workflowQueue } from '../db/schema';
import { QuotaExceededError } from '../errors/quota-exceeded-error';
import { ServiceUnavailableError } from '../errors/service-unavailable-error';

export type RunStorageLimits = Pick<Config, 'runResultBudgetBytes' | 'runStoragePerUserBytes' | 'runStorageTotalBytes'>;

/**
 * The bytes runs hold or may come to hold: a finished run its stored results (`result_bytes`),
 * a queued or running one its whole result budget, since it may still produce that much. So a
 * quota checked before a run is written holds however many runs are in flight.
 */
export const claimedRunBytes = (budget: unknown) =>
  sql`coalesce(sum(case when ${workflowQueue.status} in ('queued', 'running') then ${budget}::bigint else ${workflowQueue.resultBytes} end), 0)`;

/** The whole installation's total is a scan of every run: read at most this often per RunStorage. */
const TOTAL_REFRESH_MS = 10_000;

/**
 * The run storage quotas on one database: every user's runs together (RUN_STORAGE_TOTAL_BYTES)
 * and each user's (RUN_STORAGE_PER_USER_BYTES), counted as claimedRunBytes does. Built once
 * with its database (a process's, or on the edge a request's): the total it reads is kept for
 * TOTAL_REFRESH_MS.
 */
export class RunStorage {
  private total: { readAt: number; bytes: Promise<number> } | undefined;

  constructor(
    private readonly db: Database,
    private readonly limits: RunStorageLimits,
  ) {}

  /** Refuses a new run (503) when every user's runs together leave no room for one more run's budget. */
  async refuseWhenFull(nowMs: number): Promise<void> {
    const budget = this.limits.runResultBudgetBytes;
    if ((await this.totalBytes(nowMs)) + budget > this.limits.runStorageTotalBytes) {
      throw new ServiceUnavailableError('Run storage is full: no new runs are accepted until an operator frees space');
    }
  }

  /** Throws the per-user run storage refusal when the user has no room for one more run. */
  async refuseOverQuota(userId: string): Promise<void> {
    const { runResultBudgetBytes: budget, runStoragePerUserBytes: limit } = this.limits;
    const [row] = await this.db
      .select({ bytes: claimedRunBytes(budget).mapWith(Number) })
      .from(workflowQueue)
      .where(sql`${workflowQueue.ownerId} = ${userId}`);
    const used = row?.bytes ?? 0;
    if (used + budget <= limit) return;
    throw new QuotaExceededError(
      `Your runs hold ${used} of your ${limit} bytes of run storage, and a new run needs ` +
        `${budget} (a queued or running run counts at its full result budget): wait for runs to finish, or delete ` +
        'workflows whose runs you no longer need',
      { usedBytes: used, limitBytes: limit, runBudgetBytes: budget },
    );
  }

  /** Both refusals, for a run written outside execute's own atomic check (a retry, which belongs to `ownerId`). */
  async refuseWhenNoRoom(ownerId: string, nowMs: number): Promise<void> {
    await this.refuseWhenFull(nowMs);
    await this.refuseOverQuota(ownerId);
  }

  /** Every user's run storage together, as of at most TOTAL_REFRESH_MS ago (one read at a time; a failed read is not kept). */
  private totalBytes(nowMs: number): Promise<number> {
    if (this.total && nowMs - this.total.readAt < TOTAL_REFRESH_MS) return this.total.bytes;
    const bytes = this.db
      .select({ bytes: claimedRunBytes(this.limits.runResultBudgetBytes).mapWith(Number) })
      .from(workflowQueue)
      .then(([row]) => row?.bytes ?? 0);
    const entry = { readAt: nowMs, bytes };
    this.total = entry;
    bytes.catch(() => {
      if (this.total === entry) this.total = undefined;
    });
    return bytes;
  }
}
