import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, runMigrations } from '../src/node/database';
import { createTestApp } from './helpers/test-app';

describe('embedded PGlite database (the zero-config `npm start` mode)', () => {
  it('migrates and serves the same API, and keeps data across reopen', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wfp-pglite-'));
    try {
      const first = await openDatabase({ dataDir: dir });
      expect(first.kind).toBe('pglite');
      await runMigrations({ database: first });
      const t = await createTestApp({ db: first.db });
      const u = await t.registerUser();
      const created = await t.json('POST', '/projects', { name: 'On PGlite' }, u.auth);
      expect(created.status).toBe(201);
      const dup = await t.json('POST', '/auth/register', {
        username: u.username.toUpperCase(),
        email: 'fresh@example.com',
        password: 'correct-horse',
      });
      expect(dup.status).toBe(409);
      const login = await t.json('POST', '/auth/login', { username: u.username, password: u.password });
      expect(login.status).toBe(200);
      const { refreshToken } = await login.json();
      expect((await t.json('POST', '/auth/refresh', { refreshToken })).status).toBe(200);
      expect((await t.json('POST', '/auth/refresh', { refreshToken })).status).toBe(401);
      expect((await t.app.request('/health')).status).toBe(200);
      await first.close();

      // Re-running migrations on an existing data dir is a no-op, and the data is still there.
      const second = await openDatabase({ dataDir: dir });
      await runMigrations({ database: second });
      const again = await createTestApp({ db: second.db });
      const relogin = await again.json('POST', '/auth/login', { username: u.username, password: u.password });
      expect(relogin.status).toBe(200);
      const list = await again.app.request('/projects', {
        headers: { authorization: `Bearer ${(await relogin.json()).accessToken}` },
      });
      expect((await list.json()).total).toBe(1);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
