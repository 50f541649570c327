import * as z from 'zod';
import { jsonObject, text, trimmedName } from '../http/storable-text';
import { findTemplateRefs } from '../runs/templating';

export const MAX_STEPS = 100;
export const MAX_STEP_TIMEOUT_MS = 10 * 60_000;
export const MAX_STEP_RETRIES = 10;

// No dots: a template path is split on dots, so `{{steps.<id>.x}}` must find the id unambiguously.
const stepId = text().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"');

export const workflowStep = z.object({
  id: stepId,
  tool: trimmedName(128),
  arguments: jsonObject().optional(),
  timeoutMs: z.number().int().min(1).max(MAX_STEP_TIMEOUT_MS).optional(),
  retries: z.number().int().min(0).max(MAX_STEP_RETRIES).optional(),
});

export type WorkflowStep = z.infer<typeof workflowStep>;

/** 1-100 steps with unique ids, whose templates only read the run input or EARLIER steps. */
export const workflowSteps = z
  .array(workflowStep)
  .min(1)
  .max(MAX_STEPS)
  .superRefine((steps, ctx) => {
    const seen = new Set<string>();
    steps.forEach((step, index) => {
      for (const ref of findTemplateRefs(step.arguments ?? {})) {
        if (ref.source === 'steps' && !seen.has(ref.stepId)) {
          const later = steps.some((s) => s.id === ref.stepId);
          ctx.addIssue({
            code: 'custom',
            path: [index, 'arguments', ...ref.at],
            message: later
              ? `template ${ref.raw} refers to step "${ref.stepId}", which does not run before this step`
              : `template ${ref.raw} refers to unknown step "${ref.stepId}"`,
          });
        }
      }
      if (seen.has(step.id)) {
        ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate step id "${step.id}"` });
      }
      seen.add(step.id);
    });
  });

export const workflowBody = z.object({
  name: trimmedName(200),
  description: text().max(5000).nullish(),
  steps: workflowSteps,
  projectId: z.uuid({ message: 'must be a UUID' }).nullish(),
});
