import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../src/auth/access-tokens';
import { createTestApp, TestClock } from './helpers/test-app';

// The shortcuts bench/http.ts led to (browserCors, skipBodyless, the prepared user lookup)
// must not change what a client sees.
describe('HTTP fast paths', () => {
  let a: Awaited<ReturnType<typeof createTestApp>>;
  let b: Awaited<ReturnType<typeof createTestApp>>;

  beforeAll(async () => {
    a = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    b = await createTestApp();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('a request without Origin gets no CORS headers but still Vary: Origin and the secure headers', async () => {
    const res = await a.app.request('/health/live');
    expect(res.status).toBe(200);
    expect([...res.headers.keys()].filter((k) => k.startsWith('access-control-'))).toEqual([]);
    expect(res.headers.get('vary')).toContain('Origin');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('a request with an allowed Origin gets the full CORS treatment', async () => {
    const res = await a.app.request('/health/live', { headers: { origin: 'https://app.example.com' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it('errors on GET keep their headers and JSON body', async () => {
    const res = await a.app.request('/no-such-route');
    expect(res.status).toBe(404);
    expect(res.headers.get('vary')).toContain('Origin');
    expect((await res.json()).error.code).toBe('not_found');
  });

  it('the prepared user lookup is per database: each app finds its own users', async () => {
    const ua = await a.registerUser();
    const ub = await b.registerUser();
    for (const [t, u] of [
      [a, ua],
      [b, ub],
      [a, ua],
    ] as const) {
      const res = await t.app.request('/profile', { headers: u.auth });
      expect(res.status).toBe(200);
      expect((await res.json()).user.username).toBe(u.username);
    }
    // A valid token from the other database's user is not a user here.
    expect((await b.app.request('/profile', { headers: ua.auth })).status).toBe(404);
  });
});

describe('AccessTokens verified-token cache', () => {
  it('serves a repeated token from the cache but still refuses it once expired, and never a tampered one', async () => {
    const clock = new TestClock();
    const tokens = new AccessTokens({
      secret: 'a-test-secret-that-is-at-least-32-bytes',
      issuer: 'iss',
      audience: 'aud',
      ttlSeconds: 60,
      clock: clock.fn,
    });
    const claims = { userId: crypto.randomUUID(), username: 'alice', role: 'user' as const };
    const token = await tokens.sign(claims);
    expect(await tokens.verify(token)).toEqual(claims);
    const again = await tokens.verify(token);
    expect(again).toEqual(claims);
    again.role = 'admin';
    expect((await tokens.verify(token)).role).toBe('user');

    const [header, payload, signature] = token.split('.');
    const flipped = `${signature?.slice(0, -2)}${signature?.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(tokens.verify(`${header}.${payload}.${flipped}`)).rejects.toThrow(/invalid access token/);

    clock.advance(59_000);
    expect(await tokens.verify(token)).toEqual(claims);
    clock.advance(1000);
    await expect(tokens.verify(token)).rejects.toThrow(/expired/i);
    await expect(tokens.verify(token)).rejects.toThrow(/expired/i);
  });
});
