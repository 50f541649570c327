import { type Context, Hono } from 'hono';
import * as z from 'zod';
import { runStatus } from '../db/schema';
import type { AppEnv } from '../deps';
import { ValidationError } from '../errors/validation-error';
import { idParam } from '../http/id-param';
import { paginationQuery } from '../http/pagination';
import { jsonObject, text } from '../http/storable-text';
import { malformedJson, parseWith, validate } from '../http/validate';
import { requireAuth } from '../middleware/auth';
import { toRunJson } from './run-json';
import { runDocs } from './runs.openapi';

const executeBody = z.object({ input: jsonObject().default({}) });
const idempotencyKey = text().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 visible ASCII characters');
const runIdParam = z.object({ runId: z.uuid({ message: 'must be a UUID' }) });
const queueQuery = paginationQuery.extend({ status: z.enum(runStatus.enumValues).optional() });

/**
 * `{input?}`; the body may be empty (no content at all), unlike other routes' bodies. A body
 * declared empty is not read: on @hono/node-server reading builds a whole undici Request.
 */
async function readExecuteBody(c: Context<AppEnv>): Promise<z.infer<typeof executeBody>> {
  const body = c.req.header('content-length') === '0' ? '' : await c.req.raw.text();
  let raw: unknown = {};
  if (body.trim()) {
    try {
      raw = JSON.parse(body);
    } catch {
      throw malformedJson();
    }
  }
  return parseWith('json', executeBody, raw);
}

function readIdempotencyKey(c: Context<AppEnv>): string | undefined {
  const raw = c.req.header('idempotency-key');
  if (raw === undefined) return undefined;
  const key = idempotencyKey.safeParse(raw);
  if (!key.success) throw new ValidationError('Invalid Idempotency-Key header: must be 1-255 visible ASCII characters');
  return key.data;
}

/**
 * Executions: execute, the caller's queue, runs with per-step detail, cancel, retry. HTTP only:
 * the changes and reads are RunService's. Mounted before workflowRoutes.
 */
export const runRoutes = new Hono<AppEnv>()
  .use(requireAuth)
  .get('/queue', runDocs.queue, validate('query', queueQuery), async (c) =>
    c.json(await c.var.deps.runs.queue(c.var.user, c.req.valid('query'))),
  )
  .get('/runs/:runId', runDocs.get, validate('param', runIdParam), async (c) => {
    const { run, statusDetail } = await c.var.deps.runs.get(c.var.user, c.req.valid('param').runId);
    return c.json({ run: toRunJson(run, statusDetail) });
  })
  .post('/runs/:runId/retry', runDocs.retry, validate('param', runIdParam), async (c) => {
    const { run, statusDetail } = await c.var.deps.runs.retry(c.var.user, c.req.valid('param').runId);
    return c.json({ run: toRunJson(run, statusDetail) }, 202);
  })
  .post('/runs/:runId/cancel', runDocs.cancel, validate('param', runIdParam), async (c) => {
    const run = await c.var.deps.runs.cancel(c.var.user, c.req.valid('param').runId);
    return c.json({ run: toRunJson(run) });
  })
  .post('/:id/execute', runDocs.execute(executeBody), validate('param', idParam), async (c) => {
    const { id } = c.req.valid('param');
    const idempotencyKey = readIdempotencyKey(c);
    const { input } = await readExecuteBody(c);
    const { run, statusDetail, replayed } = await c.var.deps.runs.execute(c.var.user, {
      workflowId: id,
      input,
      idempotencyKey,
    });
    if (replayed) c.header('Idempotent-Replayed', 'true');
    return c.json({ run: toRunJson(run, statusDetail) }, 202);
  })
  .get(
    '/:id/runs',
    runDocs.listForWorkflow,
    validate('param', idParam),
    validate('query', paginationQuery),
    async (c) =>
      c.json(await c.var.deps.runs.listForWorkflow(c.var.user, c.req.valid('param').id, c.req.valid('query'))),
  );
