import { hostname } from 'node:os';
import { systemClock } from '../clock';
import type { RunnerConfig } from '../config/config';
import type { Database } from '../db/database';
import { RunExecutor, type RunExecutorOptions } from '../runs/run-executor';
import { RunStore } from '../runs/run-store';

/**
 * A RunExecutor tuned from the environment, named after this host and process (its lease holder
 * id), with the RunStore it writes through (the in-process runner claims rows from it too).
 */
export function createExecutor(
  runner: RunnerConfig,
  parts: Pick<RunExecutorOptions, 'mcp' | 'hub' | 'logger' | 'metrics' | 'resultBudgetBytes'> & {
    db: Database;
    clock?: () => Date;
  },
): { executor: RunExecutor; store: RunStore } {
  const { db, ...rest } = parts;
  const clock = parts.clock ?? systemClock;
  const executorId = `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
  const store = new RunStore(db, clock, executorId, { leaseMs: runner.leaseMs });
  const executor = new RunExecutor({
    ...rest,
    store,
    clock,
    heartbeatMs: runner.heartbeatMs,
    defaultStepTimeoutMs: runner.stepTimeoutMs,
    retryBaseMs: runner.stepRetryBaseMs,
    retryMaxMs: runner.stepRetryMaxMs,
    unavailableRetries: runner.mcpUnavailableRetries,
  });
  return { executor, store };
}
