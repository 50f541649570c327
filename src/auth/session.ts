import * as z from 'zod';
import type { User } from '../db/schema';
import type { AppDeps } from '../deps';
import { publicUserSchema, toPublicUser } from '../users/public-user';

export const sessionSchema = z.object({
  user: publicUserSchema,
  accessToken: z.string().describe('JWT (HS256) for `Authorization: Bearer`'),
  refreshToken: z.string().describe('Opaque, single use: POST /auth/refresh returns a new pair'),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().describe('Access token lifetime in seconds'),
});

export type Session = z.infer<typeof sessionSchema>;

/** The body of register, login and refresh: the user plus a fresh token pair. */
export async function issueSession(deps: AppDeps, user: User, refreshToken?: string): Promise<Session> {
  const accessToken = await deps.accessTokens.sign({
    userId: user.id,
    username: user.username,
    role: user.role,
    tokenVersion: user.tokenVersion,
  });
  return {
    user: toPublicUser(user),
    accessToken,
    refreshToken: refreshToken ?? (await deps.refreshTokens.issue(user.id)),
    tokenType: 'Bearer',
    expiresIn: deps.accessTokens.ttlSeconds,
  };
}
