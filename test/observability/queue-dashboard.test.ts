import { readdirSync } from 'node:fs';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as z from 'zod';
import { createQueueDashboard } from '../../src/node/queue-dashboard';
import { readJson } from '../helpers/read-json';
import { createTestApp } from '../helpers/test-app';

/** Bull Board at /admin/queues over a real BullMQ queue in the shared test Redis. */
describe('Bull Board (/admin/queues)', () => {
  const prefix = `dash${crypto.randomUUID().slice(0, 8)}`;
  const name = 'workflow-runs';
  let redis: Redis;
  let queue: Queue;
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let admin: Awaited<ReturnType<typeof t.registerUser>>;
  let user: Awaited<ReturnType<typeof t.registerUser>>;
  const script = readdirSync('node_modules/@bull-board/ui/dist/static/js').find((f) => f.startsWith('main.'));
  const asset = `/admin/queues/static/js/${script}`;

  beforeAll(async () => {
    redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    queue = new Queue(name, { connection: redis, prefix });
    t = await createTestApp({ overrides: { queueDashboard: createQueueDashboard([queue]) } });
    admin = await t.registerUser('admin');
    user = await t.registerUser('user');
  });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    await redis.quit();
    await t.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => t.app.request(path, { headers });
  const put = (path: string, headers: Record<string, string>) => t.app.request(path, { method: 'PUT', headers });

  it('serves the page, its assets and its API to an admin only', async () => {
    expect(script).toBeDefined();
    for (const path of ['/admin/queues', asset, '/admin/queues/api/queues']) {
      const anonymous = await get(path);
      expect(anonymous.status, path).toBe(401);
      expect((await anonymous.json()).error.code).toBe('unauthorized');
      const plain = await get(path, user.auth);
      expect(plain.status, path).toBe(403);
      expect((await plain.json()).error.code).toBe('forbidden');
      expect((await get(path, { authorization: 'Bearer forged.token.value' })).status, path).toBe(401);
    }

    const page = await get('/admin/queues', admin.auth);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('Workflow queues');
    expect(html).toContain(`static/js/${script}`);

    const js = await get(asset, admin.auth);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);

    const api = await get('/admin/queues/api/queues', admin.auth);
    expect(api.status).toBe(200);
    // Bull Board's own API: the part of its answer this test reads.
    const body = await readJson(api, z.object({ queues: z.array(z.object({ name: z.string() })) }));
    expect(body.queues.map((q) => q.name)).toEqual([name]);
  });

  it('turns ?token= into a short-lived HttpOnly cookie and strips it from the URL', async () => {
    const refused = await get(`/admin/queues?token=${user.accessToken}`);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('set-cookie')).toBeNull();

    const res = await get(`/admin/queues/queue/${name}?status=failed&token=${admin.accessToken}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/admin/queues/queue/${name}?status=failed`);
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^queues_token=/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/admin/queues');
    expect(cookie).toMatch(/Max-Age=900/);

    const jar = { cookie: cookie.split(';')[0] as string };
    expect((await get('/admin/queues', jar)).status).toBe(200);
    expect((await get(asset, jar)).status).toBe(200);
    expect((await get('/admin/queues/api/queues', jar)).status).toBe(200);
    // The cookie is scoped to the dashboard: the rest of the API still wants a Bearer token.
    expect((await get('/profile', jar)).status).toBe(401);
    // A user's token in a cookie is no better than in a header.
    expect((await get('/admin/queues', { cookie: `queues_token=${user.accessToken}` })).status).toBe(403);
  });

  it('marks the cookie Secure over HTTPS, also behind a TLS-terminating proxy (TRUST_PROXY + X-Forwarded-Proto)', async () => {
    const proxied = await createTestApp({
      db: t.db,
      env: { TRUST_PROXY: '1' },
      overrides: { queueDashboard: createQueueDashboard([queue]) },
    });
    const cookieOf = async (app: typeof t.app, url: string, headers: Record<string, string> = {}) => {
      const res = await app.request(url, { headers });
      expect(res.status).toBe(303);
      return res.headers.get('set-cookie') ?? '';
    };
    const login = `/admin/queues?token=${admin.accessToken}`;

    expect(await cookieOf(proxied.app, login, { 'x-forwarded-proto': 'https' })).toContain('; Secure');
    expect(await cookieOf(proxied.app, login, { 'x-forwarded-proto': 'http, https' })).toContain('; Secure');
    expect(await cookieOf(proxied.app, login, { 'x-forwarded-proto': 'http' })).not.toContain('Secure');
    expect(await cookieOf(proxied.app, login)).not.toContain('Secure');
    expect(await cookieOf(t.app, `https://api.example.com${login}`)).toContain('; Secure');
    // Without TRUST_PROXY the header is anybody's to send: it changes nothing.
    expect(await cookieOf(t.app, login, { 'x-forwarded-proto': 'https' })).not.toContain('Secure');
  });

  it('retries failed jobs and cleans jobs through the dashboard API', async () => {
    // A failed job, the way BullMQ records one: a worker's processor threw.
    await queue.add('run', { runId: 'boom' }, { jobId: 'failing-job', attempts: 1 });
    const workerConnection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    const worker = new Worker(
      name,
      async () => {
        throw new Error('tool server on fire');
      },
      { connection: workerConnection, prefix },
    );
    const failedJob = await new Promise<string>((resolve) => worker.once('failed', (job) => resolve(job?.id ?? '')));
    await worker.close();
    await workerConnection.quit();
    expect(failedJob).toBe('failing-job');
    expect(await queue.getJobState('failing-job')).toBe('failed');

    expect((await put(`/admin/queues/api/queues/${name}/retry/failed`, user.auth)).status).toBe(403);
    const retried = await put(`/admin/queues/api/queues/${name}/retry/failed`, admin.auth);
    expect(retried.status).toBe(200);
    expect(await queue.getJobState('failing-job')).toBe('waiting');

    // Clean one job...
    const cleanOne = await put(`/admin/queues/api/queues/${name}/failing-job/clean`, admin.auth);
    expect(cleanOne.status).toBe(204);
    expect(await queue.getJob('failing-job')).toBeUndefined();

    // ...and every delayed job older than Bull Board's 5 s grace period.
    const old = Date.now() - 60_000;
    for (const id of ['d1', 'd2'])
      await queue.add('run', { runId: id }, { jobId: id, delay: 3_600_000, timestamp: old });
    expect(await queue.getDelayedCount()).toBe(2);
    const cleanAll = await put(`/admin/queues/api/queues/${name}/clean/delayed`, admin.auth);
    expect(cleanAll.status).toBe(200);
    expect(await queue.getDelayedCount()).toBe(0);
  });
});
