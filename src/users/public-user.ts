import * as z from 'zod';
import type { User } from '../db/schema';
import { timestamp } from '../http/timestamp-schema';

export const publicUserSchema = z.object({
  id: z.uuid(),
  username: z.string(),
  email: z.string(),
  role: z.enum(['user', 'admin']),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export type PublicUser = z.infer<typeof publicUserSchema>;

/** The only shape a user leaves the API in: never the password hash. */
export function toPublicUser(user: User): PublicUser {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
