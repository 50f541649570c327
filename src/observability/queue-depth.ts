import { count } from 'drizzle-orm';
import type { Database } from '../db/database';
import { type RunStatus, runStatus, workflowQueue } from '../db/schema';

/** `workflow_queue` rows per status, every status present (0 when none): one group-by per scrape. */
export async function countRunsByStatus(db: Database): Promise<Record<RunStatus, number>> {
  const rows = await db
    .select({ status: workflowQueue.status, value: count() })
    .from(workflowQueue)
    .groupBy(workflowQueue.status);
  const counts = Object.fromEntries(runStatus.enumValues.map((s) => [s, 0])) as Record<RunStatus, number>;
  for (const row of rows) counts[row.status] = row.value;
  return counts;
}
