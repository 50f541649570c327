import postgres from 'postgres';
import type { Logger } from '../logging/logger';
import { RUN_NOTIFY_CHANNEL } from '../runs/notify-run-queue';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface RunNotifications {
  close(): Promise<void>;
}

/**
 * LISTENs for runs announced with `pg_notify` (rows written by the edge Worker, which has no
 * Redis) on a dedicated connection; postgres.js re-LISTENs by itself after a reconnect. Lost
 * notifications are covered by the reconciler's periodic sweep.
 */
export async function listenForNewRuns(
  databaseUrl: string,
  onRun: (runId: string) => void,
  logger: Logger,
): Promise<RunNotifications> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  await sql.listen(RUN_NOTIFY_CHANNEL, (payload) => {
    if (UUID.test(payload)) onRun(payload);
    else logger.warn({ channel: RUN_NOTIFY_CHANNEL }, 'ignored a notification that is not a run id');
  });
  return { close: () => sql.end({ timeout: 5 }) };
}
