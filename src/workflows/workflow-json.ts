import * as z from 'zod';
import type { Workflow } from '../db/schema';
import { rowSerializer } from '../http/row-serializer';
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

const workflowJson = rowSerializer(workflowSchema);

export function toWorkflowJson(w: Workflow): WorkflowJson {
  // jsonb comes back untyped; the steps were checked against workflowBody when they were stored.
  return workflowJson({ ...w, steps: w.steps as WorkflowStep[] });
}
