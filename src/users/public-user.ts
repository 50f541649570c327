import * as z from 'zod';
import type { User } from '../db/schema';
import { rowSerializer } from '../http/row-serializer';
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
export const toPublicUser: (user: User) => PublicUser = rowSerializer(publicUserSchema);
