import type { Context } from 'hono';
import type { AppEnv } from '../deps';

/**
 * The origin clients reach this API at (`https://api.example.com`), for URLs the API hands out
 * about itself. Behind TRUST_PROXY hops, the proxy's `X-Forwarded-Proto`/`X-Forwarded-Host`
 * say it (the values our own proxy set: the rightmost ones); otherwise the request's own URL.
 */
export function publicOrigin(c: Context<AppEnv>): string {
  const url = new URL(c.req.url);
  let protocol = url.protocol;
  let host = url.host;
  if (c.var.deps.config.trustProxyHops > 0) {
    const last = (name: string) => c.req.header(name)?.split(',').pop()?.trim() || undefined;
    const forwardedProto = last('x-forwarded-proto');
    const forwardedHost = last('x-forwarded-host');
    if (forwardedProto === 'http' || forwardedProto === 'https') protocol = `${forwardedProto}:`;
    if (forwardedHost && HOST.test(forwardedHost)) host = forwardedHost;
  }
  try {
    return new URL(`${protocol}//${host}`).origin;
  } catch {
    // A forwarded host that only looked like one (`[::::]`, port 99999).
    return url.origin;
  }
}

/** A host name or IP literal with an optional port: nothing that could make the URL say more. */
const HOST = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/;
