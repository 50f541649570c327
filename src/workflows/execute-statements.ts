import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { type WorkflowRun, workflowQueue, workflows } from '../db/schema';
import type { AuthUser } from '../deps';
import type { RunStepState } from '../runs/run-state';

function prepareExecuteStatements(db: Database) {
  const workflowOf = (ownerFilter: boolean) =>
    db
      .select({ id: workflows.id, steps: workflows.steps })
      .from(workflows)
      .where(
        and(
          eq(workflows.id, sql.placeholder('workflowId')),
          ownerFilter ? eq(workflows.ownerId, sql.placeholder('userId')) : undefined,
        ),
      )
      .limit(1);
  return {
    ownWorkflow: workflowOf(true).prepare('execute_own_workflow'),
    anyWorkflow: workflowOf(false).prepare('execute_any_workflow'),
    insertRun: db
      .insert(workflowQueue)
      .values({
        workflowId: sql.placeholder('workflowId'),
        ownerId: sql.placeholder('ownerId'),
        input: sql.placeholder('input'),
        steps: sql.placeholder('steps'),
        idempotencyKey: sql.placeholder('idempotencyKey'),
      })
      .onConflictDoNothing()
      .returning()
      .prepare('execute_insert_run'),
  };
}

// Every POST /api/workflows/:id/execute runs these. Prepared once per database: drizzle skips
// rebuilding the SQL, and postgres.js sends one Bind/Execute round trip instead of a
// Parse/Describe round trip before it (bench/queue.mjs).
const statementsByDb = new WeakMap<Database, ReturnType<typeof prepareExecuteStatements>>();

function statementsFor(db: Database): ReturnType<typeof prepareExecuteStatements> {
  let statements = statementsByDb.get(db);
  if (!statements) {
    statements = prepareExecuteStatements(db);
    statementsByDb.set(db, statements);
  }
  return statements;
}

/** The id and steps of a workflow the user may run (the same rule as visibleWorkflows: admins any, users their own). */
export async function findWorkflowToRun(
  db: Database,
  user: AuthUser,
  workflowId: string,
): Promise<{ id: string; steps: unknown } | undefined> {
  const statements = statementsFor(db);
  const statement = user.role === 'admin' ? statements.anyWorkflow : statements.ownWorkflow;
  const [workflow] = await statement.execute({ workflowId, userId: user.id });
  return workflow;
}

/** Writes a queued run; resolves with nothing when the owner already used the idempotency key. */
export async function insertQueuedRun(
  db: Database,
  values: { workflowId: string; ownerId: string; input: unknown; steps: RunStepState[]; idempotencyKey: string | null },
): Promise<WorkflowRun | undefined> {
  const [run] = await statementsFor(db).insertRun.execute(values);
  return run;
}
