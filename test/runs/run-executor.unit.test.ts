import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logging/logger';
import { type ChannelMessage, WORKFLOW_CHANNEL } from '../../src/realtime/channel-hub';
import { InMemoryChannelHub } from '../../src/realtime/in-memory-channel-hub';
import { RunExecutor, type RunExecutorOptions } from '../../src/runs/run-executor';
import type { WorkflowStatusPayload } from '../../src/runs/run-state';
import { FakeToolClient, InMemoryRunStore, jsonResult, untilAborted } from './run-store-doubles';

// RunExecutor against an in-memory RunStore and MCP client: the executor's own rules, without
// Postgres or an MCP server (test/workflows holds the same paths end to end).
function setUp(tools: ConstructorParameters<typeof FakeToolClient>[0], options: Partial<RunExecutorOptions> = {}) {
  const store = new InMemoryRunStore();
  const mcp = new FakeToolClient(tools);
  const hub = new InMemoryChannelHub();
  const events: WorkflowStatusPayload[] = [];
  hub.subscribe(WORKFLOW_CHANNEL, (message: ChannelMessage) => events.push(message.payload as WorkflowStatusPayload));
  const executor = new RunExecutor({
    store,
    mcp,
    hub,
    clock: () => new Date(),
    logger: silentLogger,
    heartbeatMs: 5,
    retryBaseMs: 1,
    retryMaxMs: 2,
    ...options,
  });
  return { store, mcp, events, executor };
}

const echo = (request: { arguments?: Record<string, unknown> }) => jsonResult(request.arguments ?? {});

describe('RunExecutor with a fake store', () => {
  it('runs the steps in order, feeding each result to the templates of later steps', async () => {
    const { store, mcp, events, executor } = setUp({ echo });
    const run = store.insert(
      [
        { id: 'a', tool: 'echo', arguments: { x: '{{input.x}}' } },
        { id: 'b', tool: 'echo', arguments: { fromA: '{{steps.a.x}}', whole: '{{steps.a}}' } },
        { id: 'c', tool: 'echo', arguments: { deep: '{{steps.b.whole.x}}' } },
      ],
      { x: 41 },
    );

    expect(await executor.execute(run.id)).toEqual({ outcome: 'completed' });

    expect(mcp.stepsCalled()).toEqual(['a', 'b', 'c']);
    expect(mcp.calls.map((call) => call.arguments)).toEqual([{ x: 41 }, { fromA: 41, whole: { x: 41 } }, { deep: 41 }]);
    const row = store.row(run.id);
    expect(row.status).toBe('completed');
    expect(row.lockedBy).toBeNull();
    expect(row.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
      ['a', 'completed', 1],
      ['b', 'completed', 1],
      ['c', 'completed', 1],
    ]);
    expect(row.steps[2]?.result).toEqual({ deep: 41 });
    expect(events.map((e) => [e.status, e.stepId ?? null, e.stepStatus ?? null])).toEqual([
      ['running', 'a', 'running'],
      ['running', 'a', 'completed'],
      ['running', 'b', 'running'],
      ['running', 'b', 'completed'],
      ['running', 'c', 'running'],
      ['running', 'c', 'completed'],
      ['completed', null, null],
    ]);
  });

  it('fails the run with the step error when a tool fails, and calls no later step', async () => {
    const { store, mcp, events, executor } = setUp({
      echo,
      broken: () => ({ isError: true, content: [{ type: 'text', text: 'disk on fire' }] }),
    });
    const run = store.insert([
      { id: 'a', tool: 'echo' },
      { id: 'b', tool: 'broken' },
      { id: 'c', tool: 'echo' },
    ]);

    const error = 'Step "b" (broken) failed after 1 attempt: disk on fire';
    expect(await executor.execute(run.id)).toEqual({ outcome: 'failed', failedStep: 'b', error });

    expect(mcp.stepsCalled()).toEqual(['a', 'b']);
    const row = store.row(run.id);
    expect([row.status, row.error]).toEqual(['failed', error]);
    expect(row.steps.map((s) => [s.status, s.error ?? null])).toEqual([
      ['completed', null],
      ['failed', 'disk on fire'],
      ['pending', null],
    ]);
    expect(events.slice(-2).map((e) => [e.status, e.stepId, e.stepStatus ?? null, e.error])).toEqual([
      ['running', 'b', 'failed', 'disk on fire'],
      ['failed', 'b', null, error],
    ]);
  });

  it('retries a failing step up to its retries, then fails with the count of attempts', async () => {
    let calls = 0;
    const { store, executor } = setUp({
      flaky: () => {
        calls += 1;
        return { isError: true, content: [{ type: 'text', text: `try ${calls}` }] };
      },
    });
    const run = store.insert([{ id: 'f', tool: 'flaky', retries: 2 }]);

    const outcome = await executor.execute(run.id);

    expect(outcome).toEqual({
      outcome: 'failed',
      failedStep: 'f',
      error: 'Step "f" (flaky) failed after 3 attempts: try 3',
    });
    expect(store.row(run.id).steps[0]?.attempts).toBe(3);
  });

  it('a step whose template has no value fails without a call, and the claim counts no attempt of it', async () => {
    const { store, mcp, executor } = setUp({ echo });
    const run = store.insert([{ id: 'a', tool: 'echo', arguments: { x: '{{input.missing}}' } }]);

    const outcome = await executor.execute(run.id);

    expect(outcome.outcome).toBe('failed');
    expect(outcome.outcome === 'failed' && outcome.error).toMatch(/^Step "a" \(echo\) could not start: /);
    expect(mcp.calls).toEqual([]);
    const step = store.row(run.id).steps[0];
    expect([step?.status, step?.attempts, step?.startedAt]).toEqual(['failed', 0, undefined]);
  });

  it('a run shut down before its first call is released with no attempt counted', async () => {
    const { store, mcp, executor } = setUp({ echo });
    const run = store.insert([{ id: 'a', tool: 'echo' }]);
    const shutdown = new AbortController();
    shutdown.abort();

    expect(await executor.execute(run.id, shutdown.signal)).toEqual({ outcome: 'released' });

    expect(mcp.calls).toEqual([]);
    const row = store.row(run.id);
    expect(row.status).toBe('queued');
    expect(row.steps.map((s) => [s.status, s.attempts, s.startedAt ?? null])).toEqual([['pending', 0, null]]);
  });

  it('stops at a cancel seen mid-step: the step in flight is cancelled, later steps never run', async () => {
    let store: InMemoryRunStore | undefined;
    const set = setUp({
      echo,
      // Cancelled while its tool runs: the heartbeat finds the row cancelled and aborts the call.
      slow: (request) => {
        store?.cancel(request.meta?.runId as string);
        return untilAborted(request.signal);
      },
    });
    store = set.store;
    const run = store.insert([
      { id: 'a', tool: 'echo' },
      { id: 'b', tool: 'slow' },
      { id: 'c', tool: 'echo' },
    ]);

    expect(await set.executor.execute(run.id)).toEqual({ outcome: 'cancelled' });

    expect(set.mcp.stepsCalled()).toEqual(['a', 'b']);
    const row = store.row(run.id);
    expect([row.status, row.lockedBy]).toEqual(['cancelled', null]);
    expect(row.steps.map((s) => s.status)).toEqual(['completed', 'cancelled', 'pending']);
    expect(set.events.at(-1)).toMatchObject({ status: 'cancelled', stepId: 'b', stepStatus: 'cancelled' });
  });

  it('stops writing once its lease is lost: no later step, no write over the new holder', async () => {
    let store: InMemoryRunStore | undefined;
    const set = setUp({
      echo,
      // Another executor takes the run over while this step's tool runs.
      takenOver: (request) => {
        store?.takeOver(request.meta?.runId as string);
        return jsonResult({ done: true });
      },
    });
    store = set.store;
    const run = store.insert([
      { id: 'a', tool: 'takenOver' },
      { id: 'b', tool: 'echo' },
    ]);

    expect(await set.executor.execute(run.id)).toEqual({ outcome: 'gone' });

    expect(set.mcp.stepsCalled()).toEqual(['a']);
    // The one write it tried was refused, and it tried nothing after it.
    expect(store.writes).toEqual([{ write: 'saveStep', runId: run.id, accepted: false }]);
    const row = store.row(run.id);
    expect(row.lockedBy).toBe('another-executor');
    // As the claim left it: the new holder's to continue.
    expect(row.steps.map((s) => [s.status, s.attempts])).toEqual([
      ['running', 1],
      ['pending', 0],
    ]);
  });

  it('fails the step whose result would take the run past its result budget, without retrying it', async () => {
    const { store, mcp, executor } = setUp(
      { echo, big: () => jsonResult({ blob: 'x'.repeat(200) }) },
      { resultBudgetBytes: 100 },
    );
    const run = store.insert([
      { id: 'a', tool: 'echo', arguments: { n: 1 } },
      { id: 'b', tool: 'big', retries: 3 },
    ]);

    const outcome = await executor.execute(run.id);

    const error =
      'Step "b" (big) failed after 1 attempt: its result would take the run past its result budget of 100 bytes (RUN_RESULT_BUDGET_BYTES)';
    expect(outcome).toEqual({ outcome: 'failed', failedStep: 'b', error });
    expect(mcp.stepsCalled()).toEqual(['a', 'b']);
    const row = store.row(run.id);
    expect(row.steps[1]).not.toHaveProperty('result');
    // Only the first step's result is stored and counted.
    expect(row.resultBytes).toBe(JSON.stringify({ n: 1 }).length);
  });
});
