import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PasswordHasher } from '../src/auth/passwords';
import { createTestApp, TestClock } from './helpers/test-app';

/** The brute-force window, driven by an injected clock against both real stores. */
describe.each([
  ['postgres', false],
  ['redis', true],
])('login guard (%s store)', (_name, useRedis) => {
  const clock = new TestClock(new Date());
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let redis: Redis | undefined;
  let victim: Awaited<ReturnType<typeof t.registerUser>>;
  let ipCounter = 0;
  const nextIp = () => `198.51.100.${++ipCounter + (useRedis ? 100 : 0)}`;

  /** Every password check the login route makes. */
  let checks = 0;

  beforeAll(async () => {
    redis = useRedis ? new Redis(inject('redisUrl'), { keyPrefix: `guard-${crypto.randomUUID()}:` }) : undefined;
    t = await createTestApp({ clock: clock.fn, redis });
    const real = t.deps.passwords;
    t.deps.passwords = Object.assign(Object.create(real) as PasswordHasher, {
      verify: (password: string, hash: string) => {
        checks++;
        return real.verify(password, hash);
      },
      verifyAgainstNobody: (password: string) => {
        checks++;
        return real.verifyAgainstNobody(password);
      },
    });
    victim = await t.registerUser();
  });
  afterAll(async () => {
    await t.close();
    await redis?.quit();
  });

  const attempt = (ip: string, password: string, extra: Record<string, string> = {}) =>
    t.json('POST', '/auth/login', { username: victim.username, password }, { 'x-test-peer': ip, ...extra });

  it('allows 5 failures, blocks the 6th with 429 and Retry-After, for 5 minutes', async () => {
    const ip = nextIp();
    for (let i = 0; i < 5; i++) expect((await attempt(ip, 'wrong-password')).status).toBe(401);
    const sixth = await attempt(ip, 'wrong-password');
    expect(sixth.status).toBe(429);
    expect(sixth.headers.get('retry-after')).toBe('300');
    expect((await sixth.json()).error.code).toBe('rate_limited');

    // Blocked even with the right password, and other addresses are unaffected.
    expect((await attempt(ip, victim.password)).status).toBe(429);
    expect((await attempt(nextIp(), victim.password)).status).toBe(200);

    clock.advance(4 * 60_000);
    const later = await attempt(ip, victim.password);
    expect(later.status).toBe(429);
    expect(Number(later.headers.get('retry-after'))).toBeLessThanOrEqual(60);

    clock.advance(60_000 + 1);
    expect((await attempt(ip, victim.password)).status).toBe(200);
  });

  it('a parallel burst of 40 gets at most 6 passwords checked, the right one sent last included', async () => {
    const ip = nextIp();
    const before = checks;
    const passwords = [...Array.from({ length: 39 }, () => 'wrong-password'), victim.password];
    const statuses = (await Promise.all(passwords.map((password) => attempt(ip, password)))).map((r) => r.status);
    expect(checks - before).toBeLessThanOrEqual(6);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(34);
    expect(statuses.filter((s) => s === 401 || s === 200).length).toBeLessThanOrEqual(6);
    // Six failures went through: the address is blocked, the right password with it.
    if (!statuses.includes(200)) expect((await attempt(ip, victim.password)).status).toBe(429);
  });

  it('a right password gives its slot back but resets nothing', async () => {
    const ip = nextIp();
    for (let i = 0; i < 10; i++) expect((await attempt(ip, victim.password)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await attempt(ip, 'wrong-password')).status).toBe(401);
    expect((await attempt(ip, victim.password)).status).toBe(200);
    expect((await attempt(ip, 'wrong-password')).status).toBe(429);
  });

  it('counts failures per one-minute window', async () => {
    const ip = nextIp();
    for (let i = 0; i < 5; i++) expect((await attempt(ip, 'wrong-password')).status).toBe(401);
    clock.advance(61_000);
    // A new window: five more failures are tolerated.
    for (let i = 0; i < 5; i++) expect((await attempt(ip, 'wrong-password')).status).toBe(401);
    expect((await attempt(ip, 'wrong-password')).status).toBe(429);
  });

  it('counts unknown usernames like wrong passwords', async () => {
    const ip = nextIp();
    for (let i = 0; i < 5; i++) {
      const res = await t.json(
        'POST',
        '/auth/login',
        { username: `ghost${i}`, password: 'x-password' },
        { 'x-test-peer': ip },
      );
      expect(res.status).toBe(401);
    }
    expect((await attempt(ip, 'wrong-password')).status).toBe(429);
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY is set', async () => {
    const ip = nextIp();
    for (let i = 0; i < 6; i++) await attempt(ip, 'wrong-password', { 'x-forwarded-for': `203.0.113.${i}` });
    expect((await attempt(ip, victim.password, { 'x-forwarded-for': '203.0.113.99' })).status).toBe(429);
  });
});

describe('login guard behind a trusted proxy', () => {
  it('keys on the X-Forwarded-For address the proxy appended', async () => {
    const t = await createTestApp({ env: { TRUST_PROXY: '1' } });
    try {
      const victim = await t.registerUser();
      const peer = { 'x-test-peer': '10.0.0.2' };
      for (let i = 0; i < 6; i++) {
        await t.json(
          'POST',
          '/auth/login',
          { username: victim.username, password: 'wrong-password' },
          { ...peer, 'x-forwarded-for': `6.6.6.${i}, 192.0.2.7` },
        );
      }
      const blocked = await t.json(
        'POST',
        '/auth/login',
        { username: victim.username, password: victim.password },
        { ...peer, 'x-forwarded-for': 'forged, 192.0.2.7' },
      );
      expect(blocked.status).toBe(429);
      const other = await t.json(
        'POST',
        '/auth/login',
        { username: victim.username, password: victim.password },
        { ...peer, 'x-forwarded-for': '192.0.2.8' },
      );
      expect(other.status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
