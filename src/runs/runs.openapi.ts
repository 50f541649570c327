import * as z from 'zod';
import { pageOf } from '../http/pagination';
import { routeDoc } from '../http/route-doc';
import { runSchema, runSummarySchema } from './run-json';

const run = z.object({ run: runSchema });
const runCounts = z.record(z.string(), z.number().int()).describe('Runs per status');
const runQueue = pageOf(runSummarySchema).extend({ counts: runCounts });
const runPage = pageOf(runSummarySchema);

/** The bodies the run routes answer with, as published: what a client types and checks them by. */
export const runResponses = { one: run, queue: runQueue, page: runPage };

export const runDocs = {
  queue: routeDoc({
    summary: 'Your runs with counts per status (admins: everyone’s)',
    tags: ['Runs'],
    auth: 'user',
    responses: {
      200: {
        description: 'Counts and a page of runs',
        schema: runQueue,
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
  retry: routeDoc({
    summary: 'Retry a failed or cancelled run: a new run that resumes after its completed steps',
    description:
      'Queues a new run of the same workflow, owner, input and steps, linked by `retryOf`; the steps the retried run completed are carried over with their results and not called again. A run is retried once: a second retry answers 409 with `details.retryRunId`.',
    tags: ['Runs'],
    auth: 'user',
    responses: { 202: { description: 'The new run, queued', schema: run } },
    errors: [404, 409, 503],
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
    responses: { 200: { description: 'A page of runs', schema: runPage } },
    errors: [404],
  }),
};
