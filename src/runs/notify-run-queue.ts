import { sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import type { Logger } from '../logging/logger';
import type { RunQueue } from './run-queue';

/** The Postgres NOTIFY channel a new `workflow_queue` row is announced on; the payload is the run id. */
export const RUN_NOTIFY_CHANNEL = 'workflow_runs';

/**
 * For runtimes without Redis or an in-process runner (the edge Worker): the row is the record,
 * and `pg_notify` tells a listening Node worker about it at once, so it does not wait for the
 * reconciler's next sweep. A lost notification (no listener at that moment) costs only latency:
 * the reconciler still finds the queued row. Cancellation needs nothing here: executors see
 * the cancelled row at their next heartbeat.
 */
export function notifyRunQueue(db: Database, logger: Logger): RunQueue {
  return {
    async enqueue(run) {
      try {
        await db.execute(sql`select pg_notify(${RUN_NOTIFY_CHANNEL}, ${run.id})`);
      } catch (error) {
        logger.warn({ runId: run.id, err: { message: (error as Error)?.message } }, 'run notify failed');
      }
    },
    async cancel() {},
  };
}
