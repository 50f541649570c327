import * as z from 'zod';
import { ConfigError, type Env } from '../config/config';

const ms = (fallback: number, min = 1) =>
  z.coerce
    .number()
    .int()
    .min(min)
    .max(24 * 3600_000)
    .default(fallback);

const settingsSchema = z.object({
  WORKFLOW_QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "." or "-"')
    .default('workflow-runs'),
  BULLMQ_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "." or "-"')
    .default('bull'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(8),
  RUN_LEASE_MS: ms(30_000, 1000),
  RUN_HEARTBEAT_MS: ms(1000, 50),
  STEP_TIMEOUT_MS: ms(30_000),
  STEP_RETRY_BASE_MS: ms(500, 0),
  STEP_RETRY_MAX_MS: ms(30_000, 0),
  MCP_UNAVAILABLE_RETRIES: z.coerce.number().int().min(0).max(20).default(3),
  WORKER_LOCK_DURATION_MS: ms(30_000, 1000),
  WORKER_STALLED_INTERVAL_MS: ms(30_000, 500),
  RECONCILE_INTERVAL_MS: ms(15_000, 100),
  RECONCILE_GRACE_MS: ms(5000, 0),
  WORKER_SHUTDOWN_TIMEOUT_MS: ms(20_000, 0),
  RUNNER_POLL_MS: ms(1000, 50),
  ENQUEUE_TIMEOUT_MS: ms(2000, 50),
  // Finished jobs BullMQ keeps (Bull Board's Completed and Failed tabs): the newest N of each.
  BULLMQ_KEEP_COMPLETED: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  BULLMQ_KEEP_FAILED: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  WORKER_CHECK_INTERVAL_MS: ms(30_000, 100),
});

export type RunnerSettings = z.infer<typeof settingsSchema>;

/** Every variable `loadRunnerSettings` reads. */
export const RUNNER_SETTING_VARIABLES: readonly string[] = Object.keys(settingsSchema.shape);

/** Queue, worker and executor tuning from the environment (all optional; see README "Workflows"). */
export function loadRunnerSettings(env: Env): RunnerSettings {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0] ?? 'env')} ${i.message}`));
  }
  if (parsed.data.RUN_HEARTBEAT_MS * 3 > parsed.data.RUN_LEASE_MS) {
    throw new ConfigError(['RUN_HEARTBEAT_MS must be at most a third of RUN_LEASE_MS']);
  }
  return parsed.data;
}
