import { eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import * as z from 'zod';
import type { Database } from '../db/database';
import { users } from '../db/schema';
import { isUniqueViolation } from '../db/unique-violation';
import type { AppEnv } from '../deps';
import { ConflictError } from '../errors/conflict-error';
import { TooManyRequestsError } from '../errors/too-many-requests-error';
import { UnauthorizedError } from '../errors/unauthorized-error';
import { clientIp } from '../http/client-ip';
import { text } from '../http/storable-text';
import { validate } from '../http/validate';
import { requireAuth } from '../middleware/auth';
import { emailField, passwordField, usernameField } from '../users/user-fields';
import { authDocs } from './auth.openapi';
import { issueSession } from './session';

const registerBody = z.object({ username: usernameField, email: emailField, password: passwordField });

const loginBody = z
  .object({
    username: text().min(1).max(254).optional(),
    email: text().min(1).max(254).optional(),
    password: text().min(1).max(1024),
  })
  .refine((b) => b.username || b.email, { message: 'username or email is required', path: ['username'] })
  .meta({ anyOf: [{ required: ['username'] }, { required: ['email'] }], description: 'username or email is required' });

const refreshBody = z.object({ refreshToken: text().min(1).max(512) });

const INVALID_CREDENTIALS = 'Invalid username, email or password';
const TOO_MANY_LOGINS = 'Too many login attempts from this address';
const TAKEN = 'Username or email is already registered';

export const authRoutes = new Hono<AppEnv>()
  .post('/register', authDocs.register, validate('json', registerBody), async (c) => {
    const { deps } = c.var;
    const wait = await deps.registrationLimit.hit(clientIp(c));
    if (wait !== null) throw new TooManyRequestsError(wait, 'Too many registrations from this address');
    const body = c.req.valid('json');
    // Before bcrypt: a duplicate costs one indexed lookup, not a hash. The answer is the same
    // whichever of the two is taken (the 409 itself is what the spec says a duplicate gets).
    if (await deps.userQueries.isUsernameOrEmailTaken(body)) throw new ConflictError(TAKEN);
    const passwordHash = await deps.passwords.hash(body.password);
    try {
      const [user] = await deps.db
        .insert(users)
        .values({ username: body.username, email: body.email, passwordHash })
        .returning();
      if (!user) throw new Error('insert returned no row');
      return c.json(await issueSession(deps, user), 201);
    } catch (error) {
      // Registered by a concurrent request since the lookup.
      if (isUniqueViolation(error)) throw new ConflictError(TAKEN);
      throw error;
    }
  })
  .post('/login', authDocs.login, validate('json', loginBody), async (c) => {
    const { deps } = c.var;
    const ip = clientIp(c);
    // The attempt is counted before its password is checked, so parallel guesses cannot outrun the count.
    const wait = await deps.loginGuard.admit(ip);
    if (wait !== null) throw new TooManyRequestsError(wait, TOO_MANY_LOGINS);
    let settled = false;
    try {
      const body = c.req.valid('json');
      const user = await deps.userQueries.findUserByLogin(body);
      const ok = user
        ? await deps.passwords.verify(body.password, user.passwordHash)
        : await deps.passwords.verifyAgainstNobody(body.password);
      settled = true;
      if (!user || !ok) {
        const blockedFor = await deps.loginGuard.recordFailure(ip);
        if (blockedFor !== null) throw new TooManyRequestsError(blockedFor, TOO_MANY_LOGINS);
        throw new UnauthorizedError(INVALID_CREDENTIALS);
      }
      await deps.loginGuard.release(ip);
      return c.json(await issueSession(deps, user));
    } finally {
      // No answer either way (the database failed mid-check): the slot is given back.
      if (!settled) await deps.loginGuard.release(ip).catch(() => {});
    }
  })
  .post('/refresh', authDocs.refresh, validate('json', refreshBody), async (c) => {
    const { deps } = c.var;
    const { userId, refreshToken } = await deps.refreshTokens.rotate(c.req.valid('json').refreshToken);
    const user = await deps.userQueries.findUserById(userId);
    if (!user) throw new UnauthorizedError('Invalid or expired refresh token');
    return c.json(await issueSession(deps, user, refreshToken));
  })
  .post('/logout', authDocs.logout, validate('json', refreshBody), async (c) => {
    await c.var.deps.refreshTokens.revoke(c.req.valid('json').refreshToken);
    return c.body(null, 204);
  })
  .post('/logout-all', authDocs.logoutAll, requireAuth, async (c) => {
    const { db, refreshTokens, clock } = c.var.deps;
    const userId = c.get('user').id;
    // Both or neither: a half-done logout-everywhere would look done to the user.
    await db.transaction(async (tx) => {
      await tx
        .update(users)
        .set({ tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: clock() })
        .where(eq(users.id, userId));
      await refreshTokens.revokeAll(userId, tx as unknown as Database);
    });
    return c.body(null, 204);
  });
