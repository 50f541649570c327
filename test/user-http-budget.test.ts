import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config';
import { createTestApp, TestClock } from './helpers/test-app';

const BUDGET = 64 * 1024;
// A workflow whose JSON is well over the budget: every answer carrying it costs that much.
const bigWorkflow = {
  name: 'big',
  steps: [{ id: 's1', tool: 'echo', arguments: { text: 'x'.repeat(100_000) } }],
};

describe('per-user HTTP budget (HTTP_USER_BYTES_PER_SECOND)', () => {
  // The budget refills with this clock only: nothing here depends on how fast the test runs.
  const clock = new TestClock(new Date());
  let t: Awaited<ReturnType<typeof createTestApp>>;

  beforeAll(async () => {
    t = await createTestApp({ clock: clock.fn, env: { HTTP_USER_BYTES_PER_SECOND: String(BUDGET) } });
  });
  afterAll(() => t.close());

  it('defaults to 8 MiB per second; at least 64 KiB', () => {
    expect(loadConfig({}).httpUserBytesPerSecond).toBe(8 * 1024 * 1024);
    expect(loadConfig({ HTTP_USER_BYTES_PER_SECOND: '1048576' }).httpUserBytesPerSecond).toBe(1024 * 1024);
    expect(() => loadConfig({ HTTP_USER_BYTES_PER_SECOND: '1000' })).toThrow(/HTTP_USER_BYTES_PER_SECOND/);
  });

  it('a user over budget gets 429 with Retry-After while another user, at the same time, gets 200', async () => {
    const heavy = await t.registerUser();
    const other = await t.registerUser();
    const created = await t.json('POST', '/api/workflows', bigWorkflow, heavy.auth);
    expect(created.status).toBe(201);
    const { workflow } = (await created.json()) as { workflow: { id: string } };

    // The 201 carried ~100 KB against a 64 KiB budget: the heavy user is in debt, the other is not.
    const heavyGets = Array.from({ length: 3 }, () =>
      t.json('GET', `/api/workflows/${workflow.id}`, undefined, heavy.auth),
    );
    const otherGets = [
      t.json('GET', '/profile', undefined, other.auth),
      t.json('GET', '/api/workflows', undefined, other.auth),
      t.json('GET', '/api/workflows/queue', undefined, other.auth),
    ];
    const [heavyAnswers, otherAnswers] = await Promise.all([Promise.all(heavyGets), Promise.all(otherGets)]);
    expect(otherAnswers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(heavyAnswers.map((r) => r.status)).toEqual([429, 429, 429]);
    const [refused] = heavyAnswers as [Response];
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');

    // Paid back after the Retry-After it was told: the same request is answered again.
    clock.advance(1000);
    const again = await t.json('GET', `/api/workflows/${workflow.id}`, undefined, heavy.auth);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { workflow: { id: string } }).workflow.id).toBe(workflow.id);
  });

  it('counts bytes, not requests: many small answers stay within it', async () => {
    const user = await t.registerUser();
    const statuses = [];
    // 100 profiles of ~200 bytes each: a third of the budget, with no time passing at all.
    for (let i = 0; i < 100; i++) statuses.push((await t.json('GET', '/profile', undefined, user.auth)).status);
    expect(new Set(statuses)).toEqual(new Set([200]));
  });

  it('Retry-After says how long the debt takes to pay back', async () => {
    const user = await t.registerUser();
    // One answer of ~200 KB against 64 KiB: sent (the bucket was not empty), leaving a debt of
    // ~135 KB, which takes a little over two seconds to pay back at 64 KiB/s.
    const created = await t.json(
      'POST',
      '/api/workflows',
      { ...bigWorkflow, steps: [{ id: 's1', tool: 'echo', arguments: { text: 'x'.repeat(200_000) } }] },
      user.auth,
    );
    expect(created.status).toBe(201);
    const refused = await t.json('GET', '/profile', undefined, user.auth);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('3');
    clock.advance(2000);
    expect((await t.json('GET', '/profile', undefined, user.auth)).status).toBe(429);
    clock.advance(1000);
    expect((await t.json('GET', '/profile', undefined, user.auth)).status).toBe(200);
  });
});
