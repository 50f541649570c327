/**
 * Runs tasks in the check phase of the current event-loop turn (`setImmediate`), in one
 * batch: after the answers written during this turn, before any further I/O is read. So the
 * log line of a request or a relayed call never delays its answer, yet is written before the
 * client can possibly have the answer (in-process tests rely on that).
 */
export function afterIo(): (task: () => void) => void {
  let batch: Array<() => void> = [];
  const run = () => {
    const tasks = batch;
    batch = [];
    for (const task of tasks) {
      try {
        task();
      } catch {
        // A task is a log line or a counter: its failure must not take the process down.
      }
    }
  };
  return (task) => {
    batch.push(task);
    if (batch.length === 1) setImmediate(run);
  };
}
