import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { type WorkflowRun, workflowQueue, workflows } from '../db/schema';
import type { AuthUser } from '../deps';
import { INITIAL_STEP_STATE } from './run-state';
import { claimedRunBytes } from './run-storage';

function prepareExecuteStatements(db: Database) {
  const workflowOf = (ownerFilter: boolean) =>
    db
      .select({ id: workflows.id, name: workflows.name, steps: workflows.steps })
      .from(workflows)
      .where(
        and(
          eq(workflows.id, sql.placeholder('workflowId')),
          ownerFilter ? eq(workflows.ownerId, sql.placeholder('userId')) : undefined,
        ),
      )
      .limit(1);
  // The run's steps are the workflow's, each in its initial state; the workflow's name comes back
  // with the row (the queue names the job after it). CTEs drizzle's `$with` takes as SQL (an
  // INSERT ... SELECT with a column list of its own), selected through a prepared builder, so
  // drizzle maps the row by the table's columns and the statement is prepared by name.
  const insertRun = (ownerFilter: boolean, name: string) => {
    const q = workflowQueue;
    const budget = sql.placeholder('budget');
    const column = (c: { name: string }) => sql.identifier(c.name);
    const source = db.$with('source', { id: workflows.id, name: workflows.name, steps: workflows.steps }).as(sql`
      select ${workflows.id} as id, ${workflows.name} as name, ${workflows.steps} as steps
      from ${workflows}
      where ${workflows.id} = ${sql.placeholder('workflowId')}::uuid
        ${ownerFilter ? sql`and ${workflows.ownerId} = ${sql.placeholder('userId')}::uuid` : sql``}
        and (select ${claimedRunBytes(budget)} from ${q} where ${q.ownerId} = ${sql.placeholder('userId')}::uuid)
          + ${budget}::bigint <= ${sql.placeholder('userQuota')}::bigint`);
    const inserted = db.$with('inserted', getTableColumns(q)).as(sql`
      insert into ${q} (${column(q.workflowId)}, ${column(q.ownerId)}, ${column(q.input)}, ${column(q.steps)}, ${column(q.idempotencyKey)})
      select source.id, ${sql.placeholder('userId')}::uuid, ${sql.placeholder('input')}::jsonb,
        (select jsonb_agg(step || ${JSON.stringify(INITIAL_STEP_STATE)}::jsonb order by i)
          from jsonb_array_elements(source.steps) with ordinality as definition(step, i)),
        ${sql.placeholder('idempotencyKey')}::varchar
      from source
      on conflict do nothing
      returning *`);
    return db.with(source, inserted).select().from(inserted).innerJoin(source, sql`true`).prepare(name);
  };
  return {
    ownWorkflow: workflowOf(true).prepare('execute_own_workflow'),
    anyWorkflow: workflowOf(false).prepare('execute_any_workflow'),
    insertOwnRun: insertRun(true, 'execute_insert_own_run'),
    insertAnyRun: insertRun(false, 'execute_insert_any_run'),
  };
}

/**
 * The statements every POST /api/workflows/:id/execute runs, prepared once with their database
 * (a process's, or on the edge a request's): drizzle skips rebuilding the SQL, and postgres.js
 * sends one Bind/Execute round trip instead of a Parse/Describe round trip before it
 * (bench/queue.mjs).
 */
export class ExecuteStatements {
  private readonly statements: ReturnType<typeof prepareExecuteStatements>;

  constructor(db: Database) {
    this.statements = prepareExecuteStatements(db);
  }

  /** The id, name and steps of a workflow the user may run (the same rule as visibleWorkflows: admins any, users their own). */
  async findWorkflowToRun(
    user: AuthUser,
    workflowId: string,
  ): Promise<{ id: string; name: string; steps: unknown } | undefined> {
    const statement = user.role === 'admin' ? this.statements.anyWorkflow : this.statements.ownWorkflow;
    const [workflow] = await statement.execute({ workflowId, userId: user.id });
    return workflow;
  }

  /**
   * Writes a queued run of the workflow for the user, in one statement that also reads the
   * workflow and the user's run storage. Resolves with nothing when nothing was written: the user
   * may not run that workflow (see findWorkflowToRun), already used the idempotency key, or has no
   * room for one more run's result budget (see claimedRunBytes).
   */
  async insertQueuedRun(
    user: AuthUser,
    values: { workflowId: string; input: unknown; idempotencyKey: string | null },
    storage: { budget: number; userQuota: number },
  ): Promise<{ run: WorkflowRun; workflowName: string } | undefined> {
    const statement = user.role === 'admin' ? this.statements.insertAnyRun : this.statements.insertOwnRun;
    const [row] = await statement.execute({
      ...values,
      ...storage,
      input: JSON.stringify(values.input),
      userId: user.id,
    });
    return row ? { run: row.inserted, workflowName: row.source.name } : undefined;
  }
}
