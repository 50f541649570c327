import type { Context, Next } from 'hono';
import { createMiddleware } from 'hono/factory';
import { type AccessTokenClaims, InvalidAccessTokenError } from '../auth/access-tokens';
import type { AppEnv, AuthUser } from '../deps';
import { ForbiddenError } from '../errors/forbidden-error';
import { UnauthorizedError } from '../errors/unauthorized-error';

/** `Authorization: Bearer <jwt>`; `?token=` is accepted only where a client cannot set headers (WebSocket upgrades). */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return match?.[1];
}

/** The token of a WebSocket upgrade: `Authorization: Bearer`, else `?token=` (browsers cannot set headers on one). */
export function upgradeToken(c: Context): string | undefined {
  return bearerToken(c.req.header('authorization')) ?? c.req.query('token');
}

/**
 * How much of the caller is taken from the token alone. `admin-claims` (the default): a token
 * that claims the admin role is confirmed against the user row on every request, so a demotion
 * or a logout-everywhere takes admin power away at once, on every instance and runtime (the
 * row is the one shared truth); other tokens are stateless. `row`: the role always comes from
 * the row (admin routes, so a promotion also counts at once).
 */
export type RoleSource = 'admin-claims' | 'row';

/** The user a bearer token names, or 401. Verified tokens are remembered by `AccessTokens` until they expire. */
export async function authenticate(
  c: Context<AppEnv>,
  token: string | undefined,
  roleSource: RoleSource = 'admin-claims',
): Promise<AuthUser> {
  if (!token) throw new UnauthorizedError('Missing bearer token');
  let claims: AccessTokenClaims;
  try {
    // c.get, not c.var: hono builds a fresh object on every c.var read.
    claims = await c.get('deps').accessTokens.verify(token);
  } catch (error) {
    if (error instanceof InvalidAccessTokenError) throw new UnauthorizedError('Invalid or expired access token');
    throw error;
  }
  if (claims.role !== 'admin' && roleSource === 'admin-claims') {
    return { id: claims.userId, username: claims.username, role: claims.role };
  }
  return confirmedByRow(c, claims);
}

/** The caller as the user row says now: 401 when the account is gone or the token predates a logout-everywhere. */
async function confirmedByRow(c: Context<AppEnv>, claims: AccessTokenClaims): Promise<AuthUser> {
  const row = await c.get('deps').userQueries.findUserById(claims.userId);
  if (!row || row.tokenVersion !== claims.tokenVersion) throw new UnauthorizedError('Access token was revoked');
  return { id: row.id, username: row.username, role: row.role };
}

/**
 * The rest of the request, within the user's HTTP budget. Once per request: a sub-app's
 * `use(requireAuth)` also runs for its siblings mounted on the same path, before their own.
 */
function withinBudget(c: Context<AppEnv>, user: AuthUser, next: Next, metered: boolean): Promise<void> {
  c.set('user', user);
  return metered ? next() : c.get('deps').httpBudget.meter(c, user.id, next);
}

export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const metered = c.get('user') !== undefined;
  await withinBudget(c, await authenticate(c, bearerToken(c.req.header('authorization'))), next, metered);
});

/** Authenticated, and an admin according to the user row at this moment (not the token's claim). */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const metered = c.get('user') !== undefined;
  const user = await authenticate(c, bearerToken(c.req.header('authorization')), 'row');
  if (user.role !== 'admin') throw new ForbiddenError('Requires the admin role');
  await withinBudget(c, user, next, metered);
});
