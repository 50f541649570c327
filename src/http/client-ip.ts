import type { Context } from 'hono';
import type { AppEnv } from '../deps';

/**
 * The client's address: the socket peer, unless TRUST_PROXY says N proxies stand in front,
 * in which case the Nth address from the right of X-Forwarded-For (the one our own proxy
 * saw). Headers are never trusted by default: they are trivial to forge.
 */
export function clientIp(c: Context<AppEnv>): string {
  const { deps } = c.var;
  const hops = deps.config.trustProxyHops;
  if (hops > 0) {
    const chain = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const forwarded = chain[chain.length - hops];
    if (forwarded) return forwarded.slice(0, 64);
  }
  return (deps.socketAddress(c) ?? 'unknown').slice(0, 64);
}
