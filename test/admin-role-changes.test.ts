import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson } from './helpers/read-json';
import { bodies } from './helpers/response-bodies';
import { createTestApp, createTestDatabase } from './helpers/test-app';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/**
 * Two API instances on one database, each with its own verified-token cache: what one does to a
 * role or to a user's sessions counts on the other at once, for the tokens already issued.
 */
describe('role changes and logout-everywhere take effect at once for admin power, across instances', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: TestApp;
  let b: TestApp;
  let root: Awaited<ReturnType<TestApp['registerUser']>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await createTestApp({ db: database.db });
    b = await createTestApp({ db: database.db });
    root = await a.registerUser('admin');
  });
  afterAll(async () => {
    await database.close();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const login = async (t: TestApp, username: string, password: string) => {
    const res = await t.json('POST', '/auth/login', { username, password });
    expect(res.status).toBe(200);
    return readJson(res, bodies.session);
  };
  const setRole = (t: TestApp, id: string, role: 'user' | 'admin', token: string) =>
    t.json('PATCH', `/admin/users/${id}`, { role }, bearer(token));
  const listUsers = (t: TestApp, token: string) => t.json('GET', '/admin/users', undefined, bearer(token));

  it('promote, then demote: the old admin token gets 403 on /admin/users at once and cannot re-promote itself', async () => {
    const user = await a.registerUser();
    // Its token says `user`; admin routes read the row, so the promotion counts at once.
    expect((await listUsers(b, user.accessToken)).status).toBe(403);
    expect((await setRole(a, user.user.id, 'admin', root.accessToken)).status).toBe(200);
    expect((await listUsers(b, user.accessToken)).status).toBe(200);

    const asAdmin = await login(b, user.username, user.password);
    expect(asAdmin.user.role).toBe('admin');
    // Both instances have now verified (and cached) the admin token.
    expect((await listUsers(a, asAdmin.accessToken)).status).toBe(200);
    expect((await listUsers(b, asAdmin.accessToken)).status).toBe(200);

    expect((await setRole(a, user.user.id, 'user', root.accessToken)).status).toBe(200);
    expect((await listUsers(b, asAdmin.accessToken)).status).toBe(403);
    expect((await listUsers(a, asAdmin.accessToken)).status).toBe(403);
    expect((await setRole(b, user.user.id, 'admin', asAdmin.accessToken)).status).toBe(403);
    expect((await setRole(b, root.user.id, 'user', asAdmin.accessToken)).status).toBe(403);

    // Nor does the old admin token still see everyone's projects.
    const rootProject = await a.json('POST', '/projects', { name: 'root only' }, root.auth);
    expect(rootProject.status).toBe(201);
    const { project } = await readJson(rootProject, bodies.project);
    expect((await b.json('GET', `/projects/${project.id}`, undefined, bearer(asAdmin.accessToken))).status).toBe(404);
    // The account itself still works as a user.
    expect((await b.json('GET', '/profile', undefined, bearer(asAdmin.accessToken))).status).toBe(200);
  });

  it('logout-everywhere on one instance retires every earlier session on the other at once', async () => {
    const admin = await a.registerUser('admin');
    const other = await login(b, admin.username, admin.password);
    for (const t of [a, b]) {
      expect((await listUsers(t, admin.accessToken)).status).toBe(200);
      expect((await listUsers(t, other.accessToken)).status).toBe(200);
    }

    expect((await a.json('POST', '/auth/logout-all', undefined, admin.auth)).status).toBe(204);

    for (const t of [a, b]) {
      expect((await listUsers(t, admin.accessToken)).status).toBe(401);
      expect((await listUsers(t, other.accessToken)).status).toBe(401);
      // A token claiming admin is checked on every route, not only under /admin.
      expect((await t.json('GET', '/projects', undefined, bearer(other.accessToken))).status).toBe(401);
    }
    expect((await b.json('POST', '/auth/refresh', { refreshToken: other.refreshToken })).status).toBe(401);
    expect((await a.json('POST', '/auth/refresh', { refreshToken: admin.refreshToken })).status).toBe(401);

    // A new login is a new session of the new version.
    const again = await login(b, admin.username, admin.password);
    expect((await listUsers(a, again.accessToken)).status).toBe(200);
  });

  it('logout-everywhere needs a valid access token', async () => {
    expect((await a.json('POST', '/auth/logout-all')).status).toBe(401);
    expect((await a.json('POST', '/auth/logout-all', undefined, bearer('not-a-token'))).status).toBe(401);
  });
});
