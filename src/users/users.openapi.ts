import * as z from 'zod';
import { pageOf } from '../http/pagination';
import { routeDoc } from '../http/route-doc';
import { publicUserSchema } from './public-user';

const user = z.object({ user: publicUserSchema });
const userPage = pageOf(publicUserSchema);

/** The bodies the user routes answer with, as published: what a client types and checks them by. */
export const userResponses = { one: user, page: userPage };

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
    responses: { 200: { description: 'A page of users', schema: userPage } },
  }),
  setRole: routeDoc({
    summary: "Change a user's role (admin); the last admin cannot be demoted",
    tags: ['Admin'],
    auth: 'admin',
    responses: { 200: { description: 'Updated', schema: user } },
    errors: [404, 409, 413, 415],
  }),
};
