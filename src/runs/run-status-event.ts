import type { WorkflowRun } from '../db/schema';
import type { Logger } from '../logging/logger';
import { type ChannelHub, WORKFLOW_CHANNEL, WORKFLOW_STATUS_EVENT } from '../realtime/channel-hub';
import type { WorkflowStatusPayload } from './run-state';

export type RunStatusChange = Pick<WorkflowStatusPayload, 'status' | 'stepIndex' | 'stepId' | 'stepStatus' | 'error'>;

/**
 * Publishes a `workflow-status` event of `run` on the workflow channel: the one place its payload
 * is built, for the executor's progress and the service's cancel. Never rejects: a hub that is
 * down costs the event, logged, not the change the row already holds.
 */
export function publishRunStatus(
  hub: ChannelHub,
  logger: Logger,
  run: Pick<WorkflowRun, 'id' | 'workflowId' | 'ownerId'>,
  totalSteps: number,
  change: RunStatusChange,
): Promise<void> {
  const payload: WorkflowStatusPayload = {
    runId: run.id,
    workflowId: run.workflowId,
    ownerId: run.ownerId,
    totalSteps,
    ...change,
  };
  return hub
    .publish({ event: WORKFLOW_STATUS_EVENT, channel: WORKFLOW_CHANNEL, payload })
    .catch((err: unknown) => logger.warn({ runId: run.id, err: String(err) }, 'publish failed'));
}
