import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowQueue } from '../../src/db/schema';
import { openDatabase } from '../../src/node/database';
import { jsonByteLength } from '../../src/runs/json-size';
import { startByteCountingProxy } from '../helpers/byte-counting-proxy';
import { readJson } from '../helpers/read-json';
import { bodies } from '../helpers/response-bodies';
import { createTestApp, createTestDatabase, TestClock } from '../helpers/test-app';
import { type CountingMcpServer, startCountingMcpServer } from './counting-mcp-server';
import { createWorkflow, createWorkflowTestApp, execute, waitForRun } from './workflow-helpers';

const DEFAULT_BUDGET = 4 * 1024 * 1024;

/** Bytes of a run's row as Postgres holds them (the JSON text of its steps and input). */
async function storedBytes(db: Awaited<ReturnType<typeof createTestApp>>['db'], runId: string) {
  const [row] = await db
    .select({
      steps: sql<number>`octet_length(${workflowQueue.steps}::text)`.mapWith(Number),
      resultBytes: workflowQueue.resultBytes,
    })
    .from(workflowQueue)
    .where(eq(workflowQueue.id, runId));
  return row as { steps: number; resultBytes: number };
}

describe('jsonByteLength', () => {
  it('equals the UTF-8 length of JSON.stringify, and stops early past the limit', () => {
    const values: unknown[] = [
      null,
      0,
      -1.5e-7,
      Number.NaN,
      true,
      'plain',
      'quote " backslash \\ newline \n tab \t nul \u0000 bell \u0007',
      'é € 𝄞 lone \ud800 and \udc00',
      [1, undefined, () => 1, 'x', { a: undefined, b: [null, {}] }],
      { nested: { deep: ['a', 2, false] }, date: new Date(0), skip: undefined },
    ];
    for (const value of values) {
      expect(jsonByteLength(value), JSON.stringify(value)).toBe(new TextEncoder().encode(JSON.stringify(value)).length);
    }
    const big = { items: Array.from({ length: 1000 }, () => 'x'.repeat(1000)) };
    const partial = jsonByteLength(big, 10_000);
    expect(partial).toBeGreaterThan(10_000);
    expect(partial).toBeLessThan(20_000);
  });

  it('counts long strings natively and character by character alike', () => {
    const long = (unit: string, n: number) => unit.repeat(n);
    const strings = [
      long('a', 40),
      long('a', 100_000),
      long('é', 30_000),
      long('€', 20_000),
      `${long('x', 20_000)}"`,
      `${long('x', 40_000)}\n`,
      `${long('y', 50)}\u0001`,
      long('𝄞', 10_000),
      `${long('z', 17_000)}\ud800`,
      `${long('a', 16_383)}é${long('b', 16_383)}€`,
    ];
    for (const text of strings) {
      expect(jsonByteLength(text), text.slice(-8)).toBe(new TextEncoder().encode(JSON.stringify(text)).length);
    }
  });

  it('with a memo, remembers large objects by identity and gives the same counts', () => {
    const shared = Array.from({ length: 100 }, (_, i) => `item ${i} ${'x'.repeat(50)}`);
    const value = { a: shared, b: [shared, { again: shared }], small: { n: 1 } };
    const memo = new WeakMap<object, number>();
    const truth = new TextEncoder().encode(JSON.stringify(value)).length;
    expect(jsonByteLength(value, Number.POSITIVE_INFINITY, memo)).toBe(truth);
    expect(memo.get(shared)).toBe(new TextEncoder().encode(JSON.stringify(shared)).length);
    expect(memo.has(value.small)).toBe(false);
    expect(jsonByteLength({ later: shared }, Number.POSITIVE_INFINITY, memo)).toBe(
      new TextEncoder().encode(JSON.stringify({ later: shared })).length,
    );
    // A count abandoned at the limit is not remembered.
    const other = Array.from({ length: 100 }, () => 'y'.repeat(100));
    expect(jsonByteLength(other, 1000, memo)).toBeGreaterThan(1000);
    expect(memo.has(other)).toBe(false);
  });
});

describe('a run has a result budget (RUN_RESULT_BUDGET_BYTES)', () => {
  let mcpServer: CountingMcpServer;
  let t: Awaited<ReturnType<typeof createWorkflowTestApp>>;
  let alice: Awaited<ReturnType<typeof t.registerUser>>;

  beforeAll(async () => {
    mcpServer = await startCountingMcpServer();
    t = await createWorkflowTestApp({ mcpUrl: mcpServer.url });
    alice = await t.registerUser();
  });

  afterAll(async () => {
    await t?.close();
    await mcpServer?.close();
  });

  it('the amplification workflow (900 × an input, copied by 19 steps) fails at the budget, storing less than it', async () => {
    // A 15 KB workflow that used to store ~18 MB per run: each step stays under the 1 MB step cap.
    const steps = [
      { id: 's0', tool: 'echo', arguments: { text: 's0', v: Array.from({ length: 900 }, () => '{{input.s}}') } },
      ...Array.from({ length: 19 }, (_, i) => ({
        id: `s${i + 1}`,
        tool: 'echo',
        arguments: { text: `s${i + 1}`, v: '{{steps.s0.v}}' },
      })),
    ];
    const wf = await createWorkflow(t.json, alice.auth, steps);
    const queued = await execute(t.json, alice.auth, wf.id, { input: { s: 'x'.repeat(1000) } });
    const run = await waitForRun(t.json, alice.auth, queued.id, undefined, 30_000);

    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/result budget of 4194304 bytes \(RUN_RESULT_BUDGET_BYTES\)/);
    const failed = run.steps.findIndex((s) => s.status === 'failed');
    expect(failed).toBeGreaterThan(0);
    expect(run.steps.slice(failed + 1).every((s) => s.status === 'pending')).toBe(true);
    const stored = await storedBytes(t.db, run.id);
    expect(stored.steps).toBeLessThan(DEFAULT_BUDGET);
    // result_bytes is what the per-user quota adds up: the stored results, as the executor counted them.
    const results = run.steps.filter((s) => s.status === 'completed').map((s) => s.result);
    expect(stored.resultBytes).toBe(results.reduce<number>((sum, r) => sum + jsonByteLength(r), 0));
    expect(stored.resultBytes).toBeGreaterThan(900_000);
  });

  it('arguments naming one large result many times fail before the tool is called, without being serialised', async () => {
    const wf = await createWorkflow(t.json, alice.auth, [
      { id: 'big', tool: 'echo', arguments: { text: 'big', v: '{{input.s}}' } },
      // 100 references to a 500 KB value: 50 MB of arguments if they were ever written out.
      {
        id: 'fan',
        tool: 'echo',
        arguments: { text: 'fan', many: Array.from({ length: 100 }, () => '{{steps.big.v}}') },
      },
    ]);
    const queued = await execute(t.json, alice.auth, wf.id, { input: { s: 'y'.repeat(500_000) } });
    const run = await waitForRun(t.json, alice.auth, queued.id, undefined, 30_000);

    expect(run.status).toBe('failed');
    expect(run.error).toBe(
      'Step "fan" (echo) could not start: its arguments would take the run past its result budget of 4194304 bytes (RUN_RESULT_BUDGET_BYTES)',
    );
    expect(run.steps[1]).toMatchObject({ status: 'failed', attempts: 0 });
    expect((await storedBytes(t.db, run.id)).steps).toBeLessThan(600_000);
  });
});

describe('run storage quotas (RUN_STORAGE_PER_USER_BYTES, RUN_STORAGE_TOTAL_BYTES)', () => {
  const budget = 64 * 1024;
  const clock = new TestClock();
  let t: Awaited<ReturnType<typeof createTestApp>>;

  beforeAll(async () => {
    // No executor: runs stay queued, each holding its whole budget of the quota.
    t = await createTestApp({
      clock: clock.fn,
      env: {
        RUN_RESULT_BUDGET_BYTES: String(budget),
        RUN_STORAGE_PER_USER_BYTES: String(16 * budget),
        RUN_STORAGE_TOTAL_BYTES: String(24 * budget),
      },
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('refuses a run past the per-user quota with 409, another user still runs, and the total answers 503', async () => {
    const alice = await t.registerUser();
    const bob = await t.registerUser();
    const steps = [{ id: 'a', tool: 'echo', arguments: { text: 'a' } }];
    const aliceWf = await createWorkflow(t.json, alice.auth, steps);
    const bobWf = await createWorkflow(t.json, bob.auth, steps);
    const aliceRuns: string[] = [];
    for (let i = 0; i < 16; i++) aliceRuns.push((await execute(t.json, alice.auth, aliceWf.id)).id);

    const refused = await t.json('POST', `/api/workflows/${aliceWf.id}/execute`, {}, alice.auth);
    expect(refused.status).toBe(409);
    const body = await readJson(refused, bodies.error);
    expect(body.error.code).toBe('quota_exceeded');
    expect(body.error.details).toEqual({ usedBytes: 16 * budget, limitBytes: 16 * budget, runBudgetBytes: budget });
    const withKey = await t.json(
      'POST',
      `/api/workflows/${aliceWf.id}/execute`,
      {},
      { ...alice.auth, 'idempotency-key': 'k1' },
    );
    expect(withKey.status).toBe(409);
    expect((await readJson(withKey, bodies.error)).error.code).toBe('quota_exceeded');
    expect(await t.db.$count(workflowQueue, eq(workflowQueue.ownerId, alice.user.id))).toBe(16);

    // Bob is not held back by Alice's quota; the installation's total is read at most every 10 s.
    for (let i = 0; i < 8; i++) await execute(t.json, bob.auth, bobWf.id);
    clock.advance(10_000);
    const full = await t.json('POST', `/api/workflows/${bobWf.id}/execute`, {}, bob.auth);
    expect(full.status).toBe(503);
    expect((await readJson(full, bodies.error)).error.message).toMatch(/Run storage is full/);

    // Finished runs count at what they stored: room comes back for both limits.
    await t.db
      .update(workflowQueue)
      .set({ status: 'completed', resultBytes: 1000 })
      .where(inArray(workflowQueue.id, aliceRuns.slice(0, 8)));
    clock.advance(10_000);
    await execute(t.json, alice.auth, aliceWf.id);
    await execute(t.json, bob.auth, bobWf.id);
  });
});

describe('run lists never read step results from the database', () => {
  it('the queue and a workflow’s runs move kilobytes over the wire for 30 runs of 1 MB each; the run detail reads its run', async () => {
    const database = await createTestDatabase();
    const proxy = await startByteCountingProxy(database.url);
    const proxied = await openDatabase({ databaseUrl: proxy.url, maxConnections: 2 });
    const t = await createTestApp({ db: proxied.db });
    try {
      const alice = await t.registerUser();
      const wf = await createWorkflow(t.json, alice.auth, [{ id: 'a', tool: 'echo', arguments: { text: 'a' } }]);
      const heavyStep = {
        id: 'a',
        tool: 'echo',
        status: 'completed',
        attempts: 1,
        result: { blob: 'z'.repeat(1_000_000) },
      };
      const inserted = await database.db
        .insert(workflowQueue)
        .values(
          Array.from({ length: 30 }, () => ({
            workflowId: wf.id,
            ownerId: alice.user.id,
            status: 'completed' as const,
            progress: 1,
            steps: [heavyStep],
            resultBytes: 1_000_012,
          })),
        )
        .returning({ id: workflowQueue.id });

      const before = proxy.bytesFromUpstream;
      const queue = await t.json('GET', '/api/workflows/queue?limit=100', undefined, alice.auth);
      const runs = await t.json('GET', `/api/workflows/${wf.id}/runs?limit=100`, undefined, alice.auth);
      const listed = proxy.bytesFromUpstream - before;
      expect(queue.status).toBe(200);
      expect(runs.status).toBe(200);
      const queueBody = await readJson(queue, bodies.runQueue);
      const runsBody = await readJson(runs, bodies.runs);
      expect(queueBody.counts.completed).toBe(30);
      for (const items of [queueBody.items, runsBody.items]) {
        expect(items).toHaveLength(30);
        expect(items[0]).toMatchObject({ status: 'completed', progress: 1, totalSteps: 1 });
        expect(items[0]).not.toHaveProperty('steps');
      }
      expect(listed).toBeLessThan(100_000);

      const detailBefore = proxy.bytesFromUpstream;
      const detail = await t.json('GET', `/api/workflows/runs/${inserted[0]?.id}`, undefined, alice.auth);
      expect(detail.status).toBe(200);
      expect(proxy.bytesFromUpstream - detailBefore).toBeGreaterThan(1_000_000);
    } finally {
      await t.close();
      await proxied.close();
      await proxy.close();
      await database.close();
    }
  });
});
