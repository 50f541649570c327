import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowQueue } from '../../src/db/schema';
import { type ChannelMessage, WORKFLOW_CHANNEL } from '../../src/realtime/channel-hub';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { type CountingMcpServer, startCountingMcpServer } from './counting-mcp-server';
import { createWorkflow, createWorkflowTestApp, execute, getRun, retry, waitForRun } from './workflow-helpers';

let mcpServer: CountingMcpServer;
let t: Awaited<ReturnType<typeof createWorkflowTestApp>>;
let alice: Awaited<ReturnType<typeof t.registerUser>>;
let bob: Awaited<ReturnType<typeof t.registerUser>>;

beforeAll(async () => {
  mcpServer = await startCountingMcpServer();
  // One run at a time, so a run can be held in `queued` behind a sleeping one.
  t = await createWorkflowTestApp({ mcpUrl: mcpServer.url, concurrency: 1 });
  alice = await t.registerUser();
  bob = await t.registerUser();
});

afterAll(async () => {
  await t?.close();
  await mcpServer?.close();
});

describe('runs in single-process mode (built-in MCP server over Streamable HTTP)', () => {
  it('completes a run, records each step and sets lastRun; progress is published', async () => {
    const events: ChannelMessage[] = [];
    const unsubscribe = t.deps.hub.subscribe(WORKFLOW_CHANNEL, (m) => events.push(m));
    const wf = await createWorkflow(t.json, alice.auth, [
      { id: 'hello', tool: 'echo', arguments: { text: 'hi' } },
      { id: 'time', tool: 'get_time' },
    ]);
    expect(wf.lastRun).toBeNull();
    const queued = await execute(t.json, alice.auth, wf.id);
    expect(queued.status).toBe('queued');
    expect(queued.steps.map((s) => s.status)).toEqual(['pending', 'pending']);

    const run = await waitForRun(t.json, alice.auth, queued.id);
    expect(run.status).toBe('completed');
    expect(run.error).toBeNull();
    expect(run.progress).toBe(2);
    expect(run.steps[0]).toMatchObject({ id: 'hello', status: 'completed', attempts: 1, result: { text: 'hi' } });
    expect(run.steps[1]?.result).toHaveProperty('iso');
    expect(run.steps[1]?.durationMs).toBeGreaterThanOrEqual(0);

    const res = await t.json('GET', `/api/workflows/${wf.id}`, undefined, alice.auth);
    const { workflow } = await readJson(res, bodies.workflow);
    expect(workflow.lastRun).not.toBeNull();

    unsubscribe();
    const mine = events.filter((e) => e.payload.runId === run.id);
    expect(mine.every((e) => e.event === 'workflow-status' && e.payload.ownerId === alice.user.id)).toBe(true);
    expect(mine.at(-1)?.payload).toMatchObject({ status: 'completed', stepIndex: 2, totalSteps: 2, workflowId: wf.id });
    expect(mine.some((e) => e.payload.stepId === 'hello' && e.payload.stepStatus === 'completed')).toBe(true);
  });

  it("publishes each step's start and end, the last step's too, then the run's end", async () => {
    const events: ChannelMessage[] = [];
    const unsubscribe = t.deps.hub.subscribe(WORKFLOW_CHANNEL, (m) => events.push(m));
    const ok = await createWorkflow(t.json, alice.auth, [
      { id: 'one', tool: 'echo', arguments: { text: '1' } },
      { id: 'two', tool: 'echo', arguments: { text: '2' } },
    ]);
    const failing = await createWorkflow(t.json, alice.auth, [
      { id: 'one', tool: 'echo', arguments: { text: '1' } },
      { id: 'boom', tool: 'fail', arguments: { message: 'no' } },
    ]);
    const completed = await waitForRun(t.json, alice.auth, (await execute(t.json, alice.auth, ok.id)).id);
    const failed = await waitForRun(t.json, alice.auth, (await execute(t.json, alice.auth, failing.id)).id);
    unsubscribe();
    const sequence = (runId: string) =>
      events
        .filter((e) => e.payload.runId === runId)
        .map((e) => [e.payload.status, e.payload.stepIndex, e.payload.stepId ?? null, e.payload.stepStatus ?? null]);
    expect(sequence(completed.id)).toEqual([
      ['running', 0, 'one', 'running'],
      ['running', 0, 'one', 'completed'],
      ['running', 1, 'two', 'running'],
      ['running', 1, 'two', 'completed'],
      ['completed', 2, null, null],
    ]);
    expect(sequence(failed.id)).toEqual([
      ['running', 0, 'one', 'running'],
      ['running', 0, 'one', 'completed'],
      ['running', 1, 'boom', 'running'],
      ['running', 1, 'boom', 'failed'],
      ['failed', 1, 'boom', null],
    ]);
    const [stepFailed, runFailed] = events.filter((e) => e.payload.runId === failed.id).slice(-2);
    expect(stepFailed?.payload.error).toBe('no');
    expect(runFailed?.payload.error).toBe(failed.error);
  });

  it('retries a failed run once: a new run, linked to it, resumes after its completed steps', async () => {
    const key = crypto.randomUUID();
    const wf = await createWorkflow(t.json, alice.auth, [
      { id: 'first', tool: 'count' },
      { id: 'shaky', tool: 'flaky', arguments: { failTimes: 1, key } },
      { id: 'last', tool: 'calculate', arguments: { op: 'add', a: '{{steps.first.n}}', b: '{{input.x}}' } },
    ]);
    const failed = await waitForRun(
      t.json,
      alice.auth,
      (await execute(t.json, alice.auth, wf.id, { input: { x: 40 } })).id,
    );
    expect(failed.steps.map((s) => s.status)).toEqual(['completed', 'failed', 'pending']);

    expect((await retry(t.json, bob.auth, failed.id)).status).toBe(404);
    const created = await retry(t.json, alice.auth, failed.id);
    expect(created.status).toBe(202);
    const queued = (await readJson(created, bodies.run)).run;
    expect(queued).toMatchObject({ status: 'queued', retryOf: failed.id, workflowId: wf.id, ownerId: alice.user.id });
    expect(queued.progress).toBe(1);
    expect(queued.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
      ['first', 'completed', 1],
      ['shaky', 'pending', 0],
      ['last', 'pending', 0],
    ]);

    const done = await waitForRun(t.json, alice.auth, queued.id);
    expect(done.status).toBe('completed');
    // The carried-over checkpoint fed the template; its tool was not called again.
    expect(done.steps[2]?.result).toMatchObject({ result: 41 });
    expect(mcpServer.callsOf(queued.id, 'first')).toBe(0);
    expect(mcpServer.callsOf(queued.id, 'shaky')).toBe(1);
    // The retried run stays as it ended.
    expect(await getRun(t.json, alice.auth, failed.id)).toMatchObject({ status: 'failed', retryOf: null });

    const again = await retry(t.json, alice.auth, failed.id);
    expect(again.status).toBe(409);
    expect((await readJson(again, bodies.error)).error.details).toEqual({ retryRunId: queued.id });
    const ofCompleted = await retry(t.json, alice.auth, queued.id);
    expect(ofCompleted.status).toBe(409);
  });

  it("an admin retries someone's cancelled run; the retry is still the owner's", async () => {
    const admin = await t.registerUser('admin');
    const wf = await createWorkflow(t.json, bob.auth, [{ id: 'nap', tool: 'sleep', arguments: { ms: 10_000 } }]);
    const { id } = await execute(t.json, bob.auth, wf.id);
    await waitForRun(t.json, bob.auth, id, (r) => r.status === 'running');
    expect((await t.json('POST', `/api/workflows/runs/${id}/cancel`, undefined, bob.auth)).status).toBe(200);
    await waitForRun(t.json, bob.auth, id, (r) => r.steps[0]?.status === 'cancelled');

    const created = await retry(t.json, admin.auth, id);
    expect(created.status).toBe(202);
    const { run: retried } = await readJson(created, bodies.run);
    expect(retried).toMatchObject({ retryOf: id, ownerId: bob.user.id, status: 'queued' });
    expect(retried.steps.map((s) => s.status)).toEqual(['pending']);
    expect((await t.json('POST', `/api/workflows/runs/${retried.id}/cancel`, undefined, bob.auth)).status).toBe(200);
  });

  it("feeds step 1's result and the run input into step 2 (templating)", async () => {
    const wf = await createWorkflow(t.json, alice.auth, [
      { id: 'sum', tool: 'calculate', arguments: { op: 'add', a: '{{input.x}}', b: 2 } },
      {
        id: 'shape',
        tool: 'echo',
        arguments: { text: '{{input.label}}', total: '{{steps.sum.result}}', nested: ['{{steps.sum}}'] },
      },
      { id: 'double', tool: 'calculate', arguments: { op: 'multiply', a: '{{steps.shape.total}}', b: 2 } },
    ]);
    const run = await waitForRun(
      t.json,
      alice.auth,
      (await execute(t.json, alice.auth, wf.id, { input: { x: 3, label: 'sum' } })).id,
    );
    expect(run.status).toBe('completed');
    expect(run.steps[1]?.result).toEqual({ text: 'sum', total: 5, nested: [{ result: 5 }] });
    expect(run.steps[2]?.result).toEqual({ result: 10 });
  });

  it('fails the run with a readable error when a tool fails, and runs no later step', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [
      { id: 'ok', tool: 'echo', arguments: { text: 'a' } },
      { id: 'boom', tool: 'fail', arguments: { message: 'disk on fire' } },
      { id: 'never', tool: 'count' },
    ]);
    const run = await waitForRun(t.json, alice.auth, (await execute(t.json, alice.auth, wf.id)).id);
    expect(run.status).toBe('failed');
    expect(run.error).toBe('Step "boom" (fail) failed after 1 attempt: disk on fire');
    expect(run.steps.map((s) => s.status)).toEqual(['completed', 'failed', 'pending']);
    expect(mcpServer.callsOf(run.id, 'never')).toBe(0);
    const res = await t.json('GET', `/api/workflows/${wf.id}`, undefined, alice.auth);
    expect((await readJson(res, bodies.workflow)).workflow.lastRun).toBeNull();
  });

  it('fails a step whose template finds no value, naming the template', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [
      { id: 'a', tool: 'echo', arguments: { text: 'x' } },
      { id: 'b', tool: 'echo', arguments: { text: '{{steps.a.missing}}' } },
    ]);
    const run = await waitForRun(t.json, alice.auth, (await execute(t.json, alice.auth, wf.id)).id);
    expect(run.status).toBe('failed');
    expect(run.error).toBe(
      'Step "b" (echo) could not start: {{steps.a.missing}}: the result of step "a" has no value at "missing"',
    );
    expect(run.steps[1]).toMatchObject({ status: 'failed', attempts: 0 });
  });

  it('a first step that cannot start counts no attempt (the claim that started it gives it back)', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [
      { id: 'a', tool: 'echo', arguments: { text: '{{input.who}}' } },
    ]);
    const run = await waitForRun(t.json, alice.auth, (await execute(t.json, alice.auth, wf.id, { input: {} })).id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^Step "a" \(echo\) could not start: \{\{input\.who\}\}/);
    expect(run.steps[0]).toMatchObject({ status: 'failed', attempts: 0, startedAt: null });
    expect(mcpServer.callsOf(run.id, 'a')).toBe(0);
  });

  it('an unknown tool fails the run clearly', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [{ id: 'x', tool: 'no_such_tool' }]);
    const run = await waitForRun(t.json, alice.auth, (await execute(t.json, alice.auth, wf.id)).id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/Step "x" \(no_such_tool\) failed after 1 attempt: .*no_such_tool/);
  });

  it('times a step out and retries it with backoff before failing', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [{ id: 'slow', tool: 'hold', timeoutMs: 200, retries: 2 }]);
    const run = await waitForRun(t.json, alice.auth, (await execute(t.json, alice.auth, wf.id)).id);
    expect(run.status).toBe('failed');
    expect(run.error).toBe('Step "slow" (hold) failed after 3 attempts: timed out after 200 ms');
    expect(run.steps[0]?.attempts).toBe(3);
    // `hold` never answers: each attempt ended by the step's deadline, which the server saw as a cancellation.
    await expect
      .poll(() => mcpServer.calls.filter((c) => c.runId === run.id).map((c) => [c.attempt, c.aborted]))
      .toEqual([
        [1, true],
        [2, true],
        [3, true],
      ]);
    // The waits before the retries, as the executor scheduled them: retryBaseMs (20) doubling, ±20 % jitter.
    const retries = t.executorLog.fieldsOf('step failed, retrying').filter((fields) => fields.runId === run.id);
    expect(retries.map((line) => line.attempt)).toEqual([1, 2]);
    expect(retries[0]?.delayMs).toBeGreaterThanOrEqual(16);
    expect(retries[0]?.delayMs).toBeLessThanOrEqual(24);
    expect(retries[1]?.delayMs).toBeGreaterThanOrEqual(32);
    expect(retries[1]?.delayMs).toBeLessThanOrEqual(48);
  });

  it('retries a failing tool result and succeeds within the retries', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [
      { id: 'flaky', tool: 'flaky', arguments: { failTimes: 2 }, retries: 2 },
    ]);
    const run = await waitForRun(t.json, alice.auth, (await execute(t.json, alice.auth, wf.id)).id);
    expect(run.status).toBe('completed');
    expect(run.steps[0]).toMatchObject({ status: 'completed', attempts: 3, result: { ok: true, calls: 3 } });
    expect(mcpServer.calls.filter((c) => c.runId === run.id).map((c) => c.attempt)).toEqual([1, 2, 3]);
  });

  it('cancels a running run: the in-flight call is aborted and no later step runs', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [
      { id: 'nap', tool: 'hold' },
      { id: 'after', tool: 'count' },
    ]);
    const events: ChannelMessage[] = [];
    const unsubscribe = t.deps.hub.subscribe(WORKFLOW_CHANNEL, (m) => events.push(m));
    const { id } = await execute(t.json, alice.auth, wf.id);
    await waitForRun(t.json, alice.auth, id, (r) => r.steps[0]?.status === 'running');
    const res = await t.json('POST', `/api/workflows/runs/${id}/cancel`, undefined, alice.auth);
    expect(res.status).toBe(200);
    expect((await readJson(res, bodies.run)).run.status).toBe('cancelled');
    const run = await waitForRun(t.json, alice.auth, id, (r) => r.steps[0]?.status === 'cancelled');
    // `hold` answers only when cancelled: the server saw the in-flight call given up.
    await expect.poll(() => mcpServer.calls.find((c) => c.runId === id && c.stepId === 'nap')?.aborted).toBe(true);
    expect(run.status).toBe('cancelled');
    expect(run.steps[1]?.status).toBe('pending');
    await new Promise((r) => setTimeout(r, 300));
    expect(mcpServer.callsOf(id, 'after')).toBe(0);
    expect((await getRun(t.json, alice.auth, id)).status).toBe('cancelled');
    // A finished run cannot be cancelled.
    const again = await t.json('POST', `/api/workflows/runs/${id}/cancel`, undefined, alice.auth);
    expect(again.status).toBe(409);
    unsubscribe();
    // The run's end (from the cancel) and the interrupted step's own end (from the executor).
    const mine = events.filter((e) => e.payload.runId === id).map((e) => e.payload);
    expect(mine).toContainEqual(expect.objectContaining({ status: 'cancelled', error: 'Cancelled by user' }));
    expect(mine.at(-1)).toMatchObject({ status: 'cancelled', stepIndex: 0, stepId: 'nap', stepStatus: 'cancelled' });
  });

  it('cancels a queued run before it starts', async () => {
    const blocker = await createWorkflow(t.json, alice.auth, [{ id: 'nap', tool: 'sleep', arguments: { ms: 600 } }]);
    const target = await createWorkflow(t.json, alice.auth, [{ id: 'c', tool: 'count' }]);
    const first = await execute(t.json, alice.auth, blocker.id);
    await waitForRun(t.json, alice.auth, first.id, (r) => r.status === 'running');
    const second = await execute(t.json, alice.auth, target.id);
    const res = await t.json('POST', `/api/workflows/runs/${second.id}/cancel`, undefined, alice.auth);
    expect(res.status).toBe(200);
    await waitForRun(t.json, alice.auth, first.id);
    await new Promise((r) => setTimeout(r, 300));
    const run = await getRun(t.json, alice.auth, second.id);
    expect(run.status).toBe('cancelled');
    expect(run.steps[0]?.status).toBe('pending');
    expect(mcpServer.callsOf(second.id, 'c')).toBe(0);
  });

  it('the same Idempotency-Key yields one run; reusing it for another request is a 409', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [{ id: 'c', tool: 'count' }]);
    const headers = { 'idempotency-key': `key-${crypto.randomUUID()}` };
    const a = await t.json(
      'POST',
      `/api/workflows/${wf.id}/execute`,
      { input: { n: 1 } },
      { ...alice.auth, ...headers },
    );
    const b = await t.json(
      'POST',
      `/api/workflows/${wf.id}/execute`,
      { input: { n: 1 } },
      { ...alice.auth, ...headers },
    );
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const runA = (await readJson(a, bodies.run)).run;
    const runB = (await readJson(b, bodies.run)).run;
    expect(runB.id).toBe(runA.id);
    const rows = await t.db.select().from(workflowQueue).where(eq(workflowQueue.workflowId, wf.id));
    expect(rows).toHaveLength(1);
    await waitForRun(t.json, alice.auth, runA.id);
    expect(mcpServer.callsOf(runA.id, 'c')).toBe(1);

    const other = await t.json(
      'POST',
      `/api/workflows/${wf.id}/execute`,
      { input: { n: 2 } },
      { ...alice.auth, ...headers },
    );
    expect(other.status).toBe(409);
    // Keys are per user: Bob may use the same key on his own workflow.
    const bobWf = await createWorkflow(t.json, bob.auth, [{ id: 'c', tool: 'count' }]);
    const bobRes = await t.json('POST', `/api/workflows/${bobWf.id}/execute`, {}, { ...bob.auth, ...headers });
    expect(bobRes.status).toBe(202);
    await waitForRun(t.json, bob.auth, (await readJson(bobRes, bodies.run)).run.id);
  });

  it("another user gets 404 for someone else's workflow and runs, everywhere", async () => {
    const wf = await createWorkflow(t.json, alice.auth, [{ id: 'e', tool: 'echo', arguments: { text: 'x' } }]);
    const run = await execute(t.json, alice.auth, wf.id);
    await waitForRun(t.json, alice.auth, run.id);
    const body = { name: 'mine now', steps: [{ id: 'e', tool: 'echo' }] };
    const probes: Array<[string, string, unknown?]> = [
      ['GET', `/api/workflows/${wf.id}`],
      ['PUT', `/api/workflows/${wf.id}`, body],
      ['DELETE', `/api/workflows/${wf.id}`],
      ['POST', `/api/workflows/${wf.id}/execute`, {}],
      ['GET', `/api/workflows/${wf.id}/runs`],
      ['GET', `/api/workflows/runs/${run.id}`],
      ['POST', `/api/workflows/runs/${run.id}/cancel`],
    ];
    for (const [method, path, payload] of probes) {
      const res = await t.json(method, path, payload, bob.auth);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect((await readJson(res, bodies.error)).error.code).toBe('not_found');
    }
    const queue = await t.json('GET', '/api/workflows/queue', undefined, bob.auth);
    const items = (await readJson(queue, bodies.runQueue)).items;
    expect(items.some((i) => i.id === run.id)).toBe(false);
    const list = await t.json('GET', '/api/workflows', undefined, bob.auth);
    expect((await readJson(list, bodies.workflows)).items.some((i) => i.id === wf.id)).toBe(false);
  });

  it('lists runs of a workflow and the caller queue with counts', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [{ id: 'e', tool: 'echo', arguments: { text: 'x' } }]);
    const r1 = await execute(t.json, alice.auth, wf.id);
    const r2 = await execute(t.json, alice.auth, wf.id);
    await waitForRun(t.json, alice.auth, r1.id);
    await waitForRun(t.json, alice.auth, r2.id);
    const res = await t.json('GET', `/api/workflows/${wf.id}/runs?limit=1`, undefined, alice.auth);
    const page = await readJson(res, bodies.runs);
    expect(page.total).toBe(2);
    expect(page.items).toHaveLength(1);
    expect(page.items[0]?.id).toBe(r2.id);
    const queue = await t.json('GET', '/api/workflows/queue?status=completed', undefined, alice.auth);
    const q = await readJson(queue, bodies.runQueue);
    expect(Object.keys(q.counts).sort()).toEqual(['cancelled', 'completed', 'failed', 'queued', 'running']);
    expect(q.counts.completed).toBeGreaterThanOrEqual(2);
    expect(q.items.every((i) => i.status === 'completed')).toBe(true);
  });
});
