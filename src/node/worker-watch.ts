import { count, eq } from 'drizzle-orm';
import type { Database } from '../db/database';
import { workflowQueue } from '../db/schema';
import type { Logger } from '../logging/logger';
import type { RunQueue } from '../runs/run-queue';

export interface WorkerWatch {
  stop(): void;
}

/**
 * The API with Redis never executes runs: without a worker they wait in the queue for good. This
 * says so in the log: at start when no worker is there, then every `intervalMs` while runs are
 * queued and still none is; and once when one is back.
 */
export function watchWorkers(parts: {
  runQueue: Required<Pick<RunQueue, 'liveWorkers'>>;
  db: Database;
  logger: Logger;
  intervalMs: number;
}): WorkerWatch {
  const { runQueue, db, logger } = parts;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let first = true;
  let missing = false;

  const check = async () => {
    const workers = await runQueue.liveWorkers();
    if (!workers) return;
    if (workers.count > 0) {
      if (missing)
        logger.info({ queue: workers.queue, workers: workers.count }, 'workers are consuming the queue again');
      missing = false;
      return;
    }
    missing = true;
    const [row] = await db.select({ queued: count() }).from(workflowQueue).where(eq(workflowQueue.status, 'queued'));
    const queued = row?.queued ?? 0;
    if (first || queued > 0) {
      logger.warn(
        { queue: workers.queue, queued },
        'no worker is consuming the queue: runs wait until one starts (npm run worker)',
      );
    }
  };
  const tick = async () => {
    await check().catch((err: unknown) => logger.debug({ err: String(err) }, 'worker check failed'));
    first = false;
    if (!stopped) {
      timer = setTimeout(tick, parts.intervalMs);
      timer.unref?.();
    }
  };
  void tick();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
