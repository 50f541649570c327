import { resourceDocs } from '../http/resource-docs';
import { projectSchema } from './project-json';

export const projectDocs = resourceDocs({
  key: 'project',
  item: projectSchema,
  tag: 'Projects',
  summaries: {
    create: 'Create a project',
    list: 'List your projects (admins: all)',
    get: 'Get a project',
    update: 'Replace a project',
    remove: 'Delete a project',
  },
});
