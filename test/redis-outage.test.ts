import { once } from 'node:events';
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import type { PasswordHasher } from '../src/auth/passwords';
import { loginGuards } from '../src/db/schema';
import { createNodeDeps, type NodeDeps } from '../src/node/node-deps';
import { type RunningServer, startRedis } from './helpers/servers';
import { createTestDatabase, testConfig } from './helpers/test-app';
import { RecordingLogger } from './helpers/recording-logger';

/**
 * The API wired as `npm start` wires it (createNodeDeps with REDIS_URL), its Redis a real
 * server of its own that the test kills (SIGKILL) and starts again on the same port while
 * logins are going on. Nothing here waits on a clock: the test waits for events.
 */
describe('Redis killed and restarted under logins', () => {
  let redisServer: RunningServer;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let node: NodeDeps;
  let app: ReturnType<typeof createApp>;
  const logger = new RecordingLogger();
  /** Set to hold the next password check until the test lets it go. */
  let gate: { entered: () => void; release: Promise<void> } | undefined;
  const user = { username: 'outage_user', email: 'outage@example.com', password: 'correct-horse-battery' };

  beforeAll(async () => {
    [redisServer, database] = await Promise.all([startRedis(), createTestDatabase()]);
    const config = testConfig({ DATABASE_URL: database.url, REDIS_URL: redisServer.url });
    node = await createNodeDeps(config, logger);
    const real = node.deps.passwords;
    node.deps.passwords = Object.assign(Object.create(real) as PasswordHasher, {
      verify: async (password: string, hash: string) => {
        const held = gate;
        gate = undefined;
        if (held) {
          held.entered();
          await held.release;
        }
        return real.verify(password, hash);
      },
    });
    // app.request() has no socket: the test names the client address.
    node.deps.socketAddress = (c) => c.req.header('x-test-peer') ?? '127.0.0.1';
    app = createApp(node.deps);
    const redis = node.redis as Redis;
    // createNodeDeps waits for Redis a bounded time only; this test starts from a connected one.
    if (redis.status !== 'ready') await once(redis, 'ready');
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await database?.close();
    await redisServer?.stop();
  });

  const login = (password: string, peer: string) =>
    app.request('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-peer': peer },
      body: JSON.stringify({ username: user.username, password }),
    });
  const health = async () => (await app.request('/health')).json();
  /** Where the log stood when Redis was killed. */
  let killedAt = 0;
  const lines = (message: string, fields: Record<string, unknown> = {}) =>
    logger.lines
      .slice(killedAt)
      .filter((l) => l.message === message && Object.entries(fields).every(([k, v]) => l.fields[k] === v));

  it('counts in Redis while it is up', async () => {
    const res = await app.request('/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-peer': '198.51.100.1' },
      body: JSON.stringify(user),
    });
    expect(res.status).toBe(201);
    expect((await login('wrong-password', '198.51.100.1')).status).toBe(401);
    const probe = new Redis(redisServer.url);
    expect(await probe.hget('login-guard:198.51.100.1', 'failures')).toBe('1');
    await probe.quit();
    // No worker runs in this test: /health says so too (workers), so only redis is looked at.
    const up = await health();
    expect(up.checks.redis.status, JSON.stringify(up)).toBe('up');
  });

  it('a login in flight when Redis dies still gets its answer, and later ones are guarded in Postgres', async () => {
    let entered!: () => void;
    let release!: () => void;
    const inCheck = new Promise<void>((resolve) => {
      entered = resolve;
    });
    gate = { entered, release: new Promise<void>((resolve) => (release = resolve)) };
    const pending = login(user.password, '198.51.100.2');
    await inCheck;

    const reconnecting = node.redis as Redis;
    const closed = once(reconnecting, 'close');
    killedAt = logger.lines.length;
    redisServer.process.kill('SIGKILL');
    await once(redisServer.process, 'exit');
    await closed;
    release();
    expect((await pending).status).toBe(200);

    // The guard still works, in Postgres: five failures, then the sixth blocks the address.
    for (let i = 0; i < 5; i++) expect((await login('wrong-password', '198.51.100.3')).status).toBe(401);
    const blocked = await login('wrong-password', '198.51.100.3');
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('300');
    const [row] = await database.db.select().from(loginGuards).where(eq(loginGuards.ip, '198.51.100.3'));
    expect(row?.failures).toBe(6);
    expect((await login(user.password, '198.51.100.4')).status).toBe(200);

    const report = await health();
    expect(report.status).toBe('degraded');
    expect(report.checks.redis.status).toBe('down');
    expect(report.checks.db.status).toBe('up');
    expect(report.reasons).toContainEqual(expect.stringMatching(/^redis: not connected/));
  });

  it('logs the outage once per connection, not once per reconnect attempt', async () => {
    const api = node.redis as Redis;
    await new Promise<void>((resolve) => {
      let attempts = 0;
      const onAttempt = () => {
        if (++attempts < 4) return;
        api.off('reconnecting', onAttempt);
        resolve();
      };
      api.on('reconnecting', onAttempt);
    });
    expect(lines('redis unavailable', { redis: 'api' })).toHaveLength(1);
    expect(lines('rate-limit store unavailable')).toHaveLength(1);
    expect(logger.lines.filter((l) => l.message === 'redis error')).toHaveLength(0);
  });

  it('when Redis is back, counting returns to it and /health is ok again', async () => {
    const api = node.redis as Redis;
    const ready = once(api, 'ready');
    redisServer = await startRedis({ port: redisServer.port });
    await ready;
    // No worker runs in this test: /health says so too (workers), so only redis is looked at.
    const up = await health();
    expect(up.checks.redis.status, JSON.stringify(up)).toBe('up');
    expect((await login('wrong-password', '198.51.100.5')).status).toBe(401);
    const probe = new Redis(redisServer.url);
    expect(await probe.hget('login-guard:198.51.100.5', 'failures')).toBe('1');
    await probe.quit();
    expect(lines('redis available again', { redis: 'api' })).toHaveLength(1);
    expect(lines('rate-limit store available again')).toHaveLength(1);
  });
});
