import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowQueue, workflows } from '../../src/db/schema';
import { silentLogger } from '../../src/logging/logger';
import { createMcpClient } from '../../src/node/mcp-client-factory';
import { InMemoryChannelHub } from '../../src/realtime/in-memory-channel-hub';
import { RunExecutor } from '../../src/runs/run-executor';
import { RunStore } from '../../src/runs/run-store';
import type { RunStepState } from '../../src/runs/run-state';
import { createTestApp } from '../helpers/test-app';
import { type CountingMcpServer, startCountingMcpServer } from './counting-mcp-server';
import { withFaults } from '../runs/run-store-doubles';
import { initialStepStates } from './workflow-helpers';

// The claim starts the run's first open step itself (RunStore): these pin down what it writes
// and that an executor that never calls the tool gives the attempt back.
let t: Awaited<ReturnType<typeof createTestApp>>;
let mcpServer: CountingMcpServer;
let mcp: ReturnType<typeof createMcpClient>;
let ownerId: string;
let workflowId: string;

const STEPS = [
  { id: 'a', tool: 'count' },
  { id: 'b', tool: 'count' },
];

beforeAll(async () => {
  t = await createTestApp();
  mcpServer = await startCountingMcpServer();
  mcp = createMcpClient({ mcpUrl: mcpServer.url }, silentLogger);
  ownerId = (await t.registerUser()).user.id;
  const [wf] = await t.db.insert(workflows).values({ ownerId, name: 'w', steps: STEPS }).returning();
  workflowId = wf?.id as string;
});

afterAll(async () => {
  await mcp?.close();
  await mcpServer?.close();
  await t?.close();
});

const clock = () => new Date();

function store() {
  return new RunStore(t.db, clock, `test:${crypto.randomUUID().slice(0, 8)}`);
}

function executor() {
  return new RunExecutor({ store: store(), mcp, hub: new InMemoryChannelHub(), clock, logger: silentLogger });
}

async function insertRun(steps: RunStepState[]) {
  const [row] = await t.db.insert(workflowQueue).values({ workflowId, ownerId, steps }).returning();
  return row?.id as string;
}

async function rowOf(runId: string) {
  const [row] = await t.db.select().from(workflowQueue).where(eq(workflowQueue.id, runId));
  return { ...row, steps: row?.steps as RunStepState[] };
}

describe('claiming a run', () => {
  it('starts the first step that is not completed: running, one attempt more, startedAt kept, error dropped', async () => {
    const [done, resumed] = initialStepStates(STEPS) as [RunStepState, RunStepState];
    Object.assign(done, { status: 'completed', attempts: 1, result: { n: 1 } });
    Object.assign(resumed, { status: 'running', attempts: 1, startedAt: '2020-01-01T00:00:00.000Z', error: 'x' });
    const runId = await insertRun([done, resumed]);
    const claim = await store().claim(runId);
    expect(claim.kind).toBe('claimed');
    const steps = (await rowOf(runId)).steps;
    expect(steps[0]).toEqual(done);
    expect(steps[1]).toEqual({ ...resumed, error: undefined, status: 'running', attempts: 2 });
    expect(steps[1]).not.toHaveProperty('error');
  });

  it('a run released before its tool was called keeps no attempt, and the next executor runs it once', async () => {
    const runId = await insertRun(initialStepStates(STEPS));
    const shutdown = new AbortController();
    shutdown.abort();
    expect(await executor().execute(runId, shutdown.signal)).toEqual({ outcome: 'released' });
    const released = await rowOf(runId);
    expect(released.status).toBe('queued');
    expect(released.steps.map((s) => [s.status, s.attempts, s.startedAt ?? null])).toEqual([
      ['pending', 0, null],
      ['pending', 0, null],
    ]);
    expect(mcpServer.callsOf(runId, 'a')).toBe(0);

    expect(await executor().execute(runId)).toEqual({ outcome: 'completed' });
    const finished = await rowOf(runId);
    expect(finished.attempts).toBe(2);
    expect(finished.steps.map((s) => [s.status, s.attempts])).toEqual([
      ['completed', 1],
      ['completed', 1],
    ]);
    expect([mcpServer.callsOf(runId, 'a'), mcpServer.callsOf(runId, 'b')]).toEqual([1, 1]);
  });

  it('a run whose steps are all completed is finished without a call', async () => {
    const steps = initialStepStates(STEPS).map((s) => ({ ...s, status: 'completed' as const, attempts: 1 }));
    const runId = await insertRun(steps);
    expect(await executor().execute(runId)).toEqual({ outcome: 'completed' });
    const row = await rowOf(runId);
    expect(row.status).toBe('completed');
    expect(row.steps).toEqual(steps);
    const [wf] = await t.db.select({ lastRun: workflows.lastRun }).from(workflows).where(eq(workflows.id, workflowId));
    expect(wf?.lastRun).not.toBeNull();
    expect(mcpServer.callsOf(runId, 'a') + mcpServer.callsOf(runId, 'b')).toBe(0);
  });
});

describe('the lease heartbeat', () => {
  it('logs a failure to read the status after a lost lease instead of leaving the rejection unhandled', async () => {
    const steps = [{ id: 's', tool: 'sleep', arguments: { ms: 2000 } }];
    const [wf] = await t.db.insert(workflows).values({ ownerId, name: 'slow', steps }).returning();
    const [row] = await t.db
      .insert(workflowQueue)
      .values({ workflowId: wf?.id as string, ownerId, steps: initialStepStates(steps) })
      .returning();
    const warnings: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const postgres = new RunStore(t.db, clock, 'test:heartbeat');
      // The database answers the claim, then the lease is gone and the status read fails.
      const claim = await postgres.claim(row?.id as string);
      if (claim.kind !== 'claimed') throw new Error(`not claimed: ${claim.kind}`);
      const run = new RunExecutor({
        store: withFaults(postgres, {
          renewLease: async () => false,
          status: async () => {
            throw new Error('database went away');
          },
        }),
        mcp,
        hub: new InMemoryChannelHub(),
        clock,
        logger: { ...silentLogger, warn: (_fields: unknown, msg?: string) => void warnings.push(msg ?? '') },
        heartbeatMs: 20,
      });
      const stop = new AbortController();
      const execution = run.executeClaimed(claim.run, stop.signal).catch(() => undefined);
      for (let waited = 0; waited < 5000 && !warnings.includes('lease renewal failed'); waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      stop.abort();
      await execution;
      expect(warnings).toContain('lease renewal failed');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
