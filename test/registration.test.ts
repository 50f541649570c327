import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PasswordHasher } from '../src/auth/passwords';
import { createTestApp, TestClock } from './helpers/test-app';

const password = 'correct-horse-battery';

describe('registration checks uniqueness before bcrypt', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let hashes = 0;

  beforeAll(async () => {
    t = await createTestApp();
    const real = t.deps.passwords;
    t.deps.passwords = Object.assign(Object.create(real) as PasswordHasher, {
      hash: (plain: string) => {
        hashes++;
        return real.hash(plain);
      },
    });
  });
  afterAll(() => t.close());

  it('answers a duplicate username or email with the same 409, without hashing', async () => {
    const first = await t.json('POST', '/auth/register', { username: 'Carol', email: 'carol@example.com', password });
    expect(first.status).toBe(201);
    const before = hashes;
    const answers = [];
    for (const body of [
      { username: 'carol', email: 'other@example.com', password },
      { username: 'someone_else', email: 'CAROL@example.com', password },
      { username: 'CAROL', email: 'Carol@Example.com', password },
    ]) {
      const res = await t.json('POST', '/auth/register', body);
      expect(res.status).toBe(409);
      answers.push(await res.json());
    }
    expect(hashes).toBe(before);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
  });

  it('two registrations racing for one name: one 201, one 409, never a 500', async () => {
    const body = { username: 'racer', email: 'racer@example.com', password };
    const statuses = (await Promise.all([1, 2, 3].map(() => t.json('POST', '/auth/register', body)))).map(
      (r) => r.status,
    );
    expect(statuses.sort()).toEqual([201, 409, 409]);
  });
});

describe.each([
  ['postgres', false],
  ['redis', true],
])('registration rate limit per address (%s store)', (_name, useRedis) => {
  const clock = new TestClock(new Date());
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let redis: Redis | undefined;
  let n = 0;

  beforeAll(async () => {
    redis = useRedis ? new Redis(inject('redisUrl'), { keyPrefix: `register-${crypto.randomUUID()}:` }) : undefined;
    t = await createTestApp({
      clock: clock.fn,
      redis,
      env: { REGISTER_RATE_LIMIT: '3', REGISTER_RATE_WINDOW: '10m' },
    });
  });
  afterAll(async () => {
    await t.close();
    await redis?.quit();
  });

  const register = (peer: string, username = `reg_${useRedis ? 'r' : 'p'}_${++n}`) =>
    t.json('POST', '/auth/register', { username, email: `${username}@example.com`, password }, { 'x-test-peer': peer });

  it('allows REGISTER_RATE_LIMIT per window, then 429 with Retry-After; duplicates count too', async () => {
    const peer = useRedis ? '192.0.2.10' : '192.0.2.20';
    expect((await register(peer, `dup_owner_${useRedis ? 'r' : 'p'}`)).status).toBe(201);
    expect((await register(peer, `dup_owner_${useRedis ? 'r' : 'p'}`)).status).toBe(409);
    expect((await register(peer)).status).toBe(201);
    const refused = await register(peer);
    expect(refused.status).toBe(429);
    expect((await refused.json()).error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(590);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(600);

    // Another address is not affected; the same one is again once the window is over.
    expect((await register(useRedis ? '192.0.2.11' : '192.0.2.21')).status).toBe(201);
    clock.advance(9 * 60_000);
    expect((await register(peer)).status).toBe(429);
    clock.advance(60_000 + 1);
    expect((await register(peer)).status).toBe(201);
  });

  it('invalid bodies are not counted (they never reach the limit)', async () => {
    const peer = useRedis ? '192.0.2.12' : '192.0.2.22';
    for (let i = 0; i < 5; i++) {
      const res = await t.json('POST', '/auth/register', { username: 'x' }, { 'x-test-peer': peer });
      expect(res.status).toBe(400);
    }
    expect((await register(peer)).status).toBe(201);
  });
});
