import { routeDoc } from '../http/route-doc';
import { sessionSchema } from './session';

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
