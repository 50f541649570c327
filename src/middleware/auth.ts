import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { InvalidAccessTokenError } from '../auth/access-tokens';
import type { AppEnv, AuthUser } from '../deps';
import { ForbiddenError } from '../errors/forbidden-error';
import { UnauthorizedError } from '../errors/unauthorized-error';
import { requestHeader } from '../http/request-header';

/** `Authorization: Bearer <jwt>`; `?token=` is accepted only where a client cannot set headers (WebSocket upgrades). */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return match?.[1];
}

/** The user a bearer token names, or 401. Verified tokens are remembered by `AccessTokens` until they expire. */
export async function authenticate(c: Context<AppEnv>, token: string | undefined): Promise<AuthUser> {
  if (!token) throw new UnauthorizedError('Missing bearer token');
  try {
    // c.get, not c.var: hono builds a fresh object on every c.var read.
    const claims = await c.get('deps').accessTokens.verify(token);
    return { id: claims.userId, username: claims.username, role: claims.role };
  } catch (error) {
    if (error instanceof InvalidAccessTokenError) throw new UnauthorizedError('Invalid or expired access token');
    throw error;
  }
}

export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  c.set('user', await authenticate(c, bearerToken(requestHeader(c, 'authorization'))));
  await next();
});

export function requireRole(role: AuthUser['role']) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (c.get('user')?.role !== role) throw new ForbiddenError(`Requires the ${role} role`);
    await next();
  });
}
