import { resourceDocs } from '../http/resource-docs';
import { workflowSchema } from './workflow-json';

export const workflowDocs = resourceDocs({
  key: 'workflow',
  item: workflowSchema,
  tag: 'Workflows',
  summaries: {
    create: 'Create a workflow (steps are MCP tool calls)',
    list: 'List your workflows (admins: all)',
    get: 'Get a workflow',
    update: 'Replace a workflow (runs already created keep their steps)',
    remove: 'Delete a workflow and its runs',
  },
});
