import { ValidationError } from '../errors/validation-error';
import type { ToolPolicy } from '../mcp-gateway/tool-policy';
import type { WorkflowStep } from './step-schema';

/** A workflow may only use tools MCP_ALLOWED_TOOLS allows: a 400 naming the first step that does not (every such step in `details`). */
export function assertStepToolsAllowed(policy: ToolPolicy, steps: readonly Pick<WorkflowStep, 'tool'>[]): void {
  if (!policy.allowed) return;
  const issues = steps.flatMap((step, index) =>
    policy.isAllowed(step.tool)
      ? []
      : [{ path: `steps.${index}.tool`, code: 'tool_not_allowed', message: `tool "${step.tool}" is not allowed` }],
  );
  const first = issues[0];
  if (first) throw new ValidationError(`Invalid body: ${first.path}: ${first.message}`, issues);
}
