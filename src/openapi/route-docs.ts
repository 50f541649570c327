import * as z from 'zod';
import {
  healthSchema,
  pageOf,
  projectSchema,
  publicUserSchema,
  runSchema,
  runSummarySchema,
  sessionSchema,
  toolListSchema,
  workflowSchema,
} from './response-schemas';
import { routeDoc } from './route-doc';

/**
 * The OpenAPI description of every REST route, one `describeRoute` per route, used by the
 * routers next to their validators (whose zod schemas document parameters and bodies).
 */

const project = z.object({ project: projectSchema });
const workflow = z.object({ workflow: workflowSchema });
const run = z.object({ run: runSchema });
const user = z.object({ user: publicUserSchema });
const runCounts = z.record(z.string(), z.number().int()).describe('Runs per status');

export const healthDocs = {
  live: routeDoc({
    summary: 'Liveness: the process answers (no I/O)',
    tags: ['Health'],
    auth: 'public',
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

export const authDocs = {
  register: routeDoc({
    summary: 'Create an account and a session',
    tags: ['Auth'],
    auth: 'public',
    responses: { 201: { description: 'Registered', schema: sessionSchema } },
    errors: [409, 413, 415],
  }),
  login: routeDoc({
    summary: 'Log in with username or email and password',
    description: 'Six failed logins from one IP within a minute block that IP for 5 minutes (429).',
    tags: ['Auth'],
    auth: 'public',
    responses: { 200: { description: 'Logged in', schema: sessionSchema } },
    errors: [401, 413, 415, 429],
  }),
  refresh: routeDoc({
    summary: 'Exchange a refresh token for a new pair (rotation; reuse revokes the family)',
    tags: ['Auth'],
    auth: 'public',
    responses: { 200: { description: 'New tokens', schema: sessionSchema } },
    errors: [401, 413, 415],
  }),
  logout: routeDoc({
    summary: 'Revoke a refresh token and its family',
    tags: ['Auth'],
    auth: 'public',
    responses: { 204: { description: 'Revoked (also for unknown tokens)' } },
    errors: [413, 415],
  }),
};

export const profileDocs = {
  get: routeDoc({
    summary: 'The current user',
    tags: ['Users'],
    auth: 'user',
    responses: { 200: { description: 'The user', schema: user } },
    errors: [404],
  }),
};

export const adminDocs = {
  listUsers: routeDoc({
    summary: 'List users (admin)',
    tags: ['Admin'],
    auth: 'admin',
    responses: { 200: { description: 'A page of users', schema: pageOf(publicUserSchema) } },
  }),
  setRole: routeDoc({
    summary: "Change a user's role (admin); the last admin cannot be demoted",
    tags: ['Admin'],
    auth: 'admin',
    responses: { 200: { description: 'Updated', schema: user } },
    errors: [404, 409, 413, 415],
  }),
};

export const projectDocs = {
  create: routeDoc({
    summary: 'Create a project',
    tags: ['Projects'],
    auth: 'user',
    responses: { 201: { description: 'Created', schema: project } },
    errors: [413, 415],
  }),
  list: routeDoc({
    summary: 'List your projects (admins: all)',
    tags: ['Projects'],
    auth: 'user',
    responses: { 200: { description: 'A page of projects', schema: pageOf(projectSchema) } },
  }),
  get: routeDoc({
    summary: 'Get a project',
    tags: ['Projects'],
    auth: 'user',
    responses: { 200: { description: 'The project', schema: project } },
    errors: [404],
  }),
  update: routeDoc({
    summary: 'Replace a project',
    tags: ['Projects'],
    auth: 'user',
    responses: { 200: { description: 'Updated', schema: project } },
    errors: [404, 413, 415],
  }),
  remove: routeDoc({
    summary: 'Delete a project',
    tags: ['Projects'],
    auth: 'user',
    responses: { 204: { description: 'Deleted' } },
    errors: [404],
  }),
};

export const workflowDocs = {
  create: routeDoc({
    summary: 'Create a workflow (steps are MCP tool calls)',
    tags: ['Workflows'],
    auth: 'user',
    responses: { 201: { description: 'Created', schema: workflow } },
    errors: [413, 415],
  }),
  list: routeDoc({
    summary: 'List your workflows (admins: all)',
    tags: ['Workflows'],
    auth: 'user',
    responses: { 200: { description: 'A page of workflows', schema: pageOf(workflowSchema) } },
  }),
  get: routeDoc({
    summary: 'Get a workflow',
    tags: ['Workflows'],
    auth: 'user',
    responses: { 200: { description: 'The workflow', schema: workflow } },
    errors: [404],
  }),
  update: routeDoc({
    summary: 'Replace a workflow (runs already created keep their steps)',
    tags: ['Workflows'],
    auth: 'user',
    responses: { 200: { description: 'Updated', schema: workflow } },
    errors: [404, 413, 415],
  }),
  remove: routeDoc({
    summary: 'Delete a workflow and its runs',
    tags: ['Workflows'],
    auth: 'user',
    responses: { 204: { description: 'Deleted' } },
    errors: [404],
  }),
};

export const runDocs = {
  queue: routeDoc({
    summary: 'Your runs with counts per status (admins: everyone’s)',
    tags: ['Runs'],
    auth: 'user',
    responses: {
      200: {
        description: 'Counts and a page of runs',
        schema: pageOf(runSummarySchema).extend({ counts: runCounts }),
      },
    },
  }),
  get: routeDoc({
    summary: 'A run with per-step status, attempts, results and errors',
    tags: ['Runs'],
    auth: 'user',
    responses: { 200: { description: 'The run', schema: run } },
    errors: [404],
  }),
  cancel: routeDoc({
    summary: 'Cancel a queued or running run',
    tags: ['Runs'],
    auth: 'user',
    responses: { 200: { description: 'Cancelled', schema: run } },
    errors: [404, 409],
  }),
  execute: (body: z.ZodType) =>
    routeDoc({
      summary: 'Execute a workflow: queue a run',
      description:
        "The body is optional. An `Idempotency-Key` header (1-255 visible ASCII characters) makes retries return the first run (`Idempotent-Replayed: true`). 409 `quota_exceeded` when the caller's run storage (RUN_STORAGE_PER_USER_BYTES) has no room for one more run budget; 503 when the installation's (RUN_STORAGE_TOTAL_BYTES) has none.",
      tags: ['Runs'],
      auth: 'user',
      body,
      responses: { 202: { description: 'Queued (or replayed)', schema: run } },
      errors: [404, 409, 413, 415, 503],
    }),
  listForWorkflow: routeDoc({
    summary: "A workflow's runs",
    tags: ['Runs'],
    auth: 'user',
    responses: { 200: { description: 'A page of runs', schema: pageOf(runSummarySchema) } },
    errors: [404],
  }),
};

export const toolDocs = {
  list: routeDoc({
    summary: "The upstream MCP server's tools (cached briefly)",
    tags: ['MCP'],
    auth: 'user',
    responses: { 200: { description: 'Tools', schema: toolListSchema } },
    errors: [503],
  }),
};

export const metricsDocs = {
  scrape: routeDoc({
    summary: 'Prometheus metrics',
    description:
      'Text exposition format. `Authorization: Bearer <METRICS_TOKEN>` or an admin access token. Series: http_request_duration_seconds, workflow_runs_total, workflow_run_duration_seconds, workflow_queue_depth, ws_connections, ws_connections_total, ws_messages_total, mcp_call_duration_seconds, mcp_gateway_sessions, and the process defaults.',
    tags: ['Operators'],
    auth: 'metrics',
    responses: {
      200: {
        description: 'Metrics',
        content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } },
      },
    },
  }),
};
