import { hostname } from 'node:os';
import { systemClock } from '../clock';
import { RunExecutor, type RunExecutorOptions } from '../runs/run-executor';
import type { RunnerSettings } from './runner-settings';

/** A RunExecutor tuned from the environment, named after this host and process (its lease holder id). */
export function createExecutor(
  settings: RunnerSettings,
  parts: Pick<RunExecutorOptions, 'db' | 'mcp' | 'hub' | 'logger' | 'metrics' | 'resultBudgetBytes'> & {
    clock?: () => Date;
  },
): RunExecutor {
  return new RunExecutor({
    ...parts,
    clock: parts.clock ?? systemClock,
    executorId: `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`,
    leaseMs: settings.RUN_LEASE_MS,
    heartbeatMs: settings.RUN_HEARTBEAT_MS,
    defaultStepTimeoutMs: settings.STEP_TIMEOUT_MS,
    retryBaseMs: settings.STEP_RETRY_BASE_MS,
    retryMaxMs: settings.STEP_RETRY_MAX_MS,
    unavailableRetries: settings.MCP_UNAVAILABLE_RETRIES,
  });
}
