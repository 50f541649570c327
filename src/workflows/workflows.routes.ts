import { and, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import type { Database } from '../db/database';
import { newestFirstPage } from '../db/newest-first-page';
import { projects, type Workflow, workflows } from '../db/schema';
import type { AppEnv } from '../deps';
import { NotFoundError } from '../errors/not-found-error';
import { ValidationError } from '../errors/validation-error';
import { idParam } from '../http/id-param';
import { paginationQuery } from '../http/pagination';
import { validate } from '../http/validate';
import { requireAuth } from '../middleware/auth';
import { workflowDocs } from './workflows.openapi';
import { assertStepToolsAllowed } from './allowed-tools-check';
import { workflowBody } from './step-schema';
import { toWorkflowJson } from './workflow-json';
import { visibleWorkflows } from './workflow-queries';

const NOT_FOUND = 'Workflow not found';

/** A project id must name one of the workflow owner's projects; anything else is a 400 on `projectId`. */
async function checkProject(db: Database, ownerId: string, projectId: string | null | undefined): Promise<void> {
  if (!projectId) return;
  const [project] = await db
    .select({ id: projects.id })
    .from(projects)
    .where(and(eq(projects.id, projectId), eq(projects.ownerId, ownerId)))
    .limit(1);
  if (!project) {
    throw new ValidationError('Invalid body: projectId: project not found', [
      { path: 'projectId', code: 'not_found', message: 'project not found' },
    ]);
  }
}

/** CRUD of workflow definitions. Runs live in src/runs/runs.routes.ts (mounted first: /queue and /runs/* before /:id). */
export const workflowRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .post('/', workflowDocs.create, validate('json', workflowBody), async (c) => {
    const { db } = c.var.deps;
    const body = c.req.valid('json');
    assertStepToolsAllowed(c.var.deps.toolPolicy, body.steps);
    await checkProject(db, c.var.user.id, body.projectId);
    const [workflow] = await db
      .insert(workflows)
      .values({
        ownerId: c.var.user.id,
        projectId: body.projectId ?? null,
        name: body.name,
        description: body.description ?? null,
        steps: body.steps,
      })
      .returning();
    return c.json({ workflow: toWorkflowJson(workflow as Workflow) }, 201);
  })
  .get('/', workflowDocs.list, validate('query', paginationQuery), async (c) => {
    const { db } = c.var.deps;
    const page = c.req.valid('query');
    return c.json(await newestFirstPage(db, workflows, visibleWorkflows(c.var.user), page, toWorkflowJson));
  })
  .get('/:id', workflowDocs.get, validate('param', idParam), async (c) => {
    const [workflow] = await c.var.deps.db
      .select()
      .from(workflows)
      .where(visibleWorkflows(c.var.user, c.req.valid('param').id))
      .limit(1);
    if (!workflow) throw new NotFoundError(NOT_FOUND);
    return c.json({ workflow: toWorkflowJson(workflow) });
  })
  .put('/:id', workflowDocs.update, validate('param', idParam), validate('json', workflowBody), async (c) => {
    const { db, clock } = c.var.deps;
    const body = c.req.valid('json');
    assertStepToolsAllowed(c.var.deps.toolPolicy, body.steps);
    const where = visibleWorkflows(c.var.user, c.req.valid('param').id);
    const [existing] = await db.select({ ownerId: workflows.ownerId }).from(workflows).where(where).limit(1);
    if (!existing) throw new NotFoundError(NOT_FOUND);
    await checkProject(db, existing.ownerId, body.projectId);
    // Runs already created keep their own copy of the steps; only new runs see the change.
    const [workflow] = await db
      .update(workflows)
      .set({
        name: body.name,
        description: body.description ?? null,
        steps: body.steps,
        projectId: body.projectId ?? null,
        updatedAt: clock(),
      })
      .where(where)
      .returning();
    if (!workflow) throw new NotFoundError(NOT_FOUND);
    return c.json({ workflow: toWorkflowJson(workflow) });
  })
  .delete('/:id', workflowDocs.remove, validate('param', idParam), async (c) => {
    const deleted = await c.var.deps.db
      .delete(workflows)
      .where(visibleWorkflows(c.var.user, c.req.valid('param').id))
      .returning({ id: workflows.id });
    if (deleted.length === 0) throw new NotFoundError(NOT_FOUND);
    return c.body(null, 204);
  });
