import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowQueue, workflows } from '../../src/db/schema';
import type { AuthUser } from '../../src/deps';
import { ConflictError } from '../../src/errors/conflict-error';
import { NotFoundError } from '../../src/errors/not-found-error';
import { type ChannelMessage, WORKFLOW_CHANNEL } from '../../src/realtime/channel-hub';
import { InMemoryChannelHub } from '../../src/realtime/in-memory-channel-hub';
import type { RunQueue, RunToEnqueue } from '../../src/runs/run-queue';
import { RunService } from '../../src/runs/run-service';
import { createTestApp } from '../helpers/test-app';

/** A queue that records what it is told. */
class RecordingRunQueue implements RunQueue {
  readonly enqueued: RunToEnqueue[] = [];
  readonly cancelled: string[] = [];
  async enqueue(run: RunToEnqueue) {
    this.enqueued.push(run);
  }
  async cancel(runId: string) {
    this.cancelled.push(runId);
  }
}

// RunService on Postgres, without HTTP: what each change writes, hands to the queue and publishes.
let t: Awaited<ReturnType<typeof createTestApp>>;
let user: AuthUser;
let other: AuthUser;
let workflowId: string;
let queue: RecordingRunQueue;
let hub: InMemoryChannelHub;
let runs: RunService;

beforeAll(async () => {
  t = await createTestApp();
  const registered = await t.registerUser();
  user = { id: registered.user.id, username: registered.username, role: 'user' };
  const second = await t.registerUser();
  other = { id: second.user.id, username: second.username, role: 'user' };
  const steps = [
    { id: 'a', tool: 'echo' },
    { id: 'b', tool: 'echo' },
  ];
  const [wf] = await t.db.insert(workflows).values({ ownerId: user.id, name: 'nightly', steps }).returning();
  workflowId = wf?.id as string;
});

afterAll(async () => {
  await t?.close();
});

function freshService() {
  queue = new RecordingRunQueue();
  hub = new InMemoryChannelHub();
  runs = new RunService({ ...t.deps, hub, runQueue: queue });
}

describe('RunService', () => {
  it('execute writes a queued run and hands it to the queue; a repeat with its key replays it', async () => {
    freshService();
    const first = await runs.execute(user, { workflowId, input: { n: 1 }, idempotencyKey: 'k-1' });
    expect(first.replayed).toBe(false);
    expect(first.run.status).toBe('queued');
    expect(queue.enqueued).toEqual([{ id: first.run.id, workflowId, ownerId: user.id, workflowName: 'nightly' }]);

    const again = await runs.execute(user, { workflowId, input: { n: 1 }, idempotencyKey: 'k-1' });
    expect([again.replayed, again.run.id]).toEqual([true, first.run.id]);
    await expect(runs.execute(user, { workflowId, input: { n: 2 }, idempotencyKey: 'k-1' })).rejects.toThrow(
      ConflictError,
    );
    await expect(runs.execute(other, { workflowId, input: {} })).rejects.toThrow(NotFoundError);
  });

  it('cancel marks the row, tells the queue and publishes one cancelled event shaped as the executor’s', async () => {
    freshService();
    const { run } = await runs.execute(user, { workflowId, input: {} });
    const events: ChannelMessage[] = [];
    hub.subscribe(WORKFLOW_CHANNEL, (message) => events.push(message));

    await expect(runs.cancel(other, run.id)).rejects.toThrow(NotFoundError);
    const cancelled = await runs.cancel(user, run.id);

    expect([cancelled.status, cancelled.error]).toEqual(['cancelled', 'Cancelled by user']);
    expect(queue.cancelled).toEqual([run.id]);
    expect(events.map((e) => [e.event, e.payload])).toEqual([
      [
        'workflow-status',
        {
          runId: run.id,
          workflowId,
          ownerId: user.id,
          totalSteps: 2,
          status: 'cancelled',
          stepIndex: 0,
          error: 'Cancelled by user',
        },
      ],
    ]);
    await expect(runs.cancel(user, run.id)).rejects.toThrow('Run is already cancelled');
  });

  it('retryById makes one retry of a failed run, queued under its workflow’s name; the next finds it', async () => {
    freshService();
    const { run } = await runs.execute(user, { workflowId, input: { x: 1 } });
    await t.db.update(workflowQueue).set({ status: 'failed' }).where(eq(workflowQueue.id, run.id));
    queue.enqueued.length = 0;

    const outcome = await runs.retryById(run.id);
    if (outcome.kind !== 'created') throw new Error(`not retried: ${outcome.kind}`);
    expect([outcome.run.retryOf, outcome.run.status, outcome.run.input]).toEqual([run.id, 'queued', { x: 1 }]);
    expect(queue.enqueued).toEqual([{ id: outcome.run.id, workflowId, ownerId: user.id, workflowName: 'nightly' }]);

    expect(await runs.retryById(run.id)).toEqual({ kind: 'retried-before', retryRunId: outcome.run.id });
    await expect(runs.retry(user, run.id)).rejects.toThrow('Run was already retried');
    expect(queue.enqueued).toHaveLength(1);
  });
});
