import { and, eq, type SQL } from 'drizzle-orm';
import { workflowQueue, workflows } from '../db/schema';
import type { AuthUser } from '../deps';

/** Admins see every workflow; anyone else only their own. Applied to every read and write. */
export function visibleWorkflows(user: AuthUser, id?: string): SQL | undefined {
  const owner = user.role === 'admin' ? undefined : eq(workflows.ownerId, user.id);
  return and(id ? eq(workflows.id, id) : undefined, owner);
}

/** Admins see every run; anyone else only the runs they started. */
export function visibleRuns(user: AuthUser, id?: string): SQL | undefined {
  const owner = user.role === 'admin' ? undefined : eq(workflowQueue.ownerId, user.id);
  return and(id ? eq(workflowQueue.id, id) : undefined, owner);
}
