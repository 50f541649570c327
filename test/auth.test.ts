import { eq } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshTokens, users } from '../src/db/schema';
import { createTestApp, TEST_JWT_SECRET, TestClock } from './helpers/test-app';

const clock = new TestClock(new Date());
let t: Awaited<ReturnType<typeof createTestApp>>;

beforeAll(async () => {
  t = await createTestApp({ clock: clock.fn });
});
afterAll(() => t.close());

const secretKey = new TextEncoder().encode(TEST_JWT_SECRET);

async function profileWith(token: string) {
  return t.app.request('/profile', { headers: { authorization: `Bearer ${token}` } });
}

describe('register', () => {
  it('creates a user with role user and returns a session without the password hash', async () => {
    const res = await t.json('POST', '/auth/register', {
      username: 'Alice.W',
      email: 'Alice@Example.com',
      password: 'correct-horse',
      role: 'admin',
      id: '00000000-0000-0000-0000-000000000000',
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.user).toMatchObject({ username: 'Alice.W', email: 'Alice@Example.com', role: 'user' });
    expect(body.user.id).not.toBe('00000000-0000-0000-0000-000000000000');
    expect(body.expiresIn).toBe(900);
    expect(typeof body.accessToken).toBe('string');
    expect(typeof body.refreshToken).toBe('string');
    expect(JSON.stringify(body)).not.toMatch(/passwordHash|\$2[aby]\$/);

    const [row] = await t.db.select().from(users).where(eq(users.id, body.user.id));
    expect(row?.passwordHash).toMatch(/^\$2[aby]\$1\d\$/);
    expect(row?.role).toBe('user');
  });

  it('refuses a duplicate username or email, case-insensitively, with 409', async () => {
    const dupName = await t.json('POST', '/auth/register', {
      username: 'alice.w',
      email: 'other@example.com',
      password: 'correct-horse',
    });
    expect(dupName.status).toBe(409);
    const dupEmail = await t.json('POST', '/auth/register', {
      username: 'someone',
      email: 'ALICE@example.COM',
      password: 'correct-horse',
    });
    expect(dupEmail.status).toBe(409);
    expect((await dupEmail.json()).error.code).toBe('conflict');
  });

  it.each([
    [{ username: 'ab', email: 'x@example.com', password: 'correct-horse' }, 'username'],
    [{ username: 'bad name!', email: 'x@example.com', password: 'correct-horse' }, 'username'],
    [{ username: 'a'.repeat(33), email: 'x@example.com', password: 'correct-horse' }, 'username'],
    [{ username: 'valid_name', email: 'not-an-email', password: 'correct-horse' }, 'email'],
    [{ username: 'valid_name', email: 'x@example.com', password: 'short' }, 'password'],
    [{ username: 'valid_name', email: 'x@example.com', password: 'é'.repeat(37) }, 'password'],
    [{ username: 42, email: 'x@example.com', password: 'correct-horse' }, 'username'],
    [{ email: 'x@example.com', password: 'correct-horse' }, 'username'],
  ])('rejects %j with a 400 naming %s', async (body, field) => {
    const res = await t.json('POST', '/auth/register', body);
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe('validation_error');
    expect(error.details.map((d: { path: string }) => d.path)).toContain(field);
  });

  it('accepts a 72-byte password and refuses 73 bytes', async () => {
    const ok = await t.json('POST', '/auth/register', {
      username: 'longpass',
      email: 'longpass@example.com',
      password: 'p'.repeat(72),
    });
    expect(ok.status).toBe(201);
    const tooLong = await t.json('POST', '/auth/register', {
      username: 'longpass2',
      email: 'longpass2@example.com',
      password: 'p'.repeat(73),
    });
    expect(tooLong.status).toBe(400);
  });
});

describe('login', () => {
  it('logs in by username or by email, case-insensitively', async () => {
    const u = await t.registerUser();
    const byName = await t.json('POST', '/auth/login', { username: u.username.toUpperCase(), password: u.password });
    expect(byName.status).toBe(200);
    const byEmail = await t.json('POST', '/auth/login', { email: `${u.username}@EXAMPLE.com`, password: u.password });
    expect(byEmail.status).toBe(200);
    const body = await byEmail.json();
    expect(body.user.id).toBe(u.user.id);
    expect((await profileWith(body.accessToken)).status).toBe(200);
  });

  it('answers unknown user and wrong password identically', async () => {
    const u = await t.registerUser();
    const headers = { 'x-test-peer': '10.9.9.1' };
    const wrong = await t.json('POST', '/auth/login', { username: u.username, password: 'wrong-password' }, headers);
    const unknown = await t.json('POST', '/auth/login', { username: 'nobody_here', password: 'wrong-password' }, headers);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
  });

  it('requires an identifier and a password', async () => {
    expect((await t.json('POST', '/auth/login', { password: 'x' })).status).toBe(400);
    expect((await t.json('POST', '/auth/login', { username: 'x' })).status).toBe(400);
  });
});

describe('access tokens', () => {
  it('rejects a missing, malformed or non-bearer token', async () => {
    expect((await t.app.request('/profile')).status).toBe(401);
    expect((await profileWith('not.a.jwt')).status).toBe(401);
    const basic = await t.app.request('/profile', { headers: { authorization: 'Basic Zm9vOmJhcg==' } });
    expect(basic.status).toBe(401);
    expect((await basic.json()).error.code).toBe('unauthorized');
  });

  it('rejects alg:none, a wrong key, tampered claims, wrong iss/aud, and expiry', async () => {
    const u = await t.registerUser();
    const base = { sub: u.user.id, username: u.username, role: 'admin', jti: 'x' };
    const now = Math.floor(clock.now.getTime() / 1000);

    const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ ...base, iss: 'workflow-platform', aud: 'workflow-platform-api', iat: now, exp: now + 60 })}.`;
    expect((await profileWith(none)).status).toBe(401);

    const sign = (claims: object, key = secretKey, iss = 'workflow-platform', aud = 'workflow-platform-api') =>
      new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(iss)
        .setAudience(aud)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(key);

    const valid = await sign(base);
    expect((await profileWith(valid)).status).toBe(200);

    expect((await profileWith(await sign(base, new TextEncoder().encode('x'.repeat(40))))).status).toBe(401);
    expect((await profileWith(await sign(base, secretKey, 'someone-else'))).status).toBe(401);
    expect((await profileWith(await sign(base, secretKey, 'workflow-platform', 'other-api'))).status).toBe(401);

    // Flip the role in the payload but keep the original signature.
    const [h, p, s] = (await t.deps.accessTokens.sign({ userId: u.user.id, username: u.username, role: 'user' })).split('.');
    const claims = JSON.parse(Buffer.from(p as string, 'base64url').toString());
    const tampered = `${h}.${encode({ ...claims, role: 'admin' })}.${s}`;
    expect((await t.app.request('/admin/users', { headers: { authorization: `Bearer ${tampered}` } })).status).toBe(401);

    // HS384 with the right secret is still refused: the algorithm is pinned.
    const hs384 = await new SignJWT({ ...base })
      .setProtectedHeader({ alg: 'HS384' })
      .setIssuer('workflow-platform')
      .setAudience('workflow-platform-api')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(secretKey);
    expect((await profileWith(hs384)).status).toBe(401);

    const fresh = await t.deps.accessTokens.sign({ userId: u.user.id, username: u.username, role: 'user' });
    expect((await profileWith(fresh)).status).toBe(200);
    clock.advance(16 * 60 * 1000);
    const expired = await profileWith(fresh);
    expect(expired.status).toBe(401);
    expect((await expired.json()).error.message).toMatch(/invalid or expired/i);
  });
});

describe('refresh and logout', () => {
  it('rotates the refresh token on every use', async () => {
    const u = await t.registerUser();
    const res = await t.json('POST', '/auth/refresh', { refreshToken: u.refreshToken });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.refreshToken).not.toBe(u.refreshToken);
    expect(body.user.id).toBe(u.user.id);
    expect((await profileWith(body.accessToken)).status).toBe(200);

    const again = await t.json('POST', '/auth/refresh', { refreshToken: body.refreshToken });
    expect(again.status).toBe(200);
  });

  it('reuse of a rotated token revokes the whole family', async () => {
    const u = await t.registerUser();
    const first = await (await t.json('POST', '/auth/refresh', { refreshToken: u.refreshToken })).json();
    const reuse = await t.json('POST', '/auth/refresh', { refreshToken: u.refreshToken });
    expect(reuse.status).toBe(401);
    // The legitimate descendant is dead too: the thief and the victim both have to log in again.
    expect((await t.json('POST', '/auth/refresh', { refreshToken: first.refreshToken })).status).toBe(401);
    const live = await t.db.select().from(refreshTokens).where(eq(refreshTokens.userId, u.user.id));
    expect(live.every((r) => r.revokedAt !== null)).toBe(true);
  });

  it('concurrent use of one token lets at most one through', async () => {
    const u = await t.registerUser();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => t.json('POST', '/auth/refresh', { refreshToken: u.refreshToken })),
    );
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    expect(results.every((r) => r.status === 200 || r.status === 401)).toBe(true);
  });

  it('stores only a hash of the refresh token', async () => {
    const u = await t.registerUser();
    const rows = await t.db.select().from(refreshTokens).where(eq(refreshTokens.userId, u.user.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.tokenHash).not.toContain(u.refreshToken);
    expect(rows[0]?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses unknown and expired refresh tokens', async () => {
    expect((await t.json('POST', '/auth/refresh', { refreshToken: 'nope' })).status).toBe(401);
    expect((await t.json('POST', '/auth/refresh', {})).status).toBe(400);
    const u = await t.registerUser();
    clock.advance(31 * 24 * 3600 * 1000);
    expect((await t.json('POST', '/auth/refresh', { refreshToken: u.refreshToken })).status).toBe(401);
  });

  it('logout revokes the token; unknown tokens still answer 204', async () => {
    const u = await t.registerUser();
    expect((await t.json('POST', '/auth/logout', { refreshToken: u.refreshToken })).status).toBe(204);
    expect((await t.json('POST', '/auth/refresh', { refreshToken: u.refreshToken })).status).toBe(401);
    expect((await t.json('POST', '/auth/logout', { refreshToken: 'never-issued' })).status).toBe(204);
  });
});

describe('profile and admin', () => {
  it('returns the caller without the hash', async () => {
    const u = await t.registerUser();
    const res = await t.app.request('/profile', { headers: u.auth });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.user).toMatchObject({ id: u.user.id, username: u.username, role: 'user' });
    expect(Object.keys(body.user).sort()).toEqual(['createdAt', 'email', 'id', 'role', 'updatedAt', 'username']);
  });

  it('answers 404 on /profile for a deleted account holding a valid token', async () => {
    const u = await t.registerUser();
    await t.db.delete(users).where(eq(users.id, u.user.id));
    expect((await t.app.request('/profile', { headers: u.auth })).status).toBe(404);
  });

  it('admin routes: 401 anonymous, 403 for users, 200 for admins', async () => {
    const user = await t.registerUser();
    const admin = await t.registerUser('admin');
    expect((await t.app.request('/admin/users')).status).toBe(401);
    const forbidden = await t.app.request('/admin/users', { headers: user.auth });
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json()).error.code).toBe('forbidden');
    const patchForbidden = await t.json('PATCH', `/admin/users/${user.user.id}`, { role: 'admin' }, user.auth);
    expect(patchForbidden.status).toBe(403);

    const list = await t.app.request('/admin/users?limit=2', { headers: admin.auth });
    expect(list.status).toBe(200);
    const page = await list.json();
    expect(page.items).toHaveLength(2);
    expect(page.limit).toBe(2);
    expect(page.total).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(page)).not.toMatch(/passwordHash|\$2[aby]\$/);
  });

  it('admins change roles; the new role takes effect on the next token', async () => {
    const user = await t.registerUser();
    const admin = await t.registerUser('admin');
    const res = await t.json('PATCH', `/admin/users/${user.user.id}`, { role: 'admin' }, admin.auth);
    expect(res.status).toBe(200);
    expect((await res.json()).user.role).toBe('admin');
    const login = await (await t.json('POST', '/auth/login', { username: user.username, password: user.password })).json();
    expect(login.user.role).toBe('admin');
    const adminList = await t.app.request('/admin/users', { headers: { authorization: `Bearer ${login.accessToken}` } });
    expect(adminList.status).toBe(200);

    expect((await t.json('PATCH', `/admin/users/${user.user.id}`, { role: 'root' }, admin.auth)).status).toBe(400);
    expect((await t.json('PATCH', '/admin/users/not-a-uuid', { role: 'user' }, admin.auth)).status).toBe(400);
    expect(
      (await t.json('PATCH', `/admin/users/${crypto.randomUUID()}`, { role: 'user' }, admin.auth)).status,
    ).toBe(404);
  });
});
