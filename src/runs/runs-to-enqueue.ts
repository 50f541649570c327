import { eq, inArray, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database';
import { workflowQueue, workflows } from '../db/schema';
import type { RunToEnqueue } from './run-queue';

/** Runs as a queue needs them (their workflow's name included), for rows matching `where`. */
export function runsToEnqueue(db: Database, where: SQL | undefined) {
  return db
    .select({
      id: workflowQueue.id,
      workflowId: workflowQueue.workflowId,
      ownerId: workflowQueue.ownerId,
      workflowName: workflows.name,
    })
    .from(workflowQueue)
    .innerJoin(workflows, eq(workflows.id, workflowQueue.workflowId))
    .where(where);
}

/** The runs with these ids, as a queue needs them. */
export function runsToEnqueueById(db: Database, runIds: string[]): Promise<RunToEnqueue[]> {
  return runIds.length === 0 ? Promise.resolve([]) : runsToEnqueue(db, inArray(workflowQueue.id, runIds));
}
