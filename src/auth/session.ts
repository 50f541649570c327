import type { User } from '../db/schema';
import type { AppDeps } from '../deps';
import { toPublicUser } from '../users/public-user';

/** The body of register, login and refresh: the user plus a fresh token pair. */
export async function issueSession(deps: AppDeps, user: User, refreshToken?: string) {
  const accessToken = await deps.accessTokens.sign({ userId: user.id, username: user.username, role: user.role });
  return {
    user: toPublicUser(user),
    accessToken,
    refreshToken: refreshToken ?? (await deps.refreshTokens.issue(user.id)),
    tokenType: 'Bearer' as const,
    expiresIn: deps.accessTokens.ttlSeconds,
  };
}
