/** What a queue needs to know about a run it is handed (BullMQ names the job after the workflow). */
export interface RunToEnqueue {
  id: string;
  workflowId: string;
  ownerId: string;
  workflowName: string;
}

/**
 * Hands runs to executors. The `workflow_queue` row is always written first and is the
 * record; a queue only makes an executor notice it sooner. Implementations: BullMQ
 * (src/node/bullmq-run-queue.ts), the in-process runner (src/runs/in-process-runner.ts),
 * and `rowOnlyRunQueue` where nothing can be signalled (the row waits for a reconciler).
 */
export interface RunQueue {
  /** Never throws for a transport outage: the reconciler re-adds queued rows with no job. */
  enqueue(run: RunToEnqueue): Promise<void>;
  /** Best effort after the row was marked cancelled: drop a waiting job, abort a local execution. */
  cancel(runId: string): Promise<void>;
  /**
   * Separate executors consuming this queue (named `queue`) right now, where that can be known
   * (BullMQ's worker list); undefined when it cannot be. Absent where this process executes runs itself.
   */
  liveWorkers?(): Promise<{ queue: string; count: number } | undefined>;
}

export const rowOnlyRunQueue: RunQueue = {
  async enqueue() {},
  async cancel() {},
};
