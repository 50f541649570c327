import * as z from 'zod';
import type { Workflow } from '../db/schema';
import { timestamp } from '../http/timestamp-schema';
import { type WorkflowStep, workflowStep } from './step-schema';

export const workflowSchema = z.object({
  id: z.uuid(),
  ownerId: z.uuid(),
  projectId: z.uuid().nullable(),
  name: z.string(),
  description: z.string().nullable(),
  steps: z.array(workflowStep),
  lastRun: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export type WorkflowJson = z.infer<typeof workflowSchema>;

export function toWorkflowJson(w: Workflow): WorkflowJson {
  return {
    id: w.id,
    ownerId: w.ownerId,
    projectId: w.projectId,
    name: w.name,
    description: w.description,
    steps: w.steps as WorkflowStep[],
    lastRun: w.lastRun?.toISOString() ?? null,
    createdAt: w.createdAt.toISOString(),
    updatedAt: w.updatedAt.toISOString(),
  };
}
