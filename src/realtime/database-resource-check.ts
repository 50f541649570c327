import { type SQL, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Database } from '../db/database';
import { projects, workflowQueue, workflows } from '../db/schema';
import { visibleProjects } from '../projects/project-queries';
import { visibleRuns, visibleWorkflows } from '../workflows/workflow-queries';
import type { ResourceKind, ResourceReadCheck } from './resource-channels';

const sqlOne = sql<number>`1`;

/** The same rules as the REST routes: a resource is readable by its owner and by admins. */
const visible: Record<ResourceKind, { table: PgTable; where: typeof visibleProjects }> = {
  project: { table: projects, where: visibleProjects },
  workflow: { table: workflows, where: visibleWorkflows },
  run: { table: workflowQueue, where: visibleRuns },
};

/** `ResourceReadCheck` over the platform's database (Node's pool; on the edge, a connection per check). */
export function databaseResourceCheck(db: Database): ResourceReadCheck {
  return async (user, { kind, id }) => {
    const { table, where } = visible[kind];
    const rows = await db
      .select({ one: sqlOne })
      .from(table)
      .where(where(user, id) as SQL)
      .limit(1);
    return rows.length > 0;
  };
}
