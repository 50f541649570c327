import type { Workflow, WorkflowRun } from '../db/schema';
import type { RunStepState } from '../runs/run-state';

export function toWorkflowJson(w: Workflow) {
  return {
    id: w.id,
    ownerId: w.ownerId,
    projectId: w.projectId,
    name: w.name,
    description: w.description,
    steps: w.steps,
    lastRun: w.lastRun?.toISOString() ?? null,
    createdAt: w.createdAt.toISOString(),
    updatedAt: w.updatedAt.toISOString(),
  };
}

/** What a list shows of a run: never `steps`, whose results can be megabytes per run. */
export type RunSummaryRow = Omit<
  WorkflowRun,
  'steps' | 'input' | 'idempotencyKey' | 'lockedBy' | 'lockExpiresAt' | 'resultBytes'
> & {
  totalSteps: number;
};

/** A run without per-step results, for lists. */
export function toRunSummaryJson(r: RunSummaryRow) {
  return {
    id: r.id,
    workflowId: r.workflowId,
    ownerId: r.ownerId,
    status: r.status,
    progress: r.progress,
    totalSteps: r.totalSteps,
    error: r.error,
    attempts: r.attempts,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** A run with its input and every step's status, attempts, result, error and timings. */
export function toRunJson(r: WorkflowRun) {
  const steps = r.steps as RunStepState[];
  return {
    ...toRunSummaryJson({ ...r, totalSteps: steps.length }),
    input: r.input,
    steps: steps.map((s) => ({
      id: s.id,
      tool: s.tool,
      status: s.status,
      attempts: s.attempts,
      result: s.result ?? null,
      error: s.error ?? null,
      startedAt: s.startedAt ?? null,
      finishedAt: s.finishedAt ?? null,
      durationMs: s.durationMs ?? null,
    })),
  };
}
