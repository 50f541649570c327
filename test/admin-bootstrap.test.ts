import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordHasher } from '../src/auth/passwords';
import { users } from '../src/db/schema';
import { ensureAdmin } from '../src/users/ensure-admin';
import { readJson } from './helpers/read-json';
import { bodies } from './helpers/response-bodies';
import { freePort } from './helpers/servers';
import { type SpawnedNode, spawnEntry, waitForHttp } from './helpers/spawn-node';
import { createTestApp, createTestDatabase, TEST_JWT_SECRET } from './helpers/test-app';

const ADMIN = { username: 'ops', email: 'ops@example.com', password: 'operator-password-1' };

describe('admin bootstrap (ADMIN_*)', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  const passwords = new PasswordHasher(10);

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const register = async (username: string, email: string, password: string) => {
    const res = await t.json('POST', '/auth/register', { username, email, password });
    expect(res.status).toBe(201);
    return (await readJson(res, bodies.session)).user.id;
  };
  const roleOf = async (id: string) => (await t.db.select().from(users).where(eq(users.id, id)))[0]?.role;
  const byUsername = (username: string) =>
    t.db
      .select()
      .from(users)
      .where(sql`lower(${users.username}) = lower(${username})`);

  it('never promotes the account that only shares the email (someone registered OPS@example.com first)', async () => {
    const squatter = await register('mallory', 'OPS@example.com', 'mallory-password');
    expect(await ensureAdmin(t.db, passwords, ADMIN)).toBe('refused_email_taken');
    expect(await roleOf(squatter)).toBe('user');
    expect(await byUsername('ops')).toHaveLength(0);
    // Mallory's password still logs in as mallory, a user; the operator's logs in nowhere.
    const login = await t.json('POST', '/auth/login', { email: 'ops@example.com', password: ADMIN.password });
    expect(login.status).toBe(401);
  });

  it("never promotes a user with the username whose password is not ADMIN_PASSWORD (someone else's account)", async () => {
    const admin = { ...ADMIN, username: 'root', email: 'root@example.com' };
    const squatter = await register('ROOT', 'someone@example.com', 'squatter-password');
    expect(await ensureAdmin(t.db, passwords, admin)).toBe('refused_username_taken');
    expect(await roleOf(squatter)).toBe('user');
  });

  it('promotes the account with the username when ADMIN_PASSWORD is its password; an admin is left alone', async () => {
    const admin = { username: 'chief', email: 'chief@example.com', password: 'chief-password-1' };
    const id = await register('chief', 'chief.private@example.com', admin.password);
    expect(await ensureAdmin(t.db, passwords, admin)).toBe('promoted');
    expect(await roleOf(id)).toBe('admin');
    expect(await ensureAdmin(t.db, passwords, { ...admin, password: 'a-new-password-2' })).toBe('unchanged');
    // The password stays the one the account had (ADMIN_PASSWORD is for the first start).
    expect((await t.json('POST', '/auth/login', { username: 'chief', password: admin.password })).status).toBe(200);
  });

  it('creates the admin when nobody has the username or the email', async () => {
    const admin = { username: 'fresh_admin', email: 'fresh@example.com', password: 'fresh-password-1' };
    expect(await ensureAdmin(t.db, passwords, admin)).toBe('created');
    expect((await byUsername('fresh_admin'))[0]?.role).toBe('admin');
  });

  it('eight bootstraps at once: one creates, the others find it, none throws', async () => {
    const admin = { username: 'together', email: 'together@example.com', password: 'together-password' };
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => ensureAdmin(t.db, passwords, admin)));
    expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'unchanged')).toHaveLength(7);
    expect(await byUsername('together')).toHaveLength(1);
  });
});

describe('two API processes started at the same moment with the same ADMIN_*', () => {
  const servers: SpawnedNode[] = [];
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGKILL');
    await database?.close();
  });

  it('both come up; the admin exists once', async () => {
    const ports = [await freePort(), await freePort()];
    for (const port of ports) {
      servers.push(
        spawnEntry('src/node/server.ts', {
          BACKEND_PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: database.url,
          JWT_SECRET: TEST_JWT_SECRET,
          NODE_ENV: 'production',
          ADMIN_USERNAME: 'replica_admin',
          ADMIN_EMAIL: 'replica@example.com',
          ADMIN_PASSWORD: 'replica-password-1',
          LOG_LEVEL: 'info',
        }),
      );
    }
    const exitedEarly = Promise.race(servers.map((s, i) => s.exited.then((code) => ({ i, code }))));
    const up = await Promise.race([
      Promise.all(ports.map((port) => waitForHttp(`http://127.0.0.1:${port}/health`, 60_000))).then(() => 'up'),
      exitedEarly.then(({ i, code }) => `replica ${i} exited with ${code}: ${servers[i]?.output()}`),
    ]);
    expect(up).toBe('up');
    const outcomes = servers.map(
      (s) =>
        s
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg?: string; outcome?: string })
          .find((l) => l.msg === 'admin bootstrap')?.outcome,
    );
    expect(outcomes.sort()).toEqual(['created', 'unchanged']);
    const admins = await database.db.select().from(users).where(eq(users.username, 'replica_admin'));
    expect(admins.map((a) => a.role)).toEqual(['admin']);
  }, 90_000);
});
