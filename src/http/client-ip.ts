import type { Context } from 'hono';
import type { AppEnv } from '../deps';

/**
 * A comma-separated `X-Forwarded-*` header and the index of the entry our own proxies wrote:
 * with TRUST_PROXY set to N hops, the Nth from the right (entries further left are the
 * client's to forge). Undefined without TRUST_PROXY: headers are trivial to forge.
 */
function trustedProxyEntries(c: Context<AppEnv>, header: string): { chain: string[]; index: number } | undefined {
  const hops = c.var.deps.config.trustProxyHops;
  if (hops === 0) return undefined;
  const chain = (c.req.header(header) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return { chain, index: chain.length - hops };
}

/**
 * The client's address: the socket peer, unless TRUST_PROXY says N proxies stand in front,
 * in which case the Nth address from the right of X-Forwarded-For (the one our own proxy
 * saw).
 */
export function clientIp(c: Context<AppEnv>): string {
  const forwarded = trustedProxyEntries(c, 'x-forwarded-for');
  const address = forwarded ? forwarded.chain[forwarded.index] : undefined;
  return (address ?? c.var.deps.socketAddress(c) ?? 'unknown').slice(0, 64);
}

/**
 * Whether the client reached us over HTTPS: the request's own scheme or, behind a
 * TLS-terminating proxy (TRUST_PROXY), its `X-Forwarded-Proto`, read like X-Forwarded-For; a
 * proxy that sets the header rather than appending to it leaves one entry, which is taken.
 */
export function clientUsedHttps(c: Context<AppEnv>): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  const forwarded = trustedProxyEntries(c, 'x-forwarded-proto');
  if (!forwarded) return false;
  return forwarded.chain[Math.max(0, forwarded.index)]?.toLowerCase() === 'https';
}
