import { decodeJwt } from 'jose';
import type { AppEnv, AuthUser } from '../deps';
import { authenticate } from '../middleware/auth';

const MAX_ENTRIES = 10_000;
/** Even a long-lived token is verified again after this long. */
const MAX_CACHE_MS = 60_000;

interface Entry {
  user: AuthUser;
  untilMs: number;
}

/**
 * Remembers access tokens that verified, until they expire (at most a minute), so the many
 * small JSON-RPC POSTs of one MCP session do not each pay a Web Crypto HMAC verification.
 * Sound because an access token's validity depends only on its bytes, the key and the
 * time: the cache is keyed by the whole token and never outlives its `exp`. Failures are
 * not cached (each one is verified, and rejected, again).
 */
export class AccessTokenCache {
  private readonly entries = new Map<string, Entry>();

  async authenticate(c: { var: AppEnv['Variables'] }, token: string | undefined): Promise<AuthUser> {
    const nowMs = c.var.deps.clock().getTime();
    const cached = token ? this.entries.get(token) : undefined;
    if (cached && nowMs < cached.untilMs) return cached.user;
    if (cached) this.entries.delete(token as string);
    const user = await authenticate(c, token);
    const exp = decodeJwt(token as string).exp;
    if (typeof exp === 'number') {
      // Oldest first: a full cache drops its oldest entry.
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(token as string, { user, untilMs: Math.min(exp * 1000, nowMs + MAX_CACHE_MS) });
    }
    return user;
  }
}
