import { Hono } from 'hono';
import type { AppEnv } from '../deps';
import { NotFoundError } from '../errors/not-found-error';
import { requireAuth } from '../middleware/auth';
import { profileDocs } from './users.openapi';
import { toPublicUser } from './public-user';

export const profileRoutes = new Hono<AppEnv>().get('/', profileDocs.get, requireAuth, async (c) => {
  const user = await c.get('deps').userQueries.findUserById(c.get('user').id);
  // A valid token for a deleted user: the account is gone, say so without detail.
  if (!user) throw new NotFoundError('User not found');
  return c.json({ user: toPublicUser(user) });
});
