import { hostname } from 'node:os';
import { systemClock } from '../clock';
import type { Database } from '../db/database';
import { RunExecutor, type RunExecutorOptions } from '../runs/run-executor';
import { RunStore } from '../runs/run-store';
import type { RunnerSettings } from './runner-settings';

/**
 * A RunExecutor tuned from the environment, named after this host and process (its lease holder
 * id), with the RunStore it writes through (the in-process runner claims rows from it too).
 */
export function createExecutor(
  settings: RunnerSettings,
  parts: Pick<RunExecutorOptions, 'mcp' | 'hub' | 'logger' | 'metrics' | 'resultBudgetBytes'> & {
    db: Database;
    clock?: () => Date;
  },
): { executor: RunExecutor; store: RunStore } {
  const { db, ...rest } = parts;
  const clock = parts.clock ?? systemClock;
  const executorId = `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
  const store = new RunStore(db, clock, executorId, { leaseMs: settings.RUN_LEASE_MS });
  const executor = new RunExecutor({
    ...rest,
    store,
    clock,
    heartbeatMs: settings.RUN_HEARTBEAT_MS,
    defaultStepTimeoutMs: settings.STEP_TIMEOUT_MS,
    retryBaseMs: settings.STEP_RETRY_BASE_MS,
    retryMaxMs: settings.STEP_RETRY_MAX_MS,
    unavailableRetries: settings.MCP_UNAVAILABLE_RETRIES,
  });
  return { executor, store };
}
