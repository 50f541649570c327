import { eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { type User, users } from '../db/schema';

export async function findUserById(db: Database, id: string): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return user;
}

/** Usernames and emails are unique case-insensitively, so lookups are too (served by the lower() indexes). */
export async function findUserByLogin(
  db: Database,
  login: { username?: string; email?: string },
): Promise<User | undefined> {
  const condition = login.username
    ? sql`lower(${users.username}) = lower(${login.username})`
    : sql`lower(${users.email}) = lower(${login.email ?? ''})`;
  const [user] = await db.select().from(users).where(condition).limit(1);
  return user;
}
