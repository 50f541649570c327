import { routeDoc } from '../http/route-doc';
import { sessionSchema } from './session';

export const authDocs = {
  register: routeDoc({
    summary: 'Create an account and a session',
    tags: ['Auth'],
    auth: 'public',
    responses: { 201: { description: 'Registered', schema: sessionSchema } },
    errors: [409, 413, 415, 429],
  }),
  login: routeDoc({
    summary: 'Log in with username or email and password',
    description:
      'Each attempt is counted before its password is checked: the 6th failure from one address within a minute ' +
      'blocks it for 5 minutes (429 with Retry-After; LOGIN_GUARD_* configure it), parallel attempts included.',
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
  logoutAll: routeDoc({
    summary: 'Log out everywhere: revoke every refresh token of the caller and retire every access token for admin power',
    description:
      'Access tokens issued before stop counting at once wherever admin power is checked (admin routes, admin tokens on any route); ' +
      'elsewhere an access token lives until it expires (JWT_ACCESS_TTL).',
    tags: ['Auth'],
    auth: 'user',
    responses: { 204: { description: 'Logged out everywhere' } },
  }),
};
