import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../src/logging/logger';
import { createTestApp } from './helpers/test-app';

const logged: unknown[] = [];
const capturingLogger: Logger = {
  debug: (f, m) => logged.push({ ...f, m }),
  info: (f, m) => logged.push({ ...f, m }),
  warn: (f, m) => logged.push({ ...f, m }),
  error: (f, m) => logged.push({ ...f, m }),
};

let t: Awaited<ReturnType<typeof createTestApp>>;
beforeAll(async () => {
  t = await createTestApp({ logger: capturingLogger, env: { CORS_ORIGINS: 'https://app.example.com' } });
});
afterAll(() => t.close());

describe('request hygiene', () => {
  it('413 for bodies over 1 MiB, by header or by streamed size', async () => {
    const big = JSON.stringify({ username: 'x'.repeat(1024 * 1024 + 10) });
    const res = await t.app.request('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('payload_too_large');

    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode('a'.repeat(64 * 1024)));
        controller.close();
      },
    });
    const chunked = await t.app.request('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it('400 for malformed JSON, 415 for non-JSON bodies', async () => {
    for (const body of ['{bad', '{"a":', '', 'null x']) {
      const res = await t.app.request('/auth/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status, body).toBe(400);
      expect((await res.json()).error.code).toBe('bad_request');
    }
    const form = await t.app.request('/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=a&password=b',
    });
    expect(form.status).toBe(415);
    const text = await t.app.request('/auth/register', { method: 'POST', body: 'hello' });
    expect(text.status).toBe(415);
    expect((await text.json()).error).toEqual({
      code: 'unsupported_media_type',
      message: 'Request body must be application/json',
    });
  });

  it('wrong JSON types are 400, never 500', async () => {
    const bodies = [[], 'string', 123, true, { username: null }, { username: {}, email: [], password: 1 }];
    for (const body of bodies) {
      const res = await t.json('POST', '/auth/register', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const u = await t.registerUser();
    const prototypePollution = await t.app.request('/projects', {
      method: 'POST',
      headers: { ...u.auth, 'content-type': 'application/json' },
      body: '{"name":"p","__proto__":{"role":"admin"},"constructor":{"prototype":{"x":1}}}',
    });
    expect(prototypePollution.status).toBe(201);
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });

  it('unknown routes are JSON 404s', async () => {
    const res = await t.app.request('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'Route not found' } });
  });

  it('echoes a sane X-Request-Id and replaces an unsafe one', async () => {
    const given = await t.app.request('/health/live', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const unsafe = await t.app.request('/health/live', { headers: { 'x-request-id': 'a b\u00e9<script>' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const none = await t.app.request('/health/live');
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets secure headers', async () => {
    const res = await t.app.request('/health/live');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    expect(res.headers.get('strict-transport-security')).toContain('max-age');
  });

  it('CORS: only allow-listed origins get CORS headers', async () => {
    const allowed = await t.app.request('/health/live', { headers: { origin: 'https://app.example.com' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const denied = await t.app.request('/health/live', { headers: { origin: 'https://evil.example.com' } });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await t.app.request('/projects', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('logs requests without passwords, tokens or hashes', async () => {
    logged.length = 0;
    const u = await t.registerUser();
    await t.json('POST', '/auth/login', { username: u.username, password: u.password });
    await t.json('POST', '/auth/refresh', { refreshToken: u.refreshToken });
    await t.app.request('/profile', { headers: u.auth });
    // Request lines are written after the response, in the same event-loop turn's check phase.
    await new Promise((resolve) => setImmediate(resolve));
    const text = JSON.stringify(logged);
    expect(logged.length).toBeGreaterThanOrEqual(4);
    expect(text).toContain(u.user.id);
    expect(text).not.toContain(u.password);
    expect(text).not.toContain(u.accessToken);
    expect(text).not.toContain(u.refreshToken);
    expect(text).not.toMatch(/\$2[aby]\$/);
  });
});

describe('unexpected failures', () => {
  it('render a bland 500 with no stack, SQL or secrets, and log the detail', async () => {
    const broken = await createTestApp({
      db: t.db,
      logger: capturingLogger,
      overrides: {
        loginGuard: {
          admit: async () => {
            throw new Error('select * from login_guards where password = $1 -- secret');
          },
          release: async () => {},
          recordFailure: async () => null,
        },
      },
    });
    logged.length = 0;
    const res = await broken.json('POST', '/auth/login', { username: 'a', password: 'b' });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: 'Internal server error' } });
    expect(text).not.toMatch(/select|stack|secret/i);
    expect(JSON.stringify(logged)).toContain('unhandled error');
  });
});

describe('last admin', () => {
  it('cannot be demoted', async () => {
    const solo = await createTestApp();
    try {
      const admin = await solo.registerUser('admin');
      const res = await solo.json('PATCH', `/admin/users/${admin.user.id}`, { role: 'user' }, admin.auth);
      expect(res.status).toBe(409);
      const second = await solo.registerUser('admin');
      expect((await solo.json('PATCH', `/admin/users/${admin.user.id}`, { role: 'user' }, second.auth)).status).toBe(
        200,
      );
    } finally {
      await solo.close();
    }
  });
});
