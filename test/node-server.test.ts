import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, type RunningServer, startRedis } from './helpers/servers';
import { type SpawnedNode, spawnEntry, waitForHttp } from './helpers/spawn-node';
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
  }, 60_000);

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
