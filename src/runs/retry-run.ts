import { eq } from 'drizzle-orm';
import type { Database } from '../db/database';
import { isForeignKeyViolation } from '../db/foreign-key-violation';
import { type WorkflowRun, workflowQueue, workflows } from '../db/schema';
import { completedCount, INITIAL_STEP_STATE, type RunStepState } from './run-state';

/** Runs that may be retried: they ended without completing. */
export const RETRYABLE_STATUSES = ['failed', 'cancelled'] as const;

export type RetryOutcome =
  /** A new queued run, to be handed to the queue (named after its workflow). */
  | { kind: 'created'; run: WorkflowRun; workflowName: string }
  /** This run was retried before: its retry is that run. */
  | { kind: 'retried-before'; retryRunId: string }
  /** It is not failed or cancelled (anymore). */
  | { kind: 'not-retryable'; status: WorkflowRun['status'] }
  /** It or its workflow was deleted meanwhile. */
  | { kind: 'gone' };

/** The id of the run that retries `runId`, if it was retried. */
async function retryOf(db: Database, runId: string): Promise<string | undefined> {
  const [row] = await db
    .select({ id: workflowQueue.id })
    .from(workflowQueue)
    .where(eq(workflowQueue.retryOf, runId))
    .limit(1);
  return row?.id;
}

/**
 * The steps a retry starts from: those the retried run completed are carried over as checkpoints
 * (results kept, never called again, fed to templates as before); the others start afresh.
 */
export function retrySteps(steps: RunStepState[]): RunStepState[] {
  return steps.map((step) => {
    if (step.status === 'completed') return step;
    const { id, tool, arguments: args, timeoutMs, retries } = step;
    return { id, tool, arguments: args, timeoutMs, retries, ...INITIAL_STEP_STATE };
  });
}

/**
 * Retries a failed or cancelled run: a NEW run of the same workflow, owner and input, with the
 * retried run's step snapshot, linked to it by `retry_of`, which resumes after the steps that run
 * completed (see retrySteps). The retried run stays as it ended, history intact. A run is retried
 * at most once (unique `retry_of`): a second request finds the first retry, so a double click,
 * or Bull Board and the API both, never make two.
 */
export async function retryRun(
  db: Database,
  original: WorkflowRun,
  /** Throws when there is no room for another run (run storage quotas); called before anything is written. */
  refuseWhenNoRoom: () => Promise<void>,
): Promise<RetryOutcome> {
  if (!(RETRYABLE_STATUSES as readonly string[]).includes(original.status)) {
    return { kind: 'not-retryable', status: original.status };
  }
  const earlier = await retryOf(db, original.id);
  if (earlier) return { kind: 'retried-before', retryRunId: earlier };
  await refuseWhenNoRoom();
  const steps = retrySteps(original.steps as RunStepState[]);
  let inserted: WorkflowRun | undefined;
  try {
    [inserted] = await db
      .insert(workflowQueue)
      .values({
        workflowId: original.workflowId,
        ownerId: original.ownerId,
        input: original.input,
        steps,
        progress: completedCount(steps),
        retryOf: original.id,
      })
      .onConflictDoNothing({ target: workflowQueue.retryOf })
      .returning();
  } catch (error) {
    if (isForeignKeyViolation(error)) return { kind: 'gone' };
    throw error;
  }
  if (!inserted) {
    // Another retry of it won the race.
    const winner = await retryOf(db, original.id);
    return winner ? { kind: 'retried-before', retryRunId: winner } : { kind: 'gone' };
  }
  const [workflow] = await db
    .select({ name: workflows.name })
    .from(workflows)
    .where(eq(workflows.id, inserted.workflowId))
    .limit(1);
  return { kind: 'created', run: inserted, workflowName: workflow?.name ?? '' };
}
