import * as z from 'zod';
import { pageOf } from '../http/pagination';
import { routeDoc } from '../http/route-doc';
import { workflowSchema } from './workflow-json';

const workflow = z.object({ workflow: workflowSchema });

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
