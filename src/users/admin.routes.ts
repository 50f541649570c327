import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import * as z from 'zod';
import { newestFirstPage } from '../db/newest-first-page';
import { users } from '../db/schema';
import type { AppEnv } from '../deps';
import { ConflictError } from '../errors/conflict-error';
import { NotFoundError } from '../errors/not-found-error';
import { idParam } from '../http/id-param';
import { paginationQuery } from '../http/pagination';
import { validate } from '../http/validate';
import { requireAdmin } from '../middleware/auth';
import { toPublicUser } from './public-user';
import { adminDocs } from './users.openapi';

const roleBody = z.object({ role: z.enum(['user', 'admin']) });

export const adminRoutes = new Hono<AppEnv>()
  // Scoped to /users: /admin/queues (Bull Board, Node only) authenticates its own way (cookie for the browser UI).
  .use('/users/*', requireAdmin)
  .get('/users', adminDocs.listUsers, validate('query', paginationQuery), async (c) => {
    const { db } = c.var.deps;
    const page = c.req.valid('query');
    return c.json(await newestFirstPage(db, users, undefined, page, toPublicUser));
  })
  .patch('/users/:id', adminDocs.setRole, validate('param', idParam), validate('json', roleBody), async (c) => {
    const { db, clock } = c.var.deps;
    const { id } = c.req.valid('param');
    const { role } = c.req.valid('json');
    const updated = await db.transaction(async (tx) => {
      const [target] = await tx.select().from(users).where(eq(users.id, id)).for('update');
      if (!target) throw new NotFoundError('User not found');
      if (target.role === 'admin' && role === 'user') {
        // Locking every admin row serialises concurrent demotions, so two can't both pass the check.
        const admins = await tx.select({ id: users.id }).from(users).where(eq(users.role, 'admin')).for('update');
        if (admins.length <= 1) throw new ConflictError('Cannot demote the last admin');
      }
      const [row] = await tx.update(users).set({ role, updatedAt: clock() }).where(eq(users.id, id)).returning();
      return row;
    });
    if (!updated) throw new NotFoundError('User not found');
    return c.json({ user: toPublicUser(updated) });
  });
