import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, type RunningServer, startRedis } from './helpers/servers';
import { PROCESS_HOOK_MS, type SpawnedNode, spawnEntry, waitForHttp } from './helpers/spawn-node';
import { TEST_JWT_SECRET } from './helpers/test-app';

/** The real Node entry: migrations from scratch, admin bootstrap, socket IPs, graceful stop. */
describe('node server process', () => {
  let server: SpawnedNode;
  let base: string;
  // Its own Redis: this file blocks 127.0.0.1 in the login guard, which must not leak into other files' servers.
  let redis: RunningServer;

  beforeAll(async () => {
    const name = `srv_${crypto.randomUUID().replaceAll('-', '')}`;
    const admin = postgres(inject('postgresUrl'), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    redis = await startRedis();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawnEntry('src/node/server.ts', {
      BACKEND_PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: inject('postgresUrl').replace(/\/postgres$/, `/${name}`),
      REDIS_URL: redis.url,
      JWT_SECRET: TEST_JWT_SECRET,
      NODE_ENV: 'production',
      ADMIN_USERNAME: 'root_admin',
      ADMIN_EMAIL: 'root@example.com',
      ADMIN_PASSWORD: 'admin-password-123',
      LOG_LEVEL: 'info',
    });
    await waitForHttp(`${base}/health/live`);
  }, PROCESS_HOOK_MS);

  afterAll(async () => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    await redis?.stop();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('migrated an empty database and bootstrapped the admin', async () => {
    const health = await (await fetch(`${base}/health`)).json();
    expect(health.checks.db.status).toBe('up');
    expect(health.checks.redis.status).toBe('up');
    const login = await post('/auth/login', { username: 'root_admin', password: 'admin-password-123' });
    expect(login.status).toBe(200);
    const { user, accessToken } = await login.json();
    expect(user.role).toBe('admin');
    const users = await fetch(`${base}/admin/users`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(users.status).toBe(200);
  });

  it('takes the client IP from the socket and ignores a forged X-Forwarded-For', async () => {
    for (let i = 0; i < 6; i++) {
      await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.1.1.${i}` },
        body: JSON.stringify({ username: 'root_admin', password: 'wrong-password' }),
      });
    }
    const blocked = await post('/auth/login', { username: 'root_admin', password: 'admin-password-123' });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('logs JSON lines with request ids and without secrets', () => {
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(lines.some((l) => l.msg === 'request' && l.requestId && l.route === '/auth/login')).toBe(true);
    expect(server.output()).not.toContain('admin-password-123');
    expect(server.output()).not.toContain(TEST_JWT_SECRET);
  });

  it('puts the baseline headers on the wire for every kind of response; a handler’s own header wins', async () => {
    const docsAsset = (await (await fetch(`${base}/docs`)).text()).match(/assets\/([\w.-]+\.css)/)?.[1];
    const responses = {
      json: await fetch(`${base}/health/live`, { headers: { 'x-request-id': 'wire-1' } }),
      error: await fetch(`${base}/no-such-route`),
      unauthorized: await fetch(`${base}/profile`),
      html: await fetch(`${base}/docs`),
      asset: await fetch(`${base}/docs/assets/${docsAsset}`),
    };
    for (const [kind, res] of Object.entries(responses)) {
      await res.arrayBuffer();
      expect({ kind, nosniff: res.headers.get('x-content-type-options') }).toEqual({ kind, nosniff: 'nosniff' });
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('strict-transport-security')).toContain('max-age=');
      expect(res.headers.get('x-request-id')).toBeTruthy();
      // Each header once: the runtime's defaults and the app's own must not both go out.
      expect(res.headers.get('x-request-id')).not.toContain(',');
      expect(res.headers.get('content-type')).not.toContain(',');
    }
    expect(responses.json.headers.get('x-request-id')).toBe('wire-1');
    expect(responses.json.headers.get('cache-control')).toBe('no-store');
    expect(responses.json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(responses.error.status).toBe(404);
    expect(responses.unauthorized.status).toBe(401);
    expect(responses.html.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(responses.html.headers.get('referrer-policy')).toBe('no-referrer');
    expect(docsAsset).toBeTruthy();
    expect(responses.asset.status).toBe(200);
    expect(responses.asset.headers.get('cache-control')).toBe('public, max-age=86400');
  });

  it('stops cleanly on SIGTERM', async () => {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});

describe('bad configuration', () => {
  it('stops with one clear line per bad variable', async () => {
    const bad = spawnEntry('src/node/server.ts', {
      NODE_ENV: 'production',
      JWT_SECRET: 'short',
      BACKEND_PORT: 'eighty',
      DATABASE_URL: 'mysql://nope',
    });
    expect(await bad.exited).toBe(1);
    const out = bad.output();
    expect(out).toMatch(/config error: JWT_SECRET must be at least 32 bytes/);
    expect(out).toMatch(/config error: BACKEND_PORT/);
    expect(out).toMatch(/config error: DATABASE_URL must be a postgres:\/\/ URL/);
    expect(out).not.toMatch(/at .*\.ts:\d+/);
  });
});
