import type { Logger } from '../logging/logger';
import { abortableDelay } from './abortable-delay';
import type { RunExecutor } from './run-executor';
import type { RunQueue } from './run-queue';
import type { RunStore } from './run-store';

export interface InProcessRunnerOptions {
  executor: RunExecutor;
  /** Where the runner claims rows for `executor`: the store that executor writes through. */
  store: Pick<RunStore, 'claimNext'>;
  logger: Logger;
  /** Runs executed at the same time. Default 4. */
  concurrency?: number;
  /** How often `workflow_queue` is polled when nothing woke the runner. Default 1 s. */
  pollMs?: number;
}

/**
 * Single-process mode (no REDIS_URL): the API process executes runs itself, taking rows
 * from `workflow_queue` with `FOR UPDATE SKIP LOCKED` claims and leases, so several API
 * processes on one database never run a row twice at once. `enqueue` only wakes the loop;
 * polling also picks up rows nobody announced (written elsewhere, or left by a crash).
 */
export class InProcessRunner implements RunQueue {
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly active = new Map<string, AbortController>();
  private readonly shutdown = new AbortController();
  private wake: AbortController = new AbortController();
  private loop: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: InProcessRunnerOptions) {
    this.concurrency = options.concurrency ?? 4;
    this.pollMs = options.pollMs ?? 1000;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async enqueue(): Promise<void> {
    this.wake.abort();
  }

  async cancel(runId: string): Promise<void> {
    // The executor sees the cancelled row at its next heartbeat; this only makes it immediate.
    this.active.get(runId)?.abort();
  }

  /** Stops claiming, waits up to `deadlineMs` for running runs, then releases the rest for the next start. */
  async close(deadlineMs = 10_000): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    const running = [...this.runs];
    const timer = setTimeout(() => this.shutdown.abort(), deadlineMs);
    await Promise.allSettled(running);
    clearTimeout(timer);
    this.shutdown.abort();
    await this.loop;
  }

  private readonly runs = new Set<Promise<void>>();

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.wake = new AbortController();
      try {
        const free = this.concurrency - this.active.size;
        const claimed = free > 0 ? await this.options.store.claimNext(free) : [];
        for (const row of claimed) this.launch(row.id, row);
        // A full batch may mean more rows are waiting: look again at once.
        if (claimed.length > 0 && claimed.length === free) continue;
      } catch (error) {
        this.options.logger.error({ err: String(error) }, 'claiming runs failed');
      }
      await abortableDelay(this.pollMs, this.wake.signal).catch(() => {});
    }
  }

  private launch(runId: string, row: Parameters<RunExecutor['executeClaimed']>[0]): void {
    const local = new AbortController();
    this.active.set(runId, local);
    const signal = AbortSignal.any([this.shutdown.signal, local.signal]);
    const task = this.options.executor
      .executeClaimed(row, signal)
      // How it ended is the executor's log line ("run finished"); only a crash is left to say.
      .then(
        () => {},
        (error: unknown) => this.options.logger.error({ runId, err: String(error) }, 'run crashed'),
      )
      .finally(() => {
        this.active.delete(runId);
        this.runs.delete(task);
        this.wake.abort();
      });
    this.runs.add(task);
  }
}
