import * as z from 'zod';
import { runStatus, type WorkflowRun } from '../db/schema';
import { timestamp } from '../http/timestamp-schema';
import { type RunStepState, stepStatus } from './run-state';

export const runSummarySchema = z.object({
  id: z.uuid(),
  workflowId: z.uuid(),
  ownerId: z.uuid(),
  status: z.enum(runStatus.enumValues),
  progress: z.number().int().describe('Steps completed'),
  totalSteps: z.number().int(),
  error: z.string().nullable(),
  attempts: z.number().int(),
  retryOf: z.uuid().nullable().describe('The failed or cancelled run this one retries'),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  updatedAt: timestamp,
});

export const runSchema = runSummarySchema.extend({
  statusDetail: z
    .string()
    .nullable()
    .describe('Why a queued run has not started, when that is known (no worker consumes the queue)'),
  input: z.record(z.string(), z.unknown()),
  steps: z.array(
    z.object({
      id: z.string(),
      tool: z.string(),
      status: stepStatus,
      attempts: z.number().int(),
      result: z.unknown(),
      error: z.string().nullable(),
      startedAt: timestamp.nullable(),
      finishedAt: timestamp.nullable(),
      durationMs: z.number().nullable(),
    }),
  ),
});

export type RunSummaryJson = z.infer<typeof runSummarySchema>;
export type RunJson = z.infer<typeof runSchema>;

/** What a list shows of a run: never `steps`, whose results can be megabytes per run. */
export type RunSummaryRow = Omit<
  WorkflowRun,
  'steps' | 'input' | 'idempotencyKey' | 'lockedBy' | 'lockExpiresAt' | 'resultBytes'
> & {
  totalSteps: number;
};

/** A run without per-step results, for lists. */
export function toRunSummaryJson(r: RunSummaryRow): RunSummaryJson {
  return {
    id: r.id,
    workflowId: r.workflowId,
    ownerId: r.ownerId,
    status: r.status,
    progress: r.progress,
    totalSteps: r.totalSteps,
    error: r.error,
    attempts: r.attempts,
    retryOf: r.retryOf,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    updatedAt: r.updatedAt.toISOString(),
  };
}

/**
 * A run with its input and every step's status, attempts, result, error and timings.
 * `statusDetail`: why a queued run waits, when the caller knows (see RunQueue.liveWorkers).
 */
export function toRunJson(r: WorkflowRun, statusDetail: string | null = null): RunJson {
  const steps = r.steps as RunStepState[];
  return {
    ...toRunSummaryJson({ ...r, totalSteps: steps.length }),
    statusDetail,
    input: r.input as Record<string, unknown>,
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
