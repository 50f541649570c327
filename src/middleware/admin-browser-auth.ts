import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../deps';
import { ForbiddenError } from '../errors/forbidden-error';
import { clientUsedHttps } from '../http/client-ip';
import { authenticate, bearerToken } from './auth';

/** Longest the cookie lives, whatever the access-token TTL: the UI session is short on purpose. */
const MAX_COOKIE_SECONDS = 3600;

/**
 * Admin-only access for a browser UI under `path` (Bull Board). A browser cannot attach a
 * Bearer header to a page load, so besides `Authorization: Bearer` it accepts
 * `?token=<access token>` once: the token is checked, moved into an HttpOnly, SameSite=Strict
 * (and, over HTTPS, Secure) cookie scoped to `path`, and the browser is redirected to the same URL without it (the token
 * leaves the address bar and history). Every later request (page, assets, API) is checked
 * again from the header or the cookie: 401 without a valid token, 403 for a non-admin.
 */
export function adminBrowserAuth(path: string, cookieName = 'admin_ui_token') {
  return createMiddleware<AppEnv>(async (c, next) => {
    const queryToken = c.req.query('token');
    if (queryToken !== undefined) {
      const user = await authenticate(c, queryToken, 'row');
      if (user.role !== 'admin') throw new ForbiddenError('Requires the admin role');
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      setCookie(c, cookieName, queryToken, {
        httpOnly: true,
        sameSite: 'Strict',
        path,
        // Behind a TLS-terminating proxy the request reaching us is plain HTTP; the browser's is not.
        secure: clientUsedHttps(c),
        maxAge: Math.min(c.var.deps.config.accessTtlSeconds, MAX_COOKIE_SECONDS),
      });
      c.header('Cache-Control', 'no-store');
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    const headerToken = bearerToken(c.req.header('authorization'));
    const cookieToken = getCookie(c, cookieName);
    let user: AppEnv['Variables']['user'];
    try {
      user = await authenticate(c, headerToken ?? cookieToken, 'row');
    } catch (error) {
      // An expired cookie is dropped so the browser stops sending it.
      if (!headerToken && cookieToken) deleteCookie(c, cookieName, { path });
      throw error;
    }
    if (user.role !== 'admin') throw new ForbiddenError('Requires the admin role');
    c.set('user', user);
    await next();
  });
}
