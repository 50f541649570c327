/**
 * Hands runs to executors. The `workflow_queue` row is always written first and is the
 * record; a queue only makes an executor notice it sooner. Implementations: BullMQ
 * (src/node/bullmq-run-queue.ts), the in-process runner (src/runs/in-process-runner.ts),
 * and `rowOnlyRunQueue` where nothing can be signalled (the row waits for a reconciler).
 */
export interface RunQueue {
  /** Never throws for a transport outage: the reconciler re-adds queued rows with no job. */
  enqueue(runId: string): Promise<void>;
  /** Best effort after the row was marked cancelled: drop a waiting job, abort a local execution. */
  cancel(runId: string): Promise<void>;
}

export const rowOnlyRunQueue: RunQueue = {
  async enqueue() {},
  async cancel() {},
};
