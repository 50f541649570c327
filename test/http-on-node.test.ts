import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../src/auth/access-tokens';
import { BASELINE_RESPONSE_HEADERS } from '../src/http/baseline-headers';
import { createTestApp, TestClock } from './helpers/test-app';

// CORS only for requests with an Origin, the baseline headers and the prepared user lookup:
// what a client sees, in process and over a real socket.
describe('HTTP envelope', () => {
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

/** A raw HTTP/1.1 request: header values given as arrays go out as repeated header lines. */
function rawGet(url: string, headers: Record<string, string | string[]>) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

// The Node runtime reads request headers from the IncomingMessage and writes the baseline
// headers onto the ServerResponse (src/node/read-incoming-header.ts, preset-on-server-response.ts):
// served over a real socket, a client must see exactly what app.request() shows.
describe('HTTP envelope on @hono/node-server', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let server: ServerType;
  let base: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await t?.close();
  });

  it('every response carries each baseline header exactly once', async () => {
    for (const path of ['/health/live', '/no-such-route', '/profile', '/openapi.json']) {
      const res = await rawGet(`${base}${path}`, {});
      for (const [name, value] of BASELINE_RESPONSE_HEADERS) {
        expect({ path, name, value: res.headers[name.toLowerCase()] }).toEqual({ path, name, value });
      }
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('reads headers case-insensitively and joins duplicates, as Headers.get does', async () => {
    const user = await t.registerUser();
    const token = user.auth.authorization;
    expect((await rawGet(`${base}/profile`, { AUTHORIZATION: token })).status).toBe(200);
    // Two Authorization lines are one ambiguous header: refused, as on every other runtime.
    expect((await rawGet(`${base}/profile`, { authorization: [token, token] })).status).toBe(401);
    expect((await rawGet(`${base}/health/live`, { 'X-Request-ID': 'wire-2' })).headers['x-request-id']).toBe('wire-2');
    const joined = await rawGet(`${base}/health/live`, { 'x-request-id': ['a', 'b'] });
    expect(joined.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('decides body size and type from the headers when it can, and counts bodies of unknown length', async () => {
    const post = (path: string, body: string | Buffer, headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${base}${path}`, { method: 'POST', headers }, (res) => {
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        // Without Content-Length Node sends the body chunked.
        req.end(body);
      });
    const big = Buffer.alloc(1024 * 1024 + 1, 'a');
    const json = { 'content-type': 'application/json' };
    expect((await post('/auth/login', big, { ...json, 'content-length': String(big.length) })).status).toBe(413);
    expect((await post('/auth/login', big, json)).status).toBe(413);
    const login = JSON.stringify({ username: 'nobody_here', password: 'wrong-password-1' });
    expect((await post('/auth/login', login, { ...json, 'content-length': String(login.length) })).status).toBe(401);
    expect((await post('/auth/login', login, json)).status).toBe(401);
    expect((await post('/auth/login', login, { 'content-type': 'text/plain' })).status).toBe(415);
    const plain = { 'content-type': 'text/plain', 'content-length': String(login.length) };
    expect((await post('/auth/login', login, plain)).status).toBe(415);
    // An empty body needs no type; the route then says what is missing.
    const empty = await post('/auth/logout', '', { 'content-length': '0' });
    expect(empty.status).toBe(400);
    expect(JSON.parse(empty.body).error.code).toBe('validation_error');
  });

  it('answers a CORS preflight and a CORS GET with their headers and the baseline', async () => {
    const origin = 'https://app.example.com';
    const preflight = await new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = httpRequest(
        `${base}/projects`,
        { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(origin);
    expect(preflight.headers['x-content-type-options']).toBe('nosniff');
    const get = await rawGet(`${base}/health/live`, { origin });
    expect(get.headers['access-control-allow-origin']).toBe(origin);
    expect(get.headers.vary).toContain('Origin');
    expect(get.headers['x-frame-options']).toBe('DENY');
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
    const claims = { userId: crypto.randomUUID(), username: 'alice', role: 'user' as const, tokenVersion: 3 };
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
