import { and, eq, type SQL, sql } from 'drizzle-orm';
import { workflowQueue, workflows } from '../db/schema';
import type { AuthUser } from '../deps';

/** Admins see every workflow; anyone else only their own. Applied to every read and write. */
export function visibleWorkflows(user: Pick<AuthUser, 'id' | 'role'>, id?: string): SQL | undefined {
  const owner = user.role === 'admin' ? undefined : eq(workflows.ownerId, user.id);
  return and(id ? eq(workflows.id, id) : undefined, owner);
}

/** Admins see every run; anyone else only the runs they started. */
export function visibleRuns(user: Pick<AuthUser, 'id' | 'role'>, id?: string): SQL | undefined {
  const owner = user.role === 'admin' ? undefined : eq(workflowQueue.ownerId, user.id);
  return and(id ? eq(workflowQueue.id, id) : undefined, owner);
}

/** The columns run lists read (see RunSummaryRow): the step count is taken in SQL, the steps stay in the database. */
export const runSummaryColumns = {
  id: workflowQueue.id,
  workflowId: workflowQueue.workflowId,
  ownerId: workflowQueue.ownerId,
  status: workflowQueue.status,
  progress: workflowQueue.progress,
  totalSteps: sql<number>`jsonb_array_length(${workflowQueue.steps})`.mapWith(Number).as('total_steps'),
  error: workflowQueue.error,
  attempts: workflowQueue.attempts,
  retryOf: workflowQueue.retryOf,
  createdAt: workflowQueue.createdAt,
  startedAt: workflowQueue.startedAt,
  finishedAt: workflowQueue.finishedAt,
  updatedAt: workflowQueue.updatedAt,
};
