import { Hono } from 'hono';
import * as z from 'zod';
import { newestFirstPage } from '../db/newest-first-page';
import { type Project, projects } from '../db/schema';
import type { AppEnv } from '../deps';
import { NotFoundError } from '../errors/not-found-error';
import { idParam } from '../http/id-param';
import { paginationQuery } from '../http/pagination';
import { text, trimmedName } from '../http/storable-text';
import { validate } from '../http/validate';
import { requireAuth } from '../middleware/auth';
import { toProjectJson } from './project-json';
import { visibleProjects } from './project-queries';
import { projectDocs } from './projects.openapi';

const projectBody = z.object({
  name: trimmedName(200),
  description: text().max(5000).nullish(),
});

const NOT_FOUND = 'Project not found';

export const projectRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .post('/', projectDocs.create, validate('json', projectBody), async (c) => {
    const body = c.req.valid('json');
    const [project] = await c.var.deps.db
      .insert(projects)
      .values({ ownerId: c.var.user.id, name: body.name, description: body.description ?? null })
      .returning();
    return c.json({ project: toProjectJson(project as Project) }, 201);
  })
  .get('/', projectDocs.list, validate('query', paginationQuery), async (c) => {
    const { db } = c.var.deps;
    const page = c.req.valid('query');
    return c.json(await newestFirstPage(db, projects, visibleProjects(c.var.user), page, toProjectJson));
  })
  .get('/:id', projectDocs.get, validate('param', idParam), async (c) => {
    const [project] = await c.var.deps.db
      .select()
      .from(projects)
      .where(visibleProjects(c.var.user, c.req.valid('param').id))
      .limit(1);
    if (!project) throw new NotFoundError(NOT_FOUND);
    return c.json({ project: toProjectJson(project) });
  })
  .put('/:id', projectDocs.update, validate('param', idParam), validate('json', projectBody), async (c) => {
    const body = c.req.valid('json');
    const [project] = await c.var.deps.db
      .update(projects)
      .set({ name: body.name, description: body.description ?? null, updatedAt: c.var.deps.clock() })
      .where(visibleProjects(c.var.user, c.req.valid('param').id))
      .returning();
    if (!project) throw new NotFoundError(NOT_FOUND);
    return c.json({ project: toProjectJson(project) });
  })
  .delete('/:id', projectDocs.remove, validate('param', idParam), async (c) => {
    const deleted = await c.var.deps.db
      .delete(projects)
      .where(visibleProjects(c.var.user, c.req.valid('param').id))
      .returning({ id: projects.id });
    if (deleted.length === 0) throw new NotFoundError(NOT_FOUND);
    return c.body(null, 204);
  });
