import { expect } from 'vitest';
import { systemClock } from '../../src/clock';
import { silentLogger } from '../../src/logging/logger';
import type { McpToolClient } from '../../src/mcp/tool-client';
import { createMcpClient } from '../../src/node/mcp-client-factory';
import { InProcessRunner } from '../../src/runs/in-process-runner';
import { RunExecutor } from '../../src/runs/run-executor';
import type { RunJson } from '../../src/runs/run-json';
import { INITIAL_STEP_STATE, type RunStepState } from '../../src/runs/run-state';
import { RunStore } from '../../src/runs/run-store';
import type { WorkflowStep } from '../../src/workflows/step-schema';
import type { WorkflowJson } from '../../src/workflows/workflow-json';
import { readJson } from '../helpers/read-json';
import { RecordingLogger } from '../helpers/recording-logger';
import { bodies } from '../helpers/response-bodies';
import { createTestApp } from '../helpers/test-app';

/** A run's steps as execute writes them: each in its initial state. */
export function initialStepStates(steps: WorkflowStep[]): RunStepState[] {
  return steps.map((step) => ({ ...step, ...INITIAL_STEP_STATE }));
}

export type JsonFn = Awaited<ReturnType<typeof createTestApp>>['json'];
export type { RunJson };

/** The API with the in-process runner (single-process mode) talking to `mcpUrl` (Streamable HTTP) or `mcp`. */
export async function createWorkflowTestApp(options: {
  mcpUrl?: string;
  /** Instead of mcpUrl: any client (stdio, another server). Closed with the app. */
  mcp?: McpToolClient;
  concurrency?: number;
}) {
  const t = await createTestApp();
  const mcp: McpToolClient =
    options.mcp ?? createMcpClient({ mcpUrl: options.mcpUrl }, silentLogger, { connectTimeoutMs: 1000 });
  const executorLog = new RecordingLogger();
  const store = new RunStore(t.db, systemClock, `test:${crypto.randomUUID().slice(0, 8)}`, { leaseMs: 5000 });
  const executor = new RunExecutor({
    store,
    mcp,
    hub: t.deps.hub,
    clock: systemClock,
    logger: executorLog,
    heartbeatMs: 100,
    retryBaseMs: 20,
    retryMaxMs: 200,
    unavailableRetries: 2,
  });
  const runner = new InProcessRunner({
    executor,
    store,
    logger: silentLogger,
    pollMs: 200,
    concurrency: options.concurrency,
  });
  // createApp reads deps per request from this object, so swapping entries here takes effect.
  t.deps.mcp = mcp;
  t.useRunQueue(runner);
  runner.start();
  return {
    ...t,
    mcp,
    executor,
    /** What the executor logged (its retries with the delay it chose, among others). */
    executorLog,
    runner,
    close: async () => {
      await runner.close(2000);
      await mcp.close();
      await t.close();
    },
  };
}

export async function createWorkflow(
  json: JsonFn,
  auth: Record<string, string>,
  steps: unknown[],
  extra: Record<string, unknown> = {},
): Promise<WorkflowJson> {
  const res = await json('POST', '/api/workflows', { name: 'wf', steps, ...extra }, auth);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await readJson(res, bodies.workflow)).workflow;
}

export async function execute(
  json: JsonFn,
  auth: Record<string, string>,
  workflowId: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RunJson> {
  const res = await json('POST', `/api/workflows/${workflowId}/execute`, body, { ...auth, ...headers });
  expect(res.status, await res.clone().text()).toBe(202);
  return (await readJson(res, bodies.run)).run;
}

/** `POST /api/workflows/runs/:runId/retry`: the answer, a run (202) or an error. */
export async function retry(json: JsonFn, auth: Record<string, string>, runId: string): Promise<Response> {
  return json('POST', `/api/workflows/runs/${runId}/retry`, undefined, auth);
}

export async function getRun(json: JsonFn, auth: Record<string, string>, runId: string): Promise<RunJson> {
  const res = await json('GET', `/api/workflows/runs/${runId}`, undefined, auth);
  expect(res.status).toBe(200);
  return (await readJson(res, bodies.run)).run;
}

/** Polls the run until `done(run)` holds. */
export async function waitForRun(
  json: JsonFn,
  auth: Record<string, string>,
  runId: string,
  done: (run: RunJson) => boolean = (r) => ['completed', 'failed', 'cancelled'].includes(r.status),
  timeoutMs = 10_000,
): Promise<RunJson> {
  const deadline = Date.now() + timeoutMs;
  let run = await getRun(json, auth, runId);
  while (!done(run)) {
    if (Date.now() > deadline) throw new Error(`run ${runId} did not reach the expected state: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 25));
    run = await getRun(json, auth, runId);
  }
  return run;
}
