import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { openDatabase } from '../src/node/database';
import { freePort } from './helpers/servers';
import { createTestApp } from './helpers/test-app';

describe('health', () => {
  it('reports db and redis up', async () => {
    const redis = new Redis(inject('redisUrl'));
    const t = await createTestApp({ redis });
    try {
      const res = await t.app.request('/health');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.status).toBe('ok');
      expect(body.checks.db.status).toBe('up');
      expect(body.checks.redis.status).toBe('up');
      expect((await t.app.request('/health/live')).status).toBe(200);
    } finally {
      await t.close();
      await redis.quit();
    }
  });

  it('answers 503 when the database is down, while /health/live stays 200', async () => {
    const deadPort = await freePort();
    const dead = await openDatabase({
      databaseUrl: `postgres://postgres@127.0.0.1:${deadPort}/none`,
      maxConnections: 1,
    });
    const t = await createTestApp({ db: dead.db });
    try {
      const res = await t.app.request('/health');
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.status).toBe('degraded');
      expect(body.checks.db.status).toBe('down');
      expect((await t.app.request('/health/live')).status).toBe(200);
      // Every other route degrades to a clean 503 rather than a crash or a 500.
      const login = await t.json('POST', '/auth/login', { username: 'someone', password: 'password1' });
      expect(login.status).toBe(503);
      expect(login.headers.get('retry-after')).toBe('5');
      expect((await login.json()).error.code).toBe('service_unavailable');
    } finally {
      await dead.close();
    }
  });

  it('reports redis down without failing the whole service', async () => {
    const deadPort = await freePort();
    const redis = new Redis(`redis://127.0.0.1:${deadPort}`, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    const t = await createTestApp({ redis });
    try {
      const res = await t.app.request('/health');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.checks.redis.status).toBe('down');
      // Serving, but not as it should: degraded, and why.
      expect(body.status).toBe('degraded');
      expect(body.reasons).toEqual([expect.stringMatching(/^redis: not connected/)]);
    } finally {
      await t.close();
      redis.disconnect();
    }
  });
});
