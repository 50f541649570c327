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

/** How much of the per-user run storage `ownerId` holds (see claimedRunBytes). */
export async function runStorageOfUser(db: Database, ownerId: string, budget: number): Promise<number> {
  const [row] = await db
    .select({ bytes: claimedRunBytes(budget).mapWith(Number) })
    .from(workflowQueue)
    .where(sql`${workflowQueue.ownerId} = ${ownerId}`);
  return row?.bytes ?? 0;
}

/** The whole installation's total is a scan of every run: read at most this often per process. */
export const TOTAL_REFRESH_MS = 10_000;

const totals = new WeakMap<Database, { readAt: number; bytes: Promise<number> }>();

/**
 * Every user's run storage together, as of at most TOTAL_REFRESH_MS ago (one read at a time;
 * a failed read is not kept).
 */
export function runStorageTotal(db: Database, budget: number, nowMs: number): Promise<number> {
  const cached = totals.get(db);
  if (cached && nowMs - cached.readAt < TOTAL_REFRESH_MS) return cached.bytes;
  const bytes = db
    .select({ bytes: claimedRunBytes(budget).mapWith(Number) })
    .from(workflowQueue)
    .then(([row]) => row?.bytes ?? 0);
  const entry = { readAt: nowMs, bytes };
  totals.set(db, entry);
  bytes.catch(() => {
    if (totals.get(db) === entry) totals.delete(db);
  });
  return bytes;
}

/** Refuses a new run (503) when every user's runs together leave no room for one more run's budget. */
export async function refuseWhenStorageFull(db: Database, limits: RunStorageLimits, nowMs: number): Promise<void> {
  const budget = limits.runResultBudgetBytes;
  if ((await runStorageTotal(db, budget, nowMs)) + budget > limits.runStorageTotalBytes) {
    throw new ServiceUnavailableError('Run storage is full: no new runs are accepted until an operator frees space');
  }
}

/** Throws the per-user run storage refusal when the user has no room for one more run. */
export async function refuseOverQuota(db: Database, userId: string, limits: RunStorageLimits): Promise<void> {
  const budget = limits.runResultBudgetBytes;
  const used = await runStorageOfUser(db, userId, budget);
  if (used + budget <= limits.runStoragePerUserBytes) return;
  throw new QuotaExceededError(
    `Your runs hold ${used} of your ${limits.runStoragePerUserBytes} bytes of run storage, and a new run needs ` +
      `${budget} (a queued or running run counts at its full result budget): wait for runs to finish, or delete ` +
      'workflows whose runs you no longer need',
    { usedBytes: used, limitBytes: limits.runStoragePerUserBytes, runBudgetBytes: budget },
  );
}

/** Both refusals, for a run written outside execute's own atomic check (a retry, which belongs to `ownerId`). */
export async function refuseWhenNoRoom(
  db: Database,
  ownerId: string,
  limits: RunStorageLimits,
  nowMs: number,
): Promise<void> {
  await refuseWhenStorageFull(db, limits, nowMs);
  await refuseOverQuota(db, ownerId, limits);
}
