import * as z from 'zod';
import { runStatus } from '../db/schema';
import { workflowStep } from '../workflows/step-schema';

/** Response shapes for /openapi.json. Requests are documented from the validators' own schemas. */

const timestamp = z.iso.datetime({ offset: true });

export const errorBodySchema = z.object({
  error: z.object({
    code: z.string().describe('Stable machine-readable code, e.g. `validation_error`, `not_found`'),
    message: z.string(),
    details: z.unknown().optional().describe('For 400: the zod issues `[{path, code, message}]`'),
  }),
});

export const publicUserSchema = z.object({
  id: z.uuid(),
  username: z.string(),
  email: z.string(),
  role: z.enum(['user', 'admin']),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const sessionSchema = z.object({
  user: publicUserSchema,
  accessToken: z.string().describe('JWT (HS256) for `Authorization: Bearer`'),
  refreshToken: z.string().describe('Opaque, single use: POST /auth/refresh returns a new pair'),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().describe('Access token lifetime in seconds'),
});

export const projectSchema = z.object({
  id: z.uuid(),
  ownerId: z.uuid(),
  name: z.string(),
  description: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const workflowSchema = z.object({
  id: z.uuid(),
  ownerId: z.uuid(),
  projectId: z.uuid().nullable(),
  name: z.string(),
  description: z.string().nullable(),
  steps: z.array(workflowStep),
  lastRun: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const runSummarySchema = z.object({
  id: z.uuid(),
  workflowId: z.uuid(),
  ownerId: z.uuid(),
  status: z.enum(runStatus.enumValues),
  progress: z.number().int().describe('Steps completed'),
  totalSteps: z.number().int(),
  error: z.string().nullable(),
  attempts: z.number().int(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  updatedAt: timestamp,
});

export const runSchema = runSummarySchema.extend({
  input: z.record(z.string(), z.unknown()),
  steps: z.array(
    z.object({
      id: z.string(),
      tool: z.string(),
      status: z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']),
      attempts: z.number().int(),
      result: z.unknown(),
      error: z.string().nullable(),
      startedAt: timestamp.nullable(),
      finishedAt: timestamp.nullable(),
      durationMs: z.number().nullable(),
    }),
  ),
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    page: z.number().int(),
    limit: z.number().int(),
    total: z.number().int(),
  });
}

export const toolListSchema = z.object({
  tools: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      inputSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of the arguments'),
    }),
  ),
});

const probeSchema = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  error: z.string().optional(),
});

export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  checks: z.record(z.string(), probeSchema).describe('db always; redis and mcp where configured'),
});
