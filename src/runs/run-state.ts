import * as z from 'zod';
import type { RunStatus } from '../db/schema';
import type { WorkflowStep } from '../workflows/step-schema';

export const stepStatus = z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']);

export type StepStatus = z.infer<typeof stepStatus>;

/**
 * One step of a run as stored in `workflow_queue.steps`: the step definition as it was
 * when the run was created (later edits of the workflow do not change a run) plus its state.
 * A `completed` step is a checkpoint: it is never run again, its `result` feeds templates.
 */
export interface RunStepState extends WorkflowStep {
  status: StepStatus;
  /** Tool calls started for this step, across retries and executor restarts. */
  attempts: number;
  /** The step's output (see stepOutput): what `{{steps.<id>...}}` reads. */
  result?: unknown;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
}

/** What a run's step starts as, on top of its definition (also used in SQL, src/runs/execute-statements.ts). */
export const INITIAL_STEP_STATE = { status: 'pending', attempts: 0 } as const satisfies Partial<RunStepState>;

export function completedCount(steps: RunStepState[]): number {
  return steps.filter((s) => s.status === 'completed').length;
}

/** `workflow-status` event payload, published on the `workflow` channel. */
export interface WorkflowStatusPayload {
  [key: string]: unknown;
  runId: string;
  workflowId: string;
  ownerId: string;
  status: RunStatus;
  /** Index of the step this event is about (0-based); equals totalSteps once every step is done. */
  stepIndex: number;
  totalSteps: number;
  stepId?: string;
  stepStatus?: StepStatus;
  error?: string;
}
