import * as z from 'zod';
import { pageOf } from '../http/pagination';
import { routeDoc } from '../http/route-doc';
import { projectSchema } from './project-json';

const project = z.object({ project: projectSchema });

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
