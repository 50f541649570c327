import * as z from 'zod';
import { routeDoc } from '../http/route-doc';

const probeSchema = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  error: z.string().optional(),
});

export const healthSchema = z.object({
  status: z
    .enum(['ok', 'degraded'])
    .describe('`degraded` when any dependency is down (HTTP 503 only for the database)'),
  reasons: z
    .array(z.string())
    .optional()
    .describe('One line per dependency that is down, e.g. `redis: not connected (...)`'),
  checks: z.record(z.string(), probeSchema).describe('db always; redis and mcp where configured'),
});

export const healthDocs = {
  live: routeDoc({
    summary: 'Liveness: the process answers (no I/O)',
    tags: ['Health'],
    auth: 'public',
    selfContained: true,
    responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
  }),
  ready: routeDoc({
    summary: 'Health of the database, Redis and the MCP server',
    tags: ['Health'],
    auth: 'public',
    responses: {
      200: { description: 'Healthy (non-critical checks may be down)', schema: healthSchema },
      503: { description: 'The database is down', schema: healthSchema },
    },
  }),
};
